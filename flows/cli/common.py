"""What the commands share: the registry and the global options, option checks, the run lock
held around a writing command, messages on stderr."""
from __future__ import annotations

import contextlib
import datetime as dt
import sys
from pathlib import Path

import click

from schemas.errors import BadInput

RUN_WAIT = 6 * 3600         # a run in progress (the run lock): scheduled runs queue this long
FILE_WAIT = 30.0            # another process holding the DuckDB file


def waits(ctx) -> tuple[float, float]:
    wait = ctx.obj.get("wait")
    return (RUN_WAIT, FILE_WAIT) if wait is None else (wait, wait)


def check_paths(ctx, archive: bool = False) -> None:
    """One line and exit 1 for a warehouse path or an archive folder the command cannot write."""
    from flows import preflight
    preflight.warehouse_path(ctx.obj["db"])
    if archive:
        preflight.writable_folder(ctx.obj["archive"], "archive folder")


@contextlib.contextmanager
def holding_run(ctx):
    """Hold the warehouse's run lock (waiting for a run in progress, saying so), and make sure
    the warehouse opens: a file held by another process is exit 4 now, not a traceback later."""
    from flows import preflight
    from flows.lock import run_lock
    run_wait, file_wait = waits(ctx)
    with run_lock(ctx.obj["db"], wait=run_wait, on_wait=lambda m: click.echo(m, err=True)):
        preflight.warehouse_ready(ctx.obj["db"], wait=file_wait)
        yield


def archive_store(ctx):
    """The archive's store (crawlers/storage.py): the local folder, or the S3 archive with its spool."""
    from crawlers.storage import open_store
    return open_store(ctx.obj["archive_url"] or ctx.obj["archive"], spool=ctx.obj["archive"])


def dask_option(f):
    """`--dask tcp://host:8786 | local:N`: extract over a Dask cluster (flows/fanout.py)."""
    def check(ctx, param, value):
        if value is None:
            return None
        if value.startswith("local:") and value[6:].isdigit() and int(value[6:]) >= 1:
            return value
        if value.startswith("tcp://") and ":" in value[6:]:
            return value
        raise click.BadParameter(f"{value!r}: want tcp://HOST:PORT (a Dask scheduler) or local:N (N worker processes)")
    return click.option("--dask", "dask", callback=check, metavar="tcp://HOST:PORT|local:N",
                        help="Extract on a Dask cluster, one task per WARC file (a scheduler's address, or local:N "
                             "for a local cluster of N processes); the results are loaded here, by one loader.")(f)


def source_registry(ctx):
    from crawlers.registry import load_registry
    return load_registry(ctx.obj["registry"])


def say(message: str) -> None:
    click.echo(message, err=True)


def fail(message: str) -> None:
    """A well-formed value that names nothing known: one line, exit 1 (like an unknown source)."""
    raise BadInput(message)


def require_source(ctx, name):
    """An unknown --source is an error in every command, not an empty result."""
    if name is not None:
        source_registry(ctx).get(name)


def require_topic(ctx, topic):
    """An unknown --topic is an error in every command, not an empty result. Known: the
    taxonomy's topics, and any topic the warehouse was tagged with (`retag --data`)."""
    if topic is None:
        return
    from flows.tags import load_taxonomy
    known = {t.id for t in load_taxonomy().topics}
    if topic in known:
        return
    import warehouse
    try:
        known |= warehouse.tagged_topics(ctx.obj["db"])
    except warehouse.WarehouseError:
        pass
    if topic not in known:
        fail(f"unknown topic {topic!r}; known: {', '.join(sorted(known))}")


POSITIVE = click.IntRange(min=1)


def parse_date(value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-01-31")


def mirror_server():
    from mirror.server import serve
    return serve()


def kinds_text(n, by_kind) -> str:
    """`3 dns:1 timeout:2`: a count with what it is made of."""
    d = dict(by_kind)
    return f"{n} {' '.join(f'{k}:{v}' for k, v in sorted(d.items()))}".strip() if n else "0"


def program_name() -> str:
    """How the user can call us again: a relative path when the script is not on PATH."""
    import shutil
    exe = Path(sys.argv[0])
    if exe.name == "newsflow" and shutil.which("newsflow") != str(exe.resolve()):
        try:
            return str(exe.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(exe.resolve())
    return "newsflow"
