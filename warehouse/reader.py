"""Reading the warehouse: every read command (`sql`, `search`, `runs`, `export`, `report`) opens
it through `reader`, which says which file it read.

A load holds DuckDB's write lock, and while it does no other process may open the file. A
reader waits `READ_WAIT` seconds for it, then reads the snapshot the last load published
(store.publish_snapshot) and says so through `say`; with no snapshot yet it raises
WarehouseBusy.

`newsflow sql` runs an analyst's SQL, so its reader (`files=ReadableFiles(...)`) is a private
DuckDB instance locked down by DuckDB's own settings: the warehouse attached read-only,
`enable_external_access = false` with `allowed_directories`/`allowed_paths` naming the folders
whose files it may read, no extension installed or loaded, and `lock_configuration = true` so
the query cannot set any of it back. Inside those folders DuckDB would still let COPY TO,
EXPORT DATABASE or ATTACH write, so DuckDB's parser checks each statement first and only
reading kinds run (`check_reading`).
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import duckdb

from warehouse.errors import QueryError, WarehouseBusy, WarehouseError
from warehouse.store import connect, open_retrying, snapshot_path

READ_WAIT = 5.0     # seconds a read command waits for a load before reading the snapshot


@dataclass(frozen=True)
class ReadableFiles:
    """The folders whose files analysts' SQL may read (with everything under them).

    Relative paths in a query are relative to `cwd`; DuckDB compares paths as text (no
    symlinks resolved), so relative access is granted entry by entry for the working
    directory's own files and folders, skipping symlinks that lead out of it."""
    folders: tuple[Path, ...]
    cwd: Path = field(default_factory=Path.cwd)

    @classmethod
    def default(cls, extra: Sequence[str | Path] = ()) -> "ReadableFiles":
        """The working directory (unless it is the root of the file system, which would allow
        everything) and the `extra` folders."""
        cwd = Path.cwd().resolve()
        folders = [] if cwd == Path(cwd.anchor) else [cwd]
        for f in extra:
            p = Path(f).expanduser().resolve()
            if not p.is_dir():
                raise QueryError(f"--read-dir {f}: no such folder")
            folders.append(p)
        return cls(tuple(dict.fromkeys(folders)), cwd)

    def settings(self) -> tuple[list[str], list[str]]:
        """(allowed_directories, allowed_paths) for DuckDB."""
        dirs = [str(f) + "/" for f in self.folders]
        paths: list[str] = []
        if self.cwd in self.folders:
            try:
                entries = sorted(self.cwd.iterdir())
            except OSError:         # an unreadable working directory: absolute paths only
                entries = []
            for entry in entries:
                if entry.is_symlink() and not entry.resolve().is_relative_to(self.cwd):
                    continue
                if entry.is_dir():
                    dirs.append(entry.name + "/")
                else:
                    paths.append(entry.name)
        return dirs, paths

    def describe(self) -> str:
        return ", ".join(str(f) for f in self.folders) or "no folder"


@dataclass
class Reader:
    """An open read-only connection and the file it reads."""
    con: duckdb.DuckDBPyConnection
    path: Path | str        # the file read: the warehouse, or its snapshot (a lake: its URL)
    warehouse: Path | str   # the warehouse that was asked for

    @property
    def from_snapshot(self) -> bool:
        return self.path != self.warehouse

    @property
    def published(self) -> str:
        """When the file read was last written (for a snapshot: when the last load published it)."""
        return dt.datetime.fromtimestamp(self.path.stat().st_mtime).strftime("%Y-%m-%d %H:%M:%S")

    @property
    def note(self) -> str | None:
        """What a command tells the user when it read the snapshot; None when it did not."""
        if not self.from_snapshot:
            return None
        return (f"note: a load holds {self.warehouse}: read its snapshot {self.path} "
                f"(published {self.published}; articles loaded since are not in it)")

    @property
    def label(self) -> str:
        """The file read, for a report's header."""
        if not self.from_snapshot:
            return str(self.path)
        return f"{self.path} (the snapshot published {self.published}: a load held {self.warehouse})"


