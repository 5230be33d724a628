"""One registry source as a mirrored site: its URL shapes and its pages.

Everything comes from three places: the source's registry entry (crawlers/sources.toml with its
CMS preset merged: base URL, start URL, pagination and page_url, article_pattern, list_item,
url_drop_params, dataproxy, sitemaps, feeds, encoding), the template of its layout (by default
the one named after its CMS preset, ``mirror/templates/<cms>.html``) and what mirror/sites.toml
invents about it. A source with no sites.toml entry gets the layout's defaults: adding a
registry entry is enough for the mirror to serve it. Standard library only.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import tomllib
import urllib.parse
from pathlib import Path

from . import seedtext
from .seedtext import parse_date
from .files import PNG_BYTES, attachment_bytes, digits, md5hex
from .template import Context, Layout, attr, esc

PKG_DIR = Path(__file__).resolve().parent
REGISTRY = PKG_DIR.parent / "crawlers" / "sources.toml"
SITES_DATA = PKG_DIR / "sites.toml"
PAGE_SIZE = 2  # articles per list page: 10 articles -> 5 list pages per source
GB_ENCODINGS = {"gbk", "gb2312", "gb18030"}
# what a source without an entry in sites.toml gets besides its layout's defaults
DEFAULT_NAV = [["/", "首页"], ["/xxgk/", "信息公开"], ["/zwfw/", "政务服务"], ["/hdjl/", "互动交流"],
               ["/lxwm/", "联系我们"]]
DEFAULT_CLOCK = ["2025-01-01", 100000, 97]


def load_registry(path: Path = REGISTRY) -> dict[str, dict]:
    """name -> the registry entry with its preset merged (as crawlers/registry.py merges it)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    presets = data.get("presets", {})
    return {src["name"]: {**presets.get(src.get("cms", ""), {}), **src} for src in data["sources"]}


def load_sites(registry: Path = REGISTRY, data: Path = SITES_DATA) -> list["Site"]:
    """Every registry source as a Site, in registry order."""
    extra = tomllib.loads(Path(data).read_text(encoding="utf-8"))
    sources = load_registry(registry)
    unknown = sorted(set(extra) - set(sources))
    if unknown:
        raise ValueError(f"{Path(data).name}: {unknown} name no registry source (a typo, or a source removed?)")
    return [Site(src, extra.get(name, {})) for name, src in sources.items()]


class Hashed:
    """A format field for invented names: ``{md5}`` is the md5 hex of the key, ``{digits:N}``
    N decimal digits derived from it."""

    def __init__(self, key: str):
        self.key = key

    def __format__(self, spec: str) -> str:
        return digits(self.key, int(spec)) if spec else md5hex(self.key)


def wrap_tags(selector: str) -> list[str]:
    """The opening tags of the containers a list_item selector names: 'ul.a > li' -> ['<ul class="a">']."""
    first = selector.split(",")[0].replace(">", " ").split()
    out = []
    for compound in first[:-1]:
        m = re.fullmatch(r"([a-z][a-z0-9]*)?((?:[#.][\w-]+)*)", compound)
        tag = (m.group(1) if m else None) or "div"
        ids = re.findall(r"#([\w-]+)", m.group(2) if m else "")
        classes = re.findall(r"\.([\w-]+)", m.group(2) if m else "")
        out.append("<%s%s%s>" % (tag, ' id="%s"' % ids[0] if ids else "",
                                 ' class="%s"' % " ".join(classes) if classes else ""))
    return out


