"""One run at a time per warehouse, across processes: an advisory file lock next to the
DuckDB file, there while a run holds it. Scheduled runs that overlap queue on it instead of
colliding; the lock dies with its process, so a killed run never leaves it stuck.

`process`, `reextract`, the recording and loading of an `ingest` flow run (not its crawl: see
docs/scaling.md) and the recording step of `crawl` take it. The CLI takes it before
starting Prefect and the flow takes it again inside: a lock this process already holds is
re-entered, not waited for (flock would make the second open wait on the first forever).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from pathlib import Path
from typing import Callable, Iterator

from crawlers.locks import holder, say_holder, try_lock
from schemas.errors import Busy, Failed


class RunInProgress(Busy):
    """Another process holds this warehouse's run lock and did not let go in time."""


class LockUnavailable(Failed):
    """The lock file cannot be created or opened (a read-only folder, no permission)."""


_held: dict[str, int] = {}       # lock paths this process holds -> nesting depth


def lock_path(db: str | Path) -> Path:
    return Path(str(db) + ".lock")


def _try(path: Path) -> int | None:
    try:
        return try_lock(path)
    except OSError as exc:
        why = "the folder is read-only" if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else exc.strerror
        raise LockUnavailable(f"cannot create the run lock {path}: {why} ({exc.strerror})") from exc


@contextlib.contextmanager
def run_lock(db: str | Path, wait: float = 6 * 3600, poll: float = 1.0,
             on_wait: Callable[[str], None] | None = None) -> Iterator[Path | None]:
    from warehouse.lake import is_lake
    if is_lake(db):     # a DuckLake takes many writers at once (warehouse/lake.py): no run lock
        yield None
        return
    path = lock_path(db)
    key = os.path.realpath(path)
    if _held.get(key):
        _held[key] += 1
        try:
            yield path
        finally:
            _held[key] -= 1
        return
    deadline = time.monotonic() + wait
    told = False
    while True:
        fd = _try(path)
        if fd is None:
            who = holder(path) or "unknown"
            if time.monotonic() >= deadline:
                raise RunInProgress(f"another run holds {path} ({who}); waited {wait:.0f}s")
            if on_wait and not told:
                on_wait(f"waiting for the run in progress ({who}) to finish")
                told = True
            time.sleep(poll)
            continue
        # the holder before us may have removed the file as it let go (see below): a lock on
        # an unlinked file locks nothing, so start again on the file the path names now
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    _held[key] = 1
    try:
        say_holder(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        yield path
    finally:
        _held.pop(key, None)
        # the file is removed while still locked, so none is left behind (a bad --db, a run
        # that failed before it wrote anything, or any finished run); a waiter that had it
        # open sees the unlink above and starts again on a new file
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
