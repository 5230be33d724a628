"""Check the bundled mirror against the source registry and its own manifest.

    python -m mirror.check              # serve mirror/sites and check everything over HTTP
    python -m mirror.check --rebuild    # also: build twice into temp dirs, compare byte for byte
                                        # with each other and with the committed output

Exits 1 and lists the problems if any check fails. Standard library only (``tomllib`` for the
registry, ``html.parser`` plus a small CSS-selector matcher for the pages), so the lead can call
the individual functions from tests: ``run_checks() -> list[str]`` returns the problems.

What is checked, per registered source (crawlers/sources.toml, presets merged):
- the list pages are reached from the start URL by the registry's pagination rule (TRS:
  ``createPageHTML(N, …)`` -> index_1..index_{N-1}; next: follow ``next_selector``; Hanweb: the
  column page's datastore records, then ``dataproxy.jsp`` POSTed by record range) and equal
  ``expected_lists.json``; at least 5 list pages and 10 articles;
- the registry's sitemaps and RSS feeds list every article of the source with its list date;
- every ``list_item`` has an ``<a href>`` whose target matches ``article_pattern``; every
  link on a list page that matches ``article_pattern`` is in the manifest; every manifest
  URL of the source is linked from a list item, with its ``list_date`` in the item, newest first;
- each article answers 200 with the Content-Type the host's ``_site.json`` promises; GBK
  pages decode with gb18030, declare gb2312 and send no charset in the header; UTF-8 pages
  decode strictly and declare utf-8;
- each ``must_include`` fragment occurs exactly once in the decoded HTML, once in the visible
  text and inside the body container; each ``must_exclude`` fragment occurs on the page but
  not inside the body container; the headline element holds ``title``; the info line shows
  ``published_at``, ``original_source`` and ``author``; gov.cn ``<meta>`` tags only where
  expected; bodies are distinct except the syndicated pair, whose bodies are identical;
- server behaviour: 404, ``..`` rejection, ETag/If-None-Match and If-Modified-Since 304s,
  directory redirect, ``_site.json`` not served; total size of the generated files < 3 MB.
"""

from __future__ import annotations

import argparse
import filecmp
import http.client
import json
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

from .site import REGISTRY, load_registry, load_sites

PKG_DIR = Path(__file__).resolve().parent
MAX_BYTES = 3 * 1024 * 1024

MIN_LIST_PAGES = 5
DEFAULT_NEXT = 'a.next, a:contains("下一页")'      # crawlers/registry.py's, for a source and preset without one
RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)

# ------------------------------------------------------------------------------------------
# A tiny DOM and CSS matcher (tag, #id, .class compounds; descendant and ">" combinators).

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"}
INVISIBLE = {"script", "style", "head", "title", "noscript"}


