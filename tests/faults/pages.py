"""Bad pages, generated: each with what the pipeline must make of it (an article, or a rejection
with a reason). Used by the unit checks (flows.process.to_record on a RawPage) and served over
HTTP by tests/faults/netserver.py for the end-to-end run.

`expect` is ("article", checks) or ("rejected", reason, detail substring): what the warehouse
must hold for the page after crawl + process (a crawler-level block becomes reason "blocked"
with the block reason as detail).
"""
from __future__ import annotations

import random
import zlib

LEAD = "广西壮族自治区生态环境厅今日召开新闻发布会，介绍全区生态环境保护工作进展情况。"
PARAS = [
    LEAD + "会议指出，今年以来全区空气质量优良天数比例持续提高，重点流域水质稳定向好。",
    "发布会上，有关负责人表示，将继续深入打好蓝天、碧水、净土保卫战，推动绿色低碳发展，"
    "加快构建现代环境治理体系，不断满足人民群众日益增长的优美生态环境需要。",
    "据介绍，全区将加强与东盟国家在生态环境领域的交流合作，共同推进区域绿色发展，"
    "在红树林保护、海洋垃圾治理和应对气候变化等方面开展务实合作。",
]


def article(title: str = "广西召开生态环境保护新闻发布会", *, meta: str = "", paras=PARAS,
            body_tag: bool = True, extra: str = "", head_extra: str = "", inside: str = "") -> str:
    """A plain government article page (no CMS preset needed); `inside` goes at the end of
    the body container, `extra` after it."""
    ps = "".join(f"<p>{p}</p>" for p in paras) + inside
    inner = (f"<div class='crumb'>当前位置：首页 &gt; 要闻</div><h1>{title}</h1>"
             f"<div class='info'>发布时间：2025-07-01 09:30 来源：广西日报</div>"
             f"<div class='article-content'>{ps}</div>{extra}"
             "<div class='footer'>版权所有：广西壮族自治区人民政府办公厅 桂ICP备05000028号-1</div>")
    head = f"<head>{meta}<title>{title}_广西壮族自治区人民政府门户网站</title>{head_extra}</head>"
    return f"<!DOCTYPE html><html>{head}" + (f"<body>{inner}</body>" if body_tag else inner) + "</html>"


def chrome(middle: str) -> str:
    """The site's full chrome (navigation, column links, footer) around `middle`: over 6 kB,
    so the crawler's small-page soft-404 check does not apply."""
    nav = "".join(f"<li><a href='/col{i}/'>栏目名称{i}</a></li>" for i in range(120))
    cols = "".join(f"<a href='/zt{i}/'>专题专栏{i}</a>" for i in range(80))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>广西壮族自治区人民政府门户网站</title></head>"
            f"<body><ul class='menu'>{nav}</ul><div>{cols}</div>{middle}"
            "<div>版权所有：广西壮族自治区人民政府办公厅 桂ICP备05000028号-1</div></body></html>")


def nested(depth: int, inside: str) -> str:
    return "<table><tr><td>" * depth + inside + "</td></tr></table>" * depth


HTML = "text/html"
UTF8 = "text/html; charset=utf-8"
GOOD = article()
TITLE = "广西召开生态环境保护新闻发布会"


