"""`newsflow`: the one front door. Every command has --help with an example.

The library raises small named exceptions; only this module turns them into one-line
messages and exit codes (1 bad input or failed command, 2 usage, 3 some sources failed,
4 warehouse busy). Commands that need neither Scrapy nor Prefect import neither.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click

DEFAULT_DB = "data/newsflow.duckdb"


class NewsflowGroup(click.Group):
    """Turn our named exceptions into one-line errors with stable exit codes."""

    def invoke(self, ctx):
        from crawlers.errors import CrawlFailed, RegistryError
        from warehouse.errors import QueryError, WarehouseBusy, WarehouseError
        try:
            return super().invoke(ctx)
        except WarehouseBusy as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(4)
        except (RegistryError, CrawlFailed, QueryError, WarehouseError, FileNotFoundError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=NewsflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", envvar="NEWSFLOW_DB", default=DEFAULT_DB, show_default=True,
              help="DuckDB warehouse file (env NEWSFLOW_DB).")
@click.option("--archive", "archive", envvar="NEWSFLOW_ARCHIVE", default=None,
              help="WARC archive folder (env NEWSFLOW_ARCHIVE; default: 'archive' next to the db).")
@click.option("--registry", envvar="NEWSFLOW_REGISTRY", default=None,
              help="Source registry TOML (default: the bundled crawlers/sources.toml).")
@click.pass_context
def main(ctx, db, archive, registry):
    """newsflow: follow what Chinese provincial governments and media publish.

    \b
    Example:
      newsflow ingest --mirror        # crawl the bundled mirror, load data/newsflow.duckdb
      newsflow sql "select source, count(*) from articles group by 1"
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db
    ctx.obj["archive"] = archive or str(Path(db).parent / "archive")
    ctx.obj["registry"] = registry


def _registry(ctx):
    from crawlers.registry import load_registry
    return load_registry(ctx.obj["registry"])


def _date(value):
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2025-01-31")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def sources(ctx, fmt):
    """List the sources in the registry.

    \b
    Example:
      newsflow sources
    """
    from flows.table import render
    reg = _registry(ctx)
    cols = ["name", "title", "province", "kind", "cms", "start"]
    rows = [[s.name, s.title, s.province, s.kind, s.cms, " ".join(s.start())] for s in reg.sources]
    click.echo(render(cols, rows, fmt, max_width=60))


@main.command()
@click.argument("source_names", metavar="SOURCE...", nargs=-1, required=True)
@click.option("--since", help="Skip list items dated before this day (YYYY-MM-DD).")
@click.option("--max-pages", type=int, help="Follow at most N list pages per start URL.")
@click.option("--mirror", is_flag=True, help="Crawl the bundled local mirror instead of the live sites.")
@click.pass_context
def crawl(ctx, source_names, since, max_pages, mirror):
    """One-off crawl of SOURCE... into the archive (no Prefect).

    Fetched pages are archived and the crawl is recorded in crawl_runs; `newsflow process`
    then extracts and loads them (or use `newsflow ingest`, which does both).

    \b
    Example:
      newsflow crawl gxzf hainan --max-pages 2
    """
    from flows import steps
    from flows.crawl import crawl as run_crawl
    from flows.process import run_id_now
    reg = _registry(ctx)
    for n in source_names:
        reg.get(n)
    server = _mirror() if mirror else None
    try:
        run_id = run_id_now()
        click.echo(f"crawling {', '.join(source_names)} (run {run_id}) ...", err=True)
        stats = run_crawl(list(source_names), archive_dir=ctx.obj["archive"], run_id=run_id,
                          mapping=dict(server.base_urls) if server else None,
                          since=_date(since), max_pages=max_pages, registry=ctx.obj["registry"])
    finally:
        if server:
            server.close()
    steps.record_crawl(ctx.obj["db"], stats)
    from flows.table import render
    click.echo(render(["source", "status", "pages", "articles", "errors", "archive"],
                      [[s.source, s.status, s.pages_fetched, s.articles_archived, s.errors, s.warc_path]
                       for s in stats], max_width=80))
    if any(s.status != "ok" for s in stats):
        sys.exit(3)


def _mirror():
    from mirror.server import serve
    return serve()


