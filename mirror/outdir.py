"""Where a build writes: an earlier build's sites/ or faults/ is replaced, nothing else is.

`python -m mirror.build --out DIR` once deleted DIR/sites and DIR/faults whatever they held;
now a folder is removed only when every entry in it is a host folder a build writes (or one
any build wrote: it has `_site.json`), and otherwise the build stops, deleting nothing."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable


class NotOurs(Exception):
    """--out names a folder whose sites/ or faults/ holds something no build wrote."""


def clear_build(folder: Path, hosts: Iterable[str]) -> None:
    if not folder.exists():
        return
    hosts = set(hosts)
    stray = sorted(p.name for p in folder.iterdir()
                   if not (p.is_dir() and not p.is_symlink() and (p.name in hosts or (p / "_site.json").is_file())))
    if stray:
        raise NotOurs(f"{folder} holds {stray[0]!r}, which no mirror build writes; nothing was deleted "
                      f"(choose another --out)")
    shutil.rmtree(folder)