class Node:
    __slots__ = ("tag", "attrs", "children", "parent")

    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.children, self.parent = tag, attrs, [], parent

    @property
    def classes(self):
        return (self.attrs.get("class") or "").split()

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def text(self, visible_only=True):
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if not (visible_only and c.tag in INVISIBLE):
                    out.append(c.text(visible_only))
            else:
                out.append(c)
        return "".join(out)


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v or "") for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, {k: (v or "") for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(text: str) -> Node:
    b = _Builder()
    b.feed(text)
    b.close()
    return b.root


_COMPOUND = re.compile(r"([a-zA-Z][\w-]*)?((?:[#.][\w-]+)*)(?::contains\(\s*[\"']([^\"']*)[\"']\s*\))?$")


def _compile(selector: str):
    """'div.a > ul li' -> [(compound, combinator_to_previous), ...] right-most last."""
    tokens = selector.replace(">", " > ").split()
    steps, comb = [], " "
    for t in tokens:
        if t == ">":
            comb = ">"
            continue
        m = _COMPOUND.match(t)
        if not m:
            raise ValueError("unsupported selector %r" % selector)
        tag = m.group(1)
        ids = re.findall(r"#([\w-]+)", m.group(2))
        classes = re.findall(r"\.([\w-]+)", m.group(2))
        steps.append(((tag, ids, classes, m.group(3)), comb))
        comb = " "
    return steps


def _match_compound(node, compound):
    tag, ids, classes, contains = compound      # contains: parsel's :contains("text")
    if tag and node.tag != tag.lower():
        return False
    if contains is not None and contains not in node.text():
        return False
    if ids and node.attrs.get("id") not in ids:
        return False
    cl = node.classes
    return all(c in cl for c in classes)


def _matches(node, steps):
    compound, comb = steps[-1]
    if not _match_compound(node, compound):
        return False
    if len(steps) == 1:
        return True
    rest = steps[:-1]
    if comb == ">":
        return node.parent is not None and node.parent.tag != "#root" and _matches(node.parent, rest)
    p = node.parent
    while p is not None and p.tag != "#root":
        if _matches(p, rest):
            return True
        p = p.parent
    return False


def select(root: Node, selector: str) -> list[Node]:
    """All nodes matching any of the comma-separated selectors, in document order."""
    compiled = [_compile(s.strip()) for s in selector.split(",") if s.strip()]
    return [n for n in root.iter() if any(_matches(n, c) for c in compiled)]


# ------------------------------------------------------------------------------------------
# registry and manifest


def load_manifest(base: Path = PKG_DIR):
    return (json.loads((base / "expected.json").read_text(encoding="utf-8")),
            json.loads((base / "expected_lists.json").read_text(encoding="utf-8")))


# ------------------------------------------------------------------------------------------
# HTTP helpers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url: str, headers: dict | None = None, data: bytes | None = None):
    req = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with _opener.open(req, timeout=10) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def raw_status(local_base: str, path: str) -> int:
    """Status for a raw request path (urllib would normalise "..")."""
    u = urllib.parse.urlsplit(local_base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def decode_page(body: bytes, site: dict, headers: dict, problems: list, where: str) -> str:
    ctype = headers.get("Content-Type", "")
    if not ctype.startswith("text/html"):
        problems.append("%s: Content-Type %r" % (where, ctype))
    has_cs = "charset=" in ctype
    if has_cs != bool(site.get("content_type_charset")):
        problems.append("%s: charset in header is %s, _site.json says %s" % (where, has_cs, site.get("content_type_charset")))
    head = body[:2048].decode("ascii", errors="replace").lower()
    # GBK pages declare gb2312 and are read as gb18030 (a superset), as browsers do
    codec, declared = ("gb18030", ["charset=gb2312"]) if site["encoding"] == "gbk" else ("utf-8", ['charset="utf-8"', "charset=utf-8"])
    if not any(d in head for d in declared):
        problems.append("%s: %s page does not declare %s" % (where, site["encoding"], declared[-1][8:]))
    try:
        return body.decode(codec)
    except UnicodeDecodeError as e:
        problems.append("%s: not %s: %s" % (where, codec, e))
        return body.decode(codec, errors="replace")


def _path_q(url: str) -> str:
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


# ------------------------------------------------------------------------------------------
# the checks


def crawl_hanweb(src: dict, mirror, site: dict, problems: list):
    """Hanweb: the column page's datastore records, then dataproxy.jsp (POST) by record range.
    -> [(real_url, root of the records' HTML, is_column_page)]"""
    url = urllib.parse.urljoin(src["base_url"], src["start_urls"][0])
    status, headers, body = fetch(mirror.to_local(url))
    if status != 200:
        problems.append("%s: column page %s -> HTTP %s" % (src["name"], url, status))
        return []
    text = decode_page(body, site, headers, problems, url)
    records = RECORD.findall(text)
    pages = [(url, parse_html(text), parse_html("\n".join(records)))]
    m = re.search(r"<nextgroup><!\[CDATA\[<a href=\"([^\"]+)\"", text)
    total = re.search(r"totalRecord:\s*(\d+)", text)
    perpage = re.search(r"perPage:\s*(\d+)", text)
    if not (records and m and total and perpage):
        problems.append("%s: column page lacks datastore records, nextgroup, totalRecord or perPage" % src["name"])
        return pages
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(m.group(1)).query))
    total, perpage = int(total.group(1)), int(perpage.group(1))
    endpoint = urllib.parse.urljoin(url, src["dataproxy"])
    for start in range(len(records) + 1, total + 1, perpage):
        end = min(total, start + perpage - 1)
        query = urllib.parse.urlencode([("startrecord", str(start)), ("endrecord", str(end)), ("perpage", str(perpage))]
                                       + [(k, q[k]) for k in ("columnid", "unitid", "webid", "path", "webname",
                                                              "permissiontype") if k in q])
        form = urllib.parse.urlencode([("col", "1"), ("appid", "1")] + [(k, q[k]) for k in (
            "columnid", "unitid", "webid", "path", "webname", "permissiontype") if k in q]
            + [("sourceContentType", "1")]).encode("utf-8")
        real = endpoint + "?" + query
        status, headers, xml = fetch(mirror.to_local(real), {"Content-Type": "application/x-www-form-urlencoded"}, form)
        if status != 200 or "xml" not in headers.get("Content-Type", ""):
            problems.append("%s: dataproxy %s -> HTTP %s %s" % (src["name"], real, status, headers.get("Content-Type")))
            continue
        xtext = xml.decode("utf-8")
        got = RECORD.findall(xtext)
        if len(got) != end - start + 1 or "<totalrecord>%d</totalrecord>" % total not in xtext:
            problems.append("%s: dataproxy %s gave %d records" % (src["name"], real, len(got)))
        pages.append((real, None, parse_html("\n".join(got))))
    return pages


