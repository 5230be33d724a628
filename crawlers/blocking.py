"""Tell pages that are not what we asked for apart from real ones, from status, headers and the
first bytes of the body. Pure functions, no Scrapy.

`classify` returns a short reason, or None for a page that looks real:

| reason            | what it is |
|-------------------|------------|
| challenge_ruishu  | 瑞数 (River Security): HTTP 412 or 202 with an inline `$_ts` script / `<meta r="m">` |
| challenge_412     | any other HTTP 412 (a WAF refusing the client) |
| challenge_jsl     | 加速乐: a `__jsl_clearance`/`__jsluid` cookie, or HTTP 521 with a cookie script |
| challenge_acw     | Aliyun WAF: an `acw_sc__v2` cookie or script |
| login_wall        | HTTP 401, a redirect to a login URL, or a small login form |
| soft_404          | HTTP 200 whose title or small body says the page does not exist, or a redirect to /404.html |
| not_html          | an article or list page whose body is a PDF, image, Office file ... |
| js_only_list      | an HTML list page with no article link whose items a script would load |

The crawler archives such pages with the reason (`NF-Block-Reason`), counts them per reason in
the run's report, never pages on from them, and processing turns them into `rejected` rows
(reason "blocked"), never articles.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0", b"Rar!",
         b"\x1f\x8b")
TS_SCRIPT = re.compile(rb"\$_ts\s*[=.\[]|<meta[^>]*\sr=['\"]?m['\"]?", re.I)
LOGIN_PATH = re.compile(r"(^|/)(login|signin|sign_in|passport|sso|cas/login|uc/login|member/login)"
                        r"(\.\w+)?(/|$|\?)", re.I)
ERROR_PATH = re.compile(r"(^|/)(404|error|notfound|not_found|pagenotfound)(\.\w+)?$", re.I)
PASSWORD = re.compile(rb"<input[^>]+type=['\"]?password", re.I)
TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
# "404" alone, "Error 404", "404 Not Found", "404错误"... but not "第404期" in a real headline
TITLE_404 = re.compile(rb"^\s*(?:error\s*)?404(?:\s*(?:not found|error|page)|\s*$|\s*[-_|])|"
                       rb"404\s*(?:not found|error)|404\s*(?:\xe9\x94\x99\xe8\xaf\xaf|\xe9\xa1\xb5\xe9\x9d\xa2)", re.I)
SOFT404 = ("页面不存在", "页面未找到", "找不到页面", "找不到该页面", "您访问的页面不存在", "访问的页面不存在",
           "页面已删除", "信息不存在", "文章不存在", "该信息已被删除", "页面没有找到", "Page Not Found",
           "404 Not Found", "頁面不存在")
LOGIN_WORDS = ("登录", "登錄", "用户名", "Login", "Sign in")
JS_LIST = (b"dataproxy", b"jpage", b"$.ajax", b"$.get(", b"$.post(", b"$.getJSON", b"XMLHttpRequest",
           b"fetch(", b"axios", b"new Vue", b"v-for", b"ng-repeat", b"template-list", b"loadList")
SMALL = 6000            # bytes: below this a page that says "not found" is a soft 404


def _markers(words) -> tuple[bytes, ...]:
    out = []
    for w in words:
        for enc in ("utf-8", "gb18030"):
            b = w.encode(enc, errors="ignore")
            if b and b not in out:
                out.append(b)
    return tuple(out)


_SOFT404_BYTES = _markers(SOFT404)
_LOGIN_BYTES = _markers(LOGIN_WORDS)
_extra_cache: dict[tuple[str, ...], tuple[bytes, ...]] = {}


def _header(headers, name: str) -> str:
    name = name.lower()
    return ", ".join(v for k, v in headers if k.lower() == name)


def content_type(headers) -> str:
    return _header(headers, "content-type").split(";")[0].strip().lower()


def classify(kind: str, status: int, headers, body: bytes, final_url: str, *, parse: str = "html",
             found_articles: int | None = None, soft404_markers: tuple[str, ...] = ()) -> str | None:
    """Why this response is not a real page of its kind, or None. `headers` is a list of
    (name, value) pairs; `found_articles` is how many article links a list page held."""
    if kind not in ("list", "article") or status == 304:
        return None
    head = body[:8192]
    if status in (412, 202) and TS_SCRIPT.search(head):
        return "challenge_ruishu"
    cookies = _header(headers, "set-cookie")
    if ("__jsl_clearance" in cookies or "__jsluid" in cookies or b"__jsl_clearance" in head
            or (status == 521 and b"document.cookie" in head)):
        return "challenge_jsl"
    if "acw_sc__v2" in cookies or b"acw_sc__v2" in head:
        return "challenge_acw"
    if status == 412:
        return "challenge_412"
    path = urlsplit(final_url).path
    if status == 401 or (status < 400 and LOGIN_PATH.search(path)):
        return "login_wall"
    if not 200 <= status < 300:
        return None
    # the bytes decide, not the declared type: sites serve HTML as application/octet-stream or
    # text/htm, and PDFs as text/html (a type check here matched every type: "" was in its list)
    if head.startswith(MAGIC):
        return "not_html"
    if parse in ("sitemap", "feed", "dataproxy"):
        return None
    title = TITLE.search(head)
    title_b = title.group(1) if title else b""
    extra = _extra_cache.get(soft404_markers)
    if extra is None:
        extra = _extra_cache[soft404_markers] = _markers(soft404_markers)
    markers = _SOFT404_BYTES + extra
    if ERROR_PATH.search(path) or any(m in title_b for m in markers) or TITLE_404.search(title_b):
        return "soft_404"
    if len(body) < SMALL and any(m in body for m in markers):
        return "soft_404"
    if PASSWORD.search(body) and len(body) < 20000 and any(m in title_b or m in body[:4096] for m in _LOGIN_BYTES):
        return "login_wall"
    if kind == "list" and parse == "html" and found_articles == 0 and any(m in body for m in JS_LIST):
        return "js_only_list"
    return None