@main.command()
@click.argument("files", metavar="[WARC...]", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def process(ctx, files):
    """Extract and load archived pages (default: every WARC file in the archive).

    Safe to re-run: articles already loaded are not duplicated; changed ones are updated.

    \b
    Example:
      newsflow process data/archive/gxzf/*.warc.gz
    """
    from crawlers.archive import archive_files
    from flows import steps
    paths = list(files) or [str(p) for p in archive_files(ctx.obj["archive"])]
    if not paths:
        raise click.ClickException(f"no archive files under {ctx.obj['archive']}")
    counts = steps.process_archives(ctx.obj["db"], paths, _registry(ctx),
                                    progress=lambda m: click.echo(m, err=True))
    from flows.table import render
    click.echo(render(["source", "new", "updated", "unchanged", "rejected"],
                      [[k, c.new, c.updated, c.unchanged, c.rejected] for k, c in sorted(counts.items())]))


@main.command()
@click.argument("source_names", metavar="[SOURCE...]", nargs=-1)
@click.option("--mirror", is_flag=True,
              help="Serve the bundled local mirror on 127.0.0.1 for the run and crawl it.")
@click.option("--since", help="Skip list items dated before this day (YYYY-MM-DD).")
@click.option("--max-pages", type=int, help="Follow at most N list pages per start URL.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def ingest(ctx, source_names, mirror, since, max_pages, as_json):
    """Run the Prefect ingest flow: crawl, extract, load (all sources by default).

    Prefect runs in its ephemeral mode: no server to install or start.

    \b
    Example:
      newsflow ingest --mirror          # the demo: bundled mirror, no network needed
      newsflow ingest gxzf hainan       # the live sites
    """
    reg = _registry(ctx)
    for n in source_names:
        reg.get(n)
    _date(since)
    click.echo("starting the ingest flow (Prefect, no server) ...", err=True)
    from flows.ingest import ingest_flow
    summary = ingest_flow(sources=list(source_names) or None, mirror=mirror, db=ctx.obj["db"],
                          archive_dir=ctx.obj["archive"], since=since, max_pages=max_pages,
                          registry=ctx.obj["registry"])
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        _print_summary(summary)
    if summary["failed_sources"]:
        sys.exit(3)


def _prog() -> str:
    """How the user can call us again: a relative path when the script is not on PATH."""
    import shutil
    exe = Path(sys.argv[0])
    if exe.name == "newsflow" and shutil.which("newsflow") != str(exe.resolve()):
        try:
            return str(exe.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(exe.resolve())
    return "newsflow"


def _print_summary(s: dict) -> None:
    from flows.table import render
    click.echo("")
    click.echo(render(["source", "status", "pages", "new", "updated", "unchanged", "rejected", "errors"],
                      [[p["source"], p["status"], p["pages"], p["new"], p["updated"], p["unchanged"],
                        p["rejected"], p["errors"]] for p in s["per_source"]]))
    click.echo("")
    click.echo(f"sources: {s['sources']}   pages fetched: {s['pages_fetched']}   "
               f"articles new: {s['articles_new']}  updated: {s['articles_updated']}  "
               f"rejected: {s['articles_rejected']}   ({s['seconds']} s)")
    click.echo(f"warehouse: {s['db']}")
    prog = _prog()
    click.echo(f"try: {prog} --db {s['db']} sql \"select source, count(*) from articles group by 1\"")
    if s["failed_sources"]:
        click.echo(f"sources that failed or came back empty: {', '.join(s['failed_sources'])}")


@main.command()
@click.argument("files", metavar="FILE...", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False))
@click.option("--url", help="The page's URL (helps pick the source's CMS preset).")
@click.option("--source", "source_name", help="Use this registry source's preset.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, in order.")
@click.pass_context
def extract(ctx, files, url, source_name, as_json):
    """Extract articles from saved HTML files (for debugging a page).

    \b
    Example:
      newsflow extract page.html --url http://www.gxzf.gov.cn/gxyw/t19439729.shtml --json
    """
    from flows.extract import ExtractError
    from flows.extract import extract as run_extract
    from flows.normalise import strip_pinyin
    reg = _registry(ctx)
    preset = reg.get(source_name) if source_name else _source_for_url(reg, url)
    status = 0
    for f in files:
        body = Path(f).read_bytes()
        rec: dict = {"file": f}
        try:
            e = run_extract(body, url, preset=preset,
                            encoding_hint=preset.encoding if preset else None)
            rec.update(title=strip_pinyin(e.title),
                       published_at=e.published_at.isoformat() if e.published_at else None,
                       source=strip_pinyin(e.original_source), original_source=strip_pinyin(e.original_source),
                       author=strip_pinyin(e.author), editor=strip_pinyin(e.editor),
                       text=strip_pinyin(e.text), encoding=e.encoding,
                       date_missing=e.published_at is None, provenance=e.provenance)
        except ExtractError as exc:
            rec.update(error=exc.reason, detail=exc.detail)
            status = 1
        if as_json:
            click.echo(json.dumps(rec, ensure_ascii=False))
        else:
            click.echo(f"== {f}")
            for k in ("title", "published_at", "source", "author", "editor", "encoding", "error", "detail"):
                if rec.get(k) is not None:
                    click.echo(f"{k:>13}: {rec[k]}")
            if rec.get("text"):
                click.echo("")
                click.echo(rec["text"])
    if status and not as_json:
        sys.exit(1)


def _source_for_url(reg, url):
    if not url:
        return None
    for s in reg.sources:
        if s.is_allowed(url):
            return s
    return None


@main.command()
@click.argument("query", required=False)
@click.option("--file", "sql_file", type=click.File("r", encoding="utf-8"),
              help="Read the SQL from a file ('-' for stdin).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json", "markdown"]), default="table")
@click.option("--max-width", type=int, default=40, show_default=True,
              help="Truncate table cells wider than this (Chinese characters count 2).")
@click.pass_context
def sql(ctx, query, sql_file, fmt, max_width):
    """Run read-only SQL on the warehouse and print a table.

    \b
    Example:
      newsflow sql "select source, count(*) from articles group by 1"
      newsflow sql --format csv "select title, published_at from articles" > out.csv
    """
    import warehouse
    from flows.table import render
    if sql_file is not None:
        query = sql_file.read()
    elif query is None and not sys.stdin.isatty():
        query = sys.stdin.read()
    if not query or not query.strip():
        raise click.UsageError("give a query, --file PATH, or SQL on stdin")
    cols, rows = warehouse.query(ctx.obj["db"], query)
    click.echo(render(cols, rows, fmt, max_width=max_width))


if __name__ == "__main__":
    main()