def crawl_lists(src: dict, mirror, site: dict, problems: list):
    """Follow the registry's pagination rule from the start URL -> [(real_url, root, items_root)]."""
    if src.get("dataproxy"):
        return crawl_hanweb(src, mirror, site, problems)
    start = urllib.parse.urljoin(src["base_url"], src["start_urls"][0])
    pages, seen, url = [], set(), start
    while url and url not in seen and len(pages) < 50:
        seen.add(url)
        status, headers, body = fetch(mirror.to_local(url))
        if status != 200:
            problems.append("%s: list page %s -> HTTP %s" % (src["name"], url, status))
            break
        root = parse_html(decode_page(body, site, headers, problems, url))
        pages.append((url, root, root))
        if src.get("pagination") == "trs":
            if len(pages) > 1:
                continue
            scripts = [n.text(False) for n in select(root, "div.more-page script")]
            m = re.search(r'createPageHTML\(\s*(\d+)\s*,\s*(\d+)\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"', " ".join(scripts))
            if not m:
                problems.append("%s: no createPageHTML pager on %s" % (src["name"], url))
                break
            n, cur, name, ext = int(m.group(1)), int(m.group(2)), m.group(3), m.group(4)
            if cur != 0:
                problems.append("%s: first page says current=%d" % (src["name"], cur))
            if "function createPageHTML" not in " ".join(n_.text(False) for n_ in select(root, "script")):
                problems.append("%s: createPageHTML is not defined on %s" % (src["name"], url))
            for i in range(1, n):
                nxt = urllib.parse.urljoin(url, "%s_%d.%s" % (name, i, ext))
                status, headers, body = fetch(mirror.to_local(nxt))
                if status != 200:
                    problems.append("%s: list page %s -> HTTP %s" % (src["name"], nxt, status))
                    continue
                r2 = parse_html(decode_page(body, site, headers, problems, nxt))
                s2 = " ".join(x.text(False) for x in select(r2, "div.more-page script"))
                m2 = re.search(r"createPageHTML\(\s*(\d+)\s*,\s*(\d+)", s2)
                if not m2 or (int(m2.group(1)), int(m2.group(2))) != (n, i):
                    problems.append("%s: pager on %s is %s, expected (%d, %d)" % (src["name"], nxt, m2 and m2.groups(), n, i))
                pages.append((nxt, r2, r2))
            url = None
        else:
            links = [a for a in select(root, src.get("next_selector", DEFAULT_NEXT)) if a.tag == "a" and a.attrs.get("href")]
            url = urllib.parse.urljoin(url, links[0].attrs["href"]) if links else None
    return pages


