"""Crawl runs, the fetch log and list-page state in DuckDB (migration 3).

- `record_crawl_state` loads a run's state file (crawlers/state.py) into `crawl_urls` (one row
  per archived response: URL, status, block reason, where in the WARC file) and `list_pages`
  (each list page's ETag/Last-Modified and the links and next pages it held).
- `crawl_state` builds what the next crawl starts from: per source, the article URLs already
  stored (loaded articles, plus pages fetched fine whatever extraction made of them), the
  list-page validators, and the runs already recorded. The flow hands it to the crawl
  subprocess as a file.
- `recent_runs` is `newsflow runs`: the crawl reports, newest first, with whether each run was
  processed (`processed_at`: its counts are final from then on) and how many of its articles
  still wait for dedupe.

Every fetch of a URL stays in `crawl_urls` with its WARC location, so an article re-fetched
with --refresh keeps its earlier version in the archive, findable from here.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Iterable

import duckdb
import pyarrow as pa

from warehouse.errors import QueryError
from warehouse.times import TS, UTC
from warehouse.transactions import transaction as in_transaction



def _ts(value: str | None):
    if not value:
        return None
    t = dt.datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def record_crawl_state(con: duckdb.DuckDBPyConnection, run_id: str, source: str, doc: dict,
                       warc_path: str = "") -> None:
    """Replace this run's rows of crawl_urls and upsert its list pages (one transaction)."""
    fetched = doc.get("fetched") or []
    lists = doc.get("lists") or {}
    urls = pa.table({
        "run_id": pa.array([run_id] * len(fetched), pa.string()),
        "source": pa.array([source] * len(fetched), pa.string()),
        "url": pa.array([f.get("url") for f in fetched], pa.string()),
        "final_url": pa.array([f.get("final_url") for f in fetched], pa.string()),
        "kind": pa.array([f.get("kind") for f in fetched], pa.string()),
        "status": pa.array([f.get("status") for f in fetched], pa.int32()),
        "block_reason": pa.array([f.get("block") for f in fetched], pa.string()),
        "list_date": pa.array([f.get("list_date") for f in fetched], pa.string()),
        "fetched_at": pa.array([_ts(f.get("fetched_at")) for f in fetched], TS),
        "warc_path": pa.array([warc_path] * len(fetched), pa.string()),
        "warc_offset": pa.array([f.get("offset") for f in fetched], pa.int64()),
        "etag": pa.array([f.get("etag") for f in fetched], pa.string()),
        "last_modified": pa.array([f.get("last_modified") for f in fetched], pa.string()),
    })
    items = list(lists.items())
    pages = pa.table({
        "source": pa.array([source] * len(items), pa.string()),
        "url": pa.array([u for u, _ in items], pa.string()),
        "etag": pa.array([d.get("etag") for _, d in items], pa.string()),
        "last_modified": pa.array([d.get("last_modified") for _, d in items], pa.string()),
        "status": pa.array([d.get("status") for _, d in items], pa.int32()),
        "links": pa.array([json.dumps(d.get("links") or [], ensure_ascii=False) for _, d in items], pa.string()),
        "next_pages": pa.array([json.dumps(d.get("next") or [], ensure_ascii=False) for _, d in items], pa.string()),
        "page_count": pa.array([d.get("count") for _, d in items], pa.int32()),
        "run_id": pa.array([run_id] * len(items), pa.string()),
    })
    with in_transaction(con):
        con.execute("DELETE FROM crawl_urls WHERE run_id = ? AND source = ?", [run_id, source])
        if fetched:
            con.register("_urls", urls)
            con.execute("INSERT INTO crawl_urls SELECT * FROM _urls")
            con.unregister("_urls")
        if items:
            con.register("_lists", pages)
            con.execute("DELETE FROM list_pages WHERE source = ? AND url IN (SELECT url FROM _lists)", [source])
            con.execute("INSERT INTO list_pages SELECT source, url, etag, last_modified, status, links, next_pages, "
                        "page_count, run_id, now() FROM _lists")
            con.unregister("_lists")


def crawl_state(con: duckdb.DuckDBPyConnection, sources: Iterable[str]) -> dict:
    """{source: {"known": [...], "lists": {url: {...}}, "recorded_runs": [...]}} for the crawler."""
    out = {}
    for source in sources:
        known = con.execute(
            "SELECT url FROM articles WHERE source = $s "
            "UNION SELECT url FROM crawl_urls WHERE source = $s AND kind = 'article' "
            "  AND status BETWEEN 200 AND 299 AND block_reason IS NULL "
            "UNION SELECT final_url FROM crawl_urls WHERE source = $s AND kind = 'article' "
            "  AND status BETWEEN 200 AND 299 AND block_reason IS NULL AND final_url IS NOT NULL",
            {"s": source}).fetchall()
        lists = {}
        for url, etag, lm, status, links, nxt, count in con.execute(
                "SELECT url, etag, last_modified, status, links, next_pages, page_count FROM list_pages "
                "WHERE source = ?", [source]).fetchall():
            lists[url] = {"etag": etag, "last_modified": lm, "status": status, "links": json.loads(links or "[]"),
                          "next": json.loads(nxt or "[]"), "count": count}
        runs = [r[0] for r in con.execute("SELECT DISTINCT run_id FROM crawl_runs WHERE source = ?", [source]).fetchall()]
        out[source] = {"known": sorted(r[0] for r in known), "lists": lists, "recorded_runs": sorted(runs)}
    return out


