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


def crawl_state(db: str | Path, sources: list[str]) -> dict:
    """What the warehouse knows for the next crawl of these sources (see warehouse/runs.py);
    {} when there is no warehouse yet (the crawl then relies on the runs it finds on disk)."""
    if not Path(db).exists():
        return {}
    import warehouse
    with warehouse.connect(db) as con:
        return warehouse.crawl_state(con, sources)


def record_crawl(db: str | Path, stats: list[CrawlStats]) -> None:
    """Record the crawl reports, and each run's fetch log and list-page state."""
    import json

    import warehouse
    with warehouse.connect(db) as con:
        warehouse.record_crawl_runs(con, stats)
        for s in stats:
            path = Path(s.state_path) if s.state_path else None
            if path and path.exists():
                doc = json.loads(path.read_text(encoding="utf-8"))
                warehouse.record_crawl_state(con, s.run_id, s.source, doc, s.warc_path)


def process_archives(db: str | Path, paths: list[str | Path], registry: Registry | None = None,
                     progress: Callable[[str], None] | None = None,
                     runs_done: list[tuple[str, str]] = (), tag: bool = True, index: bool = True,
                     dedupe: bool = True, snapshot: bool = True) -> dict[str, SourceCounts]:
    """Extract every article in these archive files and load them; per-source counts.

    Extraction, tagging and segmentation happen with the warehouse closed; each chunk of
    CHUNK records is then written in one short transaction (articles, rejections, tags, search
    postings), so an analyst's query or another load waits seconds, never minutes, and a kill
    leaves whole chunks or nothing. Afterwards new articles are deduplicated into stories and a
    read-only snapshot is published for long analyst sessions.
    `runs_done` (run_id, source): crawl runs these files are, whose counts become 0 if they
    held no article."""
    import warehouse
    registry = registry or load_registry()
    counts: dict[str, SourceCounts] = {}
    per_run: dict[tuple[str, str], SourceCounts] = {}       # (run_id, source): for crawl_runs
    runs: set[tuple[str, str]] = set()
    articles: list[Article] = []
    rejected: list[Rejected] = []
    reports: list = []
    loaded_ids: list[str] = []
    taxonomy = provinces = None
    if tag:
        from flows.tags import load_taxonomy, province_map
        taxonomy, provinces = load_taxonomy(), province_map(registry)

    def flush():
        if not articles and not rejected:
            return
        tags = postings = None
        if (tag or index) and articles:
            # one jieba pass per article serves both the search index and the keywords
            from flows.segment import tokens
            postings = [(a.id, tokens(a.title_simplified or a.title), tokens(a.text_simplified or a.text))
                        for a in warehouse_dedupe(articles)]
        if tag and articles:
            from flows.tags import keywords_from_tokens, tag_articles
            tags = tag_articles(articles, taxonomy, provinces, keywords=False)
            for aid, title_tokens, text_tokens in postings:
                tags += keywords_from_tokens(aid, title_tokens + text_tokens)
        if not index:
            postings = None
        with warehouse.connect(db) as con:
            with warehouse.LoadSession(con) as session:
                by_run: dict[tuple[str, str], list[Article]] = {}
                for a in articles:
                    by_run.setdefault((a.run_id, a.source), []).append(a)
                for (run_id, name), batch in by_run.items():
                    res = session.articles(batch)
                    for c in (counts.setdefault(name, SourceCounts()),
                              per_run.setdefault((run_id, name), SourceCounts())):
                        c.new += res.new
                        c.updated += res.updated
                        c.unchanged += res.unchanged
                session.rejected(rejected)
                if tags is not None:
                    from warehouse.tags import load_tags
                    load_tags(con, tags, taxonomy.version, taxonomy.info(), transaction=False,
                              article_ids=[a.id for a in articles])
            if postings:
                from warehouse.search import index_documents
                index_documents(con, postings)
        for r in rejected:
            for c in (counts.setdefault(r.source, SourceCounts()),
                      per_run.setdefault((r.run_id, r.source), SourceCounts())):
                c.rejected += 1
                c.reasons[r.reason] += 1
        loaded_ids.extend(a.id for a in articles)
        articles.clear()
        rejected.clear()

    for rec in iter_records(paths, registry, reports):
        runs.add((rec.run_id, rec.source))
        (articles if isinstance(rec, Article) else rejected).append(rec)
        if len(articles) + len(rejected) >= CHUNK:
            flush()
            if progress:
                progress(f"loaded {sum(c.new + c.updated + c.unchanged for c in counts.values())} articles")
    flush()
    with warehouse.connect(db) as con:
        for run_id, source in runs:
            c = per_run.get((run_id, source))
            if c and run_id:
                warehouse.update_run_counts(con, run_id, source, c.new, c.updated, c.rejected)
        warehouse.mark_processed(con, runs_done)
    if dedupe and loaded_ids:
        dedupe_articles(db, loaded_ids, registry, progress)
    for rep in reports:
        if rep.problems and progress:
            progress(f"{rep.path}: {'; '.join(rep.problems)}")
    if snapshot:
        warehouse.publish_snapshot(db)
    return counts


