"""The pipeline's steps as plain functions over paths and ids: crawl, record, process.

Prefect tasks (flows/ingest.py) wrap these thinly; the CLI calls them directly when it does
not need Prefect. Nothing here holds a connection across calls or passes HTML around.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from crawlers.registry import Registry, load_registry
from schemas import Article, CrawlStats, Rejected

# articles deduped per transaction: a back-fill of 100,000 pages costs what 20,000 do (~0.4 GB
# in the soak), not five times that
DEDUPE_CHUNK = 20000
CHUNK = 2000     # records per load transaction: with their jieba tokens ~60 MB (20,000 took 2.3 GB in the soak)


@dataclass
class SourceCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)


def crawl_state(db: str | Path, sources: list[str], wait: float = 30.0) -> dict:
    """What the warehouse knows for the next crawl of these sources (see warehouse/runs.py);
    {} when there is no warehouse yet (the crawl then relies on the runs it finds on disk).
    WarehouseBusy when another process holds it for longer than `wait` seconds."""
    import warehouse
    if not warehouse.exists(db):
        return {}
    with warehouse.connect(db, wait=wait) as con:
        return warehouse.crawl_state(con, sources)


def crawl_sources(db: str | Path, sources: list[str], archive_dir: str | Path, run_id: str,
                  mapping: dict | None = None, since: dt.date | None = None, max_pages: int | None = None,
                  registry: str | None = None, refresh: bool = False, wait: float = 30.0,
                  busy_wait: float | None = None, on_wait: Callable[[str], None] | None = None) -> dict:
    """Crawl with the warehouse's state (flows/crawl.py starts the crawl process). Returns this
    crawl's stats, the finished runs on disk the warehouse has not recorded (a flow killed after
    its crawl) and the recorded runs a killed flow never finished loading (known to the crawler,
    so loaded now or never); recording them is the caller's next step (`record_crawl`).

    Needs no run lock (the warehouse is only read, each read waiting up to `wait` s for the
    file). With `busy_wait`, a source another crawl holds (its crawl lock) is waited for, up to
    that many seconds, instead of raising CrawlBusy: an ingest that crawls outside the run lock
    (flows/ingest.py) queues behind an overlapping crawl of the same source as it used to queue
    on the run lock, and reads the state once that crawl is done."""
    import time

    from crawlers.errors import CrawlBusy
    from flows import crawl as crawl_step
    deadline = time.monotonic() + (busy_wait or 0)
    told = False
    while True:
        if busy_wait is not None:
            told = wait_for_crawls(archive_dir, sources, deadline, on_wait, told)
        state = crawl_state(db, sources, wait=wait)
        try:
            stats = crawl_step.crawl(sources, archive_dir=archive_dir, run_id=run_id, mapping=mapping, since=since,
                                     max_pages=max_pages, registry=registry, state=state, refresh=refresh)
            break
        except CrawlBusy:
            # a crawl of one of ours started between the probe and ours (it refused at once)
            if busy_wait is None or time.monotonic() >= deadline:
                raise
    recovered = crawl_step.unrecorded_runs(archive_dir, sources, state, exclude=stats)
    unprocessed = unprocessed_runs(db, sources, exclude=stats + recovered, archive=archive_dir, wait=wait)
    return {"stats": stats, "recovered": recovered, "unprocessed": unprocessed}


def wait_for_crawls(archive_dir: str | Path, sources: list[str], deadline: float,
                     on_wait: Callable[[str], None] | None, told: bool) -> bool:
    """Until no crawl holds one of these sources' crawl locks (CrawlBusy at the deadline)."""
    import time

    from crawlers.errors import CrawlBusy
    from crawlers.run import crawl_in_progress
    while True:
        busy = [s for s in sources if crawl_in_progress(Path(archive_dir) / s) is not None]
        if not busy:
            return told
        if time.monotonic() >= deadline:
            raise CrawlBusy(f"another crawl of {', '.join(busy)} is still running")
        if on_wait and not told:
            on_wait(f"waiting for the crawl in progress of {', '.join(busy)} to finish")
            told = True
        time.sleep(1.0)


