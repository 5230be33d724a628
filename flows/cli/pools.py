"""`newsflow ingest-all`: the ingest fanned out over a Prefect work pool's workers (flows/ingest_all.py).

Kept apart from pipeline.py: it needs a Prefect server, where every other command runs on one
machine with Prefect's temporary API."""
from __future__ import annotations

import json
import os

import click

from flows.cli.app import main
from flows.cli.common import POSITIVE, parse_date, say, source_registry


@main.command("ingest-all")
@click.argument("source_names", metavar="[SOURCE...]", nargs=-1)
@click.option("--groups", type=POSITIVE, default=4, show_default=True,
              help="Split the sources into N host-disjoint groups, one `ingest` flow run each.")
@click.option("--mirror", is_flag=True, help="Each run serves the bundled local mirror on 127.0.0.1 and crawls it.")
@click.option("--since", help="Back-fill: page on until list items are older than this day (YYYY-MM-DD).")
@click.option("--max-pages", type=POSITIVE, help="Follow at most N list pages per start URL (N >= 1).")
@click.option("--refresh", is_flag=True, help="Fetch known articles again to catch edits.")
@click.option("--attempts", type=POSITIVE, default=3, show_default=True,
              help="Flow runs per group at most: a crashed run (its worker died) is submitted again.")
@click.option("--unresponsive-after", type=click.FloatRange(min=1), default=600.0, show_default=True,
              metavar="SECONDS", help="A run with no heartbeat for this long is marked Crashed (must exceed the "
                                      "workers' PREFECT_FLOWS_HEARTBEAT_FREQUENCY, default 180).")
@click.option("--timeout", type=click.FloatRange(min=1), default=None, metavar="SECONDS",
              help="Stop waiting after this long (default: until every group has finished).")
@click.option("--deployment", default="ingest/ingest", show_default=True,
              help="The deployment each group runs (prefect.yaml's `ingest`).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest_all(ctx, source_names, groups, mirror, since, max_pages, refresh, attempts, unresponsive_after,
               timeout, deployment, as_json):
    """Run one `ingest` flow run per source group on the `newsflow` work pool's workers, wait
    for them all, and print what they loaded.

    Needs a Prefect server (PREFECT_API_URL), the deployments (`prefect deploy --all`) and at
    least one `prefect worker start --pool newsflow`. --db and --archive are passed to the
    workers as given: a relative path is taken from each worker's NEWSFLOW_HOME.

    \b
    Example:
      export PREFECT_API_URL=http://127.0.0.1:4200/api
      newsflow ingest-all --groups 4            # every source, 4 flow runs
      newsflow ingest-all --groups 2 --mirror   # the bundled mirror, 2 flow runs
    """
    from flows.ingest_all import GroupsFailed, NoServer, ingest_all_flow
    from prefect.settings import get_current_settings
    reg = source_registry(ctx)
    for n in source_names:
        reg.get(n)
    parse_date(since)
    if not (get_current_settings().api.url or os.environ.get("PREFECT_API_URL")):
        raise NoServer("ingest-all needs a Prefect server: set PREFECT_API_URL (see README, Scaling out)")
    say(f"ingest-all: submitting to deployment {deployment} ...")
    failed = None
    try:
        summary = ingest_all_flow(groups=groups, sources=list(source_names) or None, db=ctx.obj["db"],
                                  archive_dir=ctx.obj["archive"], archive_url=ctx.obj["archive_url"],
                                  mirror=mirror, since=since, max_pages=max_pages, registry=ctx.obj["registry"],
                                  refresh=refresh, deployment=deployment, attempts=attempts,
                                  unresponsive_after=unresponsive_after, timeout=timeout)
    except GroupsFailed as exc:
        summary, failed = exc.summary, exc
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        from flows.cli.table import render
        click.echo(render(["group", "sources", "state", "flow runs"],
                          [[g["group"], ", ".join(g["sources"]), g["state"],
                            " -> ".join(f"{r['name']} {r['state']}" for r in g["runs"])] for g in summary["groups"]]))
        click.echo(f"articles new: {summary['articles_new']}  updated: {summary['articles_updated']}  "
                   f"rejected: {summary['articles_rejected']}   pages fetched: {summary['pages_fetched']}   "
                   f"flow runs: {summary['flow_runs']} ({summary['resubmitted']} resubmitted)   "
                   f"stories: dedupe {summary['dedupe']['state']}   ({summary['seconds']} s)")
    if failed is not None:
        raise failed
