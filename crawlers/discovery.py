"""Discovery as pure functions: one fetched list page, Hanweb XML endpoint, sitemap or feed ->
the links it holds (with the dates shown next to them) and the next list pages to fetch.

No Scrapy here (parsel only), so the spider and `newsflow sources check` run exactly the same
rules. Every URL in and out is *logical* (the real site's), whatever served the bytes.

Rules, all driven by the registry entry (crawlers/sources.toml):
- HTML list pages: `list_item` nodes -> their first link and the date in their text
  (`list_date_pattern`); when no item link matches `article_pattern`, any link on the page
  that does ("any_link": a changed template still yields links). Paging by `pagination`:
  "trs" reads the page count (`page_count_pattern`, e.g. `createPageHTML(N, ...)`) and builds
  page N from `page_url` (`{stem}_{i}.{ext}` -> index_1.shtml for page 2); "next" follows
  `next_selector` (falling back to the count + `page_url`); "none" does not page.
- Hanweb (`dataproxy` set): the column page's records sit in a `<script type="text/xml">`
  datastore (invisible to a plain HTML parser); the rest come from `dataproxy.jsp`, asked by
  record range (startrecord/endrecord) with the column's ids, and answer XML records.
- Sitemaps (`<urlset>` with `<lastmod>`, or a `<sitemapindex>` of more sitemaps) and RSS/Atom
  feeds (`<pubDate>` / `<updated>`).
Each list page is fetched only after the previous one: the spider decides from what a page
held (known URLs, dates older than --since) whether to go on.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import html
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from crawlers.registry import Source

PARSE_KINDS = ("html", "dataproxy", "sitemap", "feed")
SKIP_HREF = ("javascript:", "#", "mailto:", "tel:", "data:")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
TOTAL_RECORD = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>|totalRecord\s*[=:]\s*['\"]?(\d+)", re.I)
PERPAGE = re.compile(r"perpage\s*[=:]\s*['\"]?(\d+)", re.I)
NEXTGROUP = re.compile(r"<nextgroup>\s*<!\[CDATA\[.*?href=['\"]([^'\"]+)['\"]", re.S | re.I)
HANWEB_KEYS = ("columnid", "unitid", "webid", "path", "webname", "permissiontype")
HANWEB_ID = {k: re.compile(k + r"\s*[=:]\s*['\"]?([^'\"&;,\s<>]+)", re.I) for k in HANWEB_KEYS}
RANGE_KEYS = ("startrecord", "endrecord", "perpage")
SITEMAP_URL = re.compile(r"<url>(.*?)</url>", re.S | re.I)
SITEMAP_CHILD = re.compile(r"<sitemap>(.*?)</sitemap>", re.S | re.I)
LOC = re.compile(r"<loc>\s*(.*?)\s*</loc>", re.S | re.I)
LASTMOD = re.compile(r"<lastmod>\s*(.*?)\s*</lastmod>", re.S | re.I)
RSS_ITEM = re.compile(r"<item\b[^>]*>(.*?)</item>", re.S | re.I)
ATOM_ENTRY = re.compile(r"<entry\b[^>]*>(.*?)</entry>", re.S | re.I)
RSS_LINK = re.compile(r"<link>\s*(?:<!\[CDATA\[)?\s*(.*?)\s*(?:\]\]>)?\s*</link>", re.S | re.I)
RSS_GUID = re.compile(r"<guid\b[^>]*>\s*(?:<!\[CDATA\[)?\s*(https?://.*?)\s*(?:\]\]>)?\s*</guid>", re.S | re.I)
RSS_DATE = re.compile(r"<(?:pubDate|dc:date)>\s*(.*?)\s*</(?:pubDate|dc:date)>", re.S | re.I)
ATOM_LINK = re.compile(r"<link\b([^>]*)/?>", re.I)
ATOM_DATE = re.compile(r"<(published|updated)>\s*(.*?)\s*</\1>", re.S | re.I)


@dataclass(frozen=True)
class Next:
    """A list page to fetch next: its logical URL, page number and how to read it."""

    url: str
    page: int
    parse: str = "html"                          # html | dataproxy | sitemap | feed
    form: tuple[tuple[str, str], ...] = ()       # POST form fields (Hanweb dataproxy)

    def to_json(self) -> dict:
        d = {"url": self.url, "page": self.page, "parse": self.parse}
        if self.form:
            d["form"] = [list(p) for p in self.form]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Next":
        return cls(d["url"], int(d.get("page", 1)), d.get("parse", "html"),
                   tuple((str(k), str(v)) for k, v in d.get("form", ())))


@dataclass
class Found:
    """What one list page held."""

    parse: str
    rule: str                                     # which rule produced the items
    items: list[tuple[str, str | None]] = field(default_factory=list)   # (URL, YYYY-MM-DD|None)
    matched: int = 0                              # nodes `list_item` matched (html)
    next_pages: list[Next] = field(default_factory=list)
    page_count: int | None = None
    notes: list[str] = field(default_factory=list)

    def articles(self, source: Source) -> list[tuple[str, str | None]]:
        """The items that are articles of this source (pattern and domain), first date wins."""
        out: dict[str, str | None] = {}
        for url, date in self.items:
            if url not in out and source.is_article(url):
                out[url] = date
        return list(out.items())


# ------------------------------------------------------------------------------------ helpers

def join(base: str, href: str | None) -> str | None:
    if not href:
        return None
    href = html.unescape(href.strip())
    if not href or href.lower().startswith(SKIP_HREF):
        return None
    url = urljoin(base, href)
    return url.split("#", 1)[0] if urlsplit(url).scheme in ("http", "https") else None


def item_date(text: str, pattern: re.Pattern) -> str | None:
    """The first date in an item's text, as YYYY-MM-DD."""
    m = pattern.search(text or "")
    if not m:
        return None
    try:
        groups = [g for g in m.groups() if g is not None][:3]
        return dt.date(*(int(g) for g in groups)).isoformat()
    except (ValueError, TypeError):
        return None