def record_crawl(db: str | Path, stats: list[CrawlStats], archive: str | Path | None = None) -> None:
    """Record the crawl reports, and each run's fetch log and list-page state. WARC files are
    recorded by their place in the archive (crawlers/archive.py: location); without `archive`
    the root is taken from the layout (<archive>/<source>/<run_id>.warc.gz)."""
    import dataclasses
    import json

    import warehouse
    from crawlers.archive import location

    def where(s: CrawlStats) -> str:
        if not s.warc_path:
            return ""
        return location(s.warc_path, archive if archive is not None else Path(s.warc_path).parent.parent)

    stored = [dataclasses.replace(s, warc_path=where(s)) for s in stats]

    def record(con) -> None:
        warehouse.record_crawl_runs(con, stored)
        # a run that archived nothing has nothing to process: its counts are 0 from the start
        warehouse.mark_processed(con, [(s.run_id, s.source) for s in stored if not s.warc_path])
        for s, rec in zip(stats, stored):
            path = Path(s.state_path) if s.state_path else None
            if path and path.exists():
                doc = json.loads(path.read_text(encoding="utf-8"))
                warehouse.record_crawl_state(con, s.run_id, s.source, doc, rec.warc_path)

    with warehouse.connect(db) as con:
        # each step is idempotent: on a lake, a commit lost to another writer reruns them all
        warehouse.retrying(lambda: record(con))


def _file_run(path: Path) -> tuple[str, str] | None:
    """(run_id, source) of a WARC file in the archive's layout, <source>/<run_id>.warc.gz."""
    if not path.name.endswith(".warc.gz"):
        return None
    return path.name[:-len(".warc.gz")], path.parent.name


def _prepare_files(db: str | Path, items: list[tuple[str, Path]], progress: Callable[[str], None] | None,
                   archive: str | Path | None) -> tuple[list[str], set[tuple[str, str]]]:
    """The files to process (their locations) and the crawl runs they are. `items`: (location,
    where a local copy or the crawl's files would be: the file, or its place in the spool).

    A WARC file a crawl is still writing is left out (it grows while we read, and its crawl
    records it when it finishes; the next process or ingest loads it). A finished run the
    warehouse has not recorded (a `newsflow crawl` killed after its crawl process) is recorded
    first, from its stats file, so its counts have a row to go to."""
    import warehouse
    from crawlers.run import crawl_in_progress
    from crawlers.state import recheck_marker
    from crawlers.stats import read_stats
    files, runs, unrecorded = [], set(), []
    live: dict[Path, str | None] = {}
    for loc, p in items:
        key = _file_run(p)
        if key is not None and recheck_marker(p).exists():
            continue    # a re-check's pages were judged and loaded by the re-check (flows/revisions/)
        if key is not None:
            if p.parent not in live:
                live[p.parent] = crawl_in_progress(p.parent)
            stats = p.with_name(f"{key[0]}.stats.json")
            if live[p.parent] in (key[0], "") and not stats.exists():
                if progress:
                    progress(f"{p}: its crawl is still running; loaded when it has finished")
                continue
            if stats.exists():
                if read_stats(stats).mode == "recheck":
                    # a re-check's pages were judged and loaded by the re-check (flows/revisions/):
                    # a page that now says "deleted" must not become the article's text
                    continue
                runs.add(key)
                unrecorded.append((key, stats))
        files.append(loc)
    if unrecorded and warehouse.exists(db):
        with warehouse.connect(db) as con:
            known = warehouse.recorded_runs(con, [k for k, _ in unrecorded])
        missing = [read_stats(sp) for k, sp in unrecorded if k not in known]
        if missing:
            record_crawl(db, missing, archive)
            if progress:
                progress(f"recorded {len(missing)} finished run(s) the warehouse lacked: "
                         f"{', '.join(f'{s.source}/{s.run_id}' for s in missing)}")
    elif unrecorded:
        record_crawl(db, [read_stats(sp) for _, sp in unrecorded], archive)
    return files, runs


