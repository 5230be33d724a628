"""Re-run the current extractor over stored raw pages (no refetch) and update what changed.

Every article row knows the WARC file (relative to the archive root; older rows, an absolute
path) and offset of the page it came from. Re-extraction finds the file under the archive in
use (`--archive`: a moved or copied archive, or one on object storage, works), reads those records, runs extraction and normalisation again, and loads the results through
the same idempotent load: rows whose content hash changed are updated in place, the rest only
get the new `extractor_version`. Nothing is deleted: a page that the new extractor would
reject keeps its row and is counted as such in the report.
"""
from __future__ import annotations


import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from crawlers.archive import ReadReport
from crawlers.registry import Registry, load_registry
from flows.extract import EXTRACTOR_VERSION
from flows.process import to_record
from schemas import Article, Rejected


@dataclass
class ReextractReport:
    scanned: int = 0
    changed: int = 0
    unchanged: int = 0
    now_rejected: int = 0
    missing_page: int = 0
    fields: Counter = field(default_factory=Counter)     # field -> rows where it changed
    problems: list[str] = field(default_factory=list)
    version: str = EXTRACTOR_VERSION


def _value(article: Article, name: str):
    v = getattr(article, name)
    if name in ("images", "attachments"):
        keys = ("src", "caption") if name == "images" else ("url", "name")
        return [dict(zip(keys, pair)) for pair in v] or []
    if name == "quality" and v is not None:
        return round(float(v), 3)
    return v


def _stored(row: dict, name: str):
    v = row.get(name)
    if name in ("images", "attachments"):
        return list(v or [])
    if name == "quality" and v is not None:
        return round(float(v), 3)
    return v


def reextract_file(spec: tuple[str, str], loc: str, offsets: list[int], registry: Registry
                   ) -> tuple[list[tuple[int, Article | Rejected | None]] | None, ReadReport]:
    """The records again of the pages at these offsets of one WARC file of a store
    (crawlers/storage.py: `spec()`): the CPU-bound unit of a re-extraction on a Dask worker.
    None for the records when the file is in neither the store nor the spool."""
    from crawlers.errors import ArchiveMissing
    from crawlers.storage import from_spec
    store = from_spec(spec)
    rr = ReadReport(loc)
    try:
        if not store.exists(loc):
            return None, rr
        return list(_records(store, loc, offsets, registry, rr)), rr
    except ArchiveMissing:
        return None, rr


def _streamed(args: list[tuple]):
    """Without a fan-out: each file's records as they are read (no file held in memory whole)."""
    from crawlers.storage import from_spec
    for spec, loc, offsets, registry in args:
        store = from_spec(spec)
        rr = ReadReport(loc)
        yield (_records(store, loc, offsets, registry, rr) if store.exists(loc) else None), rr


def _records(store, loc: str, offsets: list[int], registry: Registry, rr: ReadReport):
    from crawlers.archive import read_store
    by_name = {s.name: s for s in registry.sources}
    # the pages keep the location they were stored with: re-extraction changes fields,
    # not where the raw page is
    for page in read_store(store, loc, rr, offsets=set(offsets)):
        yield page.warc_offset, to_record(page, by_name.get(page.source), registry.presets)


def reextract(db: str | Path, registry: Registry | None = None, source: str | None = None,
              since: dt.date | None = None, dry_run: bool = False,
              progress: Callable[[str], None] | None = None,
              archive: str | Path | None = None, store=None, fanout=None) -> ReextractReport:
    """`archive`: the archive root stored locations are resolved against (default: 'archive'
    next to the db, as the CLI's); `store` (crawlers/storage.py) where they are read from
    (default: that folder); `fanout` how the files are re-extracted (default: here, each
    file's records streamed; flows/fanout.py: on a Dask cluster)."""
    import warehouse
    from crawlers.storage import LocalStore
    root = Path(archive) if archive is not None else Path(db).parent / "archive"
    store = store if store is not None else LocalStore(root)
    registry = registry or load_registry()
    report = ReextractReport()
    with warehouse.connect(db, read_only=dry_run) as con:
        rows = warehouse.articles_for_reextract(con, source, since)
    wanted: dict[str, dict[int, dict]] = defaultdict(dict)
    for row in rows:
        wanted[row["warc_path"]][row["warc_offset"]] = row
    fresh: list[Article] = []
    seen: list[str] = []
    args = [(store.spec(), stored, sorted(by_offset), registry) for stored, by_offset in wanted.items()]
    results_of = fanout(reextract_file, args) if fanout is not None else _streamed(args)
    for (stored, by_offset), (results, rr) in zip(wanted.items(), results_of):
        if results is None:
            report.missing_page += len(by_offset)
            report.problems.append(f"{stored}: archive file missing under {store.url} ({len(by_offset)} articles)")
            continue
        found = set()
        for offset, rec in results:
            row = by_offset.get(offset)
            if row is None:
                continue
            found.add(offset)
            report.scanned += 1
            if not isinstance(rec, Article):
                report.now_rejected += 1
                continue
            if rec.id != row["id"]:
                # a URL rule added since (url_drop_params ...): the article keeps its identity,
                # which its tags, search postings and story hang on; new pages get the new rule
                rec = replace(rec, id=row["id"], url=row["url"])
            seen.append(rec.id)
            diffs = [f for f in warehouse.REEXTRACT_FIELDS if _value(rec, f) != _stored(row, f)]
            if rec.content_hash != row["content_hash"] or diffs:
                report.changed += 1
                report.fields.update(diffs)
                fresh.append(rec)
            else:
                report.unchanged += 1
        report.missing_page += len(set(by_offset) - found)
        report.problems += rr.problems
        if progress:
            progress(f"{store.describe(stored)}: {len(found)} pages re-extracted")
    if not dry_run:
        with warehouse.connect(db) as con:
            with warehouse.LoadSession(con) as session:
                session.articles(fresh, replace=True)
            warehouse.set_extractor_version(con, seen, EXTRACTOR_VERSION)
    return report
