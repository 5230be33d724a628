"""The revision commands: recheck (ask known articles again), history (an article's versions
and a diff), changes (edits, takedowns, restores, delistings)."""
from __future__ import annotations

import datetime as dt
import json
import sys

import click

from flows.cli.app import main
from flows.cli.common import (POSITIVE, archive_store, check_paths, holding_run, mirror_server, parse_date,
                               require_source, say, source_registry, waits)
from schemas.errors import BadInput

KINDS = ("edited", "removed", "restored", "delisted")


def _jsonable(v):
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return None
    return v


@main.command()
@click.argument("source_names", metavar="[SOURCE...]", nargs=-1)
@click.option("--all", "force", is_flag=True, help="Ask every known article now, whatever the policy's schedule (still capped).")
@click.option("--mirror", is_flag=True, help="Re-check against the bundled local mirror instead of the live sites.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def recheck(ctx, source_names, force, mirror, as_json):
    """Ask known articles again and record what changed (all sources by default).

    Which articles are due, and how many requests a run may spend, is the registry's
    `[recheck]` policy (per source or preset: e.g. younger than 7 days daily, than 90 days
    weekly, older monthly). Each is asked with If-None-Match / If-Modified-Since: an unchanged
    page costs a 304. A changed page becomes a new version (`newsflow history`); a 404/410, a
    redirect to the home or column page, a "该信息已删除" page or a placeholder body marks the
    article removed with its evidence; a timeout, 5xx or challenge only counts, until the policy's
    N failures over M days; a removed article that answers again is restored. The column's list
    pages are read too: an article dropped from them while its page answers is delisted.
    Nothing is deleted.

    \b
    Example:
      newsflow recheck gxzf hainan
      newsflow recheck --all --mirror          # everything, against the local mirror
    """
    from flows.process import run_id_now
    from flows.revisions.recheck import recheck as run_recheck
    reg = source_registry(ctx)
    names = list(source_names) or reg.names()
    for n in names:
        reg.get(n)
    check_paths(ctx, archive=True)
    server = mirror_server() if mirror else None
    try:
        with holding_run(ctx):
            result = run_recheck(ctx.obj["db"], names, ctx.obj["archive"], run_id_now(), registry=ctx.obj["registry"],
                                 mapping=dict(server.base_urls) if server else None, force=force,
                                 wait=waits(ctx)[1], progress=say)
            if ctx.obj.get("archive_url"):
                # the re-check's WARC files (its 200s, its list pages: the evidence its events
                # name) join the S3 archive as a crawl's do
                archive_store(ctx).publish_pending(say)
    finally:
        if server:
            server.close()
    rows = [{"source": k, **{f: getattr(c, f) for f in ("due", "asked", "not_modified", "live", "edited", "removed",
                                                        "restored", "delisted", "transient")},
             "reasons": dict(c.reasons)} for k, c in sorted(result["counts"].items())]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from flows.cli.table import render
    click.echo(render(["source", "due", "asked", "304", "live", "edited", "removed", "restored", "delisted",
                       "transient", "why"],
                      [[r["source"], r["due"], r["asked"], r["not_modified"], r["live"], r["edited"], r["removed"],
                        r["restored"], r["delisted"], r["transient"],
                        " ".join(f"{k}:{v}" for k, v in sorted(r["reasons"].items()))] for r in rows]))


@main.command()
@click.argument("article")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: the article, its versions (with texts and diffs) and events.")
@click.option("--color/--no-color", "colour", default=None, help="Colour the diff (default: when stdout is a terminal).")
@click.pass_context
def history(ctx, article, as_json, colour):
    """Show an article's versions and what changed between them (ARTICLE: URL or id).

    Diffs are by jieba tokens, so a changed figure or name shows as that word, not a whole
    line: [-deleted-] in red, {+inserted+} in green. Takedowns, restores and delistings are
    listed with their evidence (HTTP status, final URL, the WARC record).

    \b
    Example:
      newsflow history http://www.gxzf.gov.cn/gxyw/t19581428.shtml
      newsflow history 3f2a9c... --json
    """
    import warehouse
    from flows.revisions.diff import diff_ops, render
    from warehouse.revisions import history as read_history
    with warehouse.reader(ctx.obj["db"], say=say) as rd:
        h = read_history(rd.con, article)
    if h is None:
        raise BadInput(f"no article with the URL or id {article!r}")
    versions = h["versions"]
    diffs = [diff_ops(a["text"], b["text"]) for a, b in zip(versions, versions[1:])]
    if as_json:
        out = {"article": {k: _jsonable(v) for k, v in h["article"].items() if k != "text"},
               "versions": [{k: _jsonable(v) for k, v in x.items()} for x in versions],
               "diffs": [{"from": a["version"], "to": b["version"], "ops": d}
                         for a, b, d in zip(versions, versions[1:], diffs)],
               "events": [{k: _jsonable(v) for k, v in e.items()} for e in h["events"]]}
        click.echo(json.dumps(out, ensure_ascii=False, indent=1))
        return
    colour = sys.stdout.isatty() if colour is None else colour
    _print_history(h, versions, diffs, colour, render)


def _print_history(h, versions, diffs, colour, render) -> None:
    art = h["article"]
    click.echo(f"{art['title']}\n{art['url']}  ({art['source']}, id {art['id']})")
    state = []
    if art["removed_at"] and (not art["restored_at"] or art["restored_at"] < art["removed_at"]):
        state.append(f"REMOVED {art['removed_at']:%Y-%m-%d %H:%M}")
    elif art["restored_at"]:
        state.append(f"restored {art['restored_at']:%Y-%m-%d %H:%M}")
    if art["delisted_at"]:
        state.append(f"delisted {art['delisted_at']:%Y-%m-%d %H:%M}")
    if state:
        click.echo("; ".join(state))
    click.echo(f"{len(versions)} version(s)")
    for i, v in enumerate(versions):
        click.echo(f"\nv{v['version']}  fetched {v['fetched_at']:%Y-%m-%d %H:%M}  {v['text_chars']} chars  "
                   f"{v['bytes']} bytes stored  {v['warc_path']}@{v['warc_offset']}")
        if i:
            prev = versions[i - 1]
            for f in ("title", "original_source", "author"):
                if prev[f] != v[f]:
                    click.echo(f"  {f}: {prev[f]!r} -> {v[f]!r}")
            click.echo("  " + render(diffs[i - 1], colour=colour).replace("\n", "\n  "))
    for e in h["events"]:
        if e["kind"] == "edited":
            continue
        click.echo(f"\n{e['kind']} {e['at']:%Y-%m-%d %H:%M}" + (f" ({e['reason']})" if e["reason"] else "")
                   + (f" HTTP {e['http_status']}" if e["http_status"] else "")
                   + (f" -> {e['final_url']}" if e["final_url"] else "")
                   + (f"  {e['warc_path']}@{e['warc_offset']}" if e["warc_path"] else ""))


@main.command()
@click.option("--since", help="Only events on or after this day (YYYY-MM-DD, Asia/Shanghai).")
@click.option("--source", "source_name", help="Only this registry source.")
@click.option("--kind", type=click.Choice(KINDS), help="Only edits, takedowns (removed), restores or delistings.")
@click.option("--limit", type=POSITIVE, default=100, show_default=True, help="Show at most N events.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list, newest first.")
@click.pass_context
def changes(ctx, since, source_name, kind, limit, as_json):
    """What changed and what vanished: edits, takedowns, restores and delistings, newest first.

    The `changes` view has the same per day and source (`newsflow sql "select * from changes"`).

    \b
    Example:
      newsflow changes --since 2025-07-01
      newsflow changes --since 2025-07-01 --source gxzf --kind removed
    """
    import warehouse
    from warehouse.revisions import changes as read_changes
    require_source(ctx, source_name)
    since_d = parse_date(since)
    with warehouse.reader(ctx.obj["db"], say=say) as rd:
        rows = read_changes(rd.con, since_d, source_name, kind, limit)
    if as_json:
        click.echo(json.dumps([{k: _jsonable(v) for k, v in r.items()} for r in rows], ensure_ascii=False, indent=1))
        return
    from flows.cli.table import render
    click.echo(render(["when", "source", "kind", "why", "status", "title", "url"],
                      [[f"{r['at']:%Y-%m-%d %H:%M}", r["source"], r["kind"] + (f" v{r['version']}" if r["version"] else ""),
                        r["reason"] or "", r["http_status"] or "", r["title"] or "", r["url"] or ""] for r in rows],
                      max_width=48))
