"""The DuckLake backend: the warehouse as a DuckLake with a PostgreSQL catalog and Parquet data
files on S3-compatible object storage, selected by a warehouse URL instead of a DuckDB file.

    ducklake:postgres:<libpq key=value ...>?data_path=s3://bucket/prefix/
    e.g. ducklake:postgres:host=127.0.0.1 port=5432 dbname=lake user=newsflow?data_path=s3://news/lake/

A connection is an in-memory DuckDB with the ducklake, postgres and httpfs extensions loaded
offline from their pinned wheels (warehouse/extensions.py), an S3 secret made from the standard
AWS environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION),
the lake ATTACHed as `lake` and USEd, so every statement of the file backend runs unchanged;
temporary tables live in the in-memory database.

What differs from a DuckDB file, and why:
- DuckLake has no PRIMARY KEY/UNIQUE, indexes or ON CONFLICT, and only literal defaults: the
  migrations go through `dialect` (keys dropped; the code never relied on them: every load
  checks what exists inside its transaction), and the two upserts are portable statements.
- Many processes may write at once (no file lock, no run lock). DuckLake lets two transactions
  insert into one table without a conflict, so two loaders inserting "ids not yet present"
  would both insert them. Every write transaction on the lake therefore also updates the one
  guard row in `lake_guards` (warehouse/transactions.py): two write transactions that overlap
  conflict at COMMIT (duckdb.TransactionException) and the loser retries its whole unit of work
  (`retrying`), recomputing what is new. Extraction, tagging and segmentation run outside the
  transaction, in parallel; commits are serialised optimistically, never by a lock.
- Readers ATTACH the lake READ_ONLY and see the last committed snapshot: no snapshot copy.
"""
from __future__ import annotations

import os
import random
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, TypeVar
from urllib.parse import parse_qs

import duckdb

from warehouse import extensions
from schemas.errors import BadInput
from warehouse.errors import WarehouseError
from warehouse.transactions import mark_lake, transaction, unmark_lake

T = TypeVar("T")
PREFIX = "ducklake:"
ALIAS = "lake"
GUARDS = "lake_guards"
RETRY_FOR = 900.0      # seconds a unit of work keeps retrying commit conflicts before it gives up


def is_lake(db) -> bool:
    """True for a DuckLake warehouse URL (a str starting with `ducklake:`), False for a file."""
    return isinstance(db, str) and db.startswith(PREFIX)


def exists(db) -> bool:
    """Whether the warehouse exists: a file on disk; a lake is taken to exist (its catalog is
    created by the first writer's ATTACH)."""
    if is_lake(db):
        return True
    from pathlib import Path
    return Path(db).exists()


class BadLakeURL(BadInput, WarehouseError):
    """A warehouse URL that does not name a DuckLake we can attach."""


@dataclass(frozen=True)
class LakeURL:
    catalog: str        # ducklake:postgres:<conninfo>
    data_path: str      # s3://bucket/prefix/ (or a local folder)

    @classmethod
    def parse(cls, url: str) -> "LakeURL":
        if not url.startswith(PREFIX + "postgres:"):
            raise BadLakeURL(f"{redact(url)!r}: a warehouse URL is ducklake:postgres:<key=value ...>"
                             "?data_path=s3://bucket/prefix/")
        catalog, sep, query = url.rpartition("?")
        params = parse_qs(query) if sep else {}
        data = (params.get("data_path") or [""])[0]
        if not sep or not data:
            raise BadLakeURL(f"{redact(url)!r} names no data path: add ?data_path=s3://bucket/prefix/")
        unknown = sorted(set(params) - {"data_path"})
        if unknown:
            raise BadLakeURL(f"{redact(url)!r}: unknown parameter {unknown[0]!r} (only data_path)")
        if not catalog[len(PREFIX + "postgres:"):].strip():
            raise BadLakeURL(f"{redact(url)!r}: no PostgreSQL connection (e.g. host=127.0.0.1 dbname=lake)")
        if "connect_timeout" not in catalog:     # a catalog host that does not answer: an error, not a hang
            catalog += " connect_timeout=10"
        return cls(catalog, data if data.endswith("/") else data + "/")

    @property
    def label(self) -> str:
        return redact(f"{self.catalog.replace(' connect_timeout=10', '')}?data_path={self.data_path}")


def redact(url: str) -> str:
    """The URL with any password hidden (for messages and reports)."""
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)


