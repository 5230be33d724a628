"""The commands that write: crawl, process, ingest, reextract, retag, dedupe, serve."""
from __future__ import annotations

import contextlib
import json
import sys

import click

from flows.cli.app import main
from flows.cli.common import (POSITIVE, archive_store, check_paths, dask_option, require_source, holding_run,
                               kinds_text, mirror_server, parse_date, program_name, source_registry, waits)
from schemas.errors import BadInput, SourcesFailed


@main.command()
@click.argument("source_names", metavar="SOURCE...", nargs=-1, required=True)
@click.option("--since", help="Back-fill: page on until list items are older than this day (YYYY-MM-DD).")
@click.option("--max-pages", type=POSITIVE, help="Follow at most N list pages per start URL (N >= 1).")
@click.option("--refresh", is_flag=True, help="Fetch known articles again to catch edits (earlier versions stay archived).")
@click.option("--mirror", is_flag=True, help="Crawl the bundled local mirror instead of the live sites.")
@click.pass_context
def crawl(ctx, source_names, since, max_pages, refresh, mirror):
    """One-off crawl of SOURCE... into the archive (no Prefect).

    Incremental: URLs already stored are not fetched again, list pages are asked with
    If-None-Match/If-Modified-Since, and paging stops at a page of known URLs. A crawl that
    was killed is continued. Pages are archived and the run is recorded in crawl_runs (see
    `newsflow runs`); `newsflow process` then extracts and loads them (or use `newsflow
    ingest`, which does both). Exit 3 when a source failed, came back empty or was blocked.

    \b
    Example:
      newsflow crawl gxzf hainan --max-pages 2
      newsflow crawl gxzf --since 2025-01-01      # back-fill
      newsflow --archive s3://news/warc crawl gxzf   # WARC files uploaded to object storage
    """
    from flows import steps
    from flows.process import run_id_now
    reg = source_registry(ctx)
    for n in source_names:
        reg.get(n)
    since_d = parse_date(since)
    names = list(source_names)
    check_paths(ctx, archive=True)
    store = archive_store(ctx)          # a bad s3:// URL fails now, before the crawl
    server = mirror_server() if mirror else None
    try:
        run_id = run_id_now()
        click.echo(f"crawling {', '.join(names)} (run {run_id}) ...", err=True)
        result = steps.crawl_sources(ctx.obj["db"], names, ctx.obj["archive"], run_id,
                                     mapping=dict(server.base_urls) if server else None, since=since_d,
                                     max_pages=max_pages, registry=ctx.obj["registry"], refresh=refresh,
                                     wait=waits(ctx)[1])
    finally:
        if server:
            server.close()
    stats, recovered = result["stats"], result["recovered"]
    with holding_run(ctx):         # after a process or ingest in progress, never beside it
        steps.record_crawl(ctx.obj["db"], stats + recovered, ctx.obj["archive"])
    # recorded first: an upload that fails (ArchiveUploadFailed, exit 1) leaves a recorded run
    # whose WARC file is kept in the spool, and the next crawl, ingest or process uploads it
    store.publish_pending(lambda m: click.echo(m, err=True))
    if recovered:
        click.echo(f"also recorded {len(recovered)} earlier finished run(s): "
                   f"{', '.join(f'{s.source}/{s.run_id}' for s in recovered)}", err=True)
    from flows.cli.table import render
    click.echo(render(["source", "run", "status", "pages", "lists", "304", "requests", "archived", "blocked",
                       "errors", "flags", "archive"],
                      [[s.source, s.run_id, s.status, s.pages_fetched, s.list_pages, s.not_modified,
                        s.article_requests, s.articles_archived, s.blocked, kinds_text(s.errors, s.errors_by_kind),
                        " ".join(s.flags), _archived(store, s)] for s in stats], max_width=80))
    bad = [s for s in stats if s.status != "ok"]
    for s in bad:
        click.echo(f"{s.source} {s.status}: {steps.crawl_reason(s)}", err=True)
    if bad:
        sys.exit(SourcesFailed.exit_code)


def _archived(store, s) -> str:
    """Where a crawl's WARC file is now: its path, or its object once uploaded."""
    if not s.warc_path:
        return "(nothing archived)"
    if not store.remote:
        return s.warc_path
    from crawlers.archive import location
    return store.describe(location(s.warc_path, store.local))


