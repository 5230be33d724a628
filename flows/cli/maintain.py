"""`newsflow maintain`: the warehouse's upkeep (flows/maintain.py), run by hand or on a schedule."""
from __future__ import annotations

import json

import click

from flows.cli.app import main
from flows.cli.common import check_paths, holding_run

HOURS = click.FloatRange(min=0)


@main.command()
@click.option("--expire-hours", type=HOURS, default=24.0, show_default=True,
              help="Expire lake snapshots older than this (time travel to them ends).")
@click.option("--cleanup-hours", type=HOURS, default=24.0, show_default=True,
              help="Delete data files scheduled for deletion longer ago than this (a reader may still scan them).")
@click.option("--json", "as_json", is_flag=True, help="Print what each step did as JSON.")
@click.pass_context
def maintain(ctx, expire_hours, cleanup_hours, as_json):
    """Upkeep of the warehouse: on a DuckLake (--warehouse), flush inlined rows, merge adjacent
    small files, expire old snapshots, delete the files they no longer need; on a DuckDB file, a
    CHECKPOINT. Safe while loads run on the lake (a step that conflicts with a load is retried).

    \b
    Example:
      newsflow --warehouse "$NEWSFLOW_WAREHOUSE" maintain
      newsflow --warehouse "$NEWSFLOW_WAREHOUSE" maintain --expire-hours 168 --json
    """
    from flows.maintain import maintain as run
    check_paths(ctx)
    with holding_run(ctx):
        result = run(ctx.obj["db"], expire_hours, cleanup_hours)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=1))
        return
    steps = ", ".join(f"{k} {v}" for k, v in result["steps"].items())
    click.echo(f"maintained {result['warehouse']} ({result['backend']}): {steps} ({result['seconds']} s)")