def _without_dropped(url: str, src: dict) -> str:
    """The URL without the query parameters the source's `url_drop_params` say select nothing
    (Hainan's ?ddtab=true): the manifest holds each article once, by its canonical URL."""
    drops = [d.lower() for d in src.get("url_drop_params", [])]
    u = urllib.parse.urlsplit(url)
    if not drops or not u.query:
        return url
    keep = [p for p in u.query.split("&")
            if not any(p.split("=", 1)[0].lower() == d or (d.endswith("*") and p.lower().startswith(d[:-1]))
                       for d in drops)]
    return urllib.parse.urlunsplit(u._replace(query="&".join(keep)))


def template_facts(name: str, registry: Path = REGISTRY) -> dict:
    """The exact elements the source's template uses for headline, body and info line (the
    registry's selectors are lists of alternatives), and whether it has the gov.cn tags."""
    site = next(s for s in load_sites(registry) if s.name == name)
    return {**site.settings["check"], "gov_meta": site.settings["gov_meta"]}


def check_source(name: str, src: dict, mirror, sites_dir: Path, manifest: list, lists: dict, problems: list,
                 registry: Path = REGISTRY):
    host = urllib.parse.urlsplit(src["base_url"]).netloc
    site = json.loads((sites_dir / host / "_site.json").read_text(encoding="utf-8"))
    reg_enc = src.get("encoding", "utf-8").lower().replace("_", "-")
    if (site["encoding"] == "gbk") != (reg_enc in ("gbk", "gb2312", "gb18030")):
        problems.append("%s: _site.json encoding %s vs registry %s" % (name, site["encoding"], reg_enc))
    entries = [e for e in manifest if e["source"] == name]
    by_url = {e["url"]: e for e in entries}
    pattern = re.compile(src["article_pattern"])
    tpl = template_facts(name, registry)

    if len(entries) < 10:
        problems.append("%s: only %d articles" % (name, len(entries)))
    pages = crawl_lists(src, mirror, site, problems)
    page_urls = [u for u, _, _ in pages]
    if len(pages) < MIN_LIST_PAGES:
        problems.append("%s: only %d list pages" % (name, len(pages)))
    if page_urls != lists.get(name):
        problems.append("%s: list pages %s != expected_lists %s" % (name, page_urls, lists.get(name)))

    listed = []  # (url, item text) in list order
    for url, root, items_root in pages:
        items = select(items_root, src["list_item"])
        if not items:
            problems.append("%s: no list items (%s) on %s" % (name, src["list_item"], url))
        for it in items:
            a = next((x for x in it.iter() if x.tag == "a" and x.attrs.get("href")), None)
            if a is None:
                problems.append("%s: list item without <a href> on %s" % (name, url))
                continue
            target = _without_dropped(urllib.parse.urljoin(url, a.attrs["href"]), src)
            tu = urllib.parse.urlsplit(target)
            if tu.netloc != host or not pattern.search(_path_q(target)):
                problems.append("%s: list item link %s does not match article_pattern" % (name, target))
            listed.append((target, it.text()))
        if root is None:        # a dataproxy XML page: records only, no page chrome
            continue
        for a in select(root, "a"):
            href = a.attrs.get("href")
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            target = _without_dropped(urllib.parse.urljoin(url, href), src)
            tu = urllib.parse.urlsplit(target)
            if tu.netloc == host and pattern.search(_path_q(target)) and target not in by_url:
                problems.append("%s: %s links %s (matches article_pattern) which is not in the manifest" % (name, url, target))
        nav = [a for a in select(root, "a") if a.attrs.get("href") and not pattern.search(
            _path_q(urllib.parse.urljoin(url, a.attrs["href"])))]
        targets = {urllib.parse.urljoin(url, a.attrs["href"]) for a in nav}
        if src["base_url"] + "/" not in targets:
            problems.append("%s: list page %s has no link to the home page" % (name, url))
        if not any(re.sub(r"\([^)]*\)", "", a.text()) in ("网站地图", "網站地圖") for a in nav):
            problems.append("%s: list page %s has no 网站地图 link" % (name, url))
        if len(targets) < 5:
            problems.append("%s: list page %s has too few non-article links" % (name, url))

    listed_urls = [u for u, _ in listed]
    if sorted(listed_urls) != sorted(by_url):
        problems.append("%s: list items and manifest differ on %s" % (name, sorted(set(listed_urls) ^ set(by_url))))
    if len(set(listed_urls)) != len(listed_urls):
        problems.append("%s: an article is listed twice" % name)
    dates = []
    for u, text in listed:
        e = by_url.get(u)
        if e and e["list_date"] not in text:
            problems.append("%s: list item for %s does not show %s" % (name, u, e["list_date"]))
        if e:
            dates.append(e["list_date"])
    if dates != sorted(dates, reverse=True):
        problems.append("%s: list is not newest first" % name)

    for e in entries:
        check_article(e, src, site, tpl, mirror, sites_dir, problems)
    check_feeds(name, src, mirror, entries, problems)