def label(db) -> str:
    """How messages name a warehouse: the file, or the lake's URL without its password."""
    if is_lake(db):
        try:
            return LakeURL.parse(db).label
        except BadLakeURL:
            return redact(db)
    return str(db)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def s3_secret_sql(env: Mapping[str, str] | None = None) -> str:
    """CREATE SECRET for httpfs from the standard AWS environment. A custom endpoint (MinIO,
    moto, any S3-compatible store) gets path-style URLs; http:// endpoints no TLS."""
    env = os.environ if env is None else env
    parts = ["TYPE s3"]
    if env.get("AWS_ACCESS_KEY_ID"):
        parts += [f"KEY_ID {_lit(env['AWS_ACCESS_KEY_ID'])}", f"SECRET {_lit(env.get('AWS_SECRET_ACCESS_KEY', ''))}"]
    if env.get("AWS_SESSION_TOKEN"):
        parts.append(f"SESSION_TOKEN {_lit(env['AWS_SESSION_TOKEN'])}")
    parts.append(f"REGION {_lit(env.get('AWS_DEFAULT_REGION') or env.get('AWS_REGION') or 'us-east-1')}")
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        m = re.match(r"(?:(https?)://)?([^/]+)", endpoint)
        if not m:
            raise BadLakeURL(f"AWS_ENDPOINT_URL {endpoint!r} is no http(s)://host:port")
        parts += [f"ENDPOINT {_lit(m.group(2))}", "URL_STYLE 'path'",
                  f"USE_SSL {'false' if m.group(1) == 'http' else 'true'}"]
    return f"CREATE OR REPLACE TEMPORARY SECRET newsflow_s3 ({', '.join(parts)})"


def _first_line(exc: BaseException) -> str:
    cause = exc
    while isinstance(cause.__context__, duckdb.Error):
        cause = cause.__context__
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__


def open_lake(url: str, read_only: bool = False, config: Mapping | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `lake` and in use (not migrated).

    The first ATTACH of an empty catalog creates DuckLake's tables in PostgreSQL; two processes
    doing that at once collide in PostgreSQL (the loser's CREATE fails and rolls back): the
    loser attaches again, and finds the catalog made."""
    for attempt in range(8):
        try:
            return _open_lake(url, read_only, config)
        except WarehouseError as exc:
            if "Failed to initialize DuckLake" not in str(exc) or attempt == 7:
                raise
            time.sleep(0.2 * (1 + random.random()))
    raise AssertionError("unreachable")


def _open_lake(url: str, read_only: bool, config: Mapping | None) -> duckdb.DuckDBPyConnection:
    lake = LakeURL.parse(url)
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False,
                                             "autoload_known_extensions": False, **(config or {})})
    try:
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        con.execute("SET enable_progress_bar = false")
        extensions.load(con, "httpfs", "postgres_scanner", "ducklake")
        if lake.data_path.startswith("s3://"):
            con.execute(s3_secret_sql())
        opts = f"DATA_PATH {_lit(lake.data_path)}" + (", READ_ONLY" if read_only else "")
        con.execute(f"ATTACH {_lit(lake.catalog)} AS {ALIAS} ({opts})")
        con.execute(f"USE {ALIAS}")
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"cannot open the lake {lake.label}: {redact(_first_line(exc))}") from exc
    except BaseException:
        con.close()
        raise
    return con


@contextmanager
def connect_lake(url: str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake for reading or writing (migrated first when writable); errors in one line."""
    con = open_lake(url, read_only)
    try:
        if not read_only:
            mark_lake(con)
            try:
                migrate(con)
            except duckdb.Error as exc:
                raise WarehouseError(f"cannot migrate the lake {label(url)}: {_first_line(exc)}") from exc
        yield con
    except (duckdb.IOException, duckdb.TransactionException, duckdb.FatalException,
            duckdb.HTTPException) as exc:
        raise WarehouseError(f"cannot write the lake {label(url)}: {_first_line(exc)}") from exc
    finally:
        unmark_lake(con)
        con.close()


# --- many writers ----------------------------------------------------------------------------

def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


def retrying(fn: Callable[[], T], say: Callable[[str], None] | None = None,
             retry_for: float = RETRY_FOR) -> T:
    """Run `fn` (one whole unit of work: its transactions and what it computes from what it
    reads) again while it loses a commit conflict to another writer, with jittered backoff.
    On a DuckDB file there are no such conflicts (one writer per file): `fn` runs once."""
    deadline = time.monotonic() + retry_for
    delay, lost = 0.05, 0
    while True:
        try:
            return fn()
        except duckdb.TransactionException as exc:
            if not is_conflict(exc) or time.monotonic() >= deadline:
                raise
            lost += 1
            if say and lost in (1, 10, 100):
                say(f"lost a commit conflict to another writer ({lost}x): retrying")
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)


# --- migrations ------------------------------------------------------------------------------

_COLUMN_KEY = re.compile(r"\s+PRIMARY KEY\b(?!\s*\()", re.I)
_TABLE_KEY = re.compile(r",\s*(?:--[^\n]*\n\s*)*PRIMARY KEY\s*\([^)]*\)", re.I)
_BOOL_DEFAULT = re.compile(r"\bDEFAULT\s+(true|false)\b", re.I)


def dialect(sql: str) -> str:
    """A migration as DuckLake takes it: no PRIMARY KEY (column or table constraint), boolean
    defaults as literals ('false'); everything else as it is."""
    sql = _TABLE_KEY.sub("", sql)
    sql = _COLUMN_KEY.sub("", sql)
    return _BOOL_DEFAULT.sub(lambda m: f"DEFAULT '{m.group(1).lower()}'", sql)


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
                            [ALIAS, name]).fetchone()[0])