def feed_date(raw: str | None) -> str | None:
    """RFC 822 (RSS pubDate) or ISO 8601 (Atom, sitemap lastmod) -> YYYY-MM-DD."""
    if not raw:
        return None
    raw = raw.strip()
    m = ISO_DATE.match(raw)
    if m:
        try:
            return dt.date(*(int(g) for g in m.groups())).isoformat()
        except ValueError:
            return None
    try:
        return email.utils.parsedate_to_datetime(raw).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


_date_res: dict[str, re.Pattern] = {}


def _date_re(source: Source) -> re.Pattern:
    pat = _date_res.get(source.list_date_pattern)
    if pat is None:
        pat = _date_res[source.list_date_pattern] = re.compile(source.list_date_pattern)
    return pat


def page_url(source: Source, first_url: str, page: int) -> str | None:
    """List page `page` (1-based) of the column whose first page is first_url, by `page_url`."""
    if not source.page_url or page < 2:
        return None
    parts = urlsplit(first_url)
    path = parts.path if not parts.path.endswith("/") else parts.path + source.index_name
    folder, _, fname = path.rpartition("/")
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = path, ""
    built = source.page_url.format(dir=folder + "/", stem=stem, ext=ext, page=page, i=page - 1)
    return urlunsplit((parts.scheme, parts.netloc, urljoin(path, built), "", ""))


def page_count(source: Source, text: str) -> int | None:
    if source.count_re is None:
        return None
    m = source.count_re.search(text)
    if not m:
        return None
    for g in m.groups() or (m.group(0),):
        if g and g.isdigit():
            return int(g)
    return None


def _selector(text: str, selector=None):
    if selector is not None:
        return selector
    from parsel import Selector
    return Selector(text=text or "<html></html>")


# ------------------------------------------------------------------------------------ rules

def discover(source: Source, parse: str, url: str, text: str, *, page: int = 1,
             first_url: str | None = None, count: int | None = None, selector=None) -> Found:
    """Read one list page. `url` is its logical URL, `first_url` the column's first page
    (for `page_url`), `count` the page count an earlier page showed, `selector` an already
    parsed parsel Selector of `text` (the spider passes Scrapy's, to parse once)."""
    if parse == "sitemap":
        return _sitemap(url, text, page)
    if parse == "feed":
        return _feed(url, text)
    if parse == "dataproxy":
        return _dataproxy(source, url, text, page)
    return _html(source, url, text, page, first_url or url, count, selector)


def _html(source, url, text, page, first_url, count, selector) -> Found:
    date_re = _date_re(source)
    found = Found("html", "list_item")
    records = RECORD.findall(text) if source.dataproxy else []
    if records:
        found.rule = "datastore"
        found.items = _records(source, url, records)
        found.matched = len(records)
    sel = None
    if not found.items and source.list_item:
        sel = _selector(text, selector)
        nodes = sel.css(source.list_item)
        found.matched = len(nodes)
        for node in nodes:
            u = join(url, node.css("a::attr(href)").get())
            if u:
                found.items.append((u, item_date(" ".join(node.xpath(".//text()").getall()), date_re)))
    if not any(source.is_article(u) for u, _ in found.items):
        sel = sel or _selector(text, selector)
        links = [u for u in (join(url, h) for h in sel.css("a::attr(href)").getall()) if u]
        if any(source.is_article(u) for u in links):
            found.rule = "any_link"
            found.notes.append(f"list_item {source.list_item!r} gave no article link; used every link on the page")
            found.items = [(u, None) for u in links]
    # paging
    found.page_count = page_count(source, text) or count
    if records and source.dataproxy:
        nxt = _hanweb_first(source, url, text, len(records), page)
        if nxt:
            found.next_pages.append(nxt)
        return found
    if source.pagination == "none":
        return found
    by_count = None
    if found.page_count and page < found.page_count:
        by_count = page_url(source, first_url, page + 1)
    by_link = None
    if source.pagination == "next" or not by_count:
        sel = sel or _selector(text, selector)
        for a in (sel.css(source.next_selector) if source.next_selector else []):
            u = join(url, a.attrib.get("href"))
            if u and u != url:
                by_link = u
                break
    nxt = by_count if source.pagination == "trs" else (by_link or by_count)
    nxt = nxt or by_link
    if nxt and nxt != url:
        found.next_pages.append(Next(nxt, page + 1))
    return found


