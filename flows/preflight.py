"""Checks a writing command makes before it takes a lock, starts Prefect or writes anything:
the warehouse path names a file we can create or open, and the folders it writes into are
writable. A typo'd `--db` or a read-only `--archive` then costs one line and no time,
instead of a Prefect start, two tracebacks and a lock file left behind.

Writability is tried, not asked: `os.access` says yes to root on a read-only mount and
to a folder a mount hides; creating and removing a file is the real question.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from schemas.errors import BadInput


class PathProblem(BadInput):
    """A path the command needs is unusable; the message says which and why, in one line."""


def _why(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or str(exc)


def writable_folder(folder: str | Path, what: str) -> Path:
    """Create `folder` if needed and prove a file can be written in it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise PathProblem(f"the {what} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathProblem(f"cannot create the {what} {folder}: {_why(exc)}") from exc
    probe = folder / f".newsflow-write-test-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PathProblem(f"the {what} {folder} is not writable: {_why(exc)}") from exc
    return folder


def warehouse_path(db: str | Path) -> Path:
    """The warehouse file: not a folder, in a folder we can write (DuckDB writes a WAL and
    our lock file beside it). Whether an existing file is a DuckDB warehouse, and whether
    another process holds it, `warehouse_ready` finds out. A DuckLake URL names no file."""
    from warehouse.lake import is_lake
    if is_lake(db):
        return db
    db = Path(db)
    if db.is_dir():
        raise PathProblem(f"--db {db} is a folder; give the warehouse file, e.g. {db / 'newsflow.duckdb'}")
    writable_folder(db.parent if str(db.parent) else Path("."), "folder of the warehouse")
    if db.exists():
        try:
            with open(db, "r+b"):
                pass
        except OSError as exc:
            raise PathProblem(f"cannot write the warehouse {db}: {_why(exc)}") from exc
    return db


def warehouse_ready(db: str | Path, wait: float = 30.0) -> None:
    """Open an existing warehouse for writing once (migrating it): raises WarehouseError for a
    file that is no DuckDB warehouse, WarehouseBusy when another process holds it longer
    than `wait`. A warehouse that does not exist yet is created by the run itself. A DuckLake
    is attached (and migrated) once: a catalog or store that is down is one line now."""
    import warehouse
    if not warehouse.exists(db):
        return
    with warehouse.connect(db, wait=wait):
        pass
