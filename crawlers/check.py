"""`newsflow sources check SOURCE`: fetch one list page and one article of a source the way the
crawler would (same User-Agent, robots.txt, discovery rules and block detection, but plain
urllib, no Scrapy) and report what each registry rule found. Adding a province is a registry
entry plus this check.
"""
from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from dataclasses import dataclass, field

from crawlers import discovery
from crawlers.blocking import classify, content_type
from crawlers.registry import Source
from crawlers.urls import on_loopback


@dataclass
class Fetched:
    url: str                 # logical
    status: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    final_url: str = ""      # logical, after redirects
    error: str | None = None


class _Guard(urllib.request.HTTPRedirectHandler):
    """Follow redirects only within the source (and, on the mirror, only to 127.0.0.1)."""

    def __init__(self, source: Source, loopback_only: bool):
        self.source, self.loopback_only = source, loopback_only

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        logical = self.source.to_logical(newurl)
        if not self.source.is_allowed(logical):
            return None                                 # another domain: not followed
        newurl = self.source.to_fetch(logical)
        if self.loopback_only and not on_loopback(newurl):
            return None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(source: Source, logical: str, *, user_agent: str, form: tuple = (), timeout: float = 20,
          loopback_only: bool = False) -> Fetched:
    url = source.to_fetch(logical)
    host = urllib.parse.urlsplit(url).hostname or ""
    out = Fetched(logical)
    if loopback_only and not on_loopback(url):
        out.error = f"offsite: {host} is not on the local mirror"
        return out
    data = urllib.parse.urlencode(list(form)).encode() if form else None
    req = urllib.request.Request(url, data=data, headers={"User-Agent": user_agent})
    opener = urllib.request.build_opener(_Guard(source, loopback_only))
    try:
        with opener.open(req, timeout=timeout) as r:
            out.status, out.headers, out.body, final = r.status, list(r.headers.items()), r.read(), r.geturl()
    except urllib.error.HTTPError as e:
        out.status, out.headers, out.body, final = e.code, list(e.headers.items()), e.read(), e.geturl()
    except (urllib.error.URLError, OSError) as e:
        out.error = network_error(e)
        return out
    out.final_url = source.to_logical(final)
    return out


def network_error(exc: BaseException) -> str:
    """A failed fetch as `kind: what happened`, with the crawler's kinds (dns, timeout,
    connection_refused ...), not urllib's `<urlopen error [Errno -3] ...>`."""
    import socket
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        kind = "dns"
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        kind = "timeout"
    elif isinstance(reason, ConnectionRefusedError):
        kind = "connection_refused"
    elif isinstance(reason, ConnectionError):
        kind = "connection_lost"
    else:
        kind = "network"
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return f"{kind}: {text}"


def decode(f: Fetched) -> tuple[str, str]:
    from w3lib.encoding import html_to_unicode
    ctype = next((v for k, v in f.headers if k.lower() == "content-type"), None)
    enc, text = html_to_unicode(ctype, f.body)
    return enc, text


def robots(source: Source, url: str, user_agent: str, loopback_only: bool) -> dict:
    parts = urllib.parse.urlsplit(url)
    robots_url = f"{parts.scheme}://{parts.netloc}/robots.txt"
    f = fetch(source, robots_url, user_agent=user_agent, loopback_only=loopback_only)
    rp = urllib.robotparser.RobotFileParser()
    if f.error or f.status >= 400:
        allowed = True          # no robots.txt: everything allowed (as Scrapy does)
    else:
        rp.parse(f.body.decode("utf-8", "replace").splitlines())
        allowed = rp.can_fetch(user_agent, url)
    return {"url": robots_url, "status": f.status or f.error, "allows_start": allowed,
            "policy": source.robots}


