"""URL canonicalisation: one spelling per page, so the id (a hash of it) is one per page.

`canonical_url` is idempotent (canonical_url(canonical_url(u)) == canonical_url(u), with or
without per-source rules) and only ever removes or re-spells what does not select a page:

- scheme and host lower-cased, a trailing dot on the host dropped, default ports (80, 443)
  dropped, IDN hosts as punycode; the scheme itself is kept (http and https stay distinct:
  the text dedupe joins the two copies if a site serves both);
- mobile hosts folded onto the desktop site: `m.` `wap.` `mobile.` `3g.` `h5.` prefixes are
  removed, and a bare registrable domain that is left gets `www.` (m.tanpaifang.com ->
  www.tanpaifang.com, m.sthj.shandong.gov.cn -> sthj.shandong.gov.cn). `host_aliases`
  overrides this per host;
- the path: dot segments resolved, percent-escapes normalised (unreserved characters decoded,
  escapes upper-cased, spaces and non-ASCII encoded as UTF-8), an empty path becomes `/`,
  a directory index file (`index.html`, `index.shtml`, `default.aspx` ...) dropped when no
  query string remains, session ids in path parameters (`;jsessionid=...`) dropped;
- the query: tracking parameters (`utm_*`, `spm`, `from=timeline` ...) and session parameters
  (`PHPSESSID`, `jsessionid` ...) dropped, plus the source's own `drop_params` (Hainan's
  `ddtab=true`), the rest sorted by name (stable for repeated names), an empty query dropped;
- the fragment dropped, except `#!...` and `#/...` routes (single-page sites put the article
  in them).
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping
from urllib.parse import unquote_plus, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

# Only parameters that select no content anywhere we know of: dropping one that does would
# merge two pages into one id (the second fetch would overwrite the first), while keeping a
# tracking one only makes a second id, which the text dedupe then clusters. Per-source
# additions come in as `drop_params`.
TRACKING_PARAMS = frozenset({
    "spm", "scm", "isappinstalled", "share_token", "sharetoken", "shareid", "scene", "clicktime",
    "enterid", "wfr", "from_source", "fromsource", "source_from", "ref", "referer", "referrer",
    "ref_src", "ref_url", "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid",
    "mc_eid", "hmsr", "hmpl", "hmcu", "hmkw", "hmci", "bd_vid", "wxfrom", "tt_from", "tt_medium",
    "timestamp", "_t", "_", "vd_source", "xtrack", "track_id", "trackid", "pvid",
})
TRACKING_PREFIXES = ("utm_", "hmsr_", "__hs", "_hs", "mtm_", "pk_", "piwik_", "matomo_", "share_")
# `from` is tracking only with the values apps and WeChat put there (from=timeline ...)
TRACKING_VALUES = {"from": frozenset({
    "timeline", "groupmessage", "singlemessage", "message", "share", "app", "androidqq", "iphoneqq",
    "weixin", "wechat", "qq", "weibo", "toutiao", "qzone", "ios", "android", "wap", "mobile",
    "appmessage", "wx", "sina", "douyin", "jinritoutiao"})}
SESSION_PARAMS = frozenset({
    "jsessionid", "phpsessid", "aspsessionid", "sessionid", "session_id", "sessid", "cfid",
    "cftoken", "jsid", "zfsessionid",
})
# dropped from the end of the path (`/a/index.html` -> `/a/`) only when no query remains
INDEX_FILES = frozenset({
    "index.html", "index.htm", "index.shtml", "index.shtm", "index.xhtml", "index.php", "index.jsp",
    "index.asp", "index.aspx", "default.htm", "default.html", "default.shtml", "default.asp",
    "default.aspx",
})
MOBILE_PREFIXES = ("m.", "wap.", "mobile.", "3g.", "h5.")
# second-level public suffixes under .cn (and a few common elsewhere): "x.gov.cn" is one
# registrable domain, "gov.cn" is none
PUBLIC_SLD = frozenset({
    "gov.cn", "com.cn", "org.cn", "net.cn", "edu.cn", "ac.cn", "mil.cn",
    "com.hk", "org.hk", "gov.hk", "edu.hk", "com.tw", "org.tw", "gov.tw", "edu.tw", "com.mo",
    "gov.mo", "co.uk", "org.uk", "gov.uk", "ac.uk", "com.au", "gov.au", "co.jp", "or.jp", "go.jp",
})

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# characters left as they are in a path or query (RFC 3986 pchar plus / ? and the % of escapes)
_SAFE_PATH = frozenset("!$&'()*+,;=:@/%") | _UNRESERVED
_SAFE_QUERY = _SAFE_PATH | frozenset("?")


def _requote(s: str, safe: frozenset) -> str:
    """Normalise percent-encoding: decode escapes of unreserved characters, upper-case the rest,
    encode what may not appear raw (a `%` that starts no escape, spaces, non-ASCII)."""
    out = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch == "%" and _ESCAPE.match(s, i):
            code = int(s[i + 1:i + 3], 16)
            c = chr(code)
            out.append(c if c in _UNRESERVED else "%" + s[i + 1:i + 3].upper())
            i += 3
            continue
        if ch in safe and ch != "%":
            out.append(ch)
        else:
            out.extend("%%%02X" % b for b in ch.encode("utf-8", "surrogatepass"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    segs = path.split("/")
    if not any(s in (".", "..") for s in segs):
        return path
    out: list[str] = []
    for s in segs:
        if s == ".":
            continue
        if s == "..":
            if len(out) > 1:
                out.pop()
            continue
        out.append(s)
    new = "/".join(out)
    if segs[-1] in (".", "..") and not new.endswith("/"):
        new += "/"
    if not new.startswith("/"):
        new = "/" + new
    return new


def _registrable(host: str) -> bool:
    labels = host.split(".")
    if len(labels) < 2 or host in PUBLIC_SLD:
        return False
    if len(labels) == 2:
        return True
    return len(labels) == 3 and ".".join(labels[1:]) in PUBLIC_SLD


def desktop_host(host: str) -> str:
    """m.example.com -> www.example.com; m.sub.example.com -> sub.example.com."""
    stripped = False
    while True:
        for p in MOBILE_PREFIXES:
            rest = host[len(p):]
            if host.startswith(p) and "." in rest and rest not in PUBLIC_SLD:
                host, stripped = rest, True
                break
        else:
            break
    if stripped and _registrable(host):
        host = "www." + host
    return host


def _host(parts, host_aliases: Mapping[str, str] | None) -> str:
    try:
        host = parts.hostname or ""
    except ValueError:
        host = ""
    host = host.rstrip(".").lower()
    if host and not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            pass
    if host_aliases and host in host_aliases:
        return host_aliases[host].lower()
    return desktop_host(host)


def _param_name(piece: str) -> str:
    return unquote_plus(piece.split("=", 1)[0]).strip().lower()


def _param_value(piece: str) -> str:
    return unquote_plus(piece.split("=", 1)[1]).strip().lower() if "=" in piece else ""


def is_tracking_param(name: str, value: str = "") -> bool:
    """A query parameter that never selects the page (by name, or by name and value)."""
    name = name.lower()
    if name in TRACKING_VALUES:
        return value.lower() in TRACKING_VALUES[name]
    return name in TRACKING_PARAMS or name in SESSION_PARAMS or name.startswith(TRACKING_PREFIXES)


def canonical_url(url: str, *, drop_params: Iterable[str] = (), keep_params: Iterable[str] = (),
                  host_aliases: Mapping[str, str] | None = None) -> str:
    """The canonical spelling of `url` (see the module docstring).

    drop_params:  more query parameter names this source adds without changing the page
                  (case-insensitive; a trailing `*` matches a prefix), e.g. ("ddtab",).
    keep_params:  names that look like tracking but select the page on this source (a site
                  whose article id is `?f=123`), kept.
    host_aliases: host -> canonical host for this source's mirrors and mobile hosts that the
                  generic rule gets wrong.
    """
    url = url.strip()
    if url.startswith("//"):
        url = "http:" + url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return urlunsplit((scheme, parts.netloc, parts.path, parts.query, parts.fragment))
    host = _host(parts, host_aliases)
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc

    # path: dot segments, escapes, session path parameters, index files
    path = _requote(parts.path.rstrip() or "/", _SAFE_PATH)     # raw trailing spaces are junk
    if ";" in path:
        head, _, last = path.rpartition("/")
        seg, *params = last.split(";")
        params = [p for p in params if p and _param_name(p) not in SESSION_PARAMS]
        path = head + "/" + ";".join([seg] + params) if head or path.startswith("/") else ";".join([seg] + params)
    path = _remove_dot_segments(path)
    if not path.startswith("/"):
        path = "/" + path
    # query: drop tracking, session and per-source parameters; sort the rest by name
    drops = {d.lower() for d in drop_params}
    prefixes = tuple(d[:-1] for d in drops if d.endswith("*"))
    keeps = {k.lower() for k in keep_params}
    pieces = []
    for piece in parts.query.split("&") if parts.query else ():
        piece = piece.strip()               # raw spaces around a piece are no part of it
        if not piece:
            continue
        name = _param_name(piece)
        if name not in keeps and (is_tracking_param(name, _param_value(piece)) or name in drops
                                  or (prefixes and name.startswith(prefixes))):
            continue
        pieces.append((name, _requote(piece, _SAFE_QUERY)))
    pieces.sort(key=lambda kv: kv[0])
    query = "&".join(p for _, p in pieces)
    head, _, last = path.rpartition("/")
    if not query and last.lower() in INDEX_FILES:
        path = head + "/"

    fragment = parts.fragment.strip()
    fragment = fragment if fragment.startswith(("!", "/")) else ""
    if fragment:
        fragment = _requote(fragment, _SAFE_QUERY)
    return urlunsplit((scheme, netloc, path, query, fragment))


def source_rules(source) -> dict:
    """The per-source keyword arguments of canonical_url, read from a registry Source:
    `url_drop_params` (list of names, `prefix*` allowed), `url_keep_params` (list) and
    `host_aliases` (table host -> canonical host). Absent fields mean no rule, so this works
    before the registry has them: canonical_url(url, **source_rules(source))."""
    if source is None:
        return {}
    rules = {}
    drop = tuple(getattr(source, "url_drop_params", ()) or ())
    keep = tuple(getattr(source, "url_keep_params", ()) or ())
    aliases = dict(getattr(source, "host_aliases", None) or {})
    if drop:
        rules["drop_params"] = drop
    if keep:
        rules["keep_params"] = keep
    if aliases:
        rules["host_aliases"] = {k.lower(): v.lower() for k, v in aliases.items()}
    return rules


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def on_loopback(url: str) -> bool:
    """Whether `url` points at this machine: on the local mirror the crawler and `sources check`
    send nothing anywhere else, whatever a page or a redirect says."""
    return (urlsplit(url).hostname or "") in LOOPBACK