def _located(paths: list[str | Path], store, archive: str | Path | None) -> list[tuple[str, Path]]:
    """(location, local path) of each file to process. Local files are named by their place
    under the archive root (crawlers/archive.py: location); with an object store, anything that
    is not a local file is a location in it, whose crawl files are in the spool."""
    from crawlers.archive import location
    root = Path(archive) if archive is not None else None
    out = []
    for item in paths:
        p = Path(item)
        if store is not None and store.remote and not p.exists():
            out.append((str(item), store.local / str(item)))
        else:
            out.append((location(p, store.local if store is not None else root), p))
    return out


# A fan-out: map(fn, argument tuples) -> the results, in the order given. The default runs
# them one after another here; flows/fanout.py gives one that runs them on a Dask cluster.
Fanout = Callable[[Callable, list[tuple]], Iterable]


def serial(fn: Callable, args: list[tuple]) -> Iterator:
    for a in args:
        yield fn(*a)


def _streamed(args: list[tuple]) -> Iterator:
    """Without a fan-out: each file's records as they are read, one file after another."""
    from crawlers.archive import ReadReport
    from flows.process import file_records
    for spec, loc, registry in args:
        report = ReadReport(loc)
        yield file_records(spec, loc, registry, report), report


def process_archives(db: str | Path, paths: list[str | Path], registry: Registry | None = None,
                     progress: Callable[[str], None] | None = None,
                     runs_done: list[tuple[str, str]] = (), tag: bool = True, index: bool = True,
                     dedupe: bool = True, snapshot: bool = True,
                     archive: str | Path | None = None, store=None,
                     fanout: Fanout | None = None) -> dict[str, SourceCounts]:
    """Extract every article in these archive files and load them; per-source counts of
    this pass.

    Extraction, tagging and segmentation happen with the warehouse closed; each chunk of
    CHUNK records is then written in one short transaction (articles, rejections, tags, search
    postings, and the chunk's share of each crawl run's counts), so an analyst's query or
    another load waits seconds, never minutes, and a kill leaves whole chunks or nothing.
    Afterwards the runs are marked processed (their counts are history from then on: a later
    pass over the same files changes nothing in crawl_runs), the articles not yet in a story
    (these, and any a killed pass loaded but never deduped) are deduplicated, and a read-only
    snapshot is published for long analyst sessions.
    `runs_done` (run_id, source): crawl runs these files are, marked processed even if they
    held no article (files in the archive layout with a stats file are found without it).
    Pages are recorded by their place under `archive` (crawlers/archive.py: location).
    `store` (crawlers/storage.py): where the files are read from (default: the local folder
    `archive`); `fanout`: how the files are extracted (default: here, one after another, each
    file's records streamed to the loader; flows/fanout.py: one task per file on a Dask cluster,
    the records coming back here, in order, to the one loader)."""
    import warehouse
    from crawlers.storage import LocalStore
    from flows.process import extract_file
    registry = registry or load_registry()
    if store is None:
        store = LocalStore(archive if archive is not None else ".")
    files, file_runs = _prepare_files(db, _located(paths, store if store.remote else None, archive),
                                      progress, archive if archive is not None else (store.local if store.remote else None))
    loader = _ChunkLoader(db, registry, tag, index)
    reports: list = []
    args = [(store.spec(), loc, registry) for loc in files]
    for recs, report in (fanout(extract_file, args) if fanout is not None else _streamed(args)):
        reports.append(report)
        if progress and fanout is not None:
            progress(f"{report.path}: {report.records} records read, {len(recs)} to load")
        # (streamed: the records are read as the loader takes them, below)
        for rec in recs:
            if loader.add(rec) and progress:
                progress(f"loaded {sum(c.new + c.updated + c.unchanged for c in loader.counts.values())} articles")
    loader.flush()
    done = {k for k in loader.runs | file_runs | set(map(tuple, runs_done)) if k[0]}
    if done:
        with warehouse.connect(db) as con:
            warehouse.retrying(lambda: warehouse.mark_processed(con, sorted(done)))
    if dedupe and warehouse.exists(db):
        # everything not yet in a story, not only this pass's: a pass killed between its load
        # and its dedupe left articles without one, and nothing else would pick them up
        dedupe_articles(db, None, registry, progress)
    for rep in reports:
        if rep.problems and progress:
            progress(f"{rep.path}: {'; '.join(rep.problems)}")
    if snapshot:
        warehouse.publish_snapshot(db)
    return loader.counts