def check_source(source: Source, *, user_agent: str, article_url: str | None = None,
                 loopback_only: bool = False) -> dict:
    roots = ([("html", u) for u in source.start()] + [("sitemap", u) for u in source.sitemap_urls()]
             + [("feed", u) for u in source.feed_urls()])
    parse, url = roots[0]
    report: dict = {"source": source.name, "cms": source.cms, "problems": []}
    report["robots"] = robots(source, url, user_agent, loopback_only)
    if not report["robots"]["allows_start"] and source.obey_robots:
        report["problems"].append(f"robots.txt forbids the start URL {url}")
    f = fetch(source, url, user_agent=user_agent, loopback_only=loopback_only)
    lst: dict = {"url": url, "parse": parse, "status": f.status or None, "error": f.error,
                 "content_type": content_type(f.headers), "bytes": len(f.body)}
    report["list"] = lst
    found = None
    if f.error or not f.status:
        report["problems"].append(f"list page not fetched: {f.error}")
    else:
        enc, text = decode(f)
        lst["encoding"] = enc
        found = discovery.discover(source, parse, f.final_url or url, text, first_url=url)
        arts = found.articles(source)
        lst["block_reason"] = classify("list", f.status, f.headers, f.body, f.final_url or url, parse=parse,
                                       found_articles=len(arts), soft404_markers=source.soft404_markers)
        lst["rule"] = found.rule
        lst["list_item"] = source.list_item if parse == "html" else None
        lst["items_matched"] = found.matched
        lst["links"] = len(found.items)
        lst["article_links"] = len(arts)
        lst["dated"] = sum(1 for _, d in arts if d)
        lst["examples"] = [{"url": u, "date": d} for u, d in arts[:5]]
        lst["pagination"] = source.pagination if parse == "html" else parse
        lst["page_count"] = found.page_count
        lst["next_pages"] = [n.to_json() for n in found.next_pages[:3]]
        lst["notes"] = found.notes
        if lst["block_reason"]:
            report["problems"].append(f"list page looks blocked: {lst['block_reason']}")
        if f.status >= 400:
            report["problems"].append(f"list page answered HTTP {f.status}")
        if not arts:
            report["problems"].append(f"no link on the list page matches article_pattern {source.article_pattern!r}")
        elif lst["dated"] == 0 and parse == "html":
            report["problems"].append(f"no list date found (list_date_pattern {source.list_date_pattern!r})")
        if parse == "html" and source.pagination != "none" and not found.next_pages and not source.dataproxy:
            report["problems"].append("no next list page found (last page, or pagination rule wrong)")
        dp = next((n for n in found.next_pages if n.parse == "dataproxy"), None)
        if dp is not None:
            g = fetch(source, dp.url, user_agent=user_agent, form=dp.form, loopback_only=loopback_only)
            more = discovery.discover(source, "dataproxy", dp.url, decode(g)[1]) if g.status == 200 else None
            lst["dataproxy"] = {"url": dp.url, "status": g.status or g.error,
                                "records": more.matched if more else 0,
                                "article_links": len(more.articles(source)) if more else 0}
            if not more or not more.articles(source):
                report["problems"].append("the dataproxy endpoint gave no article record")
    target = article_url or (found.articles(source)[0][0] if found and found.articles(source) else None)
    if target:
        a = fetch(source, target, user_agent=user_agent, loopback_only=loopback_only)
        art = {"url": target, "status": a.status or None, "error": a.error, "final_url": a.final_url,
               "content_type": content_type(a.headers), "bytes": len(a.body), "body": a.body,
               "headers": a.headers}
        if not a.error:
            art["block_reason"] = classify("article", a.status, a.headers, a.body, a.final_url or target,
                                           soft404_markers=source.soft404_markers)
            if art["block_reason"]:
                report["problems"].append(f"article looks blocked: {art['block_reason']}")
            elif a.status >= 400:
                report["problems"].append(f"article answered HTTP {a.status}")
        else:
            report["problems"].append(f"article not fetched: {a.error}")
        report["article"] = art
    return report