class Site:
    """A registry entry (preset merged) and its sites.toml table, rendered by its layout."""

    def __init__(self, src: dict, data: dict):
        self.name, self.src, self.data = src["name"], src, data
        self.script = data.get("script", "simplified")
        self.layout = Layout(data.get("layout", src["cms"]), data.get("sections"), self.script,
                             seedtext.annotate, seedtext.strip_pinyin)
        self.settings = {**self.layout.settings, **{k: v for k, v in data.items() if k in self.layout.settings}}
        self.base = src["base_url"].rstrip("/")
        self.host = urllib.parse.urlsplit(self.base).netloc
        self.encoding = "gbk" if src.get("encoding", "utf-8").lower() in GB_ENCODINGS else "utf-8"
        self.ct_charset = bool(data.get("content_type_charset", False))
        self.start_path = urllib.parse.urlsplit(urllib.parse.urljoin(self.base + "/", src["start_urls"][0])).path
        self.list_dir = self.start_path.rsplit("/", 1)[0] + "/"
        self.index_name = self.settings["index_name"]
        self.sitemap_path = self.settings["sitemap_path"]
        self.hanweb = bool(src.get("dataproxy"))
        self.articles: list[dict] = []
        self.values = self._values()

    # --- what the templates see of the site ---------------------------------------------
    def _values(self) -> dict:
        seed = seedtext.SEEDS.get(self.data.get("seed", ""), {})
        col = re.search(r"col(\d+)", self.start_path)
        v = {"site_title": self.src["title"], "site_name": self.src["title"], "host": self.host,
             "base": self.base, "list_dir": self.list_dir, "start_path": self.start_path,
             "channel_path": self.list_dir.rstrip("/").rsplit("/", 1)[0] + "/",
             "sitemap_path": self.sitemap_path, "meta_charset": "gb2312" if self.encoding == "gbk" else "utf-8",
             "columnid": col.group(1) if col else "", "dataproxy": self.src.get("dataproxy", ""),
             "code": digits(self.host, 10), "per_page": PAGE_SIZE}
        if seed.get("notice"):
            v["notice"] = seed["notice"]
        v.update({k: val for k, val in self.data.items() if k != "sections"})
        ctx = Context(v)
        for key, tpl in self.settings.get("defaults", {}).items():
            if key not in v:
                v[key] = self.layout.render_text(tpl, ctx, f"{self.layout.name}/defaults.{key}")
        v["nav"] = [{"href": h, "text": t} for h, t in self.data.get("nav", DEFAULT_NAV)]
        v["map"] = [{"href": h, "text": t} for h, t in self.data.get("map", self.data.get("nav", DEFAULT_NAV))]
        v["widgets"] = [{"text": w} for w in seed.get("widgets", [v["widget"]])]
        lines = seed.get("footer") or [self.layout.render_text(t, ctx, "footer_lines")
                                       for t in self.settings["footer_lines"]]
        rows = [self._footer_row(line, ctx) for line in lines]
        split = self.settings.get("footer_split", len(rows))
        v.update(footer_lines=rows, footer_pc=rows[:split], footer_m=rows[split:])
        opens = self.data.get("list_wrap") or wrap_tags(self.src.get("list_item", "li"))
        v["list_open"] = "\n".join(opens)
        v["list_close"] = "\n".join("</%s>" % re.match(r"<(\w+)", t).group(1) for t in reversed(opens))
        return v

    def _footer_row(self, line: str, ctx: Context) -> dict:
        """A footer line: text, or (holding "|" and the marker) a row of links."""
        marker = self.data.get("footer_link_marker", "网站地图")
        if "|" not in line or marker not in line:
            return {"text": line, "links": ""}
        parts = line.split("|")
        if self.settings.get("footer_links_strip"):
            parts = [p.strip() for p in line.replace("\xa0", "").split("|")]
        hrefs = self.data.get("footer_link_hrefs", [self.sitemap_path] * len(parts))
        links = [self.layout.render("footer_link", ctx.child({"href": h, "text": p})) for h, p in zip(hrefs, parts)]
        return {"text": "", "links": self.settings["footer_links_join"].join(links)}

    def render(self, section: str, page: dict) -> str:
        return self.layout.render(section, Context(page, self.values))

    # --- URL shapes ----------------------------------------------------------------------
    def list_paths(self, n: int) -> list[str]:
        """The list pages' paths, first page first; n pages (one for a Hanweb column page)."""
        if self.hanweb:
            return [self.start_path]
        path = self.start_path + (self.index_name if self.start_path.endswith("/") else "")
        folder, _, fname = path.rpartition("/")
        stem, dot, ext = path.rpartition(".")
        tpl = self.src.get("page_url") or self.settings["page_url"]
        return [self.start_path] + [urllib.parse.urljoin(path, tpl.format(dir=folder + "/", stem=stem, ext=ext, page=p, i=p - 1))
                                    for p in range(2, n + 1)]

    def list_urls(self, n_pages: int) -> list[str]:
        """The list pages' real URLs in crawl order (expected_lists.json); for a Hanweb column
        the column page, then one dataproxy request per further page, as the crawler asks."""
        out = [self.base + p for p in self.list_paths(n_pages)]
        if self.hanweb:
            v, total = self.values, len(self.articles)
            for start in range(PAGE_SIZE + 1, total + 1, PAGE_SIZE):
                out.append(self.base + v["dataproxy"] + "?" + urllib.parse.urlencode([
                    ("startrecord", str(start)), ("endrecord", str(min(total, start + PAGE_SIZE - 1))),
                    ("perpage", str(PAGE_SIZE)), ("columnid", v["columnid"]), ("unitid", v["unitid"]),
                    ("webid", v["webid"]), ("path", "/"), ("webname", v["site_title"]), ("permissiontype", "0")]))
        return out

    def article_path(self, art: dict) -> str:
        a_dt, a_id, per_day = self.data.get("id_clock", DEFAULT_CLOCK)
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        fields = {**self.values, "dir": self.list_dir, "id": a_id + round(days * per_day), "dt": art["dt"],
                  "md5": Hashed("%s|%s|%s" % (self.name, art["date"], art["title"]))}
        path = self.settings["article_path"].format(**fields)
        if not re.search(self.src["article_pattern"], path):
            raise ValueError(f"{self.name}: article path {path!r} does not match the registry's article_pattern "
                             f"{self.src['article_pattern']!r}: give the source an article_path in {SITES_DATA.name}")
        return path

    def list_href(self, art: dict) -> str:
        path, style = art["urlpath"], self.settings["list_links"]
        if style == "absolute":
            return self.base + path
        href = "./" + path[len(self.list_dir):] if style == "relative" and path.startswith(self.list_dir) else path
        # a parameter the registry drops (Hainan's ?ddtab=true, sources.md): some list links carry it
        for p in self.src.get("url_drop_params", []):
            flagged = "%s?%s=true" % (path, p)
            if "*" not in p and re.search(self.src["article_pattern"], flagged) and int(md5hex(path)[-1], 16) % 2:
                return flagged
        return href

    def _resource(self, key: str, art: dict, **fields) -> str:
        folder, stem = art["urlpath"].rsplit("/", 1)[0], art["urlpath"].rsplit(".", 1)[0]
        return self.settings[key].format(folder=folder, stem=stem, dt=art["dt"], **fields)

    def rel(self, path: str, art: dict) -> str:
        """Href for a resource of ``art`` as the site writes it (TRS: ./name, others: /path)."""
        folder = art["urlpath"].rsplit("/", 1)[0]
        if path.startswith(folder + "/") and self.settings["relative_resources"]:
            return "./" + path[len(folder) + 1:]
        return path

    # --- pages ---------------------------------------------------------------------------
    def body_html(self, art: dict) -> str:
        """The article body's HTML; registers its images and attachments in art["files"]."""
        out, nimg = [], 0
        sep, prefix = self.settings["para_separator"], self.settings["para_prefix"]
        for kind, value in art["body"]:
            if kind == "p":
                out.append('<p>%s%s</p>' % (prefix, esc(value)))
            elif kind == "h":
                out.append('<p><strong>%s</strong></p>' % esc(value))
            elif kind == "img":
                nimg += 1
                src = self._resource("img_path", art, digits=Hashed(art["urlpath"] + str(nimg)),
                                     md5=Hashed(art["urlpath"] + "img" + str(nimg)))
                art.setdefault("files", []).append((src, PNG_BYTES))
                out.append('<p style="text-align: center;"><img src="%s" alt="" border="0" '
                           'oldsrc="%s" /></p>' % (attr(self.rel(src, art)), attr(src.rsplit("/", 1)[1])))
                out.append('<p style="text-align: center;">%s</p>' % esc(value))
            elif kind == "attach":
                fkind, label = value
                key = Hashed(art["urlpath"] + fkind)
                href = self._resource("attach_path", art, kind=fkind, digits=key, md5=key)
                art.setdefault("files", []).append((href, attachment_bytes(fkind, label)))
                out.append('<p>附件：<a href="%s" target="_blank">%s</a></p>' % (attr(self.rel(href, art)), esc(label)))
            if sep:
                out.append(sep)
        if sep and out:
            out.pop()
        return "\n".join(out)

    def _page(self, kind: str, path: str, extra: dict) -> str:
        """A page of kind list|article|home|sitemap at ``path``: title, description and the
        relative links its crumb needs from its folder."""
        depth = path.rsplit("/", 1)[0].count("/")
        below = depth - self.list_dir.count("/") + 1
        page = {"to_root": "../" * depth, "to_col": "../" * below if below > 0 else "./",
                "to_parent": "../" * (below + 1), **extra}
        ctx = Context(page, self.values)
        page["page_title"] = self.layout.render(kind + "_title", ctx)
        desc = kind + "_description"
        page.setdefault("description", self.layout.render(desc, ctx) if self.layout.has(desc) else self.values.get("description"))
        page["main"] = self.render(kind + "_main", page)
        return self.render("page", page) + "\n"

    def item(self, art: dict) -> dict:
        t, cut = art["title"], self.settings["list_title_max"]
        return {"href": self.list_href(art), "title": t, "shown": t if not cut or len(t) <= cut else t[:cut - 1] + "...",
                "list_date": art["list_date"], "list_date_shown": self.settings["list_date_format"].format(art["list_date"]),
                "source": art["source"], "summary": seedtext.strip_pinyin(art["lead"])[:self.settings["list_summary"]],
                "path": art["urlpath"], "url": self.base + art["urlpath"]}

    def page_href(self, paths: list[str], i: int) -> str:
        """How a pager links list page i: by file name (a directory: its path or index file)."""
        name = paths[i].rsplit("/", 1)[1]
        return name or (paths[i] if self.settings["dir_link"] == "path" else self.index_name)

    def render_list(self, items: list[dict], page: int, paths: list[str]) -> str:
        n = len(paths)
        stem_ext = paths[0].rsplit("/", 1)[1] or self.index_name
        return self._page("list", paths[page], {
            "items": [self.item(a) for a in items], "page_count": n, "page_index": page, "page_number": page + 1,
            "page_stem": stem_ext.rsplit(".", 1)[0], "page_ext": paths[0].rsplit(".", 1)[-1],
            "total": len(self.articles),
            "prev_href": self.page_href(paths, page - 1) if page > 0 else "",
            "next_href": self.page_href(paths, page + 1) if page < n - 1 else "",
            "pages": [{"n": i + 1, "current": "1" if i == page else "", "href": "" if i == page else self.page_href(paths, i)}
                      for i in range(n)]})

    def render_article(self, art: dict, related: list[dict]) -> str:
        aid = re.search(r"(\d+)\.\w+$", art["urlpath"])
        return self._page("article", art["urlpath"], {
            "title": art["title"], "date": art["date"], "source": art["source"], "author": art["author"],
            "url": self.base + art["urlpath"], "path": art["urlpath"], "subtitle": art.get("subtitle"),
            "aid": aid.group(1) if aid else "", "body": self.body_html(art), "no_related": "" if related else "1",
            "related": [{"path": r["urlpath"], "url": self.base + r["urlpath"], "title": r["title"]} for r in related]})

    def render_home(self) -> str:
        return self._page("home", "/", {})

    def render_sitemap(self) -> str:
        return self._page("sitemap", self.sitemap_path, {})

    def extra_files(self) -> dict[str, str]:
        """The registry's sitemaps and feeds, and a Hanweb column's dataproxy records (served by
        mirror/server.py, never as a file)."""
        feed = []
        for a in self.articles:
            when = a["dt"].replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
            feed.append({"title": a["title"], "url": self.base + a["urlpath"], "list_date": a["list_date"],
                         "summary": seedtext.strip_pinyin(a["lead"])[:80], "pub_date": email.utils.format_datetime(when)})
        out = {}
        for key, section in (("sitemaps", "urlset"), ("feeds", "rss")):
            for rel in self.src.get(key, []):
                path = urllib.parse.urlsplit(urllib.parse.urljoin(self.base + "/", rel)).path
                out[path] = self.render(section, {"feed": feed}) + "\n"
        if self.hanweb:
            v = self.values
            proxy = {"columns": {v["columnid"]: {
                "unitid": v["unitid"], "webid": v["webid"], "webname": v["site_title"],
                "records": [self.render("list_item", self.item(a)) for a in self.articles]}}}
            out["/_dataproxy.json"] = json.dumps(proxy, ensure_ascii=False, indent=1) + "\n"
        return out

    def site_json(self) -> bytes:
        return (json.dumps({"encoding": self.encoding, "content_type_charset": self.ct_charset}, indent=1)
                + "\n").encode("ascii")
