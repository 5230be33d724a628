"""One ingest at a time per warehouse, across processes: an advisory file lock next to the
DuckDB file. Scheduled runs that overlap queue on it instead of colliding; the lock dies with
its process, so a killed run never leaves it stuck."""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Callable, Iterator


class RunInProgress(Exception):
    """Another process holds this warehouse's run lock and did not let go in time."""


@contextlib.contextmanager
def run_lock(db: str | Path, wait: float = 6 * 3600, poll: float = 1.0,
             on_wait: Callable[[str], None] | None = None) -> Iterator[Path]:
    path = Path(str(db) + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                if time.monotonic() >= deadline:
                    raise RunInProgress(f"another run holds {path} ({holder or 'unknown'}); "
                                        f"waited {wait:.0f}s")
                if on_wait and not told:
                    on_wait(f"waiting for the run in progress ({holder or 'unknown'}) to finish")
                    told = True
                time.sleep(poll)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
