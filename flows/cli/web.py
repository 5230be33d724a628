"""`newsflow web`: the explorer (flows/web/) served on this machine."""
from __future__ import annotations

import ipaddress

import click

from flows.cli.app import main
from flows.cli.common import say, source_registry


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but a loopback address lets other machines read the warehouse.")
@click.option("--engine", type=click.Choice(["auto", "duckdb"]), default="auto", show_default=True,
              help="auto: search through a Tantivy index derived from the warehouse (built or refreshed "
                   "at start, next to the warehouse as NAME.search/), while it is current; duckdb: never.")
@click.pass_context
def web(ctx, port, host, engine):
    """Serve the explorer: search, facets, attention over time, stories, articles (with the
    archived page replayed offline), source health and downloads, read-only, in a browser.

    It reads the warehouse (or its snapshot while a load holds it) through short read-only
    connections, with no external access: nothing a page sends becomes SQL. Ctrl-C stops it.

    \b
    Example:
      newsflow web                         # then open http://127.0.0.1:8765/
      newsflow --db data/newsflow.duckdb web --port 9000
      newsflow web --host 0.0.0.0          # reachable from other machines (warns)
    """
    from pathlib import Path

    from flows.web import Explorer
    from flows.web.app import WebError
    from flows.web.server import make_server
    from warehouse.errors import WarehouseError
    from warehouse.lake import is_lake
    if is_lake(ctx.obj["db"]):
        # the explorer's derivative search index and its file watching are built on a DuckDB
        # file; on a lake, read with `sql`, `search`, `export`, `report` (or any DuckDB client)
        raise WarehouseError("`newsflow web` reads a DuckDB file (--db), not a DuckLake warehouse")
    db = Path(ctx.obj["db"])
    if not db.exists():
        raise WarehouseError(f"no warehouse at {db} (run an ingest first)")
    if not _loopback(host):
        say(f"warning: binding {host}: anyone who can reach this machine can read the warehouse "
            "(the explorer has no login)")
    if engine == "auto":
        _refresh_derivative(db)
    app = Explorer(db, ctx.obj["archive"], registry=source_registry(ctx), say=say, engine=engine)
    try:
        httpd = make_server(app, host, port)
    except OSError as exc:
        raise WebError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"newsflow web: http://{shown}:{httpd.server_address[1]}/ (read-only over {db}; Ctrl-C stops)")
    try:
        httpd.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        httpd.server_close()


def _refresh_derivative(db) -> None:
    """Build the search derivative unless it matches the warehouse."""
    from flows.search.derived import Derived, build, folder_for
    from warehouse import explore
    d = Derived.open(folder_for(db))
    with explore.explorer(db, wait=30) as rd:
        stamp = explore.search_stamp(rd.con)
    if d is None or not d.current(stamp):
        try:
            build(db, say=say)
        except OSError as exc:
            say(f"note: cannot write the search index next to {db} ({exc.strerror or exc}): DuckDB answers searches")