def load_records(db: str | Path, records: Iterable[Article | Rejected], registry: Registry | None = None,
                 tag: bool = True, index: bool = True,
                 progress: Callable[[str], None] | None = None) -> dict[str, SourceCounts]:
    """Load records as process_archives loads them (CHUNK per transaction, with their tags and
    postings; no dedupe, no snapshot): what a loader among many writing one lake runs."""
    loader = _ChunkLoader(db, registry or load_registry(), tag, index)
    for rec in records:
        if loader.add(rec) and progress:
            progress(f"loaded {sum(c.new + c.updated + c.unchanged for c in loader.counts.values())} articles")
    loader.flush()
    return loader.counts


class _ChunkLoader:
    """Collects records and writes them CHUNK at a time: tags and search postings derived with
    the warehouse closed, then one short transaction per chunk; per-source counts of the pass."""

    def __init__(self, db: str | Path, registry: Registry, tag: bool, index: bool):
        self.db, self.tag, self.index = db, tag, index
        self.counts: dict[str, SourceCounts] = {}
        self.runs: set[tuple[str, str]] = set()
        self.articles: list[Article] = []
        self.rejected: list[Rejected] = []
        self.taxonomy = self.provinces = None
        # article id -> (content_hash, title tokens, text tokens, taxonomy tags): `prepare`d ahead
        self._prepared: dict[str, tuple] = {}
        if tag:
            from flows.tags import load_taxonomy, province_map
            self.taxonomy, self.provinces = load_taxonomy(), province_map(registry)

    def prepare(self, rec: Article) -> None:
        """Derive one article's tokens and taxonomy tags now (the CPU part of a load), for a
        later `add` of the same record: a re-check does it while its crawl still runs."""
        if not (self.tag or self.index):
            return
        from flows.search.segment import tokens
        tags = None
        if self.tag:
            from flows.tags import tag_articles
            tags = tag_articles([rec], self.taxonomy, self.provinces, keywords=False)
        self._prepared[rec.id] = (rec.content_hash, tokens(rec.title_simplified or rec.title),
                                  tokens(rec.text_simplified or rec.text), tags)

    def _ready(self, a: Article) -> tuple | None:
        got = self._prepared.get(a.id)
        return got if got is not None and got[0] == a.content_hash else None

    def add(self, rec: Article | Rejected) -> bool:
        """Take one record; True when that filled a chunk and it was written."""
        self.runs.add((rec.run_id, rec.source))
        (self.articles if isinstance(rec, Article) else self.rejected).append(rec)
        if len(self.articles) + len(self.rejected) < CHUNK:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        if not self.articles and not self.rejected:
            return
        tags, postings = self._derive()
        self._write(tags, postings)
        for r in self.rejected:
            c = self.counts.setdefault(r.source, SourceCounts())
            c.rejected += 1
            c.reasons[r.reason] += 1
        for a in self.articles:
            self._prepared.pop(a.id, None)
        self.articles.clear()
        self.rejected.clear()

    def _derive(self) -> tuple[list | None, list | None]:
        """Tags and search postings of the chunk's articles: one jieba pass per article serves
        both the search index and the keywords."""
        tags = postings = None
        latest = warehouse_dedupe(self.articles)        # one record per id, as the load keeps it
        if (self.tag or self.index) and self.articles:
            from flows.search.segment import tokens
            postings = [(a.id, *ready[1:3]) if (ready := self._ready(a)) else
                        (a.id, tokens(a.title_simplified or a.title), tokens(a.text_simplified or a.text))
                        for a in latest]
        if self.tag and self.articles:
            from flows.tags import keywords_from_tokens, tag_articles
            # the prepared ones as they are, the rest tagged here
            fresh = [a for a in latest if not self._ready(a)]
            tags = tag_articles(fresh, self.taxonomy, self.provinces, keywords=False) if fresh else []
            for a in latest:
                if (ready := self._ready(a)) is not None:
                    tags += ready[3]
            for aid, title_tokens, text_tokens in postings:
                tags += keywords_from_tokens(aid, title_tokens + text_tokens)
        return tags, (postings if self.index else None)

    def _write(self, tags: list | None, postings: list | None) -> None:
        """Articles, rejections, the chunk's share of each run's counts and the tags in one
        transaction; then the postings."""
        import warehouse
        by_run: dict[tuple[str, str], list[Article]] = {}
        for a in self.articles:
            by_run.setdefault((a.run_id, a.source), []).append(a)

        def load(con) -> list:
            # the whole chunk transaction: on a lake a commit lost to another loader runs it
            # again (warehouse.retrying), recomputing what is new; counts are taken after
            results = []
            with warehouse.LoadSession(con) as session:
                chunk_runs: dict[tuple[str, str], list[int]] = {}
                for (run_id, name), batch in by_run.items():
                    res = session.articles(batch)
                    results.append((name, res))
                    chunk_runs[(run_id, name)] = [res.new, res.updated, 0]
                session.rejected(self.rejected)
                for key, n in session.rejected_by_run.items():
                    chunk_runs.setdefault(key, [0, 0, 0])[2] += n
                warehouse.add_run_counts(con, {k: tuple(v) for k, v in chunk_runs.items() if k[0]})
                if tags is not None:
                    from warehouse.tags import load_tags
                    load_tags(con, tags, self.taxonomy.version, self.taxonomy.info(), transaction=False,
                              article_ids=[a.id for a in self.articles])
            return results

        with warehouse.connect(self.db) as con:
            for name, res in warehouse.retrying(lambda: load(con)):
                c = self.counts.setdefault(name, SourceCounts())
                c.new += res.new
                c.updated += res.updated
                c.unchanged += res.unchanged
            if postings:
                from warehouse.search import index_documents
                warehouse.retrying(lambda: index_documents(con, postings))