RUN_COLUMNS = ["run_id", "source", "started_at", "finished_at", "duration_s", "status", "flags", "mode",
               "resumed", "pages_fetched", "list_pages", "not_modified", "article_requests",
               "articles_archived", "articles_new", "articles_updated", "articles_rejected", "retries",
               "errors", "errors_by_kind", "blocked", "blocked_by_reason", "robots_disallowed",
               "known_skipped", "skipped_by_kind", "bytes", "warc_path", "message", "processed_at"]
JSON_COLUMNS = {"errors_by_kind", "blocked_by_reason", "skipped_by_kind"}
# added by migration 8, and what it fills in
LATER_COLUMNS = {"processed_at": "CASE WHEN articles_new IS NOT NULL THEN coalesce(finished_at, now()) END"}


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 20, source: str | None = None,
                run_id: str | None = None) -> list[dict]:
    """Crawl reports, newest first, each with its per-HTTP-status counts."""
    where, params = [], []
    if source:
        where.append("source = ?")
        params.append(source)
    if run_id:
        where.append("run_id = ?")
        params.append(run_id)
    # a warehouse not migrated yet (read-only commands do not migrate) has no processed_at
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'crawl_runs'").fetchall()}
    if not have:        # a warehouse from before migration 3
        raise QueryError("this warehouse has no crawl runs table yet (run any crawl to migrate it)")
    cols = [c if c in have or c not in LATER_COLUMNS else f"{LATER_COLUMNS[c]} AS {c}" for c in RUN_COLUMNS]
    sql = (f"SELECT {', '.join(cols)} FROM crawl_runs "
           + (f"WHERE {' AND '.join(where)} " if where else "")
           + "ORDER BY started_at DESC NULLS LAST, run_id DESC, source LIMIT ?")
    rows = con.execute(sql, [*params, int(limit)]).fetchall()
    out = []
    for row in rows:
        r = dict(zip(RUN_COLUMNS, row))
        for k in JSON_COLUMNS:
            r[k] = json.loads(r[k]) if r[k] else {}
        r["flags"] = list(r["flags"] or [])
        for k in ("started_at", "finished_at", "processed_at"):
            r[k] = r[k].astimezone(UTC).isoformat() if r[k] else None
        out.append(r)
    if out:
        keys = [(r["run_id"], r["source"]) for r in out]
        counts: dict = {}
        for rid, src, code, n in con.execute(
                "SELECT run_id, source, http_status, responses FROM crawl_run_status "
                "WHERE (run_id, source) IN (SELECT * FROM (VALUES " + ", ".join("(?, ?)" for _ in keys) + "))"
                " ORDER BY http_status", [x for k in keys for x in k]).fetchall():
            counts.setdefault((rid, src), {})[str(code)] = n
        # articles of these runs loaded but not (or no longer) in a story: a process killed
        # between its load and its dedupe; the next process or ingest dedupes them
        pending = {(rid, src): n for rid, src, n in con.execute(
            "SELECT a.run_id, a.source, count(*) FROM articles a LEFT JOIN dedupe_docs d ON d.article_id = a.id "
            "WHERE (d.article_id IS NULL OR d.content_hash IS DISTINCT FROM a.content_hash) "
            "AND (a.run_id, a.source) IN (SELECT * FROM (VALUES " + ", ".join("(?, ?)" for _ in keys) + ")) "
            "GROUP BY ALL", [x for k in keys for x in k]).fetchall()}
        for r in out:
            r["status_counts"] = counts.get((r["run_id"], r["source"]), {})
            r["dedupe_pending"] = pending.get((r["run_id"], r["source"]), 0)
    return out


def mark_processed(con: duckdb.DuckDBPyConnection, keys: Iterable[tuple[str, str]]) -> None:
    """These runs' archives were processed to the end: their counts are final (0 where the
    archive held no article) and no later pass changes them (warehouse.add_run_counts).
    A run already marked keeps its first time."""
    for run_id, source in keys:
        con.execute("UPDATE crawl_runs SET articles_new = coalesce(articles_new, 0), "
                    "articles_updated = coalesce(articles_updated, 0), "
                    "articles_rejected = coalesce(articles_rejected, 0), processed_at = now() "
                    "WHERE run_id = ? AND source = ? AND processed_at IS NULL", [run_id, source])


def recorded_runs(con: duckdb.DuckDBPyConnection, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (run_id, source) have a crawl_runs row."""
    keys = list(keys)
    if not keys:
        return set()
    rows = con.execute("SELECT run_id, source FROM crawl_runs WHERE (run_id, source) IN (SELECT * FROM (VALUES "
                       + ", ".join("(?, ?)" for _ in keys) + "))", [x for k in keys for x in k]).fetchall()
    return {tuple(r) for r in rows}