def check_feeds(name: str, src: dict, mirror, entries: list, problems: list):
    """Sitemaps and RSS feeds of the registry list every article of the source with its date."""
    for key, item_re, date_re in (("sitemaps", r"<url>(.*?)</url>", r"<lastmod>(.*?)</lastmod>"),
                                  ("feeds", r"<item>(.*?)</item>", r"<pubDate>(.*?)</pubDate>")):
        for rel in src.get(key, []):
            url = urllib.parse.urljoin(src["base_url"] + "/", rel)
            status, headers, body = fetch(mirror.to_local(url))
            if status != 200 or "xml" not in headers.get("Content-Type", ""):
                problems.append("%s: %s %s -> HTTP %s %s" % (name, key, url, status, headers.get("Content-Type")))
                continue
            text = body.decode("utf-8")
            got = {}
            for block in re.findall(item_re, text, re.S):
                loc = re.search(r"<(?:loc|link)>(.*?)</(?:loc|link)>", block, re.S)
                when = re.search(date_re, block, re.S)
                if loc and when:
                    got[loc.group(1).replace("&amp;", "&")] = when.group(1)
            for e in entries:
                when = got.get(e["url"])
                if when is None:
                    problems.append("%s: %s %s lacks %s" % (name, key, url, e["url"]))
                elif key == "sitemaps" and when != e["list_date"]:
                    problems.append("%s: sitemap lastmod %s != %s for %s" % (name, when, e["list_date"], e["url"]))
                elif key == "feeds":
                    import email.utils
                    if email.utils.parsedate_to_datetime(when).date().isoformat() != e["list_date"]:
                        problems.append("%s: feed pubDate %s != %s for %s" % (name, when, e["list_date"], e["url"]))


