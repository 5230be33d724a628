"""DuckDB access. Loads are idempotent and batched: dedupe the batch, then in one transaction
insert only ids that are new and update only rows whose content hash changed, via Arrow tables
(row-by-row upserts run ~100x slower on DuckDB).

DuckDB allows one writing process per file; a writer that finds the file locked retries with
backoff for `wait` seconds and then raises WarehouseBusy instead of failing half-way.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import duckdb
import pyarrow as pa

from schemas import Article, CrawlStats, Rejected
from schemas.ddl import MIGRATIONS
from warehouse.errors import QueryError, WarehouseBusy, WarehouseError

UTC = dt.timezone.utc
TS = pa.timestamp("us", tz="UTC")

ARTICLE_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("source", pa.string()), ("title", pa.string()),
    ("published_at", TS), ("date_missing", pa.bool_()), ("original_source", pa.string()),
    ("author", pa.string()), ("editor", pa.string()), ("text", pa.string()),
    ("language", pa.string()), ("encoding", pa.string()), ("content_hash", pa.string()),
    ("extractor_version", pa.string()), ("provenance", pa.string()), ("fetched_at", TS),
    ("run_id", pa.string()), ("warc_path", pa.string()), ("warc_offset", pa.int64()),
])
# Columns an update rewrites (everything the page determines; not first_seen).
_UPDATABLE = [n for n in ARTICLE_SCHEMA.names if n != "id"]


@dataclass(frozen=True)
class LoadResult:
    new: int
    updated: int
    unchanged: int


def _is_lock_error(exc: Exception) -> bool:
    msg = str(exc)
    return "lock" in msg.lower() and ("Conflicting" in msg or "Could not set lock" in msg)


@contextmanager
def connect(path: str | Path, read_only: bool = False, wait: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating and migrating it when writable), retrying while locked."""
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"no warehouse at {path} (run an ingest first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"cannot open {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"{path} is held by another process (waited {wait:.0f}s)") from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open {path}: {exc}") from exc
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations this file has not seen yet; return the versions applied."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)")
    done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in MIGRATIONS:
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: records carry aware times")
    return value.astimezone(UTC)


def articles_to_arrow(articles: Sequence[Article]) -> pa.Table:
    cols: dict[str, list] = {n: [] for n in ARTICLE_SCHEMA.names}
    for a in articles:
        for n in ARTICLE_SCHEMA.names:
            v = getattr(a, n)
            if n in ("published_at", "fetched_at"):
                v = _utc(v)
            elif n == "provenance":
                v = json.dumps(dict(v), ensure_ascii=False, sort_keys=True) if v else None
            cols[n].append(v)
    return pa.table(cols, schema=ARTICLE_SCHEMA)


def dedupe_batch(articles: Iterable[Article]) -> list[Article]:
    """One record per id: the most recently fetched wins (a re-fetch supersedes)."""
    best: dict[str, Article] = {}
    for a in articles:
        cur = best.get(a.id)
        if cur is None or a.fetched_at >= cur.fetched_at:
            best[a.id] = a
    return list(best.values())


def load_articles(con: duckdb.DuckDBPyConnection, articles: Iterable[Article],
                  now: dt.datetime | None = None) -> LoadResult:
    """Insert new articles, update changed ones, touch last_seen of the rest: one transaction."""
    batch = dedupe_batch(articles)
    if not batch:
        return LoadResult(0, 0, 0)
    now = _utc(now or dt.datetime.now(UTC))
    table = articles_to_arrow(batch)
    con.register("_batch", table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _diff AS "
                        "SELECT b.id, a.id IS NULL AS is_new, "
                        "       a.id IS NOT NULL AND a.content_hash <> b.content_hash AS is_changed "
                        "FROM _batch b LEFT JOIN articles a ON a.id = b.id")
            new, updated = con.execute(
                "SELECT count(*) FILTER (is_new), count(*) FILTER (is_changed) FROM _diff").fetchone()
            cols = ", ".join(ARTICLE_SCHEMA.names)
            con.execute(f"INSERT INTO articles ({cols}, first_seen, last_seen) "
                        f"SELECT {cols}, $now, $now FROM _batch "
                        f"WHERE id IN (SELECT id FROM _diff WHERE is_new)", {"now": now})
            if updated:
                sets = ", ".join(f"{c} = b.{c}" for c in _UPDATABLE)
                con.execute(f"UPDATE articles SET {sets}, last_seen = $now FROM _batch b "
                            f"WHERE articles.id = b.id AND b.id IN (SELECT id FROM _diff WHERE is_changed)",
                            {"now": now})
            con.execute("UPDATE articles SET last_seen = $now WHERE id IN "
                        "(SELECT id FROM _diff WHERE NOT is_new AND NOT is_changed)", {"now": now})
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_batch")
        con.execute("DROP TABLE IF EXISTS _diff")
    return LoadResult(new=new, updated=updated, unchanged=len(batch) - new - updated)


