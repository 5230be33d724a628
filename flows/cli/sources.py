"""`newsflow sources` and `sources check`: the registry, and what each rule finds on one source."""
from __future__ import annotations

import json
import sys

import click

from flows.cli.app import main
from flows.cli.common import mirror_server, source_registry
from schemas.errors import Failed


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
    from flows.cli.table import render
    reg = source_registry(ctx)
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
    source = source_registry(ctx).get(source_name)
    server = mirror_server() if mirror else None
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
        sys.exit(Failed.exit_code)


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
    rb_status = rb["status"] if isinstance(rb["status"], int) else f"not fetched ({rb['status']})"
    out(f"  robots.txt      {rb['url']} -> {rb_status}; start URL {'allowed' if rb['allows_start'] else 'DISALLOWED'}"
        f" (policy: {rb['policy']})")
    lst = r["list"]
    if lst.get("error") or not lst.get("status"):
        out(f"  list page       {lst['url']} -> not fetched: {lst.get('error') or 'no answer'}")
    else:
        out(f"  list page       {lst['url']} -> HTTP {lst['status']}, {lst.get('content_type') or 'no content type'}, "
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
    if art and (art.get("error") or not art.get("status")):
        out(f"  article         {art['url']} -> not fetched: {art.get('error') or 'no answer'}")
    elif art:
        out(f"  article         {art['url']} -> HTTP {art.get('status')}, {art.get('content_type') or 'no content type'}, "
            f"{art.get('bytes')} bytes" + (f", final {art['final_url']}" if art.get("final_url") not in (None, "", art["url"]) else ""))
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