def warehouse_dedupe(articles: list[Article]) -> list[Article]:
    """One record per id, as the load keeps it (the most recently fetched)."""
    from warehouse.store import dedupe_batch
    return dedupe_batch(articles)


def dedupe_articles(db: str | Path, ids: list[str] | None, registry: Registry | None = None,
                    progress: Callable[[str], None] | None = None):
    """Group these (new or re-loaded) articles, or every article not yet in a story (None),
    into stories with everything stored before."""
    from flows import dedupe
    outlets = dedupe.registry_outlets(registry) if registry is not None else None
    report = dedupe.dedupe_new(db, article_ids=ids, outlets=outlets, chunk=DEDUPE_CHUNK)
    if progress:
        progress(f"dedupe: {report}")
    return report


def reset_stories(db: str | Path) -> None:
    """Forget every story, signature and band (articles untouched), so the next dedupe groups
    all articles afresh: after a change of the dedupe parameters (`newsflow dedupe --rebuild`)."""
    from flows import dedupe
    dedupe.reset_dedupe(db)


def unprocessed_runs(db: str | Path, sources: list[str], exclude: list[CrawlStats] = (),
                     archive: str | Path | None = None, wait: float = 10.0) -> list[CrawlStats]:
    """Recorded runs whose archive was never fully processed (a flow killed during extraction
    or the load: not marked processed). Their articles are known to the crawler, so they will
    not be fetched again: they are processed with the next run, or they are lost. Their
    stats files are looked for under `archive` (default: 'archive' next to the db)."""
    import warehouse
    if not warehouse.exists(db):
        return []
    from crawlers.archive import resolve
    from crawlers.stats import read_stats
    done = {(s.run_id, s.source) for s in exclude}
    archive = Path(archive) if archive is not None else Path(db).parent / "archive"
    _, rows = warehouse.query(db, "SELECT run_id, source, warc_path FROM crawl_runs WHERE processed_at IS NULL "
                                  "AND source IN (SELECT unnest(?)) ORDER BY started_at", [list(sources)],
                              wait=wait)
    out = []
    for run_id, source, warc in rows:
        if (run_id, source) in done:
            continue
        path = Path(archive) / source / f"{run_id}.stats.json"
        if not path.exists() and warc:      # a stored absolute path from an older warehouse
            path = resolve(warc, archive).with_name(f"{run_id}.stats.json")
        if path.exists():
            out.append(read_stats(path))
    return out