@contextmanager
def reader(db: str | Path, wait: float = READ_WAIT, fallback: bool = True,
           files: ReadableFiles | None = None,
           say: Callable[[str], None] | None = None) -> Iterator[Reader]:
    """Open `db` read-only; while a load holds it past `wait` seconds, its snapshot instead
    (`fallback`), telling `say`. `files` makes it a locked-down reader for analysts' SQL.
    A DuckLake (warehouse/lake.py) is attached read-only: no load holds it, no snapshot."""
    from warehouse.lake import is_lake, label
    if is_lake(db):
        with (_locked_down_lake(db, files) if files is not None else connect(db, read_only=True)) as con:
            yield Reader(con, label(db), label(db))
        return
    db = Path(db)
    with ExitStack() as stack:
        try:
            con = stack.enter_context(_open(db, wait, files, db.stem))
            used = db
        except WarehouseBusy as exc:
            snap = snapshot_path(db)
            if not fallback:
                raise
            if not snap.exists():
                raise WarehouseBusy(f"{exc}, and it has no snapshot to read instead ({snap} is published "
                                    f"by the first completed load)") from exc
            con = stack.enter_context(_open(snap, wait, files, db.stem))
            used = snap
        rd = Reader(con, used, db)
        if rd.note and say:
            say(rd.note)
        yield rd


