"""Generate the bundled local mirror: ``python -m mirror.build [--out DIR]``.

Writes ``<DIR>/sites/<host>/...`` (static pages, ``_site.json``, robots.txt, image and attachment
stubs), ``<DIR>/expected.json`` (one object per article) and ``<DIR>/expected_lists.json`` (list
page URLs per source, in crawl order). ``DIR`` defaults to this package's directory; the old
``sites/`` tree there is removed first, so the output is exactly what this run produced.

Deterministic: the only randomness is ``random.Random(FIXED_SEED)``; files are written from
in-memory data in a fixed order, JSON with a fixed key order, no timestamps anywhere (the ZIP
entries of the .docx stubs carry a fixed date).

Inputs: ``mirror/seeds/*.txt`` (copies of /work/shared/seeds, the visible text of five real
pages) and ``mirror/content.py`` (the invented variations). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import hashlib
import html
import io
import json
import random
import re
import shutil
import sys
import urllib.parse
import zipfile
from pathlib import Path

from . import content

PKG_DIR = Path(__file__).resolve().parent
SEEDS_DIR = PKG_DIR / "seeds"
FIXED_SEED = 20250715
PAGE_SIZE = 2  # articles per list page: 10 articles -> 5 list pages per source

# A 8x6 light-grey PNG used for every <img> (the mirror only needs the URL to resolve).
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAGCAIAAABxZ0isAAAAEUlEQVR42mM4cekEVsQwkBIAhKVyYbVCjKcAAAAASUVORK5CYII="
)

# ----------------------------------------------------------------------------------------------
# small helpers


def esc(s: str) -> str:
    """Escape text content (quotes left alone, as CMS output does)."""
    return html.escape(s, quote=False)


def attr(s: str) -> str:
    return html.escape(s, quote=True)


def md5hex(s: str) -> str:
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def digits(s: str, n: int) -> str:
    """n deterministic decimal digits derived from s."""
    return str(int(md5hex(s), 16))[-n:].rjust(n, "0")


def parse_date(s: str) -> dt.datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise ValueError(s)


PINYIN_RE = re.compile(r"([\u4e00-\u9fff])\(([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+)\)")
WEIRD_RE = re.compile(r"[?\ue000-\uf8ff\u2002\xa0]")  # capture damage / odd spaces in seed text


def seed_lines(name: str) -> list[str]:
    return (SEEDS_DIR / name).read_text(encoding="utf-8").split("\n")


def pinyin_table() -> dict[str, str]:
    """The character -> pinyin table used by the traditional-script seeds (002, 004).

    The seeds annotate a fixed subset of characters, always with the same reading, so the
    invented traditional text is annotated with exactly the seeds' own table.
    """
    table: dict[str, str] = {}
    for name in ("002_896becad4a328636.txt", "004_26e0f8e24013ae1d.txt"):
        text = (SEEDS_DIR / name).read_text(encoding="utf-8")
        for m in PINYIN_RE.finditer(text):
            prev = table.setdefault(m.group(1), m.group(2))
            assert prev == m.group(2), (m.group(1), prev, m.group(2))
    return dict(sorted(table.items()))


PINYIN = pinyin_table()


def annotate(s: str | None) -> str | None:
    """Traditional text -> the seeds' style, e.g. 推動 -> 推動(dòng)."""
    if s is None:
        return None
    out = []
    for i, ch in enumerate(s):
        out.append(ch)
        if ch in PINYIN and not s.startswith("(", i + 1):
            out.append("(" + PINYIN[ch] + ")")
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# seeds -> structured articles
#
# A body is a list of blocks: ("p", text) paragraph, ("h", text) sub-heading paragraph,
# ("img", caption) an image followed by its caption paragraph, ("attach", (kind, label)).


def _between(lines: list[str], start: int, stop_prefix: str) -> list[str]:
    out = []
    for line in lines[start:]:
        if line.startswith(stop_prefix):
            return out
        out.append(line)
    raise AssertionError("stop line %r not found" % stop_prefix)


def seed_000() -> dict:
    L = seed_lines("000_e58f327ba19703f5.txt")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d) \xa0{4}来源: (.+?) \xa0{4}作者: (.+)", L[8])
    assert m, L[8]
    body = []
    for line in _between(L, 13, "文件下载:"):
        if not line:
            continue
        if line.startswith("2024中国—东盟环境合作论坛开幕式现场。"):
            body.append(("img", line))
        elif line == "核心提示" or re.match(r"\d\.", line):
            body.append(("h", line))
        else:
            body.append(("p", line))
    return dict(title=L[6], date=m.group(1), source=m.group(2), author=m.group(3), body=body,
                crumb=L[4])


def seed_001() -> dict:
    L = seed_lines("001_fef36e7e279e47c9.txt")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d) \xa0{4}来源: (.+?) \xa0{4}作者: (.+)", L[8])
    assert m, L[8]
    captions = {"自治区生态环境厅厅长陈亮致辞", "共同发布中国—东盟绿色价值链伙伴关系"}
    body = []
    for line in _between(L, 13, "文件下载:"):
        if line:
            body.append(("img" if line in captions else "p", line))
    return dict(title=L[6], date=m.group(1), source=m.group(2), author=m.group(3), body=body,
                crumb=L[4])


def seed_002() -> dict:
    L = seed_lines("002_896becad4a328636.txt")
    source, author, date = "海報(bào)新聞", "孫杰", "2025-02-12 13:04"
    assert L[2] == "文章來源:" + source + author + date, L[2]
    body = []
    for line in _between(L, 3, "【版權(quán)聲明】"):
        if line in ("", "\xa0"):
            continue
        assert line.startswith("  ") and not line.startswith("   "), line[:10]
        body.append(("p", line[2:]))  # the template puts the two-space indent back
    i = L.index(next(x for x in L if x.startswith("【版權(quán)聲明】")))
    return dict(title=L[0], date=date, source=source, author=author, body=body,
                notice=L[i], widgets=L[i + 1:i + 10], footer=[x for x in L[i + 10:] if x])


def seed_003() -> dict:
    L = seed_lines("003_288f4a3a0b947890.txt")
    m = re.fullmatch(r"贵州文化网 发表于:(\S+ \S+) 来源:(\S*) 作者:(\S*) 点击: 评论:0", L[2])
    assert m, L[2]
    body = [("p", x) for x in _between(L, 3, "贵州文化网声明:") if x]
    notice = next(x for x in L if x.startswith("贵州文化网声明:"))
    footer = [x for x in L[L.index(notice):] if x][5:]
    return dict(title=L[1], date=m.group(1), source=m.group(2) or None, author=m.group(3) or None,
                body=body, notice=notice, footer=footer)


def seed_004() -> dict:
    L = seed_lines("004_26e0f8e24013ae1d.txt")
    body = []
    for n, line in enumerate(_between(L, 2, "法律聲明")):
        plain = PINYIN_RE.sub(r"\1", line)
        if n == 1:
            body.append(("img", line))  # 中歐代表在會議現場交流。… 攝
        elif len(plain) <= 8 and not re.search(r"[,，。:：()“”]", plain):
            body.append(("h", line))  # 匯聚多方力量 / 共筑創新平臺 ...
        else:
            body.append(("p", line))
    footer = [x for x in L[L.index(next(x for x in L if x.startswith("法律聲明"))):] if x]
    # The seed shows neither date nor 来源: both are inventions (README).
    # No author field on the page, but the byline paragraph names the writers: that is the
    # author an analyst expects (a 记者 byline), so the manifest expects it.
    return dict(title=L[0], subtitle=L[1], date="2024-12-16 08:30", source="海南日報(bào)",
                author=None, byline_author="余佳琪 王迎春", body=body, footer=footer)


SEEDS = {
    "000_e58f327ba19703f5.txt": seed_000(),
    "001_fef36e7e279e47c9.txt": seed_001(),
    "002_896becad4a328636.txt": seed_002(),
    "003_288f4a3a0b947890.txt": seed_003(),
    "004_26e0f8e24013ae1d.txt": seed_004(),
}


def paragraph_pool(seed_names, encoding=None) -> list[str]:
    pool = []
    for name in seed_names:
        for kind, text in SEEDS[name]["body"]:
            if kind != "p" or len(PINYIN_RE.sub(r"\1", text)) < 40 or WEIRD_RE.search(text):
                continue
            if encoding:
                try:
                    text.encode(encoding)
                except UnicodeEncodeError:
                    continue
            pool.append(text)
    return pool


# ----------------------------------------------------------------------------------------------
# Page chrome shared by the templates


TRS_PAGER_JS = """<script type="text/javascript">
//TRS WCM 分页: createPageHTML(总页数, 当前页(0起), 文件名, 扩展名)
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt){
	if(_nPageCount == null || _nPageCount<=1){
		return;
	}
	var nCurrIndex = _nCurrIndex || 0;
	if(nCurrIndex == 0){
		document.write("<span class=\\"current\\">首页</span>&nbsp;");
		document.write("<span>上一页</span>&nbsp;");
	}else{
		document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">首页</a>&nbsp;");
		if(nCurrIndex == 1)
			document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">上一页</a>&nbsp;");
		else
			document.write("<a href=\\""+_sPageName+"_"+(nCurrIndex-1)+"."+_sPageExt+"\\">上一页</a>&nbsp;");
	}
	for(var i=0; i<_nPageCount; i++){
		if(i == nCurrIndex)
			document.write("<span class=\\"current\\">"+(i+1)+"</span>&nbsp;");
		else if(i == 0)
			document.write("<a href=\\""+_sPageName+"."+_sPageExt+"\\">1</a>&nbsp;");
		else
			document.write("<a href=\\""+_sPageName+"_"+i+"."+_sPageExt+"\\">"+(i+1)+"</a>&nbsp;");
	}
	if(nCurrIndex < _nPageCount-1){
		document.write("<a href=\\""+_sPageName+"_"+(nCurrIndex+1)+"."+_sPageExt+"\\">下一页</a>&nbsp;");
		document.write("<a href=\\""+_sPageName+"_"+(_nPageCount-1)+"."+_sPageExt+"\\">尾页</a>");
	}else{
		document.write("<span>下一页</span>&nbsp;<span>尾页</span>");
	}
}
</script>"""


def gov_meta(site: "Site", art: dict | None, column: str) -> str:
    """The gov.cn head tags (政府网站发展指引)."""
    rows = [
        ("SiteName", site.title), ("SiteDomain", site.host), ("SiteIDCode", site.site_code),
        ("ColumnName", column), ("ColumnType", column),
    ]
    if art is not None:
        rows += [("ArticleTitle", art["title"]), ("PubDate", art["date"])]
        if art["source"]:
            rows.append(("ContentSource", art["source"]))
        rows += [("Keywords", ""), ("Author", art["author"] or ""),
                 ("Url", site.base + art["urlpath"])]
    return "\n".join('<meta name="%s" content="%s">' % (k, attr(v)) for k, v in rows)


# ----------------------------------------------------------------------------------------------
# Sites


class NotOurs(Exception):
    """--out names a folder whose sites/ or faults/ holds something no build wrote."""


def _clear_build(folder: Path, hosts) -> None:
    """Remove an earlier build's `folder` (sites/ or faults/): only when every entry in it is
    a host folder this build writes or one any build wrote (it has `_site.json`); anything else
    means --out points at someone's files."""
    if not folder.exists():
        return
    stray = sorted(p.name for p in folder.iterdir()
                   if not (p.is_dir() and not p.is_symlink() and (p.name in hosts or (p / "_site.json").is_file())))
    if stray:
        raise NotOurs(f"{folder} holds {stray[0]!r}, which no mirror build writes; nothing was deleted "
                      f"(choose another --out)")
    shutil.rmtree(folder)


