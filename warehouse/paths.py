"""Where newsflow may write a path a user typed (`export --output`, `report --output`), and how.

Never over what we must keep or did not write:
- the warehouse, its snapshot, their write-ahead logs, the run lock, the WARC archive and the
  registry are refused, as is anything inside the archive and any folder holding one of them
  (compared after resolving symlinks, and by inode for hard links);
- an existing file is replaced only with `overwrite`;
- an existing folder is replaced only with `overwrite` and only when it is an earlier export:
  it carries our marker file and holds nothing but that export's `year=*/month=*/*.parquet`.
  An empty folder is used as it is.

Writes go to a hidden temporary name next to the target (same filesystem) and are renamed into
place when complete, so a failed or interrupted write leaves the target as it was and never
half a folder under its name.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from warehouse.errors import OutputError, OutputRefused

MARKER = ".newsflow-export.json"
_TMP = ".newsflow-partial-"
_OLD = ".newsflow-replaced-"


def protected_paths(db: str | Path, archive: str | Path | None = None,
                    extra: Iterable[tuple[str | Path | None, str]] = ()) -> list[tuple[Path, str]]:
    """(path, what it is) for everything an output must never replace, resolved."""
    from warehouse.lake import is_lake
    from warehouse.store import snapshot_path
    if is_lake(db):     # a lake has no local files of its own; the archive stays protected
        items = [(Path(archive), "the archive")] if archive else []
        items += [(Path(p), what) for p, what in extra if p]
        return [(p.resolve(), what) for p, what in items]
    db = Path(db)
    snap = snapshot_path(db)
    items = [(db, "the warehouse"), (snap, "the warehouse snapshot"),
             (Path(f"{db}.wal"), "the warehouse's write-ahead log"),
             (Path(f"{snap}.wal"), "the snapshot's write-ahead log"),
             (Path(f"{db}.lock"), "the warehouse's run lock"),
             (Path(archive) if archive else db.parent / "archive", "the archive")]
    items += [(Path(p), what) for p, what in extra if p]
    return [(p.resolve(), what) for p, what in items]


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def refuse_protected(output: str | Path, protected: list[tuple[Path, str]]) -> Path:
    """The resolved target, or OutputRefused when it is, is inside, or holds a protected path."""
    target = Path(output).resolve()
    for path, what in protected:
        if target == path or _same_file(target, path):
            raise OutputRefused(f"refusing to write {output}: that is {what} ({path})")
        if path in target.parents:
            raise OutputRefused(f"refusing to write {output}: it is inside {what} ({path})")
        if target in path.parents:
            raise OutputRefused(f"refusing to write {output}: that folder holds {what} ({path})")
    return target


def is_export(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / MARKER).read_text(encoding="utf-8")).get("newsflow_export"))
    except (OSError, ValueError, AttributeError):
        return False


def foreign_files(folder: Path) -> list[Path]:
    """What a marked export folder holds that a partitioned export does not write."""
    out = []
    for entry in folder.iterdir():
        if entry.name == MARKER and entry.is_file() and not entry.is_symlink():
            continue
        if not (entry.name.startswith("year=") and entry.is_dir() and not entry.is_symlink()):
            out.append(entry)
            continue
        for month in entry.iterdir():
            if not (month.name.startswith("month=") and month.is_dir() and not month.is_symlink()):
                out.append(month)
                continue
            out += [f for f in month.iterdir()
                    if not (f.suffix == ".parquet" and f.is_file() and not f.is_symlink())]
    return out


def existing(target: Path, output: str | Path, overwrite: bool, kind: str | None = None) -> str | None:
    """What is at `target` now and may be replaced: None (nothing), 'empty' (an empty folder),
    'file', 'export' (an earlier partitioned export); OutputRefused for anything else.
    `kind` is what will be written ('file' or 'folder'; None: not known yet)."""
    if not os.path.lexists(target):
        return None
    if target.is_dir():
        try:
            entries = next(os.scandir(target), None) is not None
        except OSError as exc:
            raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
        if not entries:
            if kind == "file":
                raise OutputRefused(f"refusing to write {output}: it is a folder; name a file")
            return "empty"
        if not is_export(target):
            raise OutputRefused(f"refusing to write {output}: a folder that is not an earlier newsflow "
                                f"export (no {MARKER}); nothing was deleted; choose a new or empty folder")
        stray = foreign_files(target)
        if stray:
            raise OutputRefused(f"refusing to write {output}: it holds {stray[0].relative_to(target)}, "
                                f"which no newsflow export writes ({len(stray)} such entr"
                                f"{'y' if len(stray) == 1 else 'ies'}); nothing was deleted")
        if not overwrite:
            raise OutputRefused(f"{output} holds an earlier export; add --overwrite to replace it")
        return "export"
    if not target.is_file():
        raise OutputRefused(f"refusing to write {output}: it is not a regular file")
    if not overwrite:
        raise OutputRefused(f"{output} exists; add --overwrite to replace it")
    return "file"


def _fresh(parent: Path, prefix: str, name: str, folder: bool) -> Path:
    # a random hidden name next to the target, created with the umask's permissions like any
    # open() or mkdir (mkstemp/mkdtemp would leave the export readable by its owner only)
    while True:
        path = parent / f"{prefix}{secrets.token_hex(4)}-{name}"
        try:
            if folder:
                os.mkdir(path, 0o777)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def replacing(output: str | Path, target: Path, kind: str, overwrite: bool) -> Iterator[Path]:
    """Yield a fresh temporary path next to `target` (a file or an empty folder per `kind`);
    when the block succeeds it takes the target's place (see `existing` for what may be
    replaced); when it fails, it is removed and the target is untouched."""
    existing(target, output, overwrite, kind)
    parent = target.parent
    made = [p for p in (parent, *parent.parents) if not p.exists()]
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = _fresh(parent, _TMP, target.name, kind == "folder")
    except OSError as exc:
        _prune(made)
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    try:
        yield tmp
        _install(output, tmp, target, overwrite, kind)
    except BaseException:
        _remove(tmp)
        _prune(made)
        raise


def _prune(made: list[Path]) -> None:
    for p in made:      # deepest first: only the folders this write created, and only if empty
        try:
            p.rmdir()
        except OSError:
            break


def _install(output, tmp: Path, target: Path, overwrite: bool, kind: str) -> None:
    state = existing(target, output, overwrite, kind)     # again: something may have appeared meanwhile
    try:
        if state is None:
            os.rename(tmp, target)
        elif state == "empty":
            os.rmdir(target)
            os.rename(tmp, target)
        elif state == "file" and kind == "file":
            os.replace(tmp, target)
        else:           # a folder over anything, or a file over an earlier export: swap via a side name
            old = _fresh(target.parent, _OLD, target.name, folder=False)
            if state == "export":
                os.unlink(old)      # a folder cannot be renamed over the placeholder file
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except OSError:
                os.rename(old, target)
                raise
            _remove(old)        # ours: an earlier export checked just above, or the file --overwrite named
    except OSError as exc:
        raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc


def mark(folder: Path, **info) -> None:
    """Write the marker that lets a later `--overwrite` replace this folder."""
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai")).isoformat(timespec="seconds")
    info = {"newsflow_export": 1, "written_at": now, **info}
    (folder / MARKER).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
