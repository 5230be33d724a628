"""`newsflow`: the one front door. Every command has --help with an example.

The library raises small named exceptions; only this module turns them into one-line
messages and exit codes (1 bad input or failed command, 2 usage, 3 some sources failed,
4 warehouse busy). Commands that need neither Scrapy nor Prefect import neither.
"""
from __future__ import annotations

import datetime as dt
import json
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
        except ValueError as exc:
            # the tag data files' errors (flows.tags.TaxonomyError) name file and entry
            if type(exc).__name__ != "TaxonomyError":
                raise
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


@main.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def sources(ctx, fmt):
    """List the sources in the registry (validating it); `sources check SOURCE` tries one.

    \b
    Example:
      newsflow sources
      newsflow sources check zj-sthjt --mirror    # one list page + one article, rule by rule
    """
    if ctx.invoked_subcommand is not None:
        return
    from flows.table import render
    reg = _registry(ctx)
    cols = ["name", "title", "province", "kind", "cms", "discovery", "robots", "start"]
    rows = [[s.name, s.title, s.province, s.kind, s.cms, _discovery(s), s.robots, " ".join(s.start())]
            for s in reg.sources]
    click.echo(render(cols, rows, fmt, max_width=60))


def _discovery(s) -> str:
    parts = ["dataproxy" if s.dataproxy else f"pages:{s.pagination}"]
    if s.sitemaps:
        parts.append("sitemap")
    if s.feeds:
        parts.append("feed")
    return " ".join(parts)