def load_rejected(con: duckdb.DuckDBPyConnection, rejected: Iterable[Rejected],
                  now: dt.datetime | None = None) -> int:
    """Record rejections, one row per (url, reason); returns how many were new."""
    rows = {(r.url, r.reason): r for r in rejected}
    if not rows:
        return 0
    now = _utc(now or dt.datetime.now(UTC))
    table = pa.table({
        "url": [r.url for r in rows.values()], "source": [r.source for r in rows.values()],
        "reason": [r.reason for r in rows.values()], "detail": [r.detail for r in rows.values()],
        "run_id": [r.run_id for r in rows.values()],
        "warc_path": [r.warc_path for r in rows.values()],
        "warc_offset": pa.array([r.warc_offset for r in rows.values()], pa.int64()),
    })
    con.register("_rej", table)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            new = con.execute("SELECT count(*) FROM _rej r ANTI JOIN rejected x "
                              "ON x.url = r.url AND x.reason = r.reason").fetchone()[0]
            con.execute("UPDATE rejected SET last_seen = $now, detail = r.detail, run_id = r.run_id "
                        "FROM _rej r WHERE rejected.url = r.url AND rejected.reason = r.reason",
                        {"now": now})
            con.execute("INSERT INTO rejected SELECT r.url, r.source, r.reason, r.detail, $now, $now, "
                        "r.run_id, r.warc_path, r.warc_offset FROM _rej r ANTI JOIN rejected x "
                        "ON x.url = r.url AND x.reason = r.reason", {"now": now})
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_rej")
    return new


def record_crawl_runs(con: duckdb.DuckDBPyConnection, stats: Iterable[CrawlStats]) -> None:
    """Insert or replace the crawl_runs rows of these (run_id, source) pairs."""
    rows = list(stats)
    con.execute("BEGIN TRANSACTION")
    try:
        for s in rows:
            con.execute("DELETE FROM crawl_runs WHERE run_id = ? AND source = ?", [s.run_id, s.source])
            con.execute(
                "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, status, pages_fetched, "
                "list_pages, article_requests, articles_archived, not_modified, errors, blocked, bytes, "
                "errors_by_kind, warc_path, message) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [s.run_id, s.source, _utc(s.started_at), _utc(s.finished_at), s.status, s.pages_fetched,
                 s.list_pages, s.article_requests, s.articles_archived, s.not_modified, s.errors,
                 s.blocked, s.bytes, json.dumps(dict(s.errors_by_kind)), s.warc_path, s.message])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def update_run_counts(con: duckdb.DuckDBPyConnection, run_id: str, source: str,
                      new: int, updated: int, rejected: int) -> None:
    con.execute("UPDATE crawl_runs SET articles_new = ?, articles_updated = ?, articles_rejected = ? "
                "WHERE run_id = ? AND source = ?", [new, updated, rejected, run_id, source])


def known_urls(con: duckdb.DuckDBPyConnection, source: str | None = None) -> set[str]:
    sql = "SELECT url FROM articles" + (" WHERE source = ?" if source else "")
    return {r[0] for r in con.execute(sql, [source] if source else []).fetchall()}


def query(path: str | Path, sql: str, params: Sequence | None = None,
          wait: float = 10.0) -> tuple[list[str], list[tuple]]:
    """Run ad-hoc SQL on a read-only connection; returns (column names, rows)."""
    with connect(path, read_only=True, wait=wait) as con:
        try:
            cur = con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from exc
        if cur.description is None:
            return [], []
        cols = [d[0] for d in cur.description]
        return cols, cur.fetchall()
