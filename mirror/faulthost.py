"""The fault host ``faults.newsflow.test``: what a crawler meets on fragile or defended sites
(challenges, login walls, soft 404s, failures, slow and huge answers, redirects). Written to
``mirror/faults/`` by ``python -m mirror.build``; served only when a test asks
(``serve(faults=True)``); no registry source of the demo points at it."""
from __future__ import annotations

import json
from pathlib import Path

from .files import attachment_bytes
from .outdir import clear_build
from .template import attr, esc

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
    clear_build(root, {FAULT_HOST})
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
