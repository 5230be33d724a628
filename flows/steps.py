"""The pipeline's steps as plain functions over paths and ids: crawl, record, process.

Prefect tasks (flows/ingest.py) wrap these thinly; the CLI calls them directly when it does
not need Prefect. Nothing here holds a connection across calls or passes HTML around.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from crawlers.registry import Registry, load_registry
from flows.process import iter_records
from schemas import Article, CrawlStats, Rejected

CHUNK = 20000    # records per Arrow batch: bounded memory (~60 MB of text), few statements


@dataclass
class SourceCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)


def record_crawl(db: str | Path, stats: list[CrawlStats]) -> None:
    import warehouse
    with warehouse.connect(db) as con:
        warehouse.record_crawl_runs(con, stats)


def process_archives(db: str | Path, paths: list[str | Path], registry: Registry | None = None,
                     progress: Callable[[str], None] | None = None) -> dict[str, SourceCounts]:
    """Extract every article in these archive files and load them; per-source counts."""
    import warehouse
    registry = registry or load_registry()
    counts: dict[str, SourceCounts] = {}
    runs: set[tuple[str, str]] = set()
    articles: list[Article] = []
    rejected: list[Rejected] = []
    reports: list = []

    # one transaction for the whole call: a crash or kill mid-way leaves nothing half-loaded,
    # and DuckDB commits one large transaction far faster than many small ones
    with warehouse.connect(db) as con, warehouse.LoadSession(con) as session:
        def flush():
            by_source: dict[str, list[Article]] = {}
            for a in articles:
                by_source.setdefault(a.source, []).append(a)
            for name, batch in by_source.items():
                res = session.articles(batch)
                c = counts.setdefault(name, SourceCounts())
                c.new += res.new
                c.updated += res.updated
                c.unchanged += res.unchanged
            session.rejected(rejected)
            for r in rejected:
                c = counts.setdefault(r.source, SourceCounts())
                c.rejected += 1
                c.reasons[r.reason] += 1
            articles.clear()
            rejected.clear()

        for rec in iter_records(paths, registry, reports):
            runs.add((rec.run_id, rec.source))
            (articles if isinstance(rec, Article) else rejected).append(rec)
            if len(articles) + len(rejected) >= CHUNK:
                flush()
                if progress:
                    progress(f"extracted {sum(c.new + c.updated + c.unchanged for c in counts.values())} articles")
        flush()
        for run_id, source in runs:
            c = counts.get(source)
            if c and run_id:
                warehouse.update_run_counts(con, run_id, source, c.new, c.updated, c.rejected)
    for rep in reports:
        if rep.problems and progress:
            progress(f"{rep.path}: {'; '.join(rep.problems)}")
    return counts


def archive_paths_for(stats: list[CrawlStats]) -> list[str]:
    return [s.warc_path for s in stats if s.warc_path and Path(s.warc_path).exists()]


def summarise(stats: list[CrawlStats], counts: dict[str, SourceCounts], db: str | Path,
              started: dt.datetime) -> dict:
    """The ingest summary the CLI prints and the flow returns."""
    per_source = []
    for s in stats:
        c = counts.get(s.source, SourceCounts())
        per_source.append({"source": s.source, "status": s.status, "pages": s.pages_fetched,
                           "new": c.new, "updated": c.updated, "unchanged": c.unchanged,
                           "rejected": c.rejected, "errors": s.errors})
    return {
        "sources": len(stats),
        "pages_fetched": sum(s.pages_fetched for s in stats),
        "articles_new": sum(c.new for c in counts.values()),
        "articles_updated": sum(c.updated for c in counts.values()),
        "articles_unchanged": sum(c.unchanged for c in counts.values()),
        "articles_rejected": sum(c.rejected for c in counts.values()),
        "failed_sources": [s.source for s in stats if s.status != "ok"],
        "db": str(Path(db).resolve()),
        "seconds": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 1),
        "per_source": per_source,
    }