class Site:
    """One registered source: URL shapes, list pages and article template."""

    name = host = title = ""
    encoding = "utf-8"
    ct_charset = False
    site_code = ""
    index_name = "index.html"  # file served for ".../"
    script = "simplified"  # or "traditional"
    widget = ""  # a widget string on every article page (must_exclude #1)
    icp = ""  # the ICP string of the footer (must_exclude #2)
    related_label = "相关文章"
    home_path = "/"
    sitemap_path = ""
    column = ""

    def __init__(self) -> None:
        self.base = "http://" + self.host
        self.articles: list[dict] = []

    # --- URL shapes (override) ---
    def list_paths(self, n: int) -> list[str]:
        raise NotImplementedError

    def article_path(self, art: dict, idx: int) -> str:
        raise NotImplementedError

    def list_href(self, art: dict) -> str:
        return art["urlpath"]

    def img_src(self, art: dict, n: int) -> str:
        folder = art["urlpath"].rsplit("/", 1)[0]
        return "%s/W0%s%s.png" % (folder, art["dt"].strftime("%Y%m%d"), digits(art["urlpath"] + str(n), 12))

    def attach_href(self, art: dict, kind: str) -> str:
        folder = art["urlpath"].rsplit("/", 1)[0]
        return "%s/P0%s%s.%s" % (folder, art["dt"].strftime("%Y%m%d"), digits(art["urlpath"] + kind, 12), kind)

    # --- pages (override) ---
    def render_list(self, items: list[dict], page: int, paths: list[str]) -> str:
        raise NotImplementedError

    def render_article(self, art: dict, related: list[dict]) -> str:
        raise NotImplementedError

    def render_home(self) -> str:
        raise NotImplementedError

    def render_sitemap(self) -> str:
        raise NotImplementedError

    def list_urls(self, n_pages: int) -> list[str]:
        """The list pages' real URLs in crawl order (expected_lists.json)."""
        return [self.base + p for p in self.list_paths(n_pages)]

    def extra_files(self) -> dict[str, str | bytes]:
        """Other files of the site (feeds, sitemaps, endpoint data), path -> content."""
        return {}

    # --- shared body rendering ---
    def rel(self, path: str, art: dict) -> str:
        """Href for a resource of ``art`` as the site writes it (TRS: ./name, others: /path)."""
        folder = art["urlpath"].rsplit("/", 1)[0]
        if path.startswith(folder + "/") and self.relative_resources:
            return "./" + path[len(folder) + 1:]
        return path

    relative_resources = True

    def body_html(self, art: dict, indent: str = "", para_prefix: str = "",
                  separator: str | None = None) -> str:
        out = []
        nimg = 0
        for kind, value in art["body"]:
            if kind == "p":
                out.append('<p>%s%s</p>' % (para_prefix, esc(value)))
            elif kind == "h":
                out.append('<p><strong>%s</strong></p>' % esc(value))
            elif kind == "img":
                nimg += 1
                src = self.img_src(art, nimg)
                art.setdefault("files", []).append((src, PNG_BYTES))
                out.append('<p style="text-align: center;"><img src="%s" alt="" border="0" '
                           'oldsrc="%s" /></p>' % (attr(self.rel(src, art)), attr(src.rsplit("/", 1)[1])))
                out.append('<p style="text-align: center;">%s</p>' % esc(value))
            elif kind == "attach":
                fkind, label = value
                href = self.attach_href(art, fkind)
                art.setdefault("files", []).append((href, attachment_bytes(fkind, label)))
                out.append('<p>附件：<a href="%s" target="_blank">%s</a></p>'
                           % (attr(self.rel(href, art)), esc(label)))
            if separator is not None:
                out.append(separator)
        if separator is not None and out:
            out.pop()
        return "\n".join(indent + x for x in out)

    def related_html(self, related: list[dict], li_fmt: str = '<li><a href="%s" target="_blank" title="%s">%s</a></li>') -> str:
        return "\n".join(li_fmt % (attr(r["urlpath"]), attr(r["title"]), esc(r["title"]))
                         for r in related)