def _open(path: Path, wait: float, files: ReadableFiles | None, catalog: str):
    if files is None:
        return connect(path, read_only=True, wait=wait)
    return _locked_down(path, wait, files, catalog)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def _locked_down(path: Path, wait: float, files: ReadableFiles, catalog: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory DuckDB instance with `path` attached read-only under `catalog`.

    Private, so its locked settings cannot leak into other connections of this process (DuckDB
    shares one instance between connections to the same file)."""
    if not path.exists():
        raise WarehouseError(f"no warehouse at {path} (run an ingest first)")
    spill = tempfile.mkdtemp(prefix="newsflow-sql-")
    try:
        con = duckdb.connect(":memory:", config={
            "autoinstall_known_extensions": False, "autoload_known_extensions": False,
            "allow_community_extensions": False, "allow_persistent_secrets": False,
            "temp_directory": spill})
        try:
            con.execute("SET TimeZone = 'Asia/Shanghai'")
            con.execute("SET enable_progress_bar = false")
            open_retrying(lambda: con.execute(
                f'ATTACH {_lit(str(path))} AS "{catalog.replace(chr(34), "")}" (READ_ONLY)'), path, wait)
            con.execute(f'USE "{catalog.replace(chr(34), "")}"')
            dirs, paths = files.settings()
            con.execute("SET allowed_directories = $d", {"d": dirs})
            con.execute("SET allowed_paths = $p", {"p": paths})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


@contextmanager
def _locked_down_lake(url: str, files: ReadableFiles) -> Iterator[duckdb.DuckDBPyConnection]:
    """The lake attached read-only in a private instance, then locked as `_locked_down` locks a
    file: external access off, the readable folders plus the lake's own data path (its Parquet
    files are what the catalog points at; httpfs must reach them), no extension loadable past
    the three the attach loaded, configuration locked. What the lake lets an analyst's SQL do
    beyond a file's: read any object under the lake's data path directly (read_parquet), with
    the S3 credentials of the environment. The PostgreSQL catalog is attached read-only; give
    analysts a PostgreSQL role with SELECT only to make that hold outside newsflow too."""
    from warehouse.lake import LakeURL, open_lake
    spill = tempfile.mkdtemp(prefix="newsflow-sql-")
    try:
        # (ducklake's ATTACH looks up secrets in the persistent storage, so that stays on, and
        # points into the private spill folder removed afterwards)
        con = open_lake(url, read_only=True, config={"allow_community_extensions": False,
                                                     "secret_directory": spill, "temp_directory": spill})
        try:
            dirs, paths = files.settings()
            con.execute("SET allowed_directories = $d", {"d": dirs + [LakeURL.parse(url).data_path]})
            con.execute("SET allowed_paths = $p", {"p": paths})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()
    finally:
        shutil.rmtree(spill, ignore_errors=True)


# Statement kinds an analyst's script may run. CREATE/DROP reach only temporary objects (the
# warehouse is attached read-only); SET changes no setting once the configuration is locked
# (SET VARIABLE and USE still work). Everything else (COPY, EXPORT, ATTACH, INSTALL/LOAD,
# PREPARE/EXECUTE, INSERT ...) is refused before anything runs.
READING = {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN, duckdb.StatementType.CALL,
           duckdb.StatementType.SET, duckdb.StatementType.TRANSACTION, duckdb.StatementType.CREATE,
           duckdb.StatementType.DROP}
_HINTS = {"COPY": "write files with `newsflow export`, read them with read_csv/read_parquet",
          "EXPORT": "write files with `newsflow export`",
          "ATTACH": "the warehouse is attached already",
          "LOAD": "no extension can be installed or loaded here"}
_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.S)
_EXPLAIN = re.compile(r"explain\s+(analy[sz]e\b)?(.*)\Z", re.S | re.I)


def check_reading(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise QueryError unless every statement of `sql` only reads (DuckDB's parser decides)."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(str(exc).splitlines()[0]) from exc
    except (IndexError, RuntimeError) as exc:
        # DuckDB 1.4.4's statement splitter fails on a PIVOT that follows another statement
        raise QueryError(f"DuckDB could not split this script into statements ({exc}); "
                         "run a PIVOT as a query of its own") from exc
    for st in statements:
        kind = st.type
        if kind == duckdb.StatementType.EXPLAIN:
            # EXPLAIN ANALYZE runs what it explains
            m = _EXPLAIN.match(_COMMENTS.sub("", st.query, count=1))
            if m is None:
                raise QueryError("`newsflow sql` is read-only: cannot tell what this EXPLAIN explains")
            if m.group(1):
                check_reading(con, m.group(2))
            continue
        if kind not in READING:
            name = kind.name
            hint = _HINTS.get(name)
            raise QueryError(f"`newsflow sql` is read-only: {name} statements are not allowed"
                             + (f" ({hint})" if hint else ""))


_DENIED = re.compile(r'Cannot access (?:file|directory) "(.*?)"')


class QueryResult(tuple):
    """(columns, rows): unpacks like the pair `query` always returned; `source` is the file read."""

    def __new__(cls, columns: list[str], rows: list[tuple], source: Path, from_snapshot: bool = False):
        self = super().__new__(cls, (columns, rows))
        self.source, self.from_snapshot = source, from_snapshot
        return self

    @property
    def columns(self) -> list[str]:
        return self[0]

    @property
    def rows(self) -> list[tuple]:
        return self[1]


def query(db: str | Path, sql: str, params: Sequence | None = None, wait: float = 10.0,
          snapshot_fallback: bool = False, files: ReadableFiles | None = None,
          say: Callable[[str], None] | None = None) -> QueryResult:
    """Run SQL on a short-lived read-only connection. With `files`, the SQL is an analyst's:
    it must only read (check_reading) and may read files only under `files.folders`."""
    with reader(db, wait=wait, fallback=snapshot_fallback, files=files, say=say) as rd:
        if files is not None:
            check_reading(rd.con, sql)
        try:
            cur = rd.con.execute(sql, params or [])
        except duckdb.PermissionException as exc:
            m = _DENIED.search(str(exc))
            what = m.group(1) if m else "that"
            if "/" not in what and any(c in what for c in "*?["):
                # DuckDB grants relative access entry by entry (ReadableFiles.settings)
                raise QueryError(f"cannot read {what}: a glob at the top of the working directory needs "
                                 f"an absolute path ({Path.cwd() / what})") from exc
            raise QueryError(f"cannot read {what}: `newsflow sql` reads files only under "
                             f"{files.describe() if files else 'no folder'} (add one with --read-dir)") from exc
        except duckdb.Error as exc:
            raise QueryError(str(exc).splitlines()[0]) from exc
        if cur.description is None:
            return QueryResult([], [], rd.path, rd.from_snapshot)
        cols = [d[0] for d in cur.description]
        return QueryResult(cols, cur.fetchall(), rd.path, rd.from_snapshot)


def tagged_topics(db: str | Path) -> set[str]:
    """The topic tags present in the warehouse (empty before any tagging)."""
    with reader(db) as rd:
        if not rd.con.execute("SELECT count(*) FROM information_schema.tables "
                              "WHERE table_name = 'article_tags'").fetchone()[0]:
            return set()
        return {r[0] for r in rd.con.execute(
            "SELECT DISTINCT tag FROM article_tags WHERE kind = 'topic'").fetchall()}
