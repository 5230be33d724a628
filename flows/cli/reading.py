"""The commands that read: runs, sql, search, export, report, and extract (one page, no warehouse)."""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from flows.cli.app import main
from flows.cli.common import POSITIVE, require_source, require_topic, parse_date, say, source_registry
from schemas.errors import Failed


@main.command()
@click.option("--json", "as_json", is_flag=True, help="A JSON list, newest first.")
@click.option("--limit", type=POSITIVE, default=20, show_default=True, help="How many (run, source) rows.")
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
    require_source(ctx, source_name)
    with warehouse.reader(ctx.obj["db"], say=say) as rd:
        rows = warehouse.recent_runs(rd.con, limit=limit, source=source_name, run_id=run_id)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from flows.cli.table import render

    def when(v):
        return dt.datetime.fromisoformat(v).astimezone().strftime("%m-%d %H:%M:%S") if v else ""

    def kinds(d):
        return " ".join(f"{k}:{v}" for k, v in sorted(d.items()))

    def pending(r):
        # a run not processed yet shows what is loaded so far; articles loaded but not yet in a
        # story (a process killed before its dedupe) are picked up by the next process/ingest
        out = [] if r["processed_at"] else ["not_processed"]
        return out + ([f"dedupe_pending:{r['dedupe_pending']}"] if r["dedupe_pending"] else [])

    click.echo(render(["started", "source", "run", "status", "pages", "lists", "304", "requests", "new",
                       "updated", "rejected", "retries", "errors", "blocked", "bytes", "secs", "flags"],
                      [[when(r["started_at"]), r["source"], r["run_id"], r["status"], r["pages_fetched"],
                        r["list_pages"], r["not_modified"], r["article_requests"], r["articles_new"],
                        r["articles_updated"], r["articles_rejected"], r["retries"],
                        f"{r['errors']} {kinds(r['errors_by_kind'])}".strip() if r["errors"] else 0,
                        f"{r['blocked']} {kinds(r['blocked_by_reason'])}".strip() if r["blocked"] else 0,
                        r["bytes"], r["duration_s"], " ".join(r["flags"] + pending(r))] for r in rows],
                      max_width=48))


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
    reg = source_registry(ctx)
    preset = reg.get(source_name) if source_name else _source_for_url(reg, url)
    status = 0
    for f in files:
        body = Path(f).read_bytes()
        rec: dict = {"file": f}
        try:
            e = run_extract(body, url, preset=preset, presets=reg.presets,
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
    if status:      # the same with --json: a page that did not extract is a failure either way
        sys.exit(Failed.exit_code)


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
@click.option("--max-width", type=POSITIVE, default=40, show_default=True,
              help="Truncate table cells wider than this (Chinese characters count 2).")
@click.option("--read-dir", "read_dirs", multiple=True, type=click.Path(file_okay=False),
              help="Also let the query read files under this folder (repeatable).")
@click.pass_context
def sql(ctx, query, sql_file, fmt, max_width, read_dirs):
    """Run read-only SQL on the warehouse and print a table.

    The query may read Parquet/CSV/JSON files under the working directory (and --read-dir
    folders) and nothing else; it writes nothing: COPY, EXPORT, ATTACH, INSTALL/LOAD and
    changes to DuckDB's settings are refused. While a load holds the warehouse the query
    reads its snapshot and says so.

    \b
    Example:
      newsflow sql "select source, count(*) from articles group by 1"
      newsflow sql --format csv "select title, published_at from articles" > out.csv
      newsflow sql "select count(*) from read_parquet('out/articles.parquet')"
    """
    import warehouse
    from flows.cli.table import render
    if sql_file is not None:
        query = sql_file.read()
    elif query is None and not sys.stdin.isatty():
        query = sys.stdin.read()
    if not query or not query.strip():
        raise click.UsageError("give a query, --file PATH, or SQL on stdin")
    from warehouse.reader import READ_WAIT
    cols, rows = warehouse.query(ctx.obj["db"], query, wait=READ_WAIT, snapshot_fallback=True,
                                 files=warehouse.ReadableFiles.default(read_dirs), say=say)
    click.echo(render(cols, rows, fmt, max_width=max_width))


@main.command()
@click.argument("query")
@click.option("--since", help="Only articles published on or after this day (YYYY-MM-DD).")
@click.option("--source", "source_name", help="Only this registry source.")
@click.option("--topic", help="Only articles tagged with this topic (see `newsflow sql \"select * from taxonomy_versions\"`).")
@click.option("--limit", type=POSITIVE, default=20, show_default=True, help="Show at most N hits (N >= 1).")
@click.option("--any", "any_term", is_flag=True, help="Articles with any word of the query (default: every word).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def search(ctx, query, since, source_name, topic, limit, any_term, fmt):
    """Full-text search (Chinese word segmentation, BM25), hits marked 【like this】.

    An article matches when it has every word of the query (--any: one of them); the
    summary on stderr gives the query's words and how many articles match in all.

    \b
    Example:
      newsflow search "碳中和 东盟" --since 2024-01-01
      newsflow search "红树林 湿地" --any --source gxzf --topic biodiversity
    """
    from flows.search.index import search as run
    from flows.search.segment import query_tokens
    since_d = parse_date(since)
    require_source(ctx, source_name)
    require_topic(ctx, topic)
    if not query_tokens(query):
        raise click.UsageError(f"the query {query!r} has no word to search for")
    r = run(ctx.obj["db"], query, since=since_d, source=source_name, topic=topic, limit=limit,
            any_term=any_term, say=say)
    hits = r.hits
    how = "any of" if any_term else "all of"
    shown = f", showing the best {len(hits)}" if len(hits) < r.total else ""
    click.echo(f"query terms ({how}): {' '.join(r.terms)}; {r.total} article(s) match{shown}", err=True)
    if fmt == "json":
        click.echo(json.dumps([{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in h.items()}
                               for h in hits], ensure_ascii=False, indent=1))
        return
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
@click.option("--overwrite", is_flag=True,
              help="Replace an existing file, or a folder an earlier partitioned export wrote.")
@click.pass_context
def export(ctx, fmt, output, since, source_name, topic, partition, overwrite):
    """Export articles to Parquet, CSV or JSON lines, with their tags.

    Times are Asia/Shanghai with the +08:00 offset in every format. An existing file is
    replaced only with --overwrite; a folder only if an earlier export wrote it. The
    warehouse, its snapshot and the archive are never written.

    \b
    Example:
      newsflow export --format parquet --output out/articles.parquet --since 2025-01-01
      newsflow export --format csv --output hainan.csv --source hainan --overwrite
      newsflow export --format parquet --partition --output out/by-month
    """
    from warehouse.export import export as run
    since_d = parse_date(since)
    require_source(ctx, source_name)
    require_topic(ctx, topic)
    n = run(ctx.obj["db"], fmt, output, since=since_d, source=source_name, topic=topic,
            partition=partition, overwrite=overwrite, archive=ctx.obj["archive"],
            protect=[(ctx.obj["registry"], "the source registry")], say=say)
    click.echo(f"{n} articles written to {output}")


@main.command()
@click.option("--output", "output", default="report.html", show_default=True, type=click.Path(dir_okay=False))
@click.pass_context
def report(ctx, output):
    """Write a self-contained HTML report an analyst can open offline.

    The header names the warehouse file read and when (Asia/Shanghai); then totals by
    source, topic, partner and place, one small chart per source and per topic, the newest
    and the most syndicated stories with links to every copy, and per-source crawl health.

    \b
    Example:
      newsflow report --output report.html
      newsflow --db /data/newsflow.duckdb report --output ~/reports/today.html
    """
    from flows.cli.report import make_report
    from warehouse import paths
    # the warehouse, its snapshot, the archive and the registry are never a report's place
    paths.refuse_protected(output, paths.protected_paths(ctx.obj["db"], ctx.obj["archive"],
                                                         [(ctx.obj["registry"], "the source registry")]))
    db = ctx.obj["db"]
    path = make_report(db, output, registry=source_registry(ctx), say=say)
    click.echo(f"report of {db} written to {path}")