def _pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def bad_pages() -> dict[str, dict]:
    """name -> {"body", "ctype", "expect", "what"}; bodies are bytes as served."""
    rng = random.Random(20250715)
    gbk_page = article(meta="").encode("gbk")
    utf8 = GOOD.encode("utf-8")
    cut = len(utf8) // 2 + 7        # mid-paragraph, mid-character, inside no tag in particular
    mixed = article(paras=[PARAS[0] + "（记者 黄海）", PARAS[1], PARAS[2]]).encode("utf-8")
    at = mixed.index("黄海".encode())
    mixed = mixed[:at] + "黄海".encode("gbk") + mixed[at + len("黄海".encode()):]
    apology = "<div class='err'>对不起，您访问的页面不存在或已被删除，请检查网址是否正确，或返回首页继续浏览本站其他内容。</div>"
    attachments = article(inside="<p>附件：<a href='/files/plan.pdf'>实施方案.pdf</a> <a href='/files/form.doc'>申报表.doc</a></p>")
    return {
        "truncated": dict(body=utf8[:cut], ctype=UTF8, what="HTML cut off mid-character, half-way through the body",
                          expect=("article", {"title": TITLE, "text_starts": LEAD[:20]})),
        "no-body": dict(body=article(body_tag=False).encode(), ctype=UTF8, what="no <body> element",
                        expect=("article", {"title": TITLE, "text_starts": LEAD[:20]})),
        "nested-tables": dict(body=article(paras=[], extra=nested(1000, "".join(f"<p>{p}</p>" for p in PARAS))).encode(),
                              ctype=UTF8, what="the text inside tables nested 1,000 deep",
                              expect=("rejected", "unparseable", "Excessive depth")),
        "nested-after": dict(body=article(extra=nested(1000, "<p>页脚</p>")).encode(), ctype=UTF8,
                             what="an article followed by tables nested 1,000 deep",
                             expect=("article", {"title": TITLE, "text_starts": LEAD[:20]})),
        "binary-as-html": dict(body=rng.randbytes(30000), ctype=HTML, what="random bytes served as text/html",
                               expect=("rejected", "not_html", "binary")),
        "deflate-as-html": dict(body=zlib.compress(utf8 * 4), ctype=UTF8,
                                what="a zlib-compressed page served as text/html without Content-Encoding",
                                expect=("rejected", "not_html", "binary")),
        "pdf": dict(body=_pdf(), ctype="application/pdf", what="a PDF where an article was linked",
                    expect=("rejected", "blocked", "not_html")),
        "pdf-as-html": dict(body=_pdf(), ctype=HTML, what="a PDF served as text/html",
                            expect=("rejected", "blocked", "not_html")),
        "doc": dict(body=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(4000), ctype="application/msword",
                    what="a Word .doc", expect=("rejected", "blocked", "not_html")),
        "docx-octet": dict(body=b"PK\x03\x04" + rng.randbytes(4000), ctype="application/octet-stream",
                           what="a .docx served as application/octet-stream",
                           expect=("rejected", "blocked", "not_html")),
        "attachments": dict(body=attachments.encode(), ctype=UTF8, what="an article linking PDF and DOC attachments",
                            expect=("article", {"title": TITLE, "attachments": 2, "text_lacks": "实施方案"})),
        "gbk-said-utf8": dict(body=gbk_page, ctype=UTF8, what="GBK bytes, header says charset=utf-8",
                              expect=("article", {"title": TITLE, "encoding_in": ("gbk", "gb2312", "gb18030")})),
        "utf8-said-gb2312": dict(body=article(meta="<meta charset='gb2312'>").encode(), ctype="text/html; charset=gb2312",
                                 what="UTF-8 bytes, page and header say gb2312",
                                 expect=("article", {"title": TITLE, "encoding_in": ("utf-8",)})),
        "gbk-no-charset": dict(body=gbk_page, ctype=HTML, what="GBK bytes, no charset anywhere",
                               expect=("article", {"title": TITLE, "encoding_in": ("gb2312", "gbk", "gb18030")})),
        "charset-base64": dict(body=article(meta="<meta charset='base64'>").encode(), ctype="text/html; charset=base64",
                               what="a charset that is no text encoding (base64)",
                               expect=("article", {"title": TITLE, "encoding_in": ("utf-8",)})),
        "charset-idna": dict(body=article(meta="<meta charset='idna'>").encode(), ctype=HTML,
                             what="a charset Python decodes only partly (idna)",
                             expect=("article", {"title": TITLE, "encoding_in": ("utf-8",)})),
        "charset-utf16-lie": dict(body=article(meta="<meta charset='utf-16'>").encode(), ctype=HTML,
                                  what="UTF-8 bytes that claim utf-16",
                                  expect=("article", {"title": TITLE, "encoding_in": ("utf-8",)})),
        "mixed-gbk-utf8": dict(body=mixed, ctype=HTML, what="UTF-8 page with a GBK-encoded name pasted in",
                               expect=("article", {"title": TITLE, "encoding_in": ("utf-8+gbk",), "text_has": "黄海"})),
        "mixed-said-utf8": dict(body=mixed, ctype=UTF8,
                                what="the same, the header vouching for UTF-8 (UTF-8 is read, the GBK name patched in: "
                                     "the reading with the fewest errors)",
                                expect=("article", {"title": TITLE, "encoding_in": ("utf-8+gbk",), "text_has": "黄海"})),
        "empty": dict(body=b"", ctype=UTF8, what="an empty 200", expect=("rejected", "empty", "empty")),
        "blank": dict(body=b"  \r\n\t \n", ctype=UTF8, what="a 200 of whitespace", expect=("rejected", "empty", "empty")),
        "soft-404": dict(body="<html><head><title>页面不存在</title></head><body>您访问的页面不存在</body></html>".encode(),
                         ctype=UTF8, what="a small 200 saying the page does not exist",
                         expect=("rejected", "blocked", "soft_404")),
        "soft-404-chrome": dict(body=chrome(apology).encode(), ctype=UTF8,
                                what="a 200 'page not found' inside the site's full navigation (over 6 kB)",
                                expect=("rejected", "blocked", "soft_404")),
        "all-navigation": dict(body=chrome("").encode(), ctype=UTF8, what="a page whose text is all navigation",
                               expect=("rejected", "no_text", "too short")),
    }