def check_article(e: dict, src: dict, site: dict, tpl: dict, mirror, sites_dir: Path, problems: list):
    where = e["url"]
    if not (sites_dir / e["path"]).is_file():
        problems.append("%s: file %s missing" % (where, e["path"]))
    status, headers, body = fetch(mirror.to_local(e["url"]))
    if status != 200:
        problems.append("%s: HTTP %s" % (where, status))
        return
    text = decode_page(body, site, headers, problems, where)
    root = parse_html(text)
    visible = root.text()
    bodies = select(root, tpl["body"])
    if len(bodies) != 1:
        problems.append("%s: %d body containers %s" % (where, len(bodies), tpl["body"]))
        return
    body_text = bodies[0].text()
    e["_body_text"] = body_text
    for frag in e["must_include"]:
        if not 10 <= len(frag) <= 30:
            problems.append("%s: must_include %r is not 10-30 characters" % (where, frag))
        for label, hay in (("HTML", text), ("visible text", visible), ("body", body_text)):
            if hay.count(frag) != 1:
                problems.append("%s: must_include %r occurs %d times in the %s" % (where, frag, hay.count(frag), label))
    for frag in e["must_exclude"]:
        if frag not in visible:
            problems.append("%s: must_exclude %r not on the page" % (where, frag))
        if frag in body_text:
            problems.append("%s: must_exclude %r inside the body" % (where, frag))
    heads = select(root, tpl["title"])
    if not heads or heads[0].text().strip() != e["title"]:
        problems.append("%s: headline %r != %r" % (where, heads and heads[0].text(), e["title"]))
    info_nodes = select(root, tpl["info"])
    info = info_nodes[0].text() if info_nodes else ""
    for key in ("published_at", "original_source", "author"):
        if e[key] and e[key] not in info and not (key == "author" and e[key] in body_text):
            problems.append("%s: info line %r (or byline in the body) lacks %s %r" % (where, info, key, e[key]))
    metas = {m.attrs.get("name"): m.attrs.get("content") for m in select(root, "meta") if m.attrs.get("name")}
    if tpl["gov_meta"]:
        if metas.get("ArticleTitle") != e["title"] or metas.get("PubDate") != e["published_at"]:
            problems.append("%s: gov.cn meta tags wrong: %r" % (where, {k: metas.get(k) for k in ("ArticleTitle", "PubDate")}))
        if metas.get("ContentSource", None) != (e["original_source"] or None) or "ColumnName" not in metas:
            problems.append("%s: ContentSource/ColumnName meta wrong" % where)
    elif any(k in metas for k in ("ArticleTitle", "PubDate", "ContentSource", "ColumnName")):
        problems.append("%s: has gov.cn meta tags, should not" % where)
    if e["published_at"] and not re.fullmatch(r"\d{4}-\d\d-\d\d( \d\d:\d\d(:\d\d)?)?", e["published_at"]):
        problems.append("%s: published_at %r malformed" % (where, e["published_at"]))


def check_server(mirror, sites_dir: Path, manifest: list, problems: list):
    e = manifest[0]
    local = mirror.to_local(e["url"])
    base = mirror.base_urls[urllib.parse.urljoin(e["url"], "/").rstrip("/")]
    status, headers, body = fetch(local)
    etag, lm = headers.get("ETag"), headers.get("Last-Modified")
    if not etag or not lm:
        problems.append("server: ETag/Last-Modified missing")
    if fetch(local, {"If-None-Match": etag or ""})[0] != 304:
        problems.append("server: If-None-Match did not give 304")
    if fetch(local, {"If-Modified-Since": lm or ""})[0] != 304:
        problems.append("server: If-Modified-Since did not give 304")
    if fetch(local, {"If-None-Match": '"nope"', "If-Modified-Since": lm or ""})[0] != 200:
        problems.append("server: a stale ETag must win over If-Modified-Since")
    if fetch(local, {"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"})[0] != 200:
        problems.append("server: old If-Modified-Since did not give 200")
    st, h, b = fetch(base + "/no/such/page.html")
    if st != 404 or b"404" not in b:
        problems.append("server: missing page gave %s" % st)
    if fetch(base + "/_site.json")[0] != 404:
        problems.append("server: _site.json is served")
    for p in ("/../_site.json", "/%2e%2e/%2e%2e/etc/passwd", "/gxyw/..%2f..%2f..%2fetc/passwd", "/a/../../x"):
        if raw_status(base, p) not in (400, 403, 404):
            problems.append("server: %s not rejected" % p)
    dir_url = local.rsplit("/", 1)[0]
    st, h, _ = fetch(dir_url)
    if st != 301 or not h.get("Location", "").endswith("/"):
        problems.append("server: directory without slash gave %s" % st)
    for hdir in sorted(p for p in sites_dir.iterdir() if p.is_dir()):
        site = json.loads((hdir / "_site.json").read_text(encoding="utf-8"))
        for f in sorted(hdir.rglob("*")):
            if f.suffix not in (".html", ".shtml", ".htm"):
                continue
            data = f.read_bytes()
            head = data[:2048].decode("ascii", errors="replace").lower()
            try:
                data.decode("gb18030" if site["encoding"] == "gbk" else "utf-8")
            except UnicodeDecodeError:
                problems.append("%s: does not decode as %s" % (f, site["encoding"]))
            declared = "charset=gb2312" if site["encoding"] == "gbk" else "charset=utf-8"
            if declared not in head.replace('"', ""):
                problems.append("%s: does not declare %s" % (f, declared))
    total = sum(p.stat().st_size for p in sites_dir.rglob("*") if p.is_file())
    total += sum((sites_dir.parent / n).stat().st_size for n in ("expected.json", "expected_lists.json")
                 if (sites_dir.parent / n).exists())
    if total >= MAX_BYTES:
        problems.append("generated files are %d bytes (>= 3 MB)" % total)


