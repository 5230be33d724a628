"""The source registry: per-site knowledge as data (crawlers/sources.toml).

Each [[sources]] entry is merged over its CMS preset ([presets.<cms>]) and validated on load:
unknown keys, missing fields, bad regexes, bad templates and bad URLs fail with the file,
source and field named, before anything runs. `Source.rebase` points a source at another base
URL (the local mirror) while every URL the pipeline records stays the real site's.

Discovery fields (see docs/crawling.md): `pagination` says how HTML list pages page ("trs":
page count from `page_count_pattern`, then `page_url`; "next": follow `next_selector`, with
the count + `page_url` as fallback; "none"), `dataproxy` names a Hanweb XML endpoint that holds
the column's records, and `sitemaps` / `feeds` add sitemap and RSS/Atom discovery. Politeness
fields (`robots`, `delay`, `concurrency`, `timeout`, `retries`, `retry_backoff`, `max_bytes`)
override the crawl defaults for one source. Identity fields: `url_drop_params`,
`url_keep_params` and `host_aliases` add the source's own rules to URL canonicalisation
(crawlers/urls.py; `Source.canonical`), `outlet_names` the names its 来源 lines use.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from crawlers.errors import RegistryError, UnknownSource
from crawlers.recheck import DEFAULT_POLICY, RecheckPolicy, parse_policy
from crawlers.urls import canonical_url, desktop_host, source_rules

DEFAULT_REGISTRY = Path(__file__).with_name("sources.toml")

KINDS = {"government", "media"}
PAGINATION_RULES = {"trs", "next", "none"}
PRESET_FIELDS = {"pagination", "list_item", "body_selector", "title_selector", "info_selector",
                 "next_selector", "list_date_pattern", "page_count_pattern", "page_url",
                 "index_name", "dataproxy", "dataproxy_batch", "soft404_markers"}
POLITENESS_FIELDS = {"robots", "delay", "concurrency", "timeout", "retries", "retry_backoff",
                     "max_bytes"}
REQUIRED = {"name", "title", "kind", "cms", "base_url", "allowed_domains", "start_urls",
            "article_pattern"}
URL_FIELDS = {"url_drop_params", "url_keep_params", "host_aliases", "outlet_names"}
OPTIONAL = ({"province", "encoding", "max_list_pages", "verified", "sitemaps", "feeds", "recheck"}
            | PRESET_FIELDS | POLITENESS_FIELDS | URL_FIELDS)
DEFAULT_NEXT = 'a.next, a:contains("下一页")'
DEFAULT_LIST_DATE = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})"
PAGE_URL_FIELDS = {"stem", "ext", "page", "i", "dir"}
ROBOTS_POLICIES = {"obey", "ignore"}
HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\Z")        # a host name: no port, no path
SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    kind: str
    cms: str
    base_url: str
    allowed_domains: tuple[str, ...]
    start_urls: tuple[str, ...]
    article_pattern: str
    province: str = ""
    encoding: str | None = None
    pagination: str = "next"
    list_item: str = "li"
    next_selector: str = DEFAULT_NEXT
    list_date_pattern: str = DEFAULT_LIST_DATE
    body_selector: str = ""
    title_selector: str = "h1"
    info_selector: str = ""
    max_list_pages: int = 50
    verified: bool = False
    # discovery
    page_count_pattern: str = ""      # regex; group 1 (or the first group that matched) = pages
    page_url: str = ""                # template for page N: {dir} {stem} {ext} {page} {i}=page-1
    index_name: str = "index.html"    # the file a directory start URL stands for
    dataproxy: str = ""               # Hanweb: path of the XML endpoint behind the column page
    dataproxy_batch: int = 0          # records per dataproxy request (0: the column's perpage)
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()       # RSS or Atom
    soft404_markers: tuple[str, ...] = ()   # extra soft-404 phrases, besides the built-in ones
    # politeness (None: the crawl's default)
    robots: str = "obey"              # "obey" | "ignore" (logged at every crawl)
    delay: float | None = None        # seconds between requests to the site (AutoThrottle minimum)
    concurrency: int | None = None    # concurrent requests to the site
    timeout: float | None = None
    retries: int | None = None
    retry_backoff: float | None = None   # first retry waits this long, then doubles
    max_bytes: int | None = None      # response size cap
    fetch_base: str | None = None     # where requests really go (the mirror); None = base_url
    # identity (crawlers/urls.py, flows/dedupe/)
    url_drop_params: tuple[str, ...] = ()   # query parameters that select nothing here (`ddtab`, `tab*`)
    url_keep_params: tuple[str, ...] = ()   # look like tracking, but select the page here
    host_aliases: tuple[tuple[str, str], ...] = ()  # (host, canonical host) the generic rule gets wrong
    outlet_names: tuple[str, ...] = ()      # names 来源 lines give this outlet, besides `title`
    recheck: RecheckPolicy = DEFAULT_POLICY  # how often known articles are asked again (crawlers/recheck.py)

    @cached_property
    def article_re(self) -> re.Pattern:
        return re.compile(self.article_pattern)

    @cached_property
    def url_rules(self) -> dict:
        return source_rules(self)

    def canonical(self, url: str) -> str:
        """The one spelling of a URL of this source: what identifies an article (its id), what
        the crawler compares with the URLs it already has."""
        return canonical_url(url, **self.url_rules)

    @cached_property
    def count_re(self) -> re.Pattern | None:
        return re.compile(self.page_count_pattern) if self.page_count_pattern else None

    def start(self) -> list[str]:
        """Logical (real-site) start URLs."""
        return [urljoin(self.base_url + "/", u) for u in self.start_urls]

    def sitemap_urls(self) -> list[str]:
        return [urljoin(self.base_url + "/", u) for u in self.sitemaps]

    def feed_urls(self) -> list[str]:
        return [urljoin(self.base_url + "/", u) for u in self.feeds]

    @property
    def obey_robots(self) -> bool:
        return self.robots != "ignore"

    def rebase(self, fetch_base: str) -> "Source":
        return replace(self, fetch_base=fetch_base.rstrip("/"))

    # Logical URLs are the real site's; fetch URLs are where the bytes come from.
    def to_fetch(self, url: str) -> str:
        if self.fetch_base and url.startswith(self.base_url):
            return self.fetch_base + url[len(self.base_url):]
        return url

    def to_logical(self, url: str) -> str:
        if self.fetch_base and url.startswith(self.fetch_base):
            return self.base_url + url[len(self.fetch_base):]
        return url

    def is_allowed(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def is_article(self, url: str) -> bool:
        if not self.is_allowed(url):
            return False
        parts = urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        return bool(self.article_re.search(path))


@dataclass(frozen=True)
class Registry:
    sources: tuple[Source, ...]
    path: Path = DEFAULT_REGISTRY
    presets: dict = field(default_factory=dict)

    def names(self) -> list[str]:
        return [s.name for s in self.sources]

    def get(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise UnknownSource(f"unknown source {name!r}; known: {', '.join(self.names())}")

    def select(self, names: list[str] | tuple[str, ...] | None) -> list[Source]:
        return [self.get(n) for n in names] if names else list(self.sources)


def _fail(path: Path, where: str, fieldname: str, msg: str) -> RegistryError:
    return RegistryError(f"{path}: {where}: field {fieldname!r}: {msg}")


def _check_url(path, where, fieldname, value):
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(path, where, fieldname, f"not an http(s) URL: {value!r}")


def _check_selector(path, where, fieldname, value):
    if not value:
        return
    from cssselect import GenericTranslator, SelectorError
    try:
        # parsel's :contains() extension is valid for us too
        GenericTranslator().css_to_xpath(re.sub(r':contains\([^)]*\)', "", value))
    except SelectorError as exc:
        raise _fail(path, where, fieldname, f"bad CSS selector {value!r}: {exc}")


def _check_fields(path, where, merged) -> None:
    """Types and ranges of the discovery and politeness fields."""
    def number(key, kind, low):
        v = merged.get(key)
        if v is None:
            return
        if isinstance(v, bool) or not isinstance(v, (int, float) if kind is float else int) or v < low:
            raise _fail(path, where, key, f"must be a {kind.__name__} >= {low}, got {v!r}")
    number("delay", float, 0)
    number("timeout", float, 0.1)
    number("retry_backoff", float, 0)
    number("concurrency", int, 1)
    number("retries", int, 0)
    number("max_bytes", int, 1024)
    number("max_list_pages", int, 1)
    number("dataproxy_batch", int, 0)
    if merged.get("robots", "obey") not in ROBOTS_POLICIES:
        raise _fail(path, where, "robots", f"must be one of {sorted(ROBOTS_POLICIES)}")
    tpl = merged.get("page_url", "")
    if tpl:
        names = set(re.findall(r"{(\w*)}", tpl))
        if not names <= PAGE_URL_FIELDS or not names & {"page", "i"}:
            raise _fail(path, where, "page_url",
                        f"template {tpl!r} may use {sorted(PAGE_URL_FIELDS)} and needs {{page}} or {{i}}")
    if merged.get("dataproxy") and not str(merged["dataproxy"]).startswith("/"):
        raise _fail(path, where, "dataproxy", "must be a site path starting with '/'")
    for key in ("soft404_markers", "url_drop_params", "url_keep_params", "outlet_names"):
        values = merged.get(key, [])
        if not isinstance(values, list) or not all(isinstance(m, str) and m.strip() for m in values):
            raise _fail(path, where, key, "must be a list of non-empty strings")
    aliases = merged.get("host_aliases", {})
    if not isinstance(aliases, dict):
        raise _fail(path, where, "host_aliases", 'must be a table of host = "canonical host"')
    for host, target in aliases.items():
        if not isinstance(target, str) or not all(HOST.match(h) for h in (host, target)):
            raise _fail(path, where, "host_aliases",
                        f"not a host name: {host!r} = {target!r} (no scheme, port or path)")
        # a target the rules would move again (a mobile host, another alias) makes a URL's
        # canonical form change when canonicalised twice: stored URLs would stop matching
        t = target.lower()
        if desktop_host(t) != t or t in {h.lower() for h in aliases if h.lower() != t}:
            raise _fail(path, where, "host_aliases", f"target {target!r} is not canonical itself "
                                                      f"(it would become {desktop_host(t)!r} or another alias)")
    drops = merged.get("url_drop_params", [])
    if any(d.strip() in ("*", "") for d in drops):
        raise _fail(path, where, "url_drop_params", "'*' would drop every parameter, merging pages that differ by id")


def _policy(path, where, default: RecheckPolicy, cms: str, presets: dict, entry: dict) -> RecheckPolicy:
    """The source's re-check policy: the registry's [recheck], then its preset's, then its own."""
    policy = parse_policy(presets[cms].get("recheck", {}), f"{path}: preset {cms!r}", default)
    return parse_policy(entry.get("recheck", {}), f"{path}: {where}", policy)


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else DEFAULT_REGISTRY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{path}: no such registry file")
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}")
    unknown_top = set(data) - {"presets", "sources", "recheck"}
    if unknown_top:
        raise RegistryError(f"{path}: unknown top-level key(s) {sorted(unknown_top)}")
    presets = data.get("presets", {})
    for pname, pvalues in presets.items():
        bad = set(pvalues) - PRESET_FIELDS - POLITENESS_FIELDS - {"recheck"}
        if bad:
            raise _fail(path, f"preset {pname!r}", sorted(bad)[0], "unknown key")
    default_policy = parse_policy(data.get("recheck", {}), f"{path}: [recheck]")
    entries = data.get("sources", [])
    if not entries:
        raise RegistryError(f"{path}: no [[sources]] entries")
    sources, seen = [], set()
    for i, entry in enumerate(entries):
        where = f"source {entry.get('name', f'#{i + 1}')!r}"
        unknown = set(entry) - REQUIRED - OPTIONAL
        if unknown:
            raise _fail(path, where, sorted(unknown)[0], "unknown key (typo?)")
        missing = REQUIRED - set(entry)
        if missing:
            raise _fail(path, where, sorted(missing)[0], "missing")
        if not isinstance(entry["name"], str) or not SOURCE_NAME.match(entry["name"]):
            # the name is a folder of the archive: it may not climb out of it (../, /, \)
            raise _fail(path, where, "name", f"must be letters, digits, '-', '_' or '.' "
                                              f"(not starting with '.'), got {entry['name']!r}")
        if entry["name"] in seen:
            raise _fail(path, where, "name", "duplicate source name")
        seen.add(entry["name"])
        if entry["kind"] not in KINDS:
            raise _fail(path, where, "kind", f"must be one of {sorted(KINDS)}")
        if entry["cms"] not in presets:
            raise _fail(path, where, "cms", f"no preset {entry['cms']!r}; have {sorted(presets)}")
        merged = {**presets[entry["cms"]], **entry,
                  "recheck": _policy(path, where, default_policy, entry["cms"], presets, entry)}
        if merged.get("pagination", "next") not in PAGINATION_RULES:
            raise _fail(path, where, "pagination", f"must be one of {sorted(PAGINATION_RULES)}")
        _check_url(path, where, "base_url", merged["base_url"])
        for key in ("start_urls", "sitemaps", "feeds"):
            if not isinstance(merged.get(key, []), list):
                raise _fail(path, where, key, "must be a list")
            for u in merged.get(key, []):
                if not isinstance(u, str):
                    raise _fail(path, where, key, f"not a URL: {u!r}")
                _check_url(path, where, key, urljoin(merged["base_url"] + "/", u))
        if not (merged["start_urls"] or merged.get("sitemaps") or merged.get("feeds")):
            raise _fail(path, where, "start_urls", "must be a non-empty list (or give sitemaps/feeds)")
        _check_fields(path, where, merged)
        if not isinstance(merged["allowed_domains"], list) or not merged["allowed_domains"]:
            raise _fail(path, where, "allowed_domains", "must be a non-empty list")
        for key in ("article_pattern", "list_date_pattern", "page_count_pattern"):
            if key in merged:
                try:
                    re.compile(merged[key])
                except re.error as exc:
                    raise _fail(path, where, key, f"bad regex: {exc}")
        for key in ("list_item", "next_selector", "body_selector", "title_selector", "info_selector"):
            _check_selector(path, where, key, merged.get(key, ""))
        if merged.get("encoding"):
            import codecs
            try:
                codecs.lookup(merged["encoding"])
            except LookupError:
                raise _fail(path, where, "encoding", f"unknown encoding {merged['encoding']!r}")
        merged["base_url"] = merged["base_url"].rstrip("/")
        merged["allowed_domains"] = tuple(d.lower() for d in merged["allowed_domains"])
        for key in ("start_urls", "sitemaps", "feeds", "soft404_markers", "outlet_names"):
            merged[key] = tuple(merged.get(key, ()))
        for key in ("url_drop_params", "url_keep_params"):
            merged[key] = tuple(v.strip().lower() for v in merged.get(key, ()))
        merged["host_aliases"] = tuple((h.lower(), t.lower()) for h, t in merged.get("host_aliases", {}).items())
        sources.append(Source(**merged))
    return Registry(tuple(sources), path, presets)
