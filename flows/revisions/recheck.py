"""The re-check step, without Prefect: ask known articles again and record what changed.

1. plan: per source, the articles the registry's re-check policy says are due
   (crawlers/recheck.py: `due`), with their validators;
2. crawl: the crawl process asks them with If-None-Match / If-Modified-Since (an unchanged
   page costs a 304) and reads the column's list pages (crawlers: `--recheck FILE`). The
   crawl is one process busy on one core; each page that comes back 2xx is named on its feed
   as soon as it is archived, and this process extracts it, segments and tags it meanwhile
   (`_Ahead`), so that after the crawl only judging and writing are left (bench_recheck);
3. judge each answer (flows/revisions/evidence.py): a changed live page is loaded like any
   fetch, so a new version is recorded (warehouse/revisions.py); a definite takedown answer
   marks the article removed with its evidence; a transient failure only counts, until N of
   them over M days; an article removed before that answers again is restored;
4. delistings: articles a column's list pages showed before and no longer do while their
   pages answer, column by column (flows/revisions/listing.py).
Nothing is deleted: removed pages stay in the archive and their articles in `articles`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections import Counter
from pathlib import Path
from typing import Callable

from crawlers.recheck import due
from crawlers.registry import Registry, Source, load_registry
from flows.revisions.evidence import CheckState, after_check, classify
from flows.revisions.listing import delisted_by_column, relisted
from schemas import Article, CrawlStats
from schemas.errors import BadInput

UTC = dt.timezone.utc
SMALL_PAGE = 6000       # bytes: a page this small is read for "deleted" phrases (a soft 404)


@dataclasses.dataclass
class RecheckCounts:
    due: int = 0
    asked: int = 0
    not_modified: int = 0
    live: int = 0
    edited: int = 0
    removed: int = 0
    restored: int = 0
    delisted: int = 0
    transient: int = 0
    reasons: Counter = dataclasses.field(default_factory=Counter)


def plan(db: str | Path, sources: list[Source], now: dt.datetime, force: bool = False,
         wait: float = 30.0) -> tuple[dict[str, list[dict]], dict[str, list[dict]]]:
    """({source: due rows}, {source: every candidate row}) from the warehouse."""
    import warehouse
    from warehouse.revisions import recheck_candidates
    if not warehouse.exists(db):
        raise BadInput(f"no warehouse at {db}: ingest first, then re-check what it holds")
    with warehouse.connect(db, wait=wait) as con:
        cands = {s.name: recheck_candidates(con, s.name) for s in sources}
    return {s.name: due(cands[s.name], s.recheck, now, force) for s in sources}, cands


def recheck(db: str | Path, names: list[str], archive_dir: str | Path, run_id: str, *,
            registry: str | Path | None = None, mapping: dict | None = None, now: dt.datetime | None = None,
            force: bool = False, wait: float = 30.0, progress: Callable[[str], None] | None = None) -> dict:
    """Plan, crawl, judge and record one re-check of these sources; a summary per source."""
    from flows import crawl as crawl_step
    from flows import steps
    reg = load_registry(registry)
    sources = reg.select(names)
    now = now or dt.datetime.now(UTC)
    due_rows, cands = plan(db, sources, now, force, wait)
    state = steps.crawl_state(db, [s.name for s in sources], wait=wait)
    asks = {n: [{"url": r["url"], "etag": r["etag"], "last_modified": r["last_modified"]} for r in rows]
            for n, rows in due_rows.items()}
    if progress:
        progress("re-checking " + ", ".join(f"{n}: {len(v)} due" for n, v in asks.items()))
    ahead = _Ahead(db, reg, archive_dir)
    stats = crawl_step.crawl([s.name for s in sources], archive_dir=archive_dir, run_id=run_id, mapping=mapping,
                             registry=registry, state=state, recheck=asks, resume=False, on_page=ahead)
    if progress:
        progress(f"crawled: {sum(s.article_requests for s in stats)} asked, {sum(s.not_modified for s in stats)} x 304")
    steps.record_crawl(db, stats, archive_dir)
    out = {}
    for s in stats:
        counts = apply_run(db, s, reg, cands.get(s.source, []), (state.get(s.source) or {}).get("lists") or {},
                           archive_dir, now, ahead=ahead)
        counts.due = len(due_rows.get(s.source, []))
        out[s.source] = counts
        if progress:
            progress(f"{s.source}: {counts.live} changed, {counts.edited} edited, {counts.removed} removed, "
                     f"{counts.restored} restored, {counts.delisted} delisted, {counts.transient} transient")
    import warehouse
    with warehouse.connect(db) as con:
        warehouse.mark_processed(con, sorted((s.run_id, s.source) for s in stats))
    steps.dedupe_articles(db, None, reg, progress)
    warehouse.publish_snapshot(db)
    return {"stats": stats, "counts": out}


class _Ahead:
    """The crawl's feed (flows/crawl.py: on_page): each page answered 2xx made into its record
    and, for an article, its tokens and tags (the loader's `prepare`), while the crawl runs.
    Anything that goes wrong here only leaves the page to be read after the crawl, as without
    a feed, where its error is met and recorded as usual."""

    def __init__(self, db, registry: Registry, archive_dir: str | Path):
        from flows.steps import _ChunkLoader
        self.registry, self.archive_dir = registry, archive_dir
        self.loader = _ChunkLoader(db, registry, tag=True, index=True)
        self.pages: dict[tuple[str, int], tuple] = {}       # (WARC location, offset) -> (record, small page text)

    def __call__(self, entry: dict) -> None:
        from crawlers.archive import resolve
        try:
            source = self.registry.get(entry["source"])
            # named as the run's stats will name it (crawlers/stats.py: read_stats), so that
            # the records are the ones reading the file after the crawl would make
            where = str(resolve(entry["location"], self.archive_dir))
            got = _pages(Path(entry["warc"]), where, {entry["offset"]}, source, self.registry.presets)
        except Exception:       # noqa: BLE001  (see the class docstring)
            return
        for offset, (record, small) in got.items():
            self.pages[(where, offset)] = (record, small)
            if isinstance(record, Article):
                try:
                    self.loader.prepare(record)
                except Exception:       # noqa: BLE001
                    pass


def _pages(warc: Path, where: str, offsets: set[int], source: Source, presets,
           ahead: _Ahead | None = None) -> dict[int, object]:
    """offset -> what processing makes of the article pages at these offsets (those the feed
    brought already taken from `ahead`)."""
    from crawlers.archive import read_pages_at
    from flows.process import to_record
    out = {}
    if ahead is not None:
        out = {off: ahead.pages[(where, off)] for off in offsets if (where, off) in ahead.pages}
        offsets = offsets - out.keys()
    if not offsets or not warc.exists():
        return out
    for page in read_pages_at(warc, offsets, location=where):
        if page.warc_offset in offsets:
            small = page.body.decode(source.encoding or "utf-8", "replace") if len(page.body) < SMALL_PAGE else ""
            out[page.warc_offset] = (to_record(page, source, presets), small)
    return out


def apply_run(db: str | Path, stats: CrawlStats, registry: Registry, cands: list[dict], lists_before: dict,
              archive_dir: str | Path, now: dt.datetime, ahead: _Ahead | None = None) -> RecheckCounts:
    """Judge one source's re-check run and record it: versions of changed pages, check state,
    takedown/restore/delisting events. `ahead`: what the crawl's feed prepared already."""
    from crawlers.archive import resolve
    source = registry.get(stats.source)
    doc = json.loads(resolve(stats.state_path, archive_dir).read_text(encoding="utf-8")) if stats.state_path else {}
    answers = doc.get("rechecks") or {}
    by_url = {c["url"]: c for c in cands}
    warc = resolve(stats.warc_path, archive_dir) if stats.warc_path else Path("/nonexistent")
    records = _pages(warc, stats.warc_path, {a["offset"] for a in answers.values() if a.get("offset") is not None
                                             and a.get("status") and 200 <= a["status"] < 300},
                     source, registry.presets, ahead)
    counts, checks, events, live = RecheckCounts(asked=len(answers)), [], [], []
    outcome_of: dict[str, str] = {}
    for url, answer in answers.items():
        cand = by_url.get(url)
        if cand is None:
            continue
        record, small = records.get(answer.get("offset")) or (None, "")
        verdict = classify(answer, record, previous_chars=cand.get("text_chars") or 0,
                           start_urls=tuple(source.start()), page_text=small)
        before = CheckState(cand.get("failures") or 0, cand.get("first_failure_at"), bool(cand.get("removed")))
        after, event, verdict = after_check(before, verdict, now, source.recheck.takedown_failures,
                                            source.recheck.takedown_days)
        outcome_of[cand["id"]] = verdict.outcome
        checks.append(_check_row(cand, answer, verdict, after, now))
        if event:
            events.append(_event(cand, event, verdict, answer, stats, now))
            setattr(counts, event, getattr(counts, event) + 1)
            counts.reasons[verdict.reason or event] += 1
        if verdict.outcome == "transient":
            counts.transient += 1
        elif verdict.outcome == "not_modified":
            counts.not_modified += 1
        elif verdict.outcome == "live":
            counts.live += 1
            if isinstance(record, Article) and record.id == cand["id"]:
                live.append((record, cand))
    # every list link and candidate, before and now, in its one spelling: each URL once
    canon = functools.lru_cache(maxsize=None)(source.canonical)
    events += _delistings(doc, lists_before, cands, outcome_of, source, stats, now, canon)
    counts.delisted = sum(1 for e in events if e["kind"] == "delisted")
    cleared = _relisted(doc, cands, source, lists_before, canon)
    live = [r for r, cand in live if not _extractor_only(r, cand, source, registry, archive_dir)]
    counts.edited = _load(db, registry, live, stats.run_id, stats.source, ahead.loader if ahead else None)
    import warehouse
    from warehouse.revisions import apply_checks
    with warehouse.connect(db) as con:
        apply_checks(con, checks, events, cleared)
    return counts


def _extractor_only(record: Article, cand: dict, source: Source, registry: Registry, archive_dir) -> bool:
    """True when the stored article came from an older extractor and its stored raw page, run
    through today's, gives this very version: the page did not change, the extractor did (that
    is `newsflow reextract`'s business, never a version)."""
    if not cand.get("extractor_version") or cand["extractor_version"] == record.extractor_version:
        return False
    if not cand.get("warc_path") or cand.get("warc_offset") is None:
        return False
    from crawlers.archive import read_pages_at, resolve
    from flows.process import to_record
    from warehouse.revisions import version_hash
    path = resolve(cand["warc_path"], archive_dir)
    if not path.exists():
        return False
    old = next((to_record(p, source, registry.presets) for p in read_pages_at(path, [cand["warc_offset"]])), None)
    if not isinstance(old, Article):
        return False
    return (version_hash(old.title, old.text, old.original_source, old.author)
            == version_hash(record.title, record.text, record.original_source, record.author))


def _check_row(cand: dict, answer: dict, verdict, after: CheckState, now: dt.datetime) -> dict:
    fresh = verdict.outcome in ("live", "not_modified")
    return {"article_id": cand["id"], "checked_at": now, "status": answer.get("status"), "outcome": verdict.outcome,
            "etag": (answer.get("etag") or cand.get("etag")) if fresh else cand.get("etag"),
            "last_modified": (answer.get("last_modified") or cand.get("last_modified")) if fresh
            else cand.get("last_modified"),
            "failures": after.failures, "first_failure_at": after.first_failure_at}


def _event(cand: dict, kind: str, verdict, answer: dict, stats: CrawlStats, now: dt.datetime) -> dict:
    return {"article_id": cand["id"], "source": cand["source"], "kind": kind, "at": now,
            "reason": verdict.reason or None, "status": answer.get("status"), "final_url": answer.get("final_url"),
            "run_id": stats.run_id, "warc_path": stats.warc_path if answer.get("offset") is not None else None,
            "warc_offset": answer.get("offset"), "detail": verdict.detail or None}


def _roots(source: Source) -> list[str]:
    """The first list page of each column the source reads (flows/revisions/listing.py)."""
    return list(source.start()) + list(source.sitemap_urls()) + list(source.feed_urls())


def _delistings(doc: dict, lists_before: dict, cands: list[dict], outcome_of: dict, source: Source,
                stats: CrawlStats, now: dt.datetime, canon: Callable[[str], str] | None = None) -> list[dict]:
    """Articles a column's lists showed before and not now (per column: another column still
    linking it does not hide it), while their page answers (checked now, or last time), not
    removed and not already delisted. The event's final_url is the column's first list page."""
    canon = canon or source.canonical
    gone = delisted_by_column(lists_before, doc.get("lists") or {}, _roots(source), canon)
    by_key = {canon(c["url"]): c for c in cands}
    out = []
    for key, roots in sorted(gone.items()):
        cand = by_key.get(key)
        if cand is None or cand.get("delisted"):
            continue
        outcome = outcome_of.get(cand["id"])
        if outcome not in ("live", "not_modified") and (outcome is not None or cand.get("removed")):
            continue
        out.append({"article_id": cand["id"], "source": cand["source"], "kind": "delisted", "at": now,
                    "reason": "not_listed", "run_id": stats.run_id, "final_url": roots[0],
                    "detail": f"no longer on the list pages of its column {', '.join(roots)}; its page still answers"})
    return out


def _relisted(doc: dict, cands: list[dict], source: Source, lists_before: dict | None = None,
              canon: Callable[[str], str] | None = None) -> list[str]:
    """Delisted articles the column they dropped out of lists again."""
    canon = canon or source.canonical
    dropped = {canon(c["url"]): c.get("delisted_from") for c in cands if c.get("delisted")}
    back = set(relisted(doc.get("lists") or {}, _roots(source), canon, dropped, lists_before))
    return [c["id"] for c in cands if c.get("delisted") and canon(c["url"]) in back]


def _load(db, registry: Registry, live: list[Article], run_id: str, source: str, loader=None) -> int:
    """Load the live pages that came back with content (new versions are recorded on the way);
    how many were edits. `loader`: one whose `prepare` did the tokens and tags already."""
    if not live:
        return 0
    from flows.steps import _ChunkLoader
    loader = loader or _ChunkLoader(db, registry, tag=True, index=True)
    for rec in live:
        loader.add(rec)
    loader.flush()
    import warehouse
    (n,) = warehouse.query(db, "SELECT count(*) FROM article_events WHERE kind = 'edited' AND run_id = ? "
                               "AND source = ?", [run_id, source])[1][0]
    return int(n)
