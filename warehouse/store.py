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
from operator import attrgetter
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence, TypeVar

import duckdb
import pyarrow as pa

from schemas import Article, CrawlStats, Rejected
from schemas.ddl import MIGRATIONS
from warehouse.errors import WarehouseBusy, WarehouseError
from warehouse.times import TS, UTC, ts_array, utc
from warehouse.transactions import transaction as in_transaction

T = TypeVar("T")

ARTICLE_SCHEMA = pa.schema([
    ("id", pa.string()), ("url", pa.string()), ("url_original", pa.string()), ("source", pa.string()),
    ("title", pa.string()),
    ("published_at", TS), ("date_missing", pa.bool_()), ("original_source", pa.string()),
    ("author", pa.string()), ("editor", pa.string()), ("text", pa.string()),
    ("language", pa.string()), ("encoding", pa.string()), ("content_hash", pa.string()),
    ("extractor_version", pa.string()), ("provenance", pa.string()), ("fetched_at", TS),
    ("run_id", pa.string()), ("warc_path", pa.string()), ("warc_offset", pa.int64()),
    ("title_simplified", pa.string()), ("text_simplified", pa.string()), ("script", pa.string()),
    ("quality", pa.float64()), ("quality_flags", pa.list_(pa.string())), ("column_name", pa.string()),
    ("images", pa.list_(pa.struct([("src", pa.string()), ("caption", pa.string())]))),
    ("attachments", pa.list_(pa.struct([("url", pa.string()), ("name", pa.string())]))),
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


def open_retrying(opener: Callable[[], T], path: Path, wait: float) -> T:
    """Call `opener` (a DuckDB open or ATTACH of `path`) until the file's lock lets it through
    or `wait` seconds have passed; other errors are WarehouseError at once."""
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return opener()
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise WarehouseError(f"cannot open {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"{path} is held by another process (waited {wait:.0f}s)") from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot open {path}: {exc}") from exc


@contextmanager
def connect(path: str | Path, read_only: bool = False, wait: float = 30.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse (creating and migrating it when writable), retrying while locked.
    A DuckLake URL (warehouse/lake.py) opens the lake instead: no file, no lock to wait for."""
    from warehouse.lake import connect_lake, is_lake
    if is_lake(path):
        with connect_lake(path, read_only=read_only) as con:
            yield con
        return
    path = Path(path)
    if read_only and not path.exists():
        raise WarehouseError(f"no warehouse at {path} (run an ingest first)")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = open_retrying(lambda: duckdb.connect(str(path), read_only=read_only), path, wait)
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        # DuckDB draws a progress bar on stdout for queries over 2 s: it would corrupt the
        # output of `newsflow ingest --json`, `newsflow sql --format csv` ... (found by the soak)
        con.execute("SET enable_progress_bar = false")
        if not read_only:
            migrate(con)
        yield con
    except (duckdb.IOException, duckdb.TransactionException, duckdb.FatalException) as exc:
        # a full disk, a file-size limit, a failed commit or checkpoint: DuckDB rolled back (or
        # will replay the WAL on the next open); say so in one line instead of a traceback. The
        # cause, not the ROLLBACK that failed after it ("no transaction is active")
        cause = exc
        while isinstance(cause.__context__, duckdb.Error):
            cause = cause.__context__
        raise WarehouseError(f"cannot write {path}: {str(cause).splitlines()[0]}") from exc
    finally:
        con.close()


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations this file has not seen yet; return the versions applied."""
    from warehouse.transactions import is_lake_con
    if is_lake_con(con):
        from warehouse import lake
        return lake.migrate(con)
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMPTZ)")
    return apply_migrations(con)


def apply_migrations(con: duckdb.DuckDBPyConnection,
                     translate: Callable[[str], str] = lambda sql: sql) -> list[int]:
    """The loop both backends share: each migration not yet recorded in `schema_migrations`,
    `translate`d for the backend, in its own transaction with its record. Asked again inside
    the transaction: on a lake another process may have committed it since."""
    done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in sorted(MIGRATIONS):
        if version in done:
            continue
        with in_transaction(con):
            if con.execute("SELECT count(*) FROM schema_migrations WHERE version = ?", [version]).fetchone()[0]:
                continue
            con.execute(translate(sql))
            con.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
        applied.append(version)
    return applied


# one C-level pass per field (getattr() in a comprehension cost twice as much)
_GETTERS = tuple((f, attrgetter(f.name)) for f in ARTICLE_SCHEMA)
_PAIRS = {f: ARTICLE_SCHEMA.field(f).type for f in ("images", "attachments")}


def _provenance(values: Sequence[tuple]) -> pa.Array:
    """JSON text per record; records of one source mostly share their rules, so each distinct
    tuple is dumped once (json.dumps per row was ~5 us of every load's records)."""
    seen: dict[tuple, str | None] = {}
    out = []
    for v in values:
        text = seen.get(v, _MISSING) if v.__class__ is tuple else _MISSING
        if text is _MISSING:
            text = json.dumps(dict(v), ensure_ascii=False, sort_keys=True) if v else None
            if v.__class__ is tuple:
                seen[v] = text
        out.append(text)
    return pa.array(out, pa.string())


_MISSING = object()


def _offsets(values: Sequence[Sequence]) -> pa.Array:
    offsets = [0]
    total = 0
    for v in values:
        total += len(v)
        offsets.append(total)
    return pa.array(offsets, pa.int32())


def _string_lists(values: Sequence[Sequence[str]], type_: pa.DataType) -> pa.Array:
    """A list<string> column from offsets and one flat array (no per-row list objects)."""
    flat = pa.array([x for v in values for x in v], pa.string())
    return pa.ListArray.from_arrays(_offsets(values), flat, type=type_)


def _pair_lists(values: Sequence[Sequence[tuple]], type_: pa.DataType) -> pa.Array:
    """A list<struct<a, b>> column from (a, b) pairs: two flat string arrays and offsets, in
    place of one dict per pair."""
    fields = list(type_.value_type)
    firsts = pa.array([p[0] for v in values for p in v], pa.string())
    seconds = pa.array([p[1] for v in values for p in v], pa.string())
    structs = pa.StructArray.from_arrays([firsts, seconds], fields=fields)
    return pa.ListArray.from_arrays(_offsets(values), structs, type=type_)


def articles_to_arrow(articles: Sequence[Article]) -> pa.Table:
    """The records as an Arrow table of ARTICLE_SCHEMA, built column by column from one pass
    over the records."""
    if not articles:
        return ARTICLE_SCHEMA.empty_table()
    arrays = []
    for f, get in _GETTERS:
        values = list(map(get, articles))
        if f.name in ("published_at", "fetched_at"):
            arrays.append(ts_array(values))
        elif f.name == "quality_flags":
            arrays.append(_string_lists(values, f.type))
        elif f.name in _PAIRS:
            arrays.append(_pair_lists(values, f.type))
        elif f.name == "provenance":
            arrays.append(_provenance(values))
        else:
            arrays.append(pa.array(values, f.type))
    return pa.Table.from_arrays(arrays, schema=ARTICLE_SCHEMA)


def dedupe_batch(articles: Iterable[Article]) -> list[Article]:
    """One record per id: the most recently fetched wins (a re-fetch supersedes)."""
    articles = list(articles)
    if len({a.id for a in articles}) == len(articles):
        return articles     # the usual batch: no id twice, nothing to compare
    best: dict[str, Article] = {}
    for a in articles:
        cur = best.get(a.id)
        if cur is None or a.fetched_at >= cur.fetched_at:
            best[a.id] = a
    return list(best.values())


class LoadSession:
    """One load transaction fed any number of Arrow batches; commits on clean exit only."""

    def __init__(self, con: duckdb.DuckDBPyConnection, now: dt.datetime | None = None):
        self.con = con
        self.now = utc(now or dt.datetime.now(UTC))
        self.new = self.updated = self.unchanged = self.rejected_new = 0
        self.edits: list[tuple[str, int]] = []      # (article_id, version) of new versions
        # (run_id, source) -> rejections this load recorded for that run for the first time
        # (a page already rejected for the same run, loaded again after a kill, is not one)
        self.rejected_by_run: dict[tuple[str, str], int] = {}

    def __enter__(self) -> "LoadSession":
        self._tx = in_transaction(self.con)
        self._tx.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._tx.__exit__(exc_type, exc, tb)

    def articles(self, articles: Iterable[Article], replace: bool = False) -> LoadResult:
        """Insert new ids, update rows whose content hash changed, touch last_seen of the rest.

        `replace` updates every existing row of the batch (re-extraction: fields outside the
        content hash, such as quality or script, may have changed too)."""
        articles = list(articles)
        batch = dedupe_batch(articles)
        if not batch:
            return LoadResult(0, 0, 0)
        con, now = self.con, {"now": self.now}
        table = articles_to_arrow(batch)
        # the text's length in characters, for version rows: Python knows it for free, DuckDB's
        # length() would read all the text (a third of a first load's version step)
        chars = [None if a.text is None else len(a.text) for a in batch]
        table = table.append_column("text_chars", pa.array(chars, pa.int32()))
        con.register("_batch", table)
        try:
            # DuckDB reports affected rows as the statement's result: no separate count queries
            existing = con.execute("SELECT count(*) FROM _batch b SEMI JOIN articles a ON a.id = b.id").fetchone()[0]
            if not replace:     # a re-extraction is no version (warehouse/revisions.py)
                from warehouse.revisions import record_batch_versions
                self.edits += record_batch_versions(con, articles, self.now, stored=existing)
            changed = 0
            if existing:
                sets = ", ".join(f"{c} = b.{c}" for c in _UPDATABLE)
                if replace:     # re-extraction: new fields, same fetch (last_seen stays)
                    changed = con.execute(f"UPDATE articles SET {sets} FROM _batch b "
                                          f"WHERE articles.id = b.id").fetchone()[0]
                else:
                    # an older fetch (an old WARC file processed again) never overwrites a newer one
                    changed = con.execute(f"UPDATE articles SET {sets}, last_seen = $now FROM _batch b "
                                          f"WHERE articles.id = b.id AND articles.content_hash <> b.content_hash "
                                          f"AND (articles.fetched_at IS NULL OR b.fetched_at >= articles.fetched_at)",
                                          now).fetchone()[0]
                    con.execute("UPDATE articles SET last_seen = $now FROM _batch b "
                                "WHERE articles.id = b.id AND articles.last_seen < $now", now)
            new = 0
            if existing < len(batch):
                cols = ", ".join(ARTICLE_SCHEMA.names)
                # none of the batch stored yet (a first load): the plain INSERT ... SELECT
                anti = " ANTI JOIN articles a ON a.id = b.id" if existing else ""
                new = con.execute(f"INSERT INTO articles ({cols}, first_seen, last_seen) "
                                  f"SELECT {cols}, $now, $now FROM _batch b{anti}", now).fetchone()[0]
        finally:
            con.unregister("_batch")
        result = LoadResult(new=new, updated=changed, unchanged=len(batch) - new - changed)
        self.new += result.new
        self.updated += result.updated
        self.unchanged += result.unchanged
        return result

    def rejected(self, rejected: Iterable[Rejected]) -> int:
        """Record rejections, one row per (url, reason); returns how many were new."""
        rows = list({(r.url, r.reason): r for r in rejected}.values())
        if not rows:
            return 0
        con, now = self.con, {"now": self.now}
        con.register("_rej", pa.table({
            "url": [r.url for r in rows], "source": [r.source for r in rows],
            "reason": [r.reason for r in rows], "detail": [r.detail for r in rows],
            "run_id": [r.run_id for r in rows], "warc_path": [r.warc_path for r in rows],
            "warc_offset": pa.array([r.warc_offset for r in rows], pa.int64()),
        }))
        try:
            new = con.execute("SELECT count(*) FROM _rej r ANTI JOIN rejected x "
                              "ON x.url = r.url AND x.reason = r.reason").fetchone()[0]
            for run_id, source, n in con.execute(
                    "SELECT r.run_id, r.source, count(*) FROM _rej r ANTI JOIN rejected x ON x.url = r.url "
                    "AND x.reason = r.reason AND x.run_id IS NOT DISTINCT FROM r.run_id GROUP BY ALL").fetchall():
                key = (run_id, source)
                self.rejected_by_run[key] = self.rejected_by_run.get(key, 0) + n
            # the run and the raw page of the latest rejection, together
            con.execute("UPDATE rejected SET last_seen = $now, detail = r.detail, run_id = r.run_id, "
                        "warc_path = r.warc_path, warc_offset = r.warc_offset "
                        "FROM _rej r WHERE rejected.url = r.url AND rejected.reason = r.reason", now)
            con.execute("INSERT INTO rejected SELECT r.url, r.source, r.reason, r.detail, $now, $now, "
                        "r.run_id, r.warc_path, r.warc_offset FROM _rej r ANTI JOIN rejected x "
                        "ON x.url = r.url AND x.reason = r.reason", now)
        finally:
            con.unregister("_rej")
        self.rejected_new += new
        return new


def load_articles(con: duckdb.DuckDBPyConnection, articles: Iterable[Article],
                  now: dt.datetime | None = None) -> LoadResult:
    """One batch in its own transaction."""
    with LoadSession(con, now) as session:
        return session.articles(articles)


def load_rejected(con: duckdb.DuckDBPyConnection, rejected: Iterable[Rejected],
                  now: dt.datetime | None = None) -> int:
    with LoadSession(con, now) as session:
        return session.rejected(rejected)


def record_crawl_runs(con: duckdb.DuckDBPyConnection, stats: Iterable[CrawlStats]) -> None:
    """Insert or replace the crawl_runs rows (and per-status counts) of these (run_id, source)."""
    rows = list(stats)
    with in_transaction(con):
        for s in rows:
            # recording a run again (its stats file read once more) keeps what processing wrote
            kept = con.execute("SELECT articles_new, articles_updated, articles_rejected, processed_at "
                               "FROM crawl_runs WHERE run_id = ? AND source = ?", [s.run_id, s.source]).fetchone()
            con.execute("DELETE FROM crawl_runs WHERE run_id = ? AND source = ?", [s.run_id, s.source])
            con.execute("DELETE FROM crawl_run_status WHERE run_id = ? AND source = ?", [s.run_id, s.source])
            con.execute(
                "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, status, pages_fetched, "
                "list_pages, article_requests, articles_archived, not_modified, errors, blocked, bytes, "
                "errors_by_kind, warc_path, message, retries, robots_disallowed, links_found, known_skipped, "
                "duration_s, blocked_by_reason, skipped_by_kind, flags, mode, resumed) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [s.run_id, s.source, utc(s.started_at), utc(s.finished_at), s.status, s.pages_fetched,
                 s.list_pages, s.article_requests, s.articles_archived, s.not_modified, s.errors,
                 s.blocked, s.bytes, json.dumps(dict(s.errors_by_kind)), s.warc_path, s.message,
                 s.retries, s.robots_disallowed, s.links_found, s.known_skipped, s.duration_s,
                 json.dumps(dict(s.blocked_by_reason)), json.dumps(dict(s.skipped_by_kind)),
                 list(s.flags), s.mode, s.resumed])
            if kept is not None:
                con.execute("UPDATE crawl_runs SET articles_new = ?, articles_updated = ?, articles_rejected = ?, "
                            "processed_at = ? WHERE run_id = ? AND source = ?", [*kept, s.run_id, s.source])
            for code, n in s.status_counts:
                con.execute("INSERT INTO crawl_run_status VALUES (?, ?, ?, ?)", [s.run_id, s.source, int(code), int(n)])


def add_run_counts(con: duckdb.DuckDBPyConnection, counts: dict[tuple[str, str], tuple[int, int, int]]) -> None:
    """Add one load chunk's (new, updated, rejected) to each (run_id, source) it held, in the
    chunk's own transaction, to runs not yet processed only.

    A run's counts are history: what the pass that first processed the run found. Added per
    chunk, they survive a pass killed half-way (the next pass finds the committed chunks
    unchanged and adds the rest); once the run is marked processed (mark_processed) a later
    pass over the same archive adds nothing."""
    for (run_id, source), (new, updated, rejected) in counts.items():
        if not (new or updated or rejected):
            continue
        con.execute("UPDATE crawl_runs SET articles_new = coalesce(articles_new, 0) + ?, "
                    "articles_updated = coalesce(articles_updated, 0) + ?, "
                    "articles_rejected = coalesce(articles_rejected, 0) + ? "
                    "WHERE run_id = ? AND source = ? AND processed_at IS NULL",
                    [new, updated, rejected, run_id, source])


def known_urls(con: duckdb.DuckDBPyConnection, source: str | None = None) -> set[str]:
    sql = "SELECT url FROM articles" + (" WHERE source = ?" if source else "")
    return {r[0] for r in con.execute(sql, [source] if source else []).fetchall()}


def snapshot_path(db: str | Path) -> Path:
    """Where the published read-only copy of a warehouse lives (next to it)."""
    db = Path(db)
    return db.with_name(db.stem + ".snapshot" + db.suffix)


def publish_snapshot(db: str | Path, wait: float = 30.0) -> Path | None:
    """Copy the warehouse to its snapshot, atomically, while holding the write lock (on a
    DuckLake: nothing to do, None).

    Analysts keep long sessions on the snapshot: a load never waits for them and they never
    see a half-written file. Readers that have the old snapshot open keep reading it (the
    rename replaces the name, not their open file)."""
    import os
    import shutil
    from warehouse.lake import is_lake
    if is_lake(db):     # readers attach the lake read-only and see its last commit: no copy
        return None
    db = Path(db)
    target = snapshot_path(db)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    with connect(db, wait=wait) as con:
        con.execute("CHECKPOINT")       # everything in the main file, nothing left in the WAL
        try:
            shutil.copyfile(db, tmp)
            os.replace(tmp, target)
        except OSError as exc:      # a full disk: the previous snapshot stays as it was
            raise WarehouseError(f"cannot publish the snapshot {target}: {exc}") from exc
        finally:
            if tmp.exists():
                tmp.unlink()
    return target


REEXTRACT_FIELDS = ("title", "published_at", "original_source", "author", "editor", "text",
                    "language", "script", "quality", "column_name", "images", "attachments")


def articles_for_reextract(con: duckdb.DuckDBPyConnection, source: str | None = None,
                           since: dt.date | None = None) -> list[dict]:
    """Stored articles with where their raw page is and the fields re-extraction may change.

    `since` keeps articles published on or after that day (and undated ones first seen since).
    """
    where, params = ["warc_path IS NOT NULL"], []
    if source:
        where.append("source = ?")
        params.append(source)
    if since:
        where.append("(published_at >= ? OR (published_at IS NULL AND first_seen >= ?))")
        params += [since, since]
    cols = ("id", "url", "source", "warc_path", "warc_offset", "content_hash", "extractor_version") + REEXTRACT_FIELDS
    cur = con.execute(f"SELECT {', '.join(cols)} FROM articles WHERE {' AND '.join(where)} "
                      "ORDER BY warc_path, warc_offset", params)
    return [dict(zip(cols, row)) for row in cur.fetchall()]


def set_extractor_version(con: duckdb.DuckDBPyConnection, ids: Sequence[str], version: str) -> None:
    if not ids:
        return
    con.register("_ids", pa.table({"id": pa.array(list(ids), pa.string())}))
    try:
        con.execute("UPDATE articles SET extractor_version = ? FROM _ids WHERE articles.id = _ids.id "
                    "AND articles.extractor_version <> ?", [version, version])
    finally:
        con.unregister("_ids")