def _records(source: Source, url: str, records: list[str]) -> list[tuple[str, str | None]]:
    from parsel import Selector
    date_re = _date_re(source)
    out = []
    for rec in records:
        frag = Selector(text=rec)
        u = join(url, frag.css("a::attr(href)").get())
        if u:
            out.append((u, item_date(" ".join(frag.xpath("//body//text()").getall()), date_re)))
    return out


def hanweb_params(text: str, url: str = "") -> dict[str, str]:
    """The column ids a Hanweb page (or a dataproxy URL) carries."""
    params: dict[str, str] = {}
    q = dict(parse_qsl(urlsplit(url).query)) if url else {}
    m = NEXTGROUP.search(text or "")
    if m:
        q = {**dict(parse_qsl(urlsplit(html.unescape(m.group(1))).query)), **q}
    for k in HANWEB_KEYS:
        if q.get(k):
            params[k] = q[k]
        elif text:
            mm = HANWEB_ID[k].search(text)
            if mm:
                params[k] = mm.group(1)
    return params


def _total(text: str) -> int | None:
    m = TOTAL_RECORD.search(text or "")
    return int(m.group(1) or m.group(2)) if m else None


def dataproxy_next(source: Source, page_url_: str, params: dict[str, str], start: int,
                   total: int | None, perpage: int, page: int) -> Next | None:
    if total is not None and start > total:
        return None
    batch = source.dataproxy_batch or perpage
    end = start + batch - 1
    if total is not None:
        end = min(end, total)
    endpoint = urljoin(page_url_, source.dataproxy)
    query = [("startrecord", str(start)), ("endrecord", str(end)), ("perpage", str(perpage))]
    query += [(k, params[k]) for k in HANWEB_KEYS if k in params]
    form = (("col", "1"), ("appid", "1"), *((k, params[k]) for k in HANWEB_KEYS if k in params),
            ("sourceContentType", "1"))
    return Next(endpoint + "?" + urlencode(query), page + 1, "dataproxy", form)


def _hanweb_first(source, url, text, embedded, page) -> Next | None:
    params = hanweb_params(text)
    if "columnid" not in params:
        return None
    total = _total(text)
    m = PERPAGE.search(text)
    perpage = int(m.group(1)) if m else 15
    if total is not None and total <= embedded:
        return None
    return dataproxy_next(source, url, params, embedded + 1, total, perpage, page)


def _dataproxy(source: Source, url: str, text: str, page: int) -> Found:
    records = RECORD.findall(text)
    found = Found("dataproxy", "dataproxy_record", _records(source, url, records), len(records))
    q = dict(parse_qsl(urlsplit(url).query))
    total = _total(text)
    try:
        end, perpage = int(q.get("endrecord", 0)), int(q.get("perpage", 15))
    except ValueError:
        return found
    if records and (total is None or end < total):
        params = {k: q[k] for k in HANWEB_KEYS if k in q}
        base = urlunsplit(urlsplit(url)._replace(query=""))
        nxt = dataproxy_next(source, base, params, end + 1, total, perpage, page)
        if nxt:
            found.next_pages.append(Next(nxt.url, nxt.page, nxt.parse, nxt.form))
    return found


def _sitemap(url: str, text: str, page: int) -> Found:
    children = SITEMAP_CHILD.findall(text)
    if children:
        found = Found("sitemap", "sitemapindex")
        for block in children:
            m = LOC.search(block)
            u = join(url, html.unescape(m.group(1))) if m else None
            if u:
                found.next_pages.append(Next(u, page + 1, "sitemap"))
        return found
    found = Found("sitemap", "urlset")
    for block in SITEMAP_URL.findall(text):
        m = LOC.search(block)
        u = join(url, html.unescape(m.group(1))) if m else None
        if u:
            lm = LASTMOD.search(block)
            found.items.append((u, feed_date(lm.group(1)) if lm else None))
    found.matched = len(found.items)
    return found


def _feed(url: str, text: str) -> Found:
    entries = RSS_ITEM.findall(text)
    if entries:
        found = Found("feed", "rss")
        for block in entries:
            m = RSS_LINK.search(block) or RSS_GUID.search(block)
            u = join(url, html.unescape(m.group(1))) if m else None
            if u:
                d = RSS_DATE.search(block)
                found.items.append((u, feed_date(d.group(1)) if d else None))
    else:
        found = Found("feed", "atom")
        for block in ATOM_ENTRY.findall(text):
            href = None
            for attrs in ATOM_LINK.findall(block):
                rel = re.search(r'rel=["\']([^"\']+)', attrs)
                h = re.search(r'href=["\']([^"\']+)', attrs)
                if h and (not rel or rel.group(1) == "alternate"):
                    href = h.group(1)
                    break
            u = join(url, href)
            if u:
                dates = dict((k.lower(), v) for k, v in ATOM_DATE.findall(block))
                found.items.append((u, feed_date(dates.get("published") or dates.get("updated"))))
    found.matched = len(found.items)
    return found