def check_bodies(manifest: list, problems: list):
    seen = {}
    urls = {e["url"]: e for e in manifest}
    for e in manifest:
        bt = e.get("_body_text")
        if bt is None:
            continue
        norm = re.sub(r"\s+", "", bt)
        if e["syndicated_from"]:
            other = urls.get(e["syndicated_from"])
            if not other or re.sub(r"\s+", "", other.get("_body_text", "")) != norm:
                problems.append("%s: syndicated body differs from %s" % (e["url"], e["syndicated_from"]))
            if other and other["title"] != e["title"]:
                problems.append("%s: syndicated title differs" % e["url"])
            continue
        if norm in seen:
            problems.append("%s: same body as %s" % (e["url"], seen[norm]))
        seen[norm] = e["url"]
    seeds = [e["seed"] for e in manifest if e["seed"]]
    if len(seeds) != len(set(seeds)):
        problems.append("a seed appears twice")


def run_checks(sites_dir: Path | None = None, registry: Path = REGISTRY) -> list[str]:
    from .server import serve

    sites_dir = Path(sites_dir) if sites_dir else PKG_DIR / "sites"
    problems: list[str] = []
    reg = load_registry(registry)
    manifest, lists = load_manifest(sites_dir.parent)
    for e in manifest:
        if e["source"] not in reg:
            problems.append("manifest source %r not in the registry" % e["source"])
    with serve(sites_dir) as mirror:
        for name, src in reg.items():
            host = "http://" + urllib.parse.urlsplit(src["base_url"]).netloc
            if host not in mirror.base_urls:
                problems.append("%s: no mirror site for %s" % (name, host))
                continue
            check_source(name, src, mirror, sites_dir, manifest, lists, problems, registry)
        check_bodies(manifest, problems)
        check_server(mirror, sites_dir, manifest, problems)
    return problems


def check_rebuild(problems: list):
    """Build twice into temp dirs; both must be byte-identical to each other and to the committed output."""
    from . import build

    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        build.build(Path(a))
        build.build(Path(b))
        for left, right, label in ((Path(a), Path(b), "two builds"), (Path(a), PKG_DIR, "build vs committed")):
            diffs = _tree_diff(left, right)
            if diffs:
                problems.append("%s differ: %s" % (label, diffs[:10]))


def _tree_diff(a: Path, b: Path) -> list[str]:
    out = []
    for name in ("expected.json", "expected_lists.json"):
        if not (b / name).exists() or not filecmp.cmp(a / name, b / name, shallow=False):
            out.append(name)
    for tree in ("sites", "faults"):
        fa = {p.relative_to(a / tree) for p in (a / tree).rglob("*") if p.is_file()}
        fb = {p.relative_to(b / tree) for p in (b / tree).rglob("*") if p.is_file()} if (b / tree).exists() else set()
        out += ["only in one: %s/%s" % (tree, p) for p in sorted(fa ^ fb)]
        out += ["%s/%s" % (tree, p) for p in sorted(fa & fb)
                if not filecmp.cmp(a / tree / p, b / tree / p, shallow=False)]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Check the local mirror.")
    ap.add_argument("--sites", type=Path, default=None)
    ap.add_argument("--rebuild", action="store_true", help="also check the build is deterministic and committed")
    args = ap.parse_args(argv)
    problems = run_checks(args.sites)
    if args.rebuild:
        check_rebuild(problems)
    manifest, _ = load_manifest((args.sites or PKG_DIR / "sites").parent)
    if problems:
        print("%d problem(s):" % len(problems))
        for p in problems:
            print(" -", p)
        return 1
    print("mirror OK: %d articles, %d sources, all checks passed%s"
          % (len(manifest), len({e["source"] for e in manifest}), " (rebuild identical)" if args.rebuild else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