@main.command()
@click.argument("files", metavar="[WARC...]", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@dask_option
@click.pass_context
def process(ctx, files, dask):
    """Extract and load archived pages (default: every WARC file in the archive).

    Safe to re-run: articles already loaded are not duplicated; changed ones are updated; the
    counts of crawl runs already processed (`newsflow runs`) stay as they were. Waits for an
    ingest or another process in progress on the same warehouse; a crawl still writing its
    WARC file is left to finish. Articles not yet in a story are deduplicated. With an s3://
    archive, WARC files a failed upload left in the spool are uploaded first, and every file
    is read from object storage. `--dask` extracts on a Dask cluster, one task per WARC file.

    \b
    Example:
      newsflow process data/archive/gxzf/*.warc.gz
      newsflow --archive s3://news/warc process --dask local:2
    """
    from crawlers.archive import archive_files
    from flows import steps
    reg = source_registry(ctx)
    check_paths(ctx)
    store = archive_store(ctx)
    say = lambda m: click.echo(m, err=True)  # noqa: E731
    with holding_run(ctx):
        if store.remote:
            store.publish_pending(say)
            paths = list(files) or store.locations()
        else:
            paths = list(files) or [str(p) for p in archive_files(ctx.obj["archive"])]
        if not paths:
            raise BadInput(f"no archive files under {ctx.obj['archive_url'] or ctx.obj['archive']}")
        if dask:
            from flows.fanout import process_on_dask
            counts = process_on_dask(ctx.obj["db"], paths, ctx.obj["registry"], ctx.obj["archive"],
                                     ctx.obj["archive_url"], dask)
        else:
            counts = steps.process_archives(ctx.obj["db"], paths, reg, progress=say,
                                            archive=ctx.obj["archive"], store=store)
    from flows.cli.table import render
    click.echo(render(["source", "new", "updated", "unchanged", "rejected"],
                      [[k, c.new, c.updated, c.unchanged, c.rejected] for k, c in sorted(counts.items())]))


@main.command()
@click.argument("source_names", metavar="[SOURCE...]", nargs=-1)
@click.option("--mirror", is_flag=True,
              help="Serve the bundled local mirror on 127.0.0.1 for the run and crawl it.")
@click.option("--since", help="Back-fill: page on until list items are older than this day (YYYY-MM-DD).")
@click.option("--max-pages", type=POSITIVE, help="Follow at most N list pages per start URL (N >= 1).")
@click.option("--refresh", is_flag=True, help="Fetch known articles again to catch edits.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(ctx, source_names, mirror, since, max_pages, refresh, as_json):
    """Run the Prefect ingest flow: crawl, extract, load (all sources by default).

    Prefect runs in its ephemeral mode: no server to install or start.

    \b
    Example:
      newsflow ingest --mirror          # the demo: bundled mirror, no network needed
      newsflow ingest gxzf hainan       # the live sites
    """
    reg = source_registry(ctx)
    for n in source_names:
        reg.get(n)
    parse_date(since)
    # a typo'd --db, a read-only folder, a warehouse another process holds: one line now,
    # before Prefect spends its 10 s starting (the flow takes the same lock again inside)
    check_paths(ctx, archive=True)
    archive_store(ctx)                  # a bad s3:// URL: one line now, not from inside the flow
    with holding_run(ctx):
        click.echo("starting the ingest flow (Prefect, no server) ...", err=True)
        from flows.ingest import SourcesFailing, ingest_flow, one_off
        alert = None
        try:
            with one_off():
                summary = ingest_flow(sources=list(source_names) or None, mirror=mirror, db=ctx.obj["db"],
                                      archive_dir=ctx.obj["archive"], archive_url=ctx.obj["archive_url"],
                                      since=since, max_pages=max_pages,
                                      registry=ctx.obj["registry"], refresh=refresh,
                                      lock_wait=waits(ctx)[0])
        except SourcesFailing as exc:
            summary, alert = exc.summary, str(exc)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        _print_summary(summary)
    if alert:
        click.echo(f"alert: {alert}", err=True)
    if summary["failed_sources"]:
        sys.exit(SourcesFailed.exit_code)


def _print_summary(s: dict) -> None:
    from flows.cli.table import render
    click.echo("")
    click.echo(render(["source", "status", "pages", "304", "requests", "new", "updated", "unchanged", "rejected",
                       "errors", "blocked", "flags"],
                      [[p["source"], p["status"], p["pages"], p.get("not_modified", 0), p.get("article_requests", 0),
                        p["new"], p["updated"], p["unchanged"], p["rejected"], p["errors"], p.get("blocked", 0),
                        " ".join(p.get("flags", ()))] for p in s["per_source"]]))
    click.echo("")
    click.echo(f"sources: {s['sources']}   pages fetched: {s['pages_fetched']}   "
               f"articles new: {s['articles_new']}  updated: {s['articles_updated']}  "
               f"rejected: {s['articles_rejected']}   ({s['seconds']} s)")
    click.echo(f"warehouse: {s['db']}")
    prog = program_name()
    where = f"--warehouse '{s['db']}'" if s["db"].startswith("ducklake:") else f"--db {s['db']}"
    click.echo(f"try: {prog} {where} sql \"select source, count(*) from articles group by 1\"")
    if s["failed_sources"]:
        click.echo(f"sources that failed or came back empty: {', '.join(s['failed_sources'])}")
        from flows.steps import failure_reason
        for p in s["per_source"]:
            if p["status"] != "ok":
                click.echo(f"  {p['source']} {p['status']}: {failure_reason(p)}")


@main.command()
@click.option("--source", "source_name", help="Only this registry source's articles.")
@click.option("--since", help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@dask_option
@click.pass_context
def reextract(ctx, source_name, since, dry_run, dask):
    """Re-run the current extractor over stored raw pages (no refetch).

    Only rows whose fields changed are updated; prints how many changed per field. Raw pages
    are read from the archive (`--archive`, a folder or s3://bucket/prefix: ranged GETs for a
    few records of a big file). `--dask` re-extracts on a Dask cluster, one task per WARC file.

    \b
    Example:
      newsflow reextract --source hainan --since 2025-01-01
      newsflow --archive s3://news/warc reextract --dask tcp://10.0.0.5:8786
    """
    from flows.reextract import reextract as run
    from flows.cli.table import render
    reg = source_registry(ctx)
    if source_name:
        reg.get(source_name)
    since_d = parse_date(since)
    if not dry_run:
        check_paths(ctx)
    with (contextlib.nullcontext() if dry_run else holding_run(ctx)):
        if dask:
            from flows.fanout import reextract_on_dask
            r = reextract_on_dask(ctx.obj["db"], ctx.obj["registry"], source_name, since_d, dry_run,
                                  ctx.obj["archive"], ctx.obj["archive_url"], dask)
        else:
            r = run(ctx.obj["db"], reg, source=source_name, since=since_d, dry_run=dry_run,
                    progress=lambda m: click.echo(m, err=True), archive=ctx.obj["archive"],
                    store=archive_store(ctx))
    click.echo(f"extractor {r.version}: {r.scanned} pages re-extracted, {r.changed} changed, "
               f"{r.unchanged} unchanged, {r.now_rejected} would now be rejected (kept), "
               f"{r.missing_page} raw pages missing" + (" (dry run: nothing written)" if dry_run else ""))
    if r.fields:
        click.echo(render(["field", "rows changed"], sorted(r.fields.items(), key=lambda x: -x[1])))
    for p in r.problems[:10]:
        click.echo(f"warning: {p}", err=True)
    if r.missing_page and not r.scanned:
        click.echo(f"warning: no raw page found under the archive {ctx.obj['archive']}: give the archive's "
                   "folder with --archive", err=True)


@main.command()
@click.option("--rebuild", is_flag=True,
              help="Forget every story and signature first, then group all articles again (after a change "
                   "of the shingle or banding parameters).")
@click.pass_context
def dedupe(ctx, rebuild):
    """Group articles not yet in a story into stories (syndicated copies across outlets).

    `process` and `ingest` do this after every load; run it by hand after a process that was
    killed before its dedupe, or with --rebuild when the stored signatures were made with other
    parameters (the error then says so). Articles are never changed, only their stories.

    \b
    Example:
      newsflow dedupe
      newsflow dedupe --rebuild
    """
    from flows import steps
    reg = source_registry(ctx)
    check_paths(ctx)
    with holding_run(ctx):
        if rebuild:
            steps.reset_stories(ctx.obj["db"])
        report = steps.dedupe_articles(ctx.obj["db"], None, reg)
    click.echo(f"dedupe: {report}")


@main.command()
@click.option("--source", "source_name", help="Only this registry source's articles.")
@click.option("--force", is_flag=True, help="Re-tag even articles already tagged with this taxonomy.")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--no-keywords", is_flag=True, help="Skip jieba keywords (much faster).")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="Folder with taxonomy.toml, gazetteer.toml, partners.toml.")
@click.pass_context
def retag(ctx, source_name, force, dry_run, no_keywords, data_dir):
    """Re-apply the (changed) taxonomy to stored articles, without re-extraction.

    \b
    Example:
      newsflow retag                    # after editing flows/tags/data/taxonomy.toml
      newsflow retag --data my-taxonomy/ --force
    """
    from flows import tags
    require_source(ctx, source_name)
    taxonomy = tags.load_taxonomy(data_dir) if data_dir else None
    reg = source_registry(ctx)
    if not dry_run:
        check_paths(ctx)
    with (contextlib.nullcontext() if dry_run else holding_run(ctx)):
        r = tags.retag(ctx.obj["db"], taxonomy=taxonomy, registry=reg, source=source_name,
                       force=force, dry_run=dry_run, keywords=not no_keywords,
                       progress=lambda m: click.echo(m, err=True))
    click.echo(json.dumps(r.as_dict(), ensure_ascii=False, indent=1, default=str))


@main.command()
@click.option("--config", "config", default=None, type=click.Path(dir_okay=False),
              help="prefect.yaml with the deployments and schedules (default: the bundled one).")
@click.option("--only", multiple=True, help="Serve only this deployment (repeatable).")
@click.pass_context
def serve(ctx, config, only):
    """Run the prefect.yaml schedules on this machine (Ctrl-C stops cleanly).

    Starts a local Prefect server on 127.0.0.1 for as long as it runs: nothing to install.

    \b
    Example:
      newsflow serve
      newsflow serve --only ingest-guangxi
    """
    from flows import serve as srv
    srv.serve(ctx.obj["db"], ctx.obj["archive"], config or srv.DEFAULT_YAML, only=list(only) or None,
              registry=ctx.obj["registry"], archive_url=ctx.obj["archive_url"])
