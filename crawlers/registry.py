"""The source registry: per-site knowledge as data (crawlers/sources.toml).

Each [[sources]] entry is merged over its CMS preset ([presets.<cms>]) and validated on load:
unknown keys, missing fields, bad regexes and bad URLs fail with the file, source and field
named, before anything runs. `Source.rebase` points a source at another base URL (the local
mirror) while every URL the pipeline records stays the real site's.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from crawlers.errors import RegistryError, UnknownSource

DEFAULT_REGISTRY = Path(__file__).with_name("sources.toml")

KINDS = {"government", "media"}
PAGINATION_RULES = {"trs", "next", "none"}
PRESET_FIELDS = {"pagination", "list_item", "body_selector", "title_selector", "info_selector",
                 "next_selector", "list_date_pattern"}
REQUIRED = {"name", "title", "kind", "cms", "base_url", "allowed_domains", "start_urls",
            "article_pattern"}
OPTIONAL = {"province", "encoding", "max_list_pages", "verified"} | PRESET_FIELDS
DEFAULT_NEXT = 'a.next, a:contains("下一页")'
DEFAULT_LIST_DATE = r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})"


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
    fetch_base: str | None = None     # where requests really go (the mirror); None = base_url

    @cached_property
    def article_re(self) -> re.Pattern:
        return re.compile(self.article_pattern)

    def start(self) -> list[str]:
        """Logical (real-site) start URLs."""
        return [urljoin(self.base_url + "/", u) for u in self.start_urls]

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


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else DEFAULT_REGISTRY
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{path}: no such registry file")
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}")
    unknown_top = set(data) - {"presets", "sources"}
    if unknown_top:
        raise RegistryError(f"{path}: unknown top-level key(s) {sorted(unknown_top)}")
    presets = data.get("presets", {})
    for pname, pvalues in presets.items():
        bad = set(pvalues) - PRESET_FIELDS
        if bad:
            raise _fail(path, f"preset {pname!r}", sorted(bad)[0], "unknown key")
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
        if entry["name"] in seen:
            raise _fail(path, where, "name", "duplicate source name")
        seen.add(entry["name"])
        if entry["kind"] not in KINDS:
            raise _fail(path, where, "kind", f"must be one of {sorted(KINDS)}")
        if entry["cms"] not in presets:
            raise _fail(path, where, "cms", f"no preset {entry['cms']!r}; have {sorted(presets)}")
        merged = {**presets[entry["cms"]], **entry}
        if merged.get("pagination", "next") not in PAGINATION_RULES:
            raise _fail(path, where, "pagination", f"must be one of {sorted(PAGINATION_RULES)}")
        _check_url(path, where, "base_url", merged["base_url"])
        if not isinstance(merged["start_urls"], list) or not merged["start_urls"]:
            raise _fail(path, where, "start_urls", "must be a non-empty list")
        for u in merged["start_urls"]:
            _check_url(path, where, "start_urls", urljoin(merged["base_url"] + "/", u))
        if not isinstance(merged["allowed_domains"], list) or not merged["allowed_domains"]:
            raise _fail(path, where, "allowed_domains", "must be a non-empty list")
        for key in ("article_pattern", "list_date_pattern"):
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
        merged["start_urls"] = tuple(merged["start_urls"])
        sources.append(Source(**merged))
    return Registry(tuple(sources), path, presets)