def archive_paths_for(stats: list[CrawlStats], spool: str | Path | None = None) -> list[str]:
    """The WARC files of these runs: local files; with an S3 archive's `spool`, their
    locations (uploaded or not: crawlers/storage.py reads a file still in the spool first)."""
    if spool is not None:
        from crawlers.archive import location
        return [location(s.warc_path, spool) for s in stats if s.warc_path]
    return [s.warc_path for s in stats if s.warc_path and Path(s.warc_path).exists()]


def summarise(stats: list[CrawlStats], counts: dict[str, SourceCounts], db: str | Path,
              started: dt.datetime) -> dict:
    """The ingest summary the CLI prints and the flow returns."""
    per_source = [_source_row(s, counts.get(s.source, SourceCounts())) for s in stats]
    return {
        "sources": len(stats),
        "pages_fetched": sum(s.pages_fetched for s in stats),
        "not_modified": sum(s.not_modified for s in stats),
        "article_requests": sum(s.article_requests for s in stats),
        "articles_new": sum(c.new for c in counts.values()),
        "articles_updated": sum(c.updated for c in counts.values()),
        "articles_unchanged": sum(c.unchanged for c in counts.values()),
        "articles_rejected": sum(c.rejected for c in counts.values()),
        "failed_sources": [s.source for s in stats if s.status != "ok"],
        "db": _where(db),
        "seconds": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 1),
        "per_source": per_source,
    }


def _where(db: str | Path) -> str:
    """The warehouse as a summary names it: the file's absolute path, or the lake's URL."""
    from warehouse.lake import is_lake, label
    return label(db) if is_lake(db) else str(Path(db).resolve())


def _source_row(s: CrawlStats, c: SourceCounts) -> dict:
    return {"source": s.source, "run_id": s.run_id, "status": s.status,
            "pages": s.pages_fetched, "not_modified": s.not_modified,
            "article_requests": s.article_requests, "new": c.new, "updated": c.updated,
            "unchanged": c.unchanged, "rejected": c.rejected, "errors": s.errors,
            "blocked": s.blocked, "flags": list(s.flags), "reasons": dict(c.reasons),
            "errors_by_kind": dict(s.errors_by_kind), "blocked_by_reason": dict(s.blocked_by_reason),
            "notes": [n for n in (s.message or "").split("; ") if n and not n.startswith("closed: ")]}


def crawl_reason(s: CrawlStats) -> str:
    """failure_reason for one crawl's stats."""
    return failure_reason(_source_row(s, SourceCounts()))


STATUS_MEANING = {"failed": "no list page could be read, or most requests failed",
                  "blocked": "the site answered the start pages with a challenge",
                  "empty": "the list pages held no article link"}


def failure_reason(p: dict) -> str:
    """One line on why a source of an ingest summary is not ok: what its status means, the
    errors and blocks by kind (`dns 1`, `timeout 3`, `challenge_ruishu 2`) and the crawl's notes."""
    parts = [STATUS_MEANING.get(p.get("status"), p.get("status") or "")]
    kinds = ", ".join(f"{k} {v}" for k, v in sorted((p.get("errors_by_kind") or {}).items()))
    if kinds:
        parts.append(f"errors: {kinds}")
    blocks = ", ".join(f"{k} {v}" for k, v in sorted((p.get("blocked_by_reason") or {}).items()))
    if blocks:
        parts.append(f"blocked: {blocks}")
    parts += p.get("notes") or []
    return "; ".join(x for x in parts if x)