def attachment_bytes(kind: str, label: str) -> bytes:
    """A tiny valid PDF or DOCX standing in for an attachment."""
    if kind == "pdf":
        text = b"Attachment placeholder (local mirror)"
        stream = b"BT /F1 12 Tf 72 770 Td (" + text + b") Tj ET"
        objs = [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        out = bytearray(b"%PDF-1.4\n")
        offsets = []
        for i, body in enumerate(objs, 1):
            offsets.append(len(out))
            out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
        for off in offsets:
            out += b"%010d 00000 n \n" % off
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
        return bytes(out)
    assert kind == "docx"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document.main+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/document.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>%s</w:t></w:r></w:p></w:body></w:document>" % esc(label),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, data.encode("utf-8"))
    return buf.getvalue()


# ---------------------------------------------------------------- TRS: Guangxi portal


class Gxzf(Site):
    name, host, title = "gxzf", "www.gxzf.gov.cn", "广西壮族自治区人民政府门户网站"
    ct_charset = True
    site_code = "4500000001"
    index_name = "index.shtml"
    widget = "扫一扫在手机打开当前页"
    icp = "桂ICP备05000028号-1"
    column = "区内要闻"
    sitemap_path = "/wzdt/"
    folder = "/gxyw/"
    crumb_html = ('当前位置: <a href="../">首页</a>&nbsp;&gt;&nbsp;<a href="../zwyw/">政务要闻</a>'
                  '&nbsp;&gt;&nbsp;<a href="./">区内要闻</a>')
    gona = "桂公网安备 45010302000019号"
    sponsor = "主办：广西壮族自治区人民政府办公厅 &nbsp; 承办：广西壮族自治区大数据发展局"
    nav = [("/", "首页"), ("/zwgk/", "政务公开"), ("/zwyw/", "政务要闻"), ("/gxyw/", "区内要闻"),
           ("/zcjd/", "政策解读"), ("/hdjl/", "互动交流"), ("/bmfw/", "办事服务"), ("/mlgx/", "美丽广西")]
    id_anchor = ("2024-11-08 09:05", 19439729, 2113)  # invented doc-id clock (seed 000 = t19439729)
    list_date_fmt = "[%s]"
    list_tag = ('<div class="more-list-box">', '<ul class="more-list">', '</ul>', '</div>')
    side_bar = True
    float_bar = ""

    def list_paths(self, n):
        return [self.folder + "index.shtml"] + [self.folder + "index_%d.shtml" % i for i in range(1, n)]

    def article_path(self, art, idx):
        a_dt, a_id, per_day = self.id_anchor
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        return "%st%d.shtml" % (self.folder, a_id + round(days * per_day))

    def list_href(self, art):
        return "./" + art["urlpath"].rsplit("/", 1)[1]

    def head(self, title, art=None):
        return "\n".join([
            "<!DOCTYPE html>", '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
            '<meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1">',
            '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
            "<title>%s</title>" % esc(title), gov_meta(self, art, self.column),
            '<link rel="stylesheet" href="/images/common.css">',
        ])

    def header(self):
        nav = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([
            '<div class="wza-bar"><a href="javascript:void(0)">页面</a><a href="javascript:void(0)">配色</a>'
            '<a href="javascript:void(0)">辅助线</a><a href="javascript:void(0)">重置</a></div>',
            '<div class="header"><div class="logo"><a href="/"><img src="/images/logo.png" alt="%s"></a></div>'
            % attr(self.title),
            '<div class="top-links"><a href="http://www.gov.cn/" target="_blank">中国政府网</a> | '
            '<a href="/wzdt/">网站地图</a> | <a href="/wza/">无障碍</a></div></div>',
            '<div class="nav"><ul>%s</ul></div>' % nav,
        ])

    def footer(self):
        return "\n".join([
            '<div class="footer">',
            '<div class="footer-links"><a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a> | '
            '<a href="/flsm/">法律声明</a> | <a href="/sybz/">使用帮助</a></div>',
            "<p>%s</p>" % self.sponsor,
            '<p>版权所有：%s &nbsp; <a href="https://beian.miit.gov.cn/" target="_blank">%s</a> &nbsp; '
            '<a href="http://www.beian.gov.cn/portal/registerSystemInfo" target="_blank">%s</a> &nbsp; '
            "政府网站标识码：%s</p>" % (esc(self.title), self.icp, self.gona, self.site_code),
            '<p><a href="https://bszs.conac.cn/" target="_blank"><img src="/images/red.png" alt="党政机关"></a> '
            '<a href="https://zfwzzc.www.gov.cn/" target="_blank"><img src="/images/jiucuo.png" alt="政府网站找错"></a></p>',
            "</div>",
        ])

    def side(self):
        if not self.side_bar:
            return ""
        return ('<div class="side-nav"><h3>政务要闻</h3><ul><li><a href="../zwyw/">政务要闻</a></li>'
                '<li class="on"><a href="./">区内要闻</a></li><li><a href="../gggs/">公告公示</a></li>'
                '<li><a href="../xwfb/">新闻发布</a></li><li><a href="../zcjd/">政策解读</a></li></ul></div>')

    def list_item(self, art):
        t = art["title"]
        shown = t if len(t) <= 30 else t[:29] + "..."
        return '<li><a href="%s" target="_blank" title="%s">%s</a><span>%s</span></li>' % (
            attr(self.list_href(art)), attr(t), esc(shown), self.list_date_fmt % art["list_date"])

    def render_list(self, items, page, paths):
        ext = paths[0].rsplit(".", 1)[1]
        box_open, ul_open, ul_close, box_close = self.list_tag
        return "\n".join([
            self.head("%s_%s" % (self.column, self.title)), TRS_PAGER_JS, "</head>", "<body>",
            self.header(), '<div class="main">',
            '<div class="crumb">%s</div>' % self.crumb_html, self.side(),
            '<div class="more">', '<div class="more-title"><span>%s</span></div>' % self.column,
            box_open, ul_open, "\n".join(self.list_item(a) for a in items), ul_close, box_close,
            '<div class="more-page"><script>createPageHTML(%d, %d, "index", "%s");</script></div>'
            % (len(paths), page, ext),
            "</div>", "</div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        info = [art["date"]]
        if art["source"]:
            info.append("来源: " + esc(art["source"]))
        if art["author"]:
            info.append("作者: " + esc(art["author"]))
        return "\n".join([
            self.head("%s_%s" % (art["title"], self.title), art), "</head>", "<body>",
            self.header(), '<div class="main">', '<div class="crumb">%s</div>' % self.crumb_html,
            '<div class="article-left">', '<div class="article">',
            "<h1>%s</h1>" % esc(art["title"]),
            '<div class="article-inf">',
            '<div class="article-inf-left">%s</div>' % " &nbsp;&nbsp;&nbsp;&nbsp;".join(info),
            '<div class="article-inf-right"><div class="share"><span>分享</span> '
            '<a href="javascript:void(0)" class="wx">微信</a><div class="tt"><a href="javascript:void(0)">头条</a></div>'
            '<a href="javascript:void(0)" class="wb">微博</a> <a href="javascript:void(0)" class="kj">空间</a> '
            '<a href="javascript:void(0)" class="qq">qq</a></div>'
            '<div class="font-size">【字体: <a href="javascript:void(0)" class="big" title="大"></a>'
            '<a href="javascript:void(0)" class="mid" title="中"></a><a href="javascript:void(0)" class="small" title="小"></a> '
            '<a href="javascript:window.print()" class="print">打印</a></div></div>',
            "</div>",
            '<div class="article-con">',
            '<div class="view TRS_UEDITOR trs_paper_default trs_web">',
            self.body_html(art),
            "</div>", "</div>",
            '<div class="article-fj"><div class="fj-item"><span>文件下载:</span></div>'
            '<div class="fj-item"><span>关联文件:</span></div></div>',
            '<div class="xgwz"><div class="xgwz-title">%s</div><ul>' % self.related_label,
            self.related_html(related, '<li><a href="%s" target="_blank" title="%s">%s</a></li>'),
            "</ul></div>",
            '<div class="ewm"><img src="/images/ewm.png" alt=""><p>%s</p></div>' % self.widget,
            "</div>", "</div>", "</div>", self.float_bar, self.footer(), "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([
            self.head(self.title), "</head>", "<body>", self.header(), '<div class="main">',
            '<div class="home-col"><h2><a href="%s">%s</a></h2><p><a href="%s">更多&gt;&gt;</a></p></div>'
            % (self.folder, self.column, self.folder),
            "</div>", self.footer(), "</body>", "</html>", ""])

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([
            self.head("网站地图_" + self.title), "</head>", "<body>", self.header(),
            '<div class="main"><div class="crumb">当前位置: <a href="/">首页</a>&nbsp;&gt;&nbsp;网站地图</div>',
            '<div class="wzdt"><ul>%s</ul></div></div>' % links, self.footer(), "</body>", "</html>", ""])


# ---------------------------------------------------------------- TRS: Guangxi ecology dept


class GxSthjt(Gxzf):
    name, host, title = "gx-sthjt", "sthjt.gxzf.gov.cn", "广西壮族自治区生态环境厅"
    ct_charset = False
    site_code = "4500000035"
    icp = "桂ICP备05003346号-1"
    gona = "桂公网安备 45010302000412号"
    sponsor = "主办：广西壮族自治区生态环境厅 &nbsp; 地址：广西南宁市教育路5号"
    column = "新闻中心"
    folder = "/ztzl/rdzt/ydwjlzxzl/xwzx/"
    crumb_html = ('当前位置: <a href="../../../../">首页</a>&nbsp;&gt;&nbsp;<a href="../../../">专题专栏</a>'
                  '&nbsp;&gt;&nbsp;<a href="../../">热点专栏</a>&nbsp;&gt;&nbsp;<a href="../">国际交流与合作</a>'
                  '&nbsp;&gt;&nbsp;<a href="./">新闻中心</a>')
    nav = [("/", "首页"), ("/xxgk/", "信息公开"), ("/xwzx/", "新闻中心"), ("/zwfw/", "政务服务"),
           ("/hdjl/", "互动交流"), ("/ztzl/", "专题专栏")]
    id_anchor = ("2023-09-18 09:14", 16984517, 1507)
    list_date_fmt = "(%s)"
    list_tag = ('<div id="morelist">', "<ul>", "</ul>", "</div>")
    float_bar = ('<div class="float-bar"><a href="javascript:void(0)">微信</a><a href="javascript:void(0)">微博</a>'
                 '<a href="javascript:void(0)">客户端</a><a href="/znwd/" class="znwd">智能<br>问答</a></div>')

    def side(self):
        return ('<div class="side-nav"><h3>国际交流与合作</h3><ul><li class="on"><a href="./">新闻中心</a></li>'
                '<li><a href="../ydwhz/">交流合作</a></li><li><a href="../zcfg/">政策法规</a></li></ul></div>')

    def list_item(self, art):
        t = art["title"]
        shown = t if len(t) <= 32 else t[:31] + "..."
        return '<li><a href="%s" target="_blank" title="%s">%s</a><span>%s</span></li>' % (
            attr(self.list_href(art)), attr(t), esc(shown), self.list_date_fmt % art["list_date"])


# ---------------------------------------------------------------- DedeCMS: tanpaifang


class Tanpaifang(Site):
    name, host, title = "tanpaifang", "www.tanpaifang.com", "中国碳排放交易网"
    script = "traditional"
    widget = "关注易碳家微信公众号"
    icp = "京ICP備2024055651號-1"
    sitemap_path = "/data/sitemap.html"
    typeid = 12
    relative_resources = False
    channels = [("/tanjiaoyi/", "碳交易"), ("/tanshichang/", "碳市場"), ("/tanzhonghe/", "碳中和"),
                ("/tanguihua/", "碳規劃"), ("/tanjinrong/", "碳金融"), ("/zhengcefagui/", "政策法規"),
                ("/ditanjingji/", "低碳經濟"), ("/tanzuji/", "碳足跡")]
    id_anchor = ("2025-02-12 13:04", 110827, 52)

    def __init__(self):
        super().__init__()
        seed = SEEDS["002_896becad4a328636.txt"]
        self.notice, self.widgets, self.footer_lines = seed["notice"], seed["widgets"], seed["footer"]
        self.sitename = annotate("碳排放交易網")
        self.chan = [(h, annotate(t)) for h, t in self.channels]

    def list_paths(self, n):
        return ["/tanguihua/"] + ["/tanguihua/list_%d_%d.html" % (self.typeid, i) for i in range(2, n + 1)]

    def article_path(self, art, idx):
        a_dt, a_id, per_day = self.id_anchor
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        return "/tanguihua/%s/%d.html" % (art["dt"].strftime("%Y/%m%d"), a_id + round(days * per_day))

    def img_src(self, art, n):
        d = art["dt"].strftime("%y%m%d")
        return "/uploads/allimg/%s/1-%s%s-lp.png" % (d, d, digits(art["urlpath"] + str(n), 6))

    def head(self, title, description):
        return "\n".join([
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
            '<html xmlns="http://www.w3.org/1999/xhtml">', "<head>",
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8" />',
            "<title>%s</title>" % esc(title),
            '<meta name="keywords" content="%s" />' % attr(annotate("碳排放交易,碳交易,碳市場,碳規劃,碳中和")),
            '<meta name="description" content="%s" />' % attr(description),
            '<link href="/templets/tanpaifang/css/style.css" rel="stylesheet" type="text/css" />',
            '<script language="javascript" type="text/javascript" src="/include/dedeajax2.js"></script>',
            "</head>",
        ])

    def header(self):
        nav = "".join('<li><a href="%s">%s</a></li>' % (h, esc(t)) for h, t in self.chan)
        return "\n".join([
            '<div class="top"><div class="top_l"><a href="/">%s</a></div>' % esc(self.sitename),
            '<div class="top_r"><a href="http://www.tanjiaoyi.com/" target="_blank">登錄</a> | '
            '<a href="http://www.tanjiaoyi.com/" target="_blank">註冊</a> | '
            '<a href="/plus/search.php" target="_blank">搜索</a> | '
            '<a href="%s" target="_blank">%s</a></div></div>' % (self.sitemap_path, esc(annotate("網站地圖"))),
            '<div class="nav"><ul><li><a href="/">首頁</a></li>%s</ul></div>' % nav,
        ])

    def footer(self):
        lines = []
        for line in self.footer_lines:
            if "|" in line and "網(wǎng)站地圖" in line:
                parts = line.split("|")
                hrefs = ["/about/", "/about/swqt.html", "/about/ggfw.html", "/about/mzsm.html",
                         "/about/yszc.html", "/about/bqsm.html", "/about/lxwm.html", self.sitemap_path]
                line_html = "|".join('<a href="%s" target="_blank">%s</a>' % (h, esc(p))
                                     for h, p in zip(hrefs, parts))
                lines.append('<div class="foot_nav">%s</div>' % line_html)
            else:
                lines.append("<p>%s</p>" % esc(line))
        return '<div class="footer">\n%s\n</div>' % "\n".join(lines)

    def position(self, cat):
        return ('<div class="position">%s：<a href="/">%s</a> &gt; <a href="/tanguihua/">%s</a> &gt; </div>'
                % (esc(annotate("當前位置")), esc(self.sitename), esc(cat)))

    def render_list(self, items, page, paths):
        boxes = []
        for art in items:
            summary = PINYIN_RE.sub(r"\1", art["lead"])
            summary = annotate(summary[:60]) + "..."
            by = '<span>來源:%s</span>' % esc(art["source"]) if art["source"] else ""
            boxes.append("\n".join([
                '<div class="left_list_box">',
                '<h1><a class="title" href="%s" target="_blank">%s</a></h1>' % (attr(self.list_href(art)), esc(art["title"])),
                '<div class="banquan">%s<span>%s</span></div>' % (by, art["list_date"]),
                '<div class="miaoshu">%s</div>' % esc(summary),
                "</div>",
            ]))
        pager = ['<span class="pageinfo">共 <strong>%d</strong>页<strong>%d</strong>条</span>'
                 % (len(paths), len(self.articles))]
        if page > 0:
            pager.append('<a href="%s">上一页</a>' % ("/tanguihua/" if page == 1 else paths[page - 1].rsplit("/", 1)[1]))
        if page < len(paths) - 1:
            pager.append('<a class="ntub" href="%s">下一页</a>' % paths[page + 1].rsplit("/", 1)[1])
        cat = annotate("碳規劃")
        return "\n".join([
            self.head("%s_%s" % (cat, self.sitename), annotate("碳規劃欄目")), "<body>", self.header(),
            self.position(cat), '<div class="left_list">', "\n".join(boxes),
            '<div class="pag_1">%s</div>' % " ".join(pager), "</div>",
            '<div class="right_box"><h3>%s</h3><a href="/tanzhonghe/">碳中和</a> '
            '<a href="/tanjiaoyisuo/">碳交易所</a> <a href="/zhuanti/">%s</a></div>'
            % (esc(annotate("熱門標籤")), esc(annotate("專題"))),
            self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        cat = annotate("碳規劃")
        spans = ['<span>文章來源:%s</span>' % esc(art["source"] or "")]
        if art["author"]:
            spans.append("<span>%s</span>" % esc(art["author"]))
        spans.append("<span>%s</span>" % art["date"])
        return "\n".join([
            self.head("%s_%s" % (art["title"], self.sitename), annotate("碳排放交易網碳規劃頻道")),
            "<body>", self.header(),
            self.position(cat), '<div class="wenzhang">',
            '<div class="wenzhang_title"><h1>%s</h1></div>' % esc(art["title"]),
            '<div class="man_ll">%s</div>' % "".join(spans),
            '<div class="wenzhang_box" id="w_content">',
            self.body_html(art, para_prefix="  ", separator="<p>&nbsp;</p>"),
            "</div>",
            '<div class="banquan_sm">%s</div>' % esc(self.notice),
            '<div class="erweima">%s</div>' % "".join("<p>%s</p>" % esc(w) for w in self.widgets),
            '<div class="xgyd"><h3>%s</h3><ul>' % esc(annotate("相關閱讀")),
            self.related_html(related, '<li><a href="%s" target="_blank" title="%s">%s</a></li>'),
            "</ul></div>", "</div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([
            self.head(self.sitename, self.sitename), "<body>", self.header(),
            '<div class="index_box"><h2><a href="/tanguihua/">%s</a></h2></div>' % esc(annotate("碳規劃")),
            self.footer(), "</body>", "</html>", ""])

    def extra_files(self):
        """DedeCMS's default RSS feed of the column: /data/rss/<typeid>.xml."""
        items = []
        for a in self.articles:
            when = email.utils.format_datetime(a["dt"].replace(tzinfo=dt.timezone(dt.timedelta(hours=8))))
            items.append("<item>\n<title>%s</title>\n<link>%s</link>\n<description><![CDATA[%s]]></description>\n"
                         "<pubDate>%s</pubDate>\n</item>" % (esc(a["title"]), esc(self.base + a["urlpath"]),
                                                            PINYIN_RE.sub(r"\1", a["lead"])[:80], when))
        rss = ('<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n<channel>\n'
               "<title>%s</title>\n<link>%s/tanguihua/</link>\n<description>%s</description>\n"
               "<language>zh-cn</language>\n%s\n</channel>\n</rss>\n"
               % (esc(annotate("碳規劃") + "_" + self.sitename), self.base, esc(annotate("碳規劃欄目")), "\n".join(items)))
        return {"/data/rss/%d.xml" % self.typeid: rss}

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (h, esc(t)) for h, t in self.chan)
        return "\n".join([
            self.head("網站地圖_" + self.sitename, self.sitename), "<body>", self.header(),
            '<div class="sitemap"><ul>%s</ul></div>' % links, self.footer(), "</body>", "</html>", ""])


# ---------------------------------------------------------------- generic (PHPCMS-like), GBK


class Gzwhw(Site):
    name, host, title = "gzwhw", "www.gzwhw.cn", "贵州文化网"
    encoding = "gbk"
    widget = "分享到:"
    icp = "黔ICP备12003314号-2"
    sitemap_path = "/sitemap.html"
    relative_resources = False
    nav = [("/", "首页"), ("/html/ywjj/", "要闻聚焦"), ("/html/ywjj/snwh/", "省内文化"),
           ("/html/whdt/", "文化动态"), ("/html/fybh/", "非遗保护"), ("/html/wlrh/", "文旅融合"),
           ("/html/msgz/", "美丽贵州")]
    id_anchor = ("2025-07-06 08:35:57", 51836, 37)

    def __init__(self):
        super().__init__()
        seed = SEEDS["003_288f4a3a0b947890.txt"]
        self.notice, self.footer_lines = seed["notice"], seed["footer"]

    def list_paths(self, n):
        return ["/html/ywjj/snwh/"] + ["/html/ywjj/snwh/list_%d.html" % i for i in range(2, n + 1)]

    def article_path(self, art, idx):
        a_dt, a_id, per_day = self.id_anchor
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        return "/html/%s/snwh_%s/%d.html" % (art["dt"].strftime("%Y"), art["dt"].strftime("%m%d"),
                                            a_id + round(days * per_day))

    def img_src(self, art, n):
        return "/uploadfile/%s/%s%s.png" % (art["dt"].strftime("%Y/%m%d"), art["dt"].strftime("%Y%m%d%H%M%S"),
                                            digits(art["urlpath"] + str(n), 3))

    def head(self, title):
        return "\n".join([
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
            '<html xmlns="http://www.w3.org/1999/xhtml">', "<head>",
            '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />',
            "<title>%s</title>" % esc(title),
            '<meta name="keywords" content="贵州文化网,贵州文化,省内文化" />',
            '<meta name="description" content="贵州文化网是贵州文化资讯门户网站。" />',
            '<link href="/statics/css/reset.css" rel="stylesheet" type="text/css" />',
            "</head>",
        ])

    def header(self):
        nav = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([
            '<div class="topbar"><a href="/">贵州文化网首页</a> | <a href="/sitemap.html">网站地图</a> | '
            '<a href="/html/about/">关于我们</a></div>',
            '<div class="header"><div class="logo"><a href="/"><img src="/statics/images/logo.png" alt="贵州文化网" /></a></div>',
            '<div class="search"><form action="/index.php" method="get"><input type="text" name="q" /><input type="submit" value="搜索" /></form></div></div>',
            '<div class="nav"><ul>%s</ul></div>' % nav,
        ])

    def crumbs(self):
        return ('<div class="crumbs"><span class="lmname">省内文化</span> 您的位置:<a href="/">首页</a>&nbsp;&gt;&nbsp;'
                '<a href="/html/ywjj/">要闻聚焦</a>&nbsp;&gt;&nbsp;<a href="/html/ywjj/snwh/">省内文化</a>&nbsp;&nbsp;</div>')

    def footer(self):
        out = ['<div class="footer">']
        for line in self.footer_lines:
            if line.startswith("关于我们"):
                items = [x.strip() for x in line.replace("\xa0", "").split("|")]
                out.append('<p class="links">%s&nbsp;</p>' % " | ".join(
                    '<a href="%s">%s</a>' % ("/sitemap.html" if i == "友情链接" else "/html/about/", i) for i in items))
            else:
                out.append("<p>%s</p>" % esc(line))
        out.append("</div>")
        return "\n".join(out)

    def render_list(self, items, page, paths):
        lis = "\n".join('<li><span class="rt">%s</span><a href="%s" target="_blank" title="%s">%s</a></li>'
                        % (a["list_date"], attr(self.list_href(a)), attr(a["title"]), esc(a["title"]))
                        for a in items)
        names = [p.rsplit("/", 1)[1] or "index.html" for p in paths]
        pager = ['<a class="a1">%d条</a>' % len(self.articles)]
        if page > 0:
            pager.append('<a href="%s" class="a1">上一页</a>' % names[page - 1])
        for i, n in enumerate(names):
            pager.append("<span>%d</span>" % (i + 1) if i == page else '<a href="%s">%d</a>' % (n, i + 1))
        if page < len(paths) - 1:
            pager.append('<a class="next" href="%s">下一页</a>' % names[page + 1])
        return "\n".join([
            self.head("省内文化 - 贵州文化网"), "<body>", self.header(), self.crumbs(),
            '<div class="main"><div class="col-left">', '<ul class="list_news">', lis, "</ul>",
            '<div class="pages">%s</div>' % " ".join(pager), "</div>",
            '<div class="col-right"><h5>热点推荐</h5><ul><li><a href="/html/whdt/">文化动态</a></li>'
            '<li><a href="/html/fybh/">非遗保护</a></li></ul></div></div>',
            self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        aid = art["urlpath"].rsplit("/", 1)[1].split(".")[0]
        rel = ("<li>无相关信息</li>" if not related else
               self.related_html(related, '<li><a href="%s" target="_blank" title="%s">%s</a></li>'))
        return "\n".join([
            self.head("%s - 省内文化 - 贵州文化网" % art["title"]), "<body>", self.header(), self.crumbs(),
            '<div class="main"><div class="col-left">', '<div class="article">',
            "<h1>%s</h1>" % esc(art["title"]),
            '<div class="info"><span class="site">贵州文化网</span> 发表于:%s 来源:%s 作者:%s 点击:<span id="hits"></span> '
            '评论:<span id="comment">0</span></div>' % (art["date"], esc(art["source"] or ""), esc(art["author"] or "")),
            '<div class="content">', self.body_html(art), "</div>",
            '<div class="shengming">%s</div>' % esc(self.notice),
            '<div class="bdsharebuttonbox"><span>分享到:</span><a href="#" class="bds_weixin" title="分享到微信"></a>'
            '<a href="#" class="bds_tsina" title="分享到新浪微博"></a><a href="#" class="bds_qzone" title="分享到QQ空间"></a></div>',
            '<div class="more">更多精彩内容<a href="/">首页</a>&nbsp;&gt;&nbsp;<a href="/html/ywjj/">要闻聚焦</a>'
            '&nbsp;&gt;&nbsp;<a href="/html/ywjj/snwh/">省内文化</a></div>',
            '<div class="related"><h5>&gt; 相关文章</h5><ul>', rel, "</ul></div>",
            "</div></div></div>", self.footer(),
            '<script language="JavaScript" src="/api.php?op=count&amp;id=%s&amp;modelid=1"></script>' % aid,
            "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([
            self.head("贵州文化网"), "<body>", self.header(),
            '<div class="main"><h2><a href="/html/ywjj/snwh/">省内文化</a></h2></div>',
            self.footer(), "</body>", "</html>", ""])

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([self.head("网站地图 - 贵州文化网"), "<body>", self.header(),
                          '<div class="sitemap"><ul>%s</ul></div>' % links, self.footer(), "</body>", "</html>", ""])


# ---------------------------------------------------------------- UCAP: Hainan portal


class Hainan(Site):
    name, host, title = "hainan", "www.hainan.gov.cn", "海南省人民政府网"
    ct_charset = True
    script = "traditional"
    site_code = "4600000001"
    index_name = "index.shtml"
    widget = "【关闭窗口】"
    icp = "瓊ICP備05000041號-1"
    column = "本省新闻"
    sitemap_path = "/hainan/wzdt/"
    relative_resources = False
    nav = [("/", "首页"), ("/hainan/zxxx/", "要闻动态"), ("/hainan/zfxxgk/", "政府信息公开"),
           ("/hainan/zwfw/", "政务服务"), ("/hainan/hdjl/", "互动交流"), ("/hainan/zjhn/", "走进海南")]

    def __init__(self):
        super().__init__()
        self.footer_lines = SEEDS["004_26e0f8e24013ae1d.txt"]["footer"]

    def list_paths(self, n):
        return ["/hainan/5309/list3.shtml"] + ["/hainan/5309/list3_%d.shtml" % i for i in range(2, n + 1)]

    def article_path(self, art, idx):
        return "/hainan/5309/%s/%s.shtml" % (art["dt"].strftime("%Y%m"), md5hex("hainan|" + art["date"] + "|" + art["title"]))

    def list_href(self, art):
        # the real column links some articles with a `?ddtab=true` flag (sources.md): the same
        # page, which the registry's url_drop_params folds back onto one URL
        return art["urlpath"] + ("?ddtab=true" if int(md5hex(art["urlpath"])[-1], 16) % 2 else "")

    def img_src(self, art, n):
        stem = art["urlpath"].rsplit(".", 1)[0]
        return "%s/images/%s.png" % (stem, md5hex(art["urlpath"] + "img" + str(n)))

    def attach_href(self, art, kind):
        stem = art["urlpath"].rsplit(".", 1)[0]
        return "%s/files/%s.%s" % (stem, md5hex(art["urlpath"] + kind), kind)

    def head(self, title, art=None):
        return "\n".join([
            "<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">',
            '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
            "<title>%s</title>" % esc(title), gov_meta(self, art, self.column),
            '<link rel="stylesheet" href="/hainan/resource/css/common.css">', "</head>",
        ])

    def header(self):
        nav = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([
            '<div class="header"><div class="logo"><a href="/"><img src="/hainan/resource/images/logo.png" alt="海南省人民政府网"></a></div>',
            '<div class="top-link"><a href="/hainan/wzdt/">网站地图</a> <a href="http://www.gov.cn/" target="_blank">中国政府网</a></div></div>',
            '<div class="nav"><ul>%s</ul></div>' % nav,
        ])

    def position(self):
        return ('<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/hainan/zxxx/">要闻动态</a> '
                '&gt; <a href="/hainan/5309/list3.shtml">本省新闻</a></div>')

    def footer(self):
        pc, mobile = self.footer_lines[:4], self.footer_lines[4:]

        def block(lines, cls):
            out = ['<div class="%s">' % cls]
            for line in lines:
                if "網(wǎng)站地圖" in line and "|" in line:
                    parts = line.split("|")
                    hrefs = ["/hainan/flsm/", self.sitemap_path, "/hainan/lxwm/", "/hainan/ipv6/", "/hainan/wza/"]
                    out.append("<p>%s</p>" % "|".join('<a href="%s">%s</a>' % (h, esc(p)) for h, p in zip(hrefs, parts)))
                else:
                    out.append("<p>%s</p>" % esc(line))
            out.append("</div>")
            return "\n".join(out)

        return '<div class="footer">\n%s\n%s\n</div>' % (block(pc, "footer-pc"), block(mobile, "footer-m"))

    def render_list(self, items, page, paths):
        rows = "\n".join('<div class="list-right_title fon_1"><a href="%s" target="_blank" title="%s">%s</a>'
                         '<span class="list_time">%s</span></div>'
                         % (attr(self.list_href(a)), attr(a["title"]), esc(a["title"]), a["list_date"])
                         for a in items)
        names = [p.rsplit("/", 1)[1] for p in paths]
        pager = []
        if page > 0:
            pager.append('<a class="prev" href="%s">上一页</a>' % names[page - 1])
        pager.append('<span class="num">%d/%d</span>' % (page + 1, len(paths)))
        if page < len(paths) - 1:
            pager.append('<a class="next" href="%s">下一页</a>' % names[page + 1])
        return "\n".join([
            self.head("本省新闻_" + annotate("海南省人民政府網")), "<body>", self.header(), self.position(),
            '<div class="list-left"><ul><li><a href="/hainan/5309/list3.shtml">本省新闻</a></li>'
            '<li><a href="/hainan/tingju/list3.shtml">厅局动态</a></li><li><a href="/hainan/sxian/list3.shtml">市县动态</a></li>'
            '<li><a href="/hainan/mtkhn/list3.shtml">媒体看海南</a></li></ul></div>',
            '<div class="list-right"><div class="list-right_bt">本省新闻</div>', rows,
            '<div class="pager">%s</div>' % " ".join(pager), "</div>",
            self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        spans = ["<span>发布时间：%s</span>" % art["date"]]
        if art["source"]:
            spans.append('<span>来源：<span id="ly">%s</span></span>' % esc(art["source"]))
        if art["author"]:
            spans.append("<span>作者：%s</span>" % esc(art["author"]))
        sub = '<div class="subtitle">%s</div>' % esc(art["subtitle"]) if art.get("subtitle") else ""
        return "\n".join([
            self.head("%s_%s" % (art["title"], annotate("海南省人民政府網")), art), "<body>", self.header(),
            self.position(), '<div class="zx-xxxqy">',
            '<div class="title_cen"><ucaptitle>%s</ucaptitle></div>' % esc(art["title"]), sub,
            '<div class="xxgk_content_info">%s</div>' % " ".join(spans),
            '<div class="zx-xxxqy-tool">【字体：<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> '
            '<a href="javascript:doZoom(14)">小</a>】 <a href="javascript:window.print()">【打印本页】</a> '
            '<a href="javascript:window.close()">%s</a></div>' % self.widget,
            '<div id="zoom"><div id="font"><ucapcontent>', self.body_html(art), "</ucapcontent></div></div>",
            '<div class="share">分享到：<a href="javascript:void(0)">微信</a> <a href="javascript:void(0)">微博</a> '
            '<a href="javascript:void(0)">QQ空间</a></div>',
            '<div class="xgwz"><div class="xgwz-bt">相关文章</div><ul>',
            self.related_html(related), "</ul></div>", "</div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([
            self.head(annotate("海南省人民政府網")), "<body>", self.header(),
            '<div class="main"><h2><a href="/hainan/5309/list3.shtml">本省新闻</a></h2></div>',
            self.footer(), "</body>", "</html>", ""])

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([self.head("网站地图_" + annotate("海南省人民政府網")), "<body>", self.header(),
                          '<div class="wzdt"><ul>%s</ul></div>' % links, self.footer(), "</body>", "</html>", ""])


# ---------------------------------------------------------------- TRS (old table template): Shandong


class SdSthj(Site):
    name, host, title = "sd-sthj", "sthj.shandong.gov.cn", "山东省生态环境厅"
    widget = "【打印本页】"
    icp = "鲁ICP备05045486号-1"
    sitemap_path = "/wzdt/"
    nav = [("/", "首页"), ("/dtxx/", "动态信息"), ("/zwgk/", "政务公开"), ("/hjjc/", "环境监测"),
           ("/hdjl/", "互动交流"), ("/ztzl/", "专题专栏")]
    id_anchor = ("2025-03-04", 4621537, 613)

    def list_paths(self, n):
        return ["/dtxx/hbyw/index.html"] + ["/dtxx/hbyw/index_%d.html" % i for i in range(1, n)]

    def article_path(self, art, idx):
        a_dt, a_id, per_day = self.id_anchor
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        return "/dtxx/hbyw/%s/t%s_%d.html" % (art["dt"].strftime("%Y%m"), art["dt"].strftime("%Y%m%d"),
                                              a_id + round(days * per_day))

    def list_href(self, art):
        return "./" + art["urlpath"][len("/dtxx/hbyw/"):]

    def head(self, title):
        return "\n".join([
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
            '<html xmlns="http://www.w3.org/1999/xhtml">', "<head>", '<meta charset="utf-8">',
            "<title>%s</title>" % esc(title),
            '<link href="/images/sdhb.css" rel="stylesheet" type="text/css" />',
        ])

    def header(self):
        nav = "".join('<td><a href="%s">%s</a></td>' % (h, t) for h, t in self.nav)
        return ('<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="top">'
                '<tr><td><img src="/images/top_logo.png" alt="山东省生态环境厅" /></td></tr></table>\n'
                '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="nav"><tr>%s</tr></table>' % nav)

    def footer(self):
        return ('<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="foot"><tr><td>'
                '<a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a> | <a href="/flsm/">法律声明</a><br />'
                '版权所有：山东省生态环境厅 &nbsp; 主办：山东省生态环境厅 &nbsp; 地址：济南市历下区省府前街9号<br />'
                '<a href="https://beian.miit.gov.cn/" target="_blank">%s</a> &nbsp; 鲁公网安备 37010202000743号 &nbsp; '
                "政府网站标识码：3700000034</td></tr></table>" % self.icp)

    def crumb(self, prefix):
        return ('<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="dqwz"><tr><td>'
                '当前位置：<a href="%s">首页</a> &gt; <a href="%s">动态信息</a> &gt; <a href="%s">环保要闻</a></td></tr></table>'
                % (prefix + "../../", prefix + "../", prefix or "./"))

    def render_list(self, items, page, paths):
        rows = "\n".join('<tr><td class="list_title">·<a href="%s" target="_blank" title="%s">%s</a></td>'
                         '<td class="list_date">%s</td></tr>'
                         % (attr(self.list_href(a)), attr(a["title"]), esc(a["title"]), a["list_date"])
                         for a in items)
        return "\n".join([
            self.head("环保要闻-山东省生态环境厅"), TRS_PAGER_JS, "</head>", "<body>", self.header(), self.crumb(""),
            '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="main"><tr>',
            '<td width="220" valign="top" class="left_nav"><a href="../">动态信息</a><br /><a href="./">环保要闻</a><br />'
            '<a href="../sxdt/">市县动态</a><br /><a href="../tzgg/">通知公告</a></td>',
            '<td valign="top">', '<table width="100%" border="0" cellspacing="0" cellpadding="0" class="list">', rows, "</table>",
            '<div class="more-page"><script>createPageHTML(%d, %d, "index", "html");</script></div>' % (len(paths), page),
            "</td></tr></table>", self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        info = ["发布日期：%s" % art["date"]]
        if art["source"]:
            info.append("来源：%s" % esc(art["source"]))
        if art["author"]:
            info.append("作者：%s" % esc(art["author"]))
        rel = "\n".join('<tr><td>·<a href="%s" target="_blank">%s</a></td></tr>' % (attr(r["urlpath"]), esc(r["title"]))
                        for r in related)
        return "\n".join([
            self.head("%s-山东省生态环境厅" % art["title"]), "</head>", "<body>", self.header(), self.crumb("../"),
            '<table width="1000" border="0" align="center" cellpadding="0" cellspacing="0" class="zw_table">',
            '<tr><td class="zw_title"><h1>%s</h1></td></tr>' % esc(art["title"]),
            '<tr><td class="zw_info">%s</td></tr>' % "&nbsp;&nbsp;&nbsp;&nbsp;".join(info),
            '<tr><td class="zw_tool">【字体：<a href="javascript:doZoom(16)">大</a> <a href="javascript:doZoom(14)">中</a> '
            '<a href="javascript:doZoom(12)">小</a>】 <a href="javascript:window.print()">%s</a> '
            '<a href="javascript:window.close()">【关闭窗口】</a></td></tr>' % self.widget,
            '<tr><td class="zw_new">', '<div class="TRS_Editor">', self.body_html(art), "</div>", "</td></tr>",
            '<tr><td class="zw_xg"><table width="100%" border="0" cellspacing="0" cellpadding="0">'
            "<tr><td><strong>相关文章</strong></td></tr>", rel, "</table></td></tr>",
            "</table>", self.footer(), "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([self.head(self.title), "</head>", "<body>", self.header(),
                          '<table width="1000" align="center" class="main"><tr><td><a href="/dtxx/hbyw/">环保要闻</a></td></tr></table>',
                          self.footer(), "</body>", "</html>", ""])

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([self.head("网站地图-山东省生态环境厅"), "</head>", "<body>", self.header(),
                          "<ul>%s</ul>" % links, self.footer(), "</body>", "</html>", ""])


# ---------------------------------------------------------------- TRS: Guizhou ecology dept


class GzSthj(Site):
    name, host, title = "gz-sthj", "sthj.guizhou.gov.cn", "贵州省生态环境厅"
    site_code = "5200000050"
    widget = "扫一扫在手机打开当前页"
    icp = "黔ICP备12001245号-1"
    column = "生态动态"
    sitemap_path = "/wzdt/"
    nav = [("/", "首页"), ("/xwzx/", "新闻中心"), ("/zwgk/", "政务公开"), ("/zwfw/", "政务服务"),
           ("/hdjl/", "互动交流"), ("/ztzl/", "专题专栏")]
    id_anchor = ("2025-07-07 10:20", 86592314, 5800)

    def list_paths(self, n):
        return ["/xwzx/stdt/index.html"] + ["/xwzx/stdt/index_%d.html" % i for i in range(1, n)]

    def article_path(self, art, idx):
        a_dt, a_id, per_day = self.id_anchor
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        return "/xwzx/stdt/%s/t%s_%d.html" % (art["dt"].strftime("%Y%m"), art["dt"].strftime("%Y%m%d"),
                                              a_id + round(days * per_day))

    def list_href(self, art):
        return self.base + art["urlpath"]  # the real site writes absolute links

    def head(self, title, art=None):
        return "\n".join([
            "<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">',
            '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
            "<title>%s</title>" % esc(title), gov_meta(self, art, self.column),
            '<link rel="stylesheet" href="/images/gzsthj.css">',
        ])

    def header(self):
        nav = "".join('<li><a href="%s">%s</a></li>' % (self.base + h, t) for h, t in self.nav)
        return "\n".join([
            '<div class="Header"><div class="Logo"><a href="%s/"><img src="/images/logo.png" alt="贵州省生态环境厅"></a></div>' % self.base,
            '<div class="TopLink"><a href="/wzdt/">网站地图</a> | <a href="https://www.guizhou.gov.cn/" target="_blank">贵州省人民政府</a></div></div>',
            '<div class="Nav"><ul>%s</ul></div>' % nav,
        ])

    def footer(self):
        return "\n".join([
            '<div class="Footer">',
            '<p><a href="/wzdt/">网站地图</a> | <a href="/lxwm/">联系我们</a> | <a href="/flsm/">法律声明</a></p>',
            "<p>版权所有：贵州省生态环境厅 &nbsp; 主办：贵州省生态环境厅 &nbsp; 地址：贵州省贵阳市观山湖区林城东路</p>",
            '<p><a href="https://beian.miit.gov.cn/" target="_blank">%s</a> &nbsp; 贵公网安备 52011502000183号 &nbsp; '
            "政府网站标识码：%s</p>" % (self.icp, self.site_code),
            '<p><a href="https://bszs.conac.cn/" target="_blank"><img src="/images/red.png" alt="党政机关"></a></p>',
            "</div>",
        ])

    def position(self, prefix):
        return ('<div class="Position">当前位置：<a href="%s">首页</a> &gt; <a href="%s">新闻中心</a> &gt; '
                '<a href="%s">生态动态</a></div>' % (prefix + "../../", prefix + "../", prefix or "./"))

    def render_list(self, items, page, paths):
        lis = []
        for a in items:
            t = a["title"]
            shown = t if len(t) <= 34 else t[:33] + "..."
            lis.append('<li><a href="%s" target="_blank" title="%s">%s</a><span>%s</span></li>'
                       % (attr(self.list_href(a)), attr(t), esc(shown), a["list_date"]))
        return "\n".join([
            self.head("生态动态_" + self.title), TRS_PAGER_JS, "</head>", "<body>", self.header(), self.position(""),
            '<div class="LeftNav"><h3>新闻中心</h3><ul><li><a href="../tpxw/">图片新闻</a></li><li class="on"><a href="./">生态动态</a></li>'
            '<li><a href="../szdt/">市州动态</a></li><li><a href="../tzgg/">通知公告</a></li></ul></div>',
            '<div class="PageMainBox aBox">', "<ul>", "\n".join(lis), "</ul>",
            '<div class="more-page"><script>createPageHTML(%d, %d, "index", "html");</script></div>' % (len(paths), page),
            "</div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        spans = ["<span>发布时间：%s</span>" % art["date"]]
        if art["source"]:
            spans.append("<span>来源：%s</span>" % esc(art["source"]))
        if art["author"]:
            spans.append("<span>作者：%s</span>" % esc(art["author"]))
        return "\n".join([
            self.head("%s_%s" % (art["title"], self.title), art), "</head>", "<body>", self.header(), self.position("../"),
            '<div class="Article aBox">',
            '<div class="Article_Title"><h1>%s</h1></div>' % esc(art["title"]),
            '<div class="ArticleProperties"><div class="f_l">%s</div>' % "".join(spans),
            '<div class="f_r">字号：<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> '
            '<a href="javascript:doZoom(14)">小</a> <a href="javascript:window.print()">【打印本页】</a> '
            '<a href="javascript:window.close()">【关闭窗口】</a></div></div>',
            '<div class="Article_Con aBox">', '<div class="TRS_UEDITOR trs_paper_default trs_web">',
            self.body_html(art), "</div>", "</div>",
            '<div class="Share">分享到：<a href="javascript:void(0)">微信</a> <a href="javascript:void(0)">微博</a> '
            '<a href="javascript:void(0)">QQ空间</a></div>',
            '<div class="Related"><div class="Related_Title">相关文章</div><ul>',
            self.related_html([dict(r, urlpath=self.base + r["urlpath"]) for r in related]), "</ul></div>",
            '<div class="Ewm"><img src="/images/ewm.png" alt=""><p>%s</p></div>' % self.widget,
            "</div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([self.head(self.title), "</head>", "<body>", self.header(),
                          '<div class="Main"><h2><a href="%s/xwzx/stdt/">生态动态</a></h2></div>' % self.base,
                          self.footer(), "</body>", "</html>", ""])

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (self.base + h, t) for h, t in self.nav)
        return "\n".join([self.head("网站地图_" + self.title), "</head>", "<body>", self.header(),
                          '<div class="Wzdt"><ul>%s</ul></div>' % links, self.footer(), "</body>", "</html>", ""])


# ---------------------------------------------------------------- Hanweb JCMS: Zhejiang ecology dept


class ZjSthjt(Site):
    """大汉 Hanweb JCMS: the column page carries its first records in a ``<script type="text/xml">``
    datastore; the rest come from ``/module/web/jpage/dataproxy.jsp`` (POST, by record range),
    served dynamically by mirror/server.py from ``_dataproxy.json``. Also an XML sitemap."""

    name, host, title = "zj-sthjt", "sthjt.zj.gov.cn", "浙江省生态环境厅"
    site_code = "3300000022"
    widget = "扫一扫在手机上查看当前页面"
    icp = "浙ICP备12037966号-1"
    column = "厅局动态"
    sitemap_path = "/col/col1229263568/index.html"
    relative_resources = False
    columnid, unitid, webid = "1229263559", "4567185", "1837"
    dataproxy = "/module/web/jpage/dataproxy.jsp"
    nav = [("/", "首页"), ("/col/col1229263552/index.html", "新闻发布"), ("/col/col1229263559/index.html", "厅局动态"),
           ("/col/col1229116554/index.html", "信息公开"), ("/col/col1229116580/index.html", "政务服务"),
           ("/col/col1229116597/index.html", "互动交流")]
    id_anchor = ("2025-07-28 16:20", 59134721, 611)

    def list_paths(self, n):
        return ["/col/col%s/index.html" % self.columnid]

    def list_urls(self, n_pages):
        """The column page, then one dataproxy request per further page, as the crawler asks."""
        out = [self.base + self.list_paths(1)[0]]
        total = len(self.articles)
        for start in range(PAGE_SIZE + 1, total + 1, PAGE_SIZE):
            end = min(total, start + PAGE_SIZE - 1)
            out.append(self.base + self.dataproxy + "?" + urllib.parse.urlencode([
                ("startrecord", str(start)), ("endrecord", str(end)), ("perpage", str(PAGE_SIZE)),
                ("columnid", self.columnid), ("unitid", self.unitid), ("webid", self.webid),
                ("path", "/"), ("webname", self.title), ("permissiontype", "0")]))
        return out

    def article_path(self, art, idx):
        a_dt, a_id, per_day = self.id_anchor
        days = (art["dt"] - parse_date(a_dt)).total_seconds() / 86400
        d = art["dt"]
        return "/art/%d/%d/%d/art_%s_%d.html" % (d.year, d.month, d.day, self.columnid, a_id + round(days * per_day))

    def img_src(self, art, n):
        return "/picture/0/%s%s.png" % (art["dt"].strftime("%Y%m%d%H%M"), digits(art["urlpath"] + str(n), 6))

    def attach_href(self, art, kind):
        return "/module/download/downfile/%s.%s" % (digits(art["urlpath"] + kind, 16), kind)

    def head(self, title, art=None):
        extra = ""
        if art is not None:
            aid = art["urlpath"].rsplit("_", 1)[1].split(".")[0]
            extra = ('\n<meta name="i_columnid" content="%s">\n<meta name="i_articleid" content="%s">'
                     '\n<meta name="Maketime" content="%s">' % (self.columnid, aid, art["date"]))
        return "\n".join([
            "<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">',
            '<meta http-equiv="X-UA-Compatible" content="IE=edge">',
            "<title>%s</title>" % esc(title), gov_meta(self, art, self.column) + extra,
            '<link rel="stylesheet" href="/script/0/css/common.css">',
            '<script src="/script/jquery.min.js"></script>', "</head>",
        ])

    def header(self):
        nav = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([
            '<div class="header"><div class="logo"><a href="/"><img src="/picture/0/logo.png" alt="浙江省生态环境厅"></a></div>',
            '<div class="top-link"><a href="%s">网站地图</a> | <a href="https://www.zj.gov.cn/" target="_blank">浙江省人民政府</a></div></div>'
            % self.sitemap_path,
            '<div class="nav"><ul>%s</ul></div>' % nav,
        ])

    def footer(self):
        return "\n".join([
            '<div class="footer">',
            '<p><a href="%s">网站地图</a> | <a href="/col/col1229116600/index.html">联系我们</a> | '
            '<a href="/col/col1229116601/index.html">隐私声明</a></p>' % self.sitemap_path,
            "<p>主办：浙江省生态环境厅 &nbsp; 地址：杭州市学士路117号</p>",
            '<p><a href="https://beian.miit.gov.cn/" target="_blank">%s</a> &nbsp; 浙公网安备 33010602010219号 &nbsp; '
            "政府网站标识码：%s</p>" % (self.icp, self.site_code),
            "</div>",
        ])

    def position(self):
        return ('<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/col/col1229263552/index.html">新闻发布</a> '
                '&gt; <a href="/col/col%s/index.html">%s</a></div>' % (self.columnid, self.column))

    def record(self, art):
        return ('<li><a href="%s" target="_blank" title="%s">%s</a><span class="bt-data-time">%s</span></li>'
                % (attr(art["urlpath"]), attr(art["title"]), esc(art["title"]), art["list_date"]))

    def render_list(self, items, page, paths):
        nextgroup = ('<a href="%s?page=1&webid=%s&path=/&columnid=%s&unitid=%s&webname=%s&permissiontype=0"></a>'
                     % (self.dataproxy, self.webid, self.columnid, self.unitid, self.title))
        records = "\n".join("<record><![CDATA[\n%s\n]]></record>" % self.record(a) for a in items)
        return "\n".join([
            self.head("%s_%s" % (self.column, self.title)), "<body>", self.header(), self.position(),
            '<div class="main"><div class="left-nav"><h3>新闻发布</h3><ul>'
            '<li><a href="/col/col1229263552/index.html">要闻动态</a></li><li class="on"><a href="./index.html">%s</a></li>'
            '<li><a href="/col/col1229263560/index.html">市县动态</a></li></ul></div>' % self.column,
            '<div class="bt-list"><div class="bt-list-title">%s</div>' % self.column,
            '<div id="%s"><script type="text/xml"><datastore>' % self.unitid,
            "<nextgroup><![CDATA[%s]]></nextgroup>" % nextgroup,
            "<recordset>", records, "</recordset>", "</datastore></script>",
            '<script language="javascript" src="/module/web/jpage/jpage.js"></script>',
            "<script>$(function(){ $('#%s').jpage({ dataStore: dataStore, perPage: %d, totalRecord: %d, "
            "proxyUrl: '%s', groupSize: 3, barPosition: 'bottom' }); });</script>"
            % (self.unitid, PAGE_SIZE, len(self.articles), self.dataproxy),
            "</div></div></div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_article(self, art, related):
        spans = ["<span>发布日期：%s</span>" % art["date"]]
        if art["source"]:
            spans.append("<span>信息来源：<!--<$[信息来源]>begin-->%s<!--<$[信息来源]>end--></span>" % esc(art["source"]))
        if art["author"]:
            spans.append("<span>作者：%s</span>" % esc(art["author"]))
        spans.append('<span>浏览次数：<script src="/module/visitcount/articlehits.jsp?colid=%s"></script></span>'
                     % self.columnid)
        return "\n".join([
            self.head("%s_%s" % (art["title"], self.title), art), "<body>", self.header(), self.position(),
            '<div class="main"><div class="article">',
            '<div class="title"><h1>%s</h1></div>' % esc(art["title"]),
            '<div class="info">%s</div>' % " ".join(spans),
            '<div id="zoom"><!--ZJEG_RSS.content.begin--><meta name="ContentStart">',
            self.body_html(art),
            '<meta name="ContentEnd"><!--ZJEG_RSS.content.end--></div>',
            '<div class="tools">【字体：<a href="javascript:doZoom(18)">大</a> <a href="javascript:doZoom(16)">中</a> '
            '<a href="javascript:doZoom(14)">小</a>】 <a href="javascript:window.print()">【打印】</a> '
            '<a href="javascript:window.close()">【关闭】</a></div>',
            '<div class="ewm"><img src="/picture/0/ewm.png" alt=""><p>%s</p></div>' % self.widget,
            '<div class="related"><div class="related-title">相关文章</div><ul>',
            self.related_html(related), "</ul></div>", "</div></div>", self.footer(), "</body>", "</html>", "",
        ])

    def render_home(self):
        return "\n".join([self.head(self.title), "<body>", self.header(),
                          '<div class="main"><h2><a href="/col/col%s/index.html">%s</a></h2></div>' % (self.columnid, self.column),
                          self.footer(), "</body>", "</html>", ""])

    def render_sitemap(self):
        links = "".join('<li><a href="%s">%s</a></li>' % (h, t) for h, t in self.nav)
        return "\n".join([self.head("网站地图_" + self.title), "<body>", self.header(),
                          '<div class="wzdt"><ul>%s</ul></div>' % links, self.footer(), "</body>", "</html>", ""])

    def extra_files(self):
        """The dataproxy records (for the server), and the XML sitemap."""
        proxy = {"columns": {self.columnid: {
            "unitid": self.unitid, "webid": self.webid, "webname": self.title,
            "records": [self.record(a) for a in self.articles]}}}
        urls = "\n".join("<url><loc>%s</loc><lastmod>%s</lastmod><changefreq>daily</changefreq></url>"
                         % (attr(self.base + a["urlpath"]), a["list_date"]) for a in self.articles)
        sitemap = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                   '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
                   '<url><loc>%s/</loc><changefreq>daily</changefreq></url>\n%s\n</urlset>\n' % (self.base, urls))
        return {"/_dataproxy.json": json.dumps(proxy, ensure_ascii=False, indent=1) + "\n",
                "/sitemap.xml": sitemap}


SITE_CLASSES = [Gxzf, GxSthjt, Tanpaifang, Gzwhw, Hainan, SdSthj, GzSthj, ZjSthjt]  # registry order


# ----------------------------------------------------------------------------------------------
# Assembling articles


def make_articles(site: Site, rng: random.Random, pools: dict) -> list[dict]:
    trad = site.script == "traditional"
    pool = pools[(site.script, site.encoding)]
    arts = []
    for idx, spec in enumerate(content.ARTICLES[site.name]):
        art = dict(date=spec["date"], dt=parse_date(spec["date"]), seed=None, syndicated_from=None,
                   subtitle=None)
        if "seed" in spec:
            s = SEEDS[spec["seed"]]
            assert s["date"] == spec["date"], (spec, s["date"])
            art.update(title=s["title"], source=s["source"], author=s["author"], body=list(s["body"]),
                       seed=spec["seed"], subtitle=s.get("subtitle"), byline_author=s.get("byline_author"))
        elif "syndicate" in spec:
            s = SEEDS[spec["syndicate"]]
            art.update(title=s["title"], source=spec["source"], author=spec["author"],
                       body=list(s["body"]), syndicate_seed=spec["syndicate"])
        else:
            f = annotate if trad else (lambda x: x)
            art.update(title=f(spec["title"]), source=f(spec["source"]), author=f(spec["author"]),
                       lead=f(spec["lead"]))
            k = rng.randint(2, 6)
            picks = sorted(rng.sample(range(len(pool)), k))
            body = [("p", art["lead"])]
            if spec.get("img"):
                body.append(("img", f(spec["img"])))
            body += [("p", pool[i]) for i in picks]
            if spec.get("attach"):
                kind, label = spec["attach"]
                body.append(("attach", (kind, f(label))))
            art["body"] = body
        art.setdefault("lead", next(t for k_, t in art["body"] if k_ == "p"))
        art["list_date"] = art["dt"].strftime("%Y-%m-%d")
        art["urlpath"] = site.article_path(art, idx)
        arts.append(art)
    # newest first, distinct dates
    assert [a["dt"] for a in arts] == sorted((a["dt"] for a in arts), reverse=True), site.name
    assert len({a["dt"] for a in arts}) == len(arts)
    assert len({a["urlpath"] for a in arts}) == len(arts)
    return arts


CUT_PINYIN = re.compile(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*$|^[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]*\)")
FRAG_BAD = re.compile(r"[\s\xa0\u2002\u3000&<>\"'?\ue000-\uf8ff]")


def fragment_ok(w: str) -> bool:
    # no spaces or markup-sensitive characters, no capture damage, no half "字(pīnyīn)" group
    return not (FRAG_BAD.search(w) or w[0] == "(" or CUT_PINYIN.search(w))


def pick_fragment(paragraph: str, page_text: str, where: str) -> str | None:
    """A 10-30 character window of ``paragraph`` occurring exactly once in ``page_text``.

    Windows are tried nearest first to the anchor: the paragraph's start ("start"), its end
    ("end") or its centre ("middle"), preferring about 20 characters. None if there is none.
    """
    L = len(paragraph)
    cands = []
    for n in range(10, 31):
        for s in range(0, L - n + 1):
            if where == "start":
                dist = s
            elif where == "end":
                dist = L - (s + n)
            else:
                dist = abs((s + n / 2) - L / 2)
            cands.append((dist, abs(n - 20), s, n))
    cands.sort()
    for _, _, s, n in cands:
        w = paragraph[s:s + n]
        if fragment_ok(w) and page_text.count(w) == 1:
            return w
    return None


def body_fragments(paras: list[str], page_text: str) -> list[str]:
    """[start, middle, end] fragments of the body: from the first paragraph, the middle one
    and the last one (moving inwards when a paragraph has no usable window)."""
    mid = len(paras) // 2
    plans = [("start", list(range(len(paras)))),
             ("middle", sorted(range(len(paras)), key=lambda i: (abs(i - mid), i))),
             ("end", list(range(len(paras) - 1, -1, -1)))]
    out = []
    for where, order in plans:
        frag = None
        for i in order:
            frag = pick_fragment(paras[i], page_text, where)
            if frag and frag not in out and not any(frag in o or o in frag for o in out):
                break
            frag = None
        assert frag, (where, paras[0][:30])
        out.append(frag)
    return out


def related_for(arts: list[dict], i: int) -> list[dict]:
    n = len(arts)
    order = [i - 1, i + 1, i - 2, i + 2, i + 3, i - 3]
    out = []
    for j in order:
        if 0 <= j < n and len(out) < 4:
            out.append(arts[j])
    return out


def build(out_dir: Path) -> dict:
    rng = random.Random(FIXED_SEED)
    simp = ["000_e58f327ba19703f5.txt", "001_fef36e7e279e47c9.txt", "003_288f4a3a0b947890.txt"]
    trad = ["002_896becad4a328636.txt", "004_26e0f8e24013ae1d.txt"]
    pools = {("simplified", "utf-8"): paragraph_pool(simp), ("simplified", "gbk"): paragraph_pool(simp, "gbk"),
             ("traditional", "utf-8"): paragraph_pool(trad)}

    sites = [cls() for cls in SITE_CLASSES]
    for site in sites:
        site.articles = make_articles(site, rng, pools)

    by_seed = {a["seed"]: (s, a) for s in sites for a in s.articles if a["seed"]}
    for site in sites:
        for a in site.articles:
            if a.get("syndicate_seed"):
                src_site, src = by_seed[a["syndicate_seed"]]
                a["syndicated_from"] = src_site.base + src["urlpath"]

    sites_dir = out_dir / "sites"
    _clear_build(sites_dir, {site.host for site in sites})
    files: dict[str, bytes] = {}
    manifest, lists = [], {}
    bodies = {}

    for site in sites:
        def put(path: str, text: str | bytes, site=site):
            rel = site.host + path
            data = text if isinstance(text, bytes) else text.encode(site.encoding, errors="strict")
            assert rel not in files, rel
            files[rel] = data

        def file_for(urlpath: str) -> str:
            return urlpath + site.index_name if urlpath.endswith("/") else urlpath

        arts = site.articles
        n_pages = -(-len(arts) // PAGE_SIZE)
        paths = site.list_paths(n_pages)
        lists[site.name] = site.list_urls(n_pages)
        for page, path in enumerate(paths):
            put(file_for(path), site.render_list(arts[page * PAGE_SIZE:(page + 1) * PAGE_SIZE], page, paths))

        for i, art in enumerate(arts):
            related = [] if (art["seed"] == "003_288f4a3a0b947890.txt") else related_for(arts, i)
            page_html = site.render_article(art, related)
            put(art["urlpath"], page_html)
            for fpath, data in art.get("files", []):
                put(fpath, data)
            paras = [t for k, t in art["body"] if k == "p"]
            key = tuple(art["body"])
            if key in bodies and not art["syndicated_from"]:
                raise AssertionError("duplicate body: %s / %s" % (bodies[key], art["urlpath"]))
            bodies.setdefault(key, art["urlpath"])
            # fragments: start (first paragraph), middle, end (last paragraph)
            must_include = body_fragments(paras, page_html)
            rel_title = related[0]["title"] if related else "无相关信息"
            must_exclude = [site.widget, site.icp, rel_title]
            for frag in must_exclude:
                assert frag in page_html, (site.name, frag)
                assert all(frag not in t for k, t in art["body"] if isinstance(t, str)), frag
            manifest.append({
                "source": site.name,
                "url": site.base + art["urlpath"],
                "path": site.host + art["urlpath"],
                "title": art["title"],
                "published_at": art["date"],
                "original_source": art["source"],
                "author": art["author"] or art.get("byline_author"),
                "seed": art["seed"],
                "syndicated_from": art["syndicated_from"],
                "list_date": art["list_date"],
                "must_include": must_include,
                "must_exclude": must_exclude,
            })

        for path, data in site.extra_files().items():
            put(path, data)
        put(file_for(site.home_path), site.render_home())
        put(file_for(site.sitemap_path), site.render_sitemap())
        put("/robots.txt", "User-agent: *\nDisallow:\n")
        files[site.host + "/_site.json"] = (json.dumps(
            {"encoding": site.encoding, "content_type_charset": site.ct_charset}, indent=1) + "\n").encode("ascii")

    for rel in sorted(files):
        p = sites_dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[rel])
    (out_dir / "expected.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out_dir / "expected_lists.json").write_text(
        json.dumps(lists, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    fault_files = build_faults(out_dir)
    return dict(files=len(files), bytes=sum(len(v) for v in files.values()), articles=len(manifest),
                fault_files=fault_files)


# ----------------------------------------------------------------------------------------------
# The fault host: what a crawler meets on fragile or defended sites. Served only when a test
# asks (serve(faults=True)); no registry source of the demo points at it.

FAULT_HOST = "faults.newsflow.test"
RUISHU_BODY = """<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<meta r="m"><meta content="{qHmt6ZGZ8.._pzQXWbqSyfpa0xDdyoGh" r="m">
<script type="text/javascript" r="m">$_ts=window['$_ts'];if(!$_ts)$_ts={};$_ts.nsd=25133;$_ts.cd="qnxArraEkGhEpPcHGp";</script>
<script type="text/javascript" charset="utf-8" src="/4QbVtADbnLVIc/c.FxJzG50F.0d7d3cb.js" r="m"></script>
</head><body></body></html>
"""
JSL_BODY = """<html><body><script>document.cookie=('_')+('_')+('j')+('s')+('l')+('_')+('c')+('l')+('e')+('a')+('r')+('a')+('n')+('c')+('e')+('=')+(+new Date()/1000|0)+'.123|0|abc';location.href=location.pathname+location.search</script></body></html>
"""
ACW_BODY = """<html><script>
var arg1='3B5F2E7D0C9A1F4E6B8D2C0A7E9F1B3D5C7A9E0B';
function setCookie(name,value){var expiredate=new Date();expiredate.setTime(expiredate.getTime()+3600000);document.cookie=name+"="+value+";expires="+expiredate.toGMTString()+";max-age=3600;path=/";}
function reload(x){setCookie("acw_sc__v2",x);document.location.reload();}
</script></html>
"""
LOGIN_BODY = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>用户登录</title></head><body>
<form action="/login.do" method="post"><p>用户名：<input type="text" name="username"></p>
<p>密码：<input type="password" name="password"></p><p><input type="submit" value="登录"></p></form>
</body></html>
"""
SOFT404_BODY = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>提示信息</title></head><body>
<div class="error"><h2>抱歉，您访问的页面不存在或已被删除！</h2><p><a href="/">返回首页</a></p></div>
</body></html>
"""
JSONLY_BODY = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>通知公告</title>
<script src="/js/jquery.min.js"></script></head><body>
<div class="nav"><a href="/">首页</a> <a href="/news/index.html">新闻</a></div>
<ul class="list" id="list"></ul><div id="pager"></div>
<script>
$.ajax({url: "/api/list?channel=12&page=1", dataType: "json", success: function (d) {
  $.each(d.rows, function (i, r) { $("#list").append("<li><a href='" + r.url + "'>" + r.title + "</a><span>" + r.date + "</span></li>"); });
}});
</script>
</body></html>
"""


def fault_page(title: str, date: str, paras: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">', "<title>%s_故障测试站</title>" % esc(title),
        "</head>", "<body>", '<div class="nav"><a href="/">首页</a> <a href="/news/index.html">新闻</a></div>',
        "<h1>%s</h1>" % esc(title), '<div class="info">发布时间：%s 来源：故障测试站</div>' % date,
        '<div class="content">', "\n".join("<p>%s</p>" % esc(p) for p in paras), "</div>", "</body>", "</html>", ""])


def fault_list(items: list[tuple[str, str, str]], next_href: str | None) -> str:
    lis = "\n".join('<li><a href="%s" title="%s">%s</a><span>%s</span></li>' % (attr(h), attr(t), esc(t), d)
                    for h, t, d in items)
    pager = '<div class="pages"><a class="next" href="%s">下一页</a></div>' % next_href if next_href else ""
    return "\n".join(["<!DOCTYPE html>", "<html>", "<head>", '<meta charset="utf-8">', "<title>新闻_故障测试站</title>",
                      "</head>", "<body>", '<div class="nav"><a href="/">首页</a></div>', '<ul class="list">', lis,
                      "</ul>", pager, "</body>", "</html>", ""])


FAULT_ARTICLES = [  # (path, title, list date, behaviour or None)
    ("/news/a01.html", "正常的新闻稿件", "2025-07-20", None),
    ("/news/a02.html", "瑞数挑战页面412", "2025-07-19", {"status": 412, "file": "_ruishu.html",
                                                   "headers": [["Set-Cookie", "FSSBBIl1UgzbN7N80S=a1b2c3; Path=/; HttpOnly"]]}),
    ("/news/a03.html", "瑞数挑战页面202", "2025-07-18", {"status": 202, "file": "_ruishu.html"}),
    ("/news/a04.html", "加速乐挑战页面", "2025-07-17", {"status": 521, "file": "_jsl.html",
                                                 "headers": [["Set-Cookie", "__jsluid_h=0a1b2c3d4e5f; path=/; HttpOnly"]]}),
    ("/news/a05.html", "阿里云盾挑战页面", "2025-07-16", {"status": 200, "file": "_acw.html"}),
    ("/news/a06.html", "需要登录的页面", "2025-07-15", {"redirect": "/login.html?ReturnUrl=/news/a06.html"}),
    ("/news/a07.html", "跳转到错误页", "2025-07-14", {"redirect": "/404.html"}),
    ("/news/a08.html", "软404页面", "2025-07-13", {"status": 200, "file": "_soft404.html"}),
    ("/news/a09.html", "其实是PDF文件", "2025-07-12", {"status": 200, "file": "_doc.pdf", "content_type": "application/pdf"}),
    ("/news/a10.html", "前两次失败的页面", "2025-07-11", {"fail": 2, "fail_status": 503}),
    ("/news/a11.html", "限流后成功的页面", "2025-07-10", {"fail": 1, "fail_status": 429, "retry_after": 1}),
    ("/news/a12.html", "超时的慢页面", "2025-07-09", {"delay": 3.0}),
    ("/news/a13.html", "多次跳转的页面", "2025-07-08", {"redirect": "/r/1.html"}),
    ("/news/a14.html", "跳到外站的页面", "2025-07-07", {"redirect": "http://offsite.newsflow.test/landing.html"}),
    ("/news/a15.html", "二十兆的页面", "2025-07-06", {"big": 20 * 1024 * 1024}),
    ("/private/a16.html", "robots禁止的页面", "2025-07-05", None),
    ("/news/a17.html", "慢但不超时的页面", "2025-07-04", {"delay": 0.3}),
    ("/news/a18.html", "需要认证的页面", "2025-07-03", {"status": 401, "file": "_login.html"}),
    ("/news/a21.html", "没有长度的二十兆页面", "2025-07-02", {"big": 20 * 1024 * 1024, "content_length": False}),
]


def build_faults(out_dir: Path) -> int:
    """Write <out_dir>/faults/faults.newsflow.test/ (deterministic); returns the file count."""
    root = out_dir / "faults"
    _clear_build(root, {FAULT_HOST})
    files: dict[str, str | bytes] = {}
    specs: dict[str, dict] = {}
    body = ["这是故障测试站的正文段落，用来确认正常页面仍被完整抓取、归档并抽取成文章，而不会因为同一列表里的故障页面受到影响。",
            "第二段正文：抓取器必须把挑战页、登录墙、软404和非网页内容与真实文章区分开来，并在每次抓取的报告中写明原因。",
            "第三段正文：失败两次后成功的页面、被限流后成功的页面和多次跳转后的页面，最终都应当作为正常文章入库。"]
    items = []
    for path, title, date, spec in FAULT_ARTICLES:
        items.append((path, title, date))
        if spec is None or "fail" in spec or spec.get("delay"):
            files[path] = fault_page(title, date + " 09:00", body)
        if spec is not None:
            specs[path] = spec
    files["/news/a13-final.html"] = fault_page("多次跳转后的页面", "2025-07-08 09:00", body)
    specs["/r/1.html"] = {"redirect": "/r/2.html"}
    specs["/r/2.html"] = {"redirect": "/news/a13-final.html"}
    files["/news/index.html"] = fault_list(items, "index_1.html")     # /private/a16.html too (robots)
    files["/news/index_1.html"] = fault_list([("/news/a19.html", "第二页的正常稿件", "2025-06-30")], None)
    files["/news/a19.html"] = fault_page("第二页的正常稿件", "2025-06-30 09:00", body)
    files["/private/index.html"] = fault_list([("/private/a16.html", "robots禁止的页面", "2025-07-05"),
                                               ("/private/a20.html", "另一篇robots禁止的页面", "2025-07-01")], None)
    files["/private/a20.html"] = fault_page("另一篇robots禁止的页面", "2025-07-01 09:00", body)
    files["/blocked/index.html"] = fault_list([("/news/a01.html", "正常的新闻稿件", "2025-07-20")], None)
    specs["/blocked/index.html"] = {"status": 412, "file": "_ruishu.html"}
    files["/jsonly/index.html"] = JSONLY_BODY
    files["/login.html"] = LOGIN_BODY
    files["/404.html"] = SOFT404_BODY
    files["/_ruishu.html"] = RUISHU_BODY
    files["/_jsl.html"] = JSL_BODY
    files["/_acw.html"] = ACW_BODY
    files["/_soft404.html"] = SOFT404_BODY
    files["/_login.html"] = LOGIN_BODY
    files["/_doc.pdf"] = attachment_bytes("pdf", "not an article")
    files["/index.html"] = fault_list([("/news/index.html", "新闻", "2025-07-20")], None)
    files["/robots.txt"] = "User-agent: *\nDisallow: /private/\n"
    files["/_faults.json"] = json.dumps(specs, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    files["/_site.json"] = json.dumps({"encoding": "utf-8", "content_type_charset": True}, indent=1) + "\n"
    for rel, data in sorted(files.items()):
        p = root / FAULT_HOST / rel.lstrip("/")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return len(files)


# ----------------------------------------------------------------------------------------------
# A large generated mirror for benchmarks and long-crawl tests (never committed): one TRS site
# (the gxzf templates) with N articles, PER_PAGE to a list page. Same host and URL shapes as the
# registry's gxzf entry, so the real registry crawls it (with --max-pages raised).


def build_large(out_dir: Path, n_articles: int, per_page: int = 20, seed: int = FIXED_SEED) -> dict:
    """Write <out_dir>/sites/www.gxzf.gov.cn/ with n_articles articles; returns counts."""
    rng = random.Random(seed)
    pool = paragraph_pool(["000_e58f327ba19703f5.txt", "001_fef36e7e279e47c9.txt", "003_288f4a3a0b947890.txt"])
    site = Gxzf()
    start = dt.datetime(2025, 7, 1, 9, 0)
    arts = []
    for i in range(n_articles):
        when = start - dt.timedelta(hours=3 * i, minutes=rng.randint(0, 59))
        title = "广西生态环境动态第%d期：%s" % (n_articles - i, pool[rng.randrange(len(pool))][:18])
        lead = "%s，%s" % (when.strftime("%m月%d日"), pool[rng.randrange(len(pool))])
        body = [("p", lead)] + [("p", pool[j]) for j in sorted(rng.sample(range(len(pool)), rng.randint(2, 5)))]
        art = dict(date=when.strftime("%Y-%m-%d %H:%M"), dt=when, title=title, source="广西日报",
                   author=None if i % 3 else "记者%d" % (i % 97), lead=lead, body=body, seed=None,
                   syndicated_from=None, subtitle=None, list_date=when.strftime("%Y-%m-%d"))
        art["urlpath"] = site.article_path(art, i)
        arts.append(art)
    assert len({a["urlpath"] for a in arts}) == len(arts)
    site.articles = arts
    root = out_dir / "sites" / site.host
    _clear_build(out_dir / "sites", {site.host})
    n_pages = -(-len(arts) // per_page)
    paths = site.list_paths(n_pages)

    def put(path, text):
        f = root / (path + site.index_name if path.endswith("/") else path).lstrip("/")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(text.encode("utf-8"))

    total = 0
    for page, path in enumerate(paths):
        put(path, site.render_list(arts[page * per_page:(page + 1) * per_page], page, paths))
    for i, art in enumerate(arts):
        html_ = site.render_article(art, related_for(arts, i))
        total += len(html_.encode("utf-8"))
        put(art["urlpath"], html_)
    put(site.home_path, site.render_home())
    put("/robots.txt", "User-agent: *\nDisallow:\n")
    (root / "_site.json").write_text(json.dumps({"encoding": "utf-8", "content_type_charset": True}) + "\n")
    return {"articles": len(arts), "list_pages": len(paths), "article_bytes": total,
            "urls": [site.base + a["urlpath"] for a in arts], "lists": [site.base + p for p in paths]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=PKG_DIR,
                    help="directory receiving sites/, expected.json, expected_lists.json (default: the package)")
    ap.add_argument("--large", type=int, metavar="N",
                    help="instead: a large generated gxzf-like site of N articles under OUT/sites (benchmarks)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.large:
        if args.out.resolve() == PKG_DIR:
            ap.error("--large needs --out DIR (the committed mirror stays as it is)")
        try:
            info = build_large(args.out, args.large)
        except NotOurs as exc:
            ap.exit(1, f"error: {exc}\n")
        print("wrote %(articles)d articles, %(list_pages)d list pages" % info, "->", args.out)
        return 0
    try:
        stats = build(args.out)
    except NotOurs as exc:
        ap.exit(1, f"error: {exc}\n")
    print("wrote %(files)d files, %(bytes)d bytes, %(articles)d articles, %(fault_files)d fault-host files"
          % stats, "->", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