def _bootstrap(con: duckdb.DuckDBPyConnection) -> None:
    """The guard table and its one row, created once (a second creator loses the conflict)."""
    if _has_table(con, GUARDS):
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {GUARDS} (name VARCHAR NOT NULL, n BIGINT NOT NULL)")
        con.execute(f"INSERT INTO {GUARDS} SELECT 'writes', 0 WHERE NOT EXISTS (SELECT 1 FROM {GUARDS})")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _migrate_once(con: duckdb.DuckDBPyConnection) -> list[int]:
    _bootstrap(con)
    if not _has_table(con, "schema_migrations"):
        with transaction(con):
            con.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                        "(version INTEGER NOT NULL, name VARCHAR, applied_at TIMESTAMPTZ)")
    from warehouse.store import apply_migrations
    return apply_migrations(con, dialect)


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations the lake has not seen yet (retrying while another process applies
    them at the same time); return the versions this call applied."""
    return retrying(lambda: _migrate_once(con))


# --- maintenance -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Maintenance:
    backend: str                # 'ducklake' or 'duckdb'
    steps: tuple[tuple[str, int], ...]   # (function, rows it returned: files or snapshots)
    seconds: float


def maintain(con: duckdb.DuckDBPyConnection, is_lake_con: bool, expire_older_than_h: float = 24.0,
             cleanup_older_than_h: float = 24.0) -> Maintenance:
    """The lake's own upkeep, each call retried on a conflict with a concurrent writer:
    flush inlined rows to Parquet, merge adjacent small files, expire snapshots older than
    `expire_older_than_h` hours (time travel to them ends), delete files scheduled for deletion
    more than `cleanup_older_than_h` hours ago (a reader still scanning them is given that long).
    On a DuckDB file: CHECKPOINT (the WAL into the file)."""
    t0 = time.perf_counter()
    if not is_lake_con:
        con.execute("CHECKPOINT")
        return Maintenance("duckdb", (("CHECKPOINT", 0),), round(time.perf_counter() - t0, 2))
    calls = [
        ("ducklake_flush_inlined_data", f"CALL ducklake_flush_inlined_data('{ALIAS}')"),
        ("ducklake_merge_adjacent_files", f"CALL ducklake_merge_adjacent_files('{ALIAS}')"),
        ("ducklake_expire_snapshots", f"CALL ducklake_expire_snapshots('{ALIAS}', older_than => "
                                      f"now() - INTERVAL '{float(expire_older_than_h) * 3600:.0f} seconds')"),
        ("ducklake_cleanup_old_files", f"CALL ducklake_cleanup_old_files('{ALIAS}', older_than => "
                                       f"now() - INTERVAL '{float(cleanup_older_than_h) * 3600:.0f} seconds')"),
    ]
    steps = []
    for name, sql in calls:
        rows = retrying(lambda: con.execute(sql).fetchall())
        steps.append((name, len(rows)))
    return Maintenance("ducklake", tuple(steps), round(time.perf_counter() - t0, 2))