@sources.command("check")
@click.argument("source_name", metavar="SOURCE")
@click.option("--mirror", is_flag=True, help="Check against the bundled local mirror.")
@click.option("--article", "article_url", help="Check this article URL instead of the first one listed.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def sources_check(ctx, source_name, mirror, article_url, as_json):
    """Fetch one list page and one article of SOURCE and show what each rule found.

    Uses the crawler's own rules (discovery, block detection, User-Agent, robots.txt) and the
    extractor. Exit 0 when the list gave article links and the article extracted; else 1.

    \b
    Example:
      newsflow sources check gxzf --mirror
      newsflow sources check hainan --article http://www.hainan.gov.cn/hainan/5309/202412/<id>.shtml
    """
    from crawlers.check import check_source
    from crawlers.settings import USER_AGENT
    source = _registry(ctx).get(source_name)
    server = _mirror() if mirror else None
    try:
        if server:
            source = source.rebase(server.base_urls[source.base_url]) if source.base_url in server.base_urls else source
        report = check_source(source, user_agent=USER_AGENT, article_url=article_url, loopback_only=bool(server))
    finally:
        if server:
            server.close()
    art = report.get("article")
    if art is not None:
        body, headers = art.pop("body"), art.pop("headers")
        if art.get("status") and art["status"] < 400 and not art.get("block_reason"):
            art["extracted"] = _extract_summary(body, art.get("final_url") or art["url"], source, headers)
            if art["extracted"].get("error"):
                report["problems"].append(f"extraction failed: {art['extracted']['error']}")
    elif not report["problems"]:
        report["problems"].append("no article to check")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        _print_check(report)
    if report["problems"]:
        sys.exit(1)


def _extract_summary(body: bytes, url: str, source, headers) -> dict:
    from flows.extract import ExtractError
    from flows.extract import extract as run_extract
    from flows.extract.normalise import strip_pinyin
    ctype = next((v for k, v in headers if k.lower() == "content-type"), None)
    try:
        e = run_extract(body, url, content_type=ctype, preset=source, encoding_hint=source.encoding)
    except ExtractError as exc:
        return {"error": exc.reason, "detail": exc.detail}
    text = strip_pinyin(e.text) or ""
    return {"title": strip_pinyin(e.title), "published_at": e.published_at.isoformat() if e.published_at else None,
            "source": strip_pinyin(e.original_source), "author": strip_pinyin(e.author),
            "encoding": e.encoding, "text_chars": len(text), "text_start": text[:80],
            "provenance": dict(e.provenance)}


def _print_check(r: dict) -> None:
    out = click.echo
    out(f"source {r['source']} (cms {r['cms']})")
    rb = r["robots"]
    out(f"  robots.txt      {rb['url']} -> {rb['status']}; start URL {'allowed' if rb['allows_start'] else 'DISALLOWED'}"
        f" (policy: {rb['policy']})")
    lst = r["list"]
    out(f"  list page       {lst['url']} -> HTTP {lst.get('status') or lst.get('error')}, {lst.get('content_type')}, "
        f"{lst.get('bytes')} bytes, {lst.get('encoding', '?')}")
    if "rule" in lst:
        if lst.get("block_reason"):
            out(f"  blocked         {lst['block_reason']}")
        if lst.get("list_item"):
            out(f"  list_item       {lst['list_item']!r} matched {lst['items_matched']} item(s)")
        out(f"  links           {lst['links']} found by rule '{lst['rule']}', {lst['article_links']} match "
            f"article_pattern, {lst['dated']} with a list date")
        for ex in lst["examples"]:
            out(f"                    {ex['date'] or '----------'}  {ex['url']}")
        out(f"  pagination      {lst['pagination']}; page count {lst['page_count'] if lst['page_count'] else '-'}; "
            f"next: {', '.join(n['url'] for n in lst['next_pages']) or 'none'}")
        if lst.get("dataproxy"):
            d = lst["dataproxy"]
            out(f"  dataproxy       {d['url']} -> {d['status']}, {d['records']} record(s), {d['article_links']} article link(s)")
        for note in lst.get("notes") or ():
            out(f"  note            {note}")
    art = r.get("article")
    if art:
        out(f"  article         {art['url']} -> HTTP {art.get('status') or art.get('error')}, {art.get('content_type')}, "
            f"{art.get('bytes')} bytes" + (f", final {art['final_url']}" if art.get("final_url") not in (None, art["url"]) else ""))
        if art.get("block_reason"):
            out(f"  blocked         {art['block_reason']}")
        ex = art.get("extracted")
        if ex:
            if ex.get("error"):
                out(f"  extraction      failed: {ex['error']} ({ex.get('detail')})")
            else:
                prov = ex.get("provenance", {})
                for k in ("title", "published_at", "source", "author"):
                    out(f"  {k:<15} {ex.get(k) or '-'}" + (f"   [{prov[k if k != 'source' else 'original_source']}]"
                                                          if prov.get(k if k != "source" else "original_source") else ""))
                out(f"  text            {ex['text_chars']} characters [{prov.get('text', '?')}]: {ex['text_start']}…")
    out("")
    if r["problems"]:
        out("problems:")
        for p in r["problems"]:
            out(f"  - {p}")
    else:
        out("ok: the rules found article links and the article extracted")


@main.command()
@click.argument("source_names", metavar="SOURCE...", nargs=-1, required=True)
@click.option("--since", help="Back-fill: page on until list items are older than this day (YYYY-MM-DD).")
@click.option("--max-pages", type=int, help="Follow at most N list pages per start URL.")
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
    """
    from flows import steps
    from flows.crawl import crawl as run_crawl
    from flows.crawl import unrecorded_runs
    from flows.process import run_id_now
    reg = _registry(ctx)
    for n in source_names:
        reg.get(n)
    since_d = _date(since)
    names = list(source_names)
    state = steps.crawl_state(ctx.obj["db"], names)
    server = _mirror() if mirror else None
    try:
        run_id = run_id_now()
        click.echo(f"crawling {', '.join(names)} (run {run_id}) ...", err=True)
        stats = run_crawl(names, archive_dir=ctx.obj["archive"], run_id=run_id,
                          mapping=dict(server.base_urls) if server else None,
                          since=since_d, max_pages=max_pages, registry=ctx.obj["registry"],
                          state=state, refresh=refresh)
    finally:
        if server:
            server.close()
    recovered = unrecorded_runs(ctx.obj["archive"], names, state, exclude=stats)
    steps.record_crawl(ctx.obj["db"], stats + recovered)
    if recovered:
        click.echo(f"also recorded {len(recovered)} earlier finished run(s): "
                   f"{', '.join(f'{s.source}/{s.run_id}' for s in recovered)}", err=True)
    from flows.table import render
    click.echo(render(["source", "run", "status", "pages", "lists", "304", "requests", "archived", "blocked",
                       "errors", "flags", "archive"],
                      [[s.source, s.run_id, s.status, s.pages_fetched, s.list_pages, s.not_modified,
                        s.article_requests, s.articles_archived, s.blocked, s.errors, " ".join(s.flags),
                        s.warc_path] for s in stats], max_width=80))
    if any(s.status != "ok" for s in stats):
        sys.exit(3)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON list, newest first.")
@click.option("--limit", type=int, default=20, show_default=True, help="How many (run, source) rows.")
@click.option("--source", "source_name", help="Only this source.")
@click.option("--run", "run_id", help="Only this run id.")
@click.pass_context
def runs(ctx, as_json, limit, source_name, run_id):
    """Show recent crawl runs (one row per source per run), newest first.

    Each row is the run's report: pages fetched, list pages and 304s, article requests,
    articles new/updated/rejected (after processing), retries, errors by kind, blocked pages
    by reason, bytes, duration, and flags (nothing_new, mostly_errors, blocked_pages ...).

    \b
    Example:
      newsflow runs
      newsflow runs --json --source gxzf --limit 5
    """
    import warehouse
    with warehouse.connect(ctx.obj["db"], read_only=True) as con:
        try:
            rows = warehouse.recent_runs(con, limit=limit, source=source_name, run_id=run_id)
        except Exception as exc:        # a warehouse from before migration 3
            import duckdb
            if isinstance(exc, duckdb.Error):
                raise click.ClickException(f"cannot read crawl runs: {str(exc).splitlines()[0]} "
                                           f"(run any crawl to migrate the warehouse)")
            raise
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from flows.table import render

    def when(v):
        return dt.datetime.fromisoformat(v).astimezone().strftime("%m-%d %H:%M:%S") if v else ""

    def kinds(d):
        return " ".join(f"{k}:{v}" for k, v in sorted(d.items()))

    click.echo(render(["started", "source", "run", "status", "pages", "lists", "304", "requests", "new",
                       "updated", "rejected", "retries", "errors", "blocked", "bytes", "secs", "flags"],
                      [[when(r["started_at"]), r["source"], r["run_id"], r["status"], r["pages_fetched"],
                        r["list_pages"], r["not_modified"], r["article_requests"], r["articles_new"],
                        r["articles_updated"], r["articles_rejected"], r["retries"],
                        f"{r['errors']} {kinds(r['errors_by_kind'])}".strip() if r["errors"] else 0,
                        f"{r['blocked']} {kinds(r['blocked_by_reason'])}".strip() if r["blocked"] else 0,
                        r["bytes"], r["duration_s"], " ".join(r["flags"])] for r in rows], max_width=48))


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
@click.option("--since", help="Back-fill: page on until list items are older than this day (YYYY-MM-DD).")
@click.option("--max-pages", type=int, help="Follow at most N list pages per start URL.")
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
    reg = _registry(ctx)
    for n in source_names:
        reg.get(n)
    _date(since)
    click.echo("starting the ingest flow (Prefect, no server) ...", err=True)
    from flows.ingest import SourcesFailing, ingest_flow, one_off
    from flows.lock import RunInProgress
    alert = None
    try:
        with one_off():
            summary = ingest_flow(sources=list(source_names) or None, mirror=mirror, db=ctx.obj["db"],
                                  archive_dir=ctx.obj["archive"], since=since, max_pages=max_pages,
                                  registry=ctx.obj["registry"], refresh=refresh)
    except SourcesFailing as exc:
        summary, alert = exc.summary, str(exc)
    except RunInProgress as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(4)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        _print_summary(summary)
    if alert:
        click.echo(f"alert: {alert}", err=True)
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
    from flows.extract.normalise import strip_pinyin
    reg = _registry(ctx)
    preset = reg.get(source_name) if source_name else _source_for_url(reg, url)
    status = 0
    for f in files:
        body = Path(f).read_bytes()
        rec: dict = {"file": f}
        try:
            e = run_extract(body, url, preset=preset,
                            encoding_hint=preset.encoding if preset else None)
            from flows.extract.script import detect_script, quality, to_simplified
            text = strip_pinyin(e.text)
            score, flags = quality(text, e.encoding, e.pinyin_groups)
            rec.update(title=strip_pinyin(e.title),
                       published_at=e.published_at.isoformat() if e.published_at else None,
                       source=strip_pinyin(e.original_source), original_source=strip_pinyin(e.original_source),
                       author=strip_pinyin(e.author), editor=strip_pinyin(e.editor),
                       text=text, text_simplified=to_simplified(text),
                       script=detect_script((e.title or "") + "\n" + text), encoding=e.encoding,
                       quality=score, quality_flags=list(flags), date_missing=e.published_at is None,
                       column=e.column_name, images=[{"src": a, "caption": b} for a, b in e.images],
                       attachments=[{"url": a, "name": b} for a, b in e.attachments],
                       provenance=e.provenance)
        except ExtractError as exc:
            rec.update(error=exc.reason, detail=exc.detail)
            status = 1
        if as_json:
            click.echo(json.dumps(rec, ensure_ascii=False))
        else:
            click.echo(f"== {f}")
            for k in ("title", "published_at", "source", "author", "editor", "script", "encoding",
                      "quality", "quality_flags", "error", "detail"):
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
    cols, rows = warehouse.query(ctx.obj["db"], query, wait=5, snapshot_fallback=True)
    from warehouse import store
    if store.last_query_source and store.last_query_source != str(ctx.obj["db"]):
        click.echo(f"(a load holds the warehouse: answered from the snapshot {store.last_query_source})", err=True)
    click.echo(render(cols, rows, fmt, max_width=max_width))


@main.command()
@click.option("--source", "source_name", help="Only this registry source's articles.")
@click.option("--since", help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.pass_context
def reextract(ctx, source_name, since, dry_run):
    """Re-run the current extractor over stored raw pages (no refetch).

    Only rows whose fields changed are updated; prints how many changed per field.

    \b
    Example:
      newsflow reextract --source hainan --since 2025-01-01
    """
    from flows.reextract import reextract as run
    from flows.table import render
    reg = _registry(ctx)
    if source_name:
        reg.get(source_name)
    r = run(ctx.obj["db"], reg, source=source_name, since=_date(since), dry_run=dry_run,
            progress=lambda m: click.echo(m, err=True))
    click.echo(f"extractor {r.version}: {r.scanned} pages re-extracted, {r.changed} changed, "
               f"{r.unchanged} unchanged, {r.now_rejected} would now be rejected (kept), "
               f"{r.missing_page} raw pages missing" + (" (dry run: nothing written)" if dry_run else ""))
    if r.fields:
        click.echo(render(["field", "rows changed"], sorted(r.fields.items(), key=lambda x: -x[1])))
    for p in r.problems[:10]:
        click.echo(f"warning: {p}", err=True)


@main.command()
@click.argument("query")
@click.option("--since", help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--source", "source_name", help="Only this registry source.")
@click.option("--topic", help="Only articles tagged with this topic (see `newsflow sql \"select * from taxonomy_versions\"`).")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def search(ctx, query, since, source_name, topic, limit, fmt):
    """Full-text search (Chinese word segmentation, BM25), hits marked 【like this】.

    \b
    Example:
      newsflow search "碳中和 东盟" --since 2024-01-01
      newsflow search "红树林" --source gxzf --topic biodiversity
    """
    from flows.index import search as run
    terms, hits = run(ctx.obj["db"], query, since=_date(since), source=source_name, topic=topic, limit=limit)
    if fmt == "json":
        click.echo(json.dumps([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in h.items()}
                               for h in hits], ensure_ascii=False, indent=1))
        return
    click.echo(f"query terms: {' '.join(terms) or '(none)'}; {len(hits)} hit(s)", err=True)
    for i, h in enumerate(hits, 1):
        when = h["published_at"].strftime("%Y-%m-%d") if h["published_at"] else "no date"
        click.echo(f"{i:>2}. {h['title']}  [{h['source']}, {when}, score {h['score']:.2f}]")
        click.echo(f"    {h['snippet']}")
        click.echo(f"    {h['url']}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl"]), required=True)
@click.option("--output", "output", required=True, type=click.Path(dir_okay=True),
              help="File to write (a folder for month-partitioned Parquet).")
@click.option("--since", help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--source", "source_name", help="Only this registry source.")
@click.option("--topic", help="Only articles tagged with this topic.")
@click.option("--partition/--no-partition", default=None,
              help="Parquet partitioned by month (default: when over 100,000 rows).")
@click.pass_context
def export(ctx, fmt, output, since, source_name, topic, partition):
    """Export articles to Parquet, CSV or JSON lines.

    \b
    Example:
      newsflow export --format parquet --output out/articles.parquet --since 2025-01-01
      newsflow export --format csv --output hainan.csv --source hainan
    """
    from warehouse.export import export as run
    n = run(ctx.obj["db"], fmt, output, since=_date(since), source=source_name, topic=topic,
            partition=partition)
    click.echo(f"{n} articles written to {output}")


@main.command()
@click.option("--output", "output", default="report.html", show_default=True, type=click.Path(dir_okay=False))
@click.pass_context
def report(ctx, output):
    """Write a self-contained HTML report (charts; opens with no network).

    \b
    Example:
      newsflow report --output report.html
    """
    from flows.report import make_report
    path = make_report(ctx.obj["db"], output)
    click.echo(f"report written to {path}")


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
      newsflow retag                    # after editing flows/data/taxonomy.toml
      newsflow retag --data my-taxonomy/ --force
    """
    from flows import tags
    taxonomy = tags.load_taxonomy(data_dir) if data_dir else None
    r = tags.retag(ctx.obj["db"], taxonomy=taxonomy, registry=_registry(ctx), source=source_name,
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
    try:
        srv.serve(ctx.obj["db"], ctx.obj["archive"], config or srv.DEFAULT_YAML, only=list(only) or None,
                  registry=ctx.obj["registry"])
    except srv.ServeError as exc:
        raise click.ClickException(str(exc))


if __name__ == "__main__":
    main()
