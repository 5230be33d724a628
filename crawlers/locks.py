"""Advisory file locks (flock): one crawl per source (crawlers/run.py), one run per warehouse
(flows/lock.py). A lock dies with its process, so a killed crawl or run never leaves one stuck;
the file says who holds it."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


def try_lock(path: Path) -> int | None:
    """Open (creating it and its folder) and lock `path`; the open descriptor, or None when
    another process holds the lock. OSError when the file cannot be created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def say_holder(fd: int, text: str) -> None:
    """Write who holds the lock (`pid 123 ...`) into its file."""
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


def holder(path: Path) -> str:
    """What the lock's file says about its holder ('' when it says nothing or is gone)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")[:200].strip()
    except OSError:
        return ""