def warehouse_dedupe(articles: list[Article]) -> list[Article]:
    """One record per id, as the load keeps it (the most recently fetched)."""
    from warehouse.store import dedupe_batch
    return dedupe_batch(articles)


def dedupe_articles(db: str | Path, ids: list[str], registry: Registry | None = None,
                    progress: Callable[[str], None] | None = None):
    """Group these (new or re-loaded) articles into stories with everything stored before."""
    from flows import dedupe
    outlets = dedupe.registry_outlets(registry) if registry is not None else None
    report = dedupe.dedupe_new(db, article_ids=ids, outlets=outlets, chunk=DEDUPE_CHUNK)
    if progress:
        progress(f"dedupe: {report}")
    return report


def unprocessed_runs(db: str | Path, sources: list[str], exclude: list[CrawlStats] = ()) -> list[CrawlStats]:
    """Recorded runs whose archive was never fully processed (a flow killed during extraction
    or the load: their counts are still NULL). Their articles are known to the crawler, so
    they will not be fetched again: they are processed with the next run, or they are lost."""
    if not Path(db).exists():
        return []
    import warehouse
    from crawlers.stats import read_stats
    done = {(s.run_id, s.source) for s in exclude}
    _, rows = warehouse.query(db, "SELECT run_id, source, warc_path FROM crawl_runs WHERE articles_new IS NULL "
                                  "AND source IN (SELECT unnest(?)) ORDER BY started_at", [list(sources)])
    out = []
    for run_id, source, warc in rows:
        path = Path(warc).with_name(f"{run_id}.stats.json") if warc else None
        if (run_id, source) not in done and path is not None and path.exists():
            out.append(read_stats(path))
    return out


def archive_paths_for(stats: list[CrawlStats]) -> list[str]:
    return [s.warc_path for s in stats if s.warc_path and Path(s.warc_path).exists()]


def summarise(stats: list[CrawlStats], counts: dict[str, SourceCounts], db: str | Path,
              started: dt.datetime) -> dict:
    """The ingest summary the CLI prints and the flow returns."""
    per_source = []
    for s in stats:
        c = counts.get(s.source, SourceCounts())
        per_source.append({"source": s.source, "run_id": s.run_id, "status": s.status,
                           "pages": s.pages_fetched, "not_modified": s.not_modified,
                           "article_requests": s.article_requests, "new": c.new, "updated": c.updated,
                           "unchanged": c.unchanged, "rejected": c.rejected, "errors": s.errors,
                           "blocked": s.blocked, "flags": list(s.flags), "reasons": dict(c.reasons)})
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
        "db": str(Path(db).resolve()),
        "seconds": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds(), 1),
        "per_source": per_source,
    }
