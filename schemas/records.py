"""Typed, frozen records that flow between stages: crawl -> extract -> normalise -> load.

Every stage is a pure function over these, so each can be tested without Scrapy, Prefect or
DuckDB. Times are timezone-aware; `published_at` is in Asia/Shanghai, `fetched_at` in UTC.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawPage:
    """One archived HTTP response, as read back from the WARC archive."""

    url: str                       # logical URL requested (the real site's, even on the mirror)
    final_url: str                 # logical URL after redirects
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: dt.datetime
    source: str
    page_kind: str = "article"     # "article" | "list" | "other"
    list_date: str | None = None   # the date the list page showed next to the link
    run_id: str = ""
    warc_path: str = ""
    warc_offset: int = -1
    block_reason: str | None = None  # set by the crawler: challenge page, login wall, soft 404 ...

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


@dataclass(frozen=True)
class Article:
    """One extracted, normalised article: a row of the `articles` table."""

    id: str
    url: str
    source: str
    title: str
    published_at: dt.datetime | None
    original_source: str | None
    author: str | None
    editor: str | None
    text: str
    language: str | None
    content_hash: str
    extractor_version: str
    fetched_at: dt.datetime
    run_id: str = ""
    warc_path: str = ""
    warc_offset: int = -1
    encoding: str | None = None
    date_missing: bool = False
    provenance: tuple[tuple[str, str], ...] = field(default=())   # (field, rule that set it)
    title_simplified: str | None = None     # OpenCC t2s copies, used for matching and search
    text_simplified: str | None = None
    script: str | None = None               # simplified | traditional | mixed
    quality: float = 1.0                    # 0..1, lowered by mojibake, lost bytes, pinyin
    quality_flags: tuple[str, ...] = ()
    column_name: str | None = None          # the site's column (ColumnName meta), when given
    images: tuple[tuple[str, str], ...] = ()        # (src, caption)
    attachments: tuple[tuple[str, str], ...] = ()   # (url, link text)
    url_original: str | None = None         # the URL as fetched (after redirects); `url` is canonical


@dataclass(frozen=True)
class Rejected:
    """A fetched page that did not become an article, and why."""

    url: str
    source: str
    reason: str          # short machine-readable kind: http_error, not_html, empty, ...
    detail: str
    fetched_at: dt.datetime
    run_id: str = ""
    warc_path: str = ""
    warc_offset: int = -1


@dataclass(frozen=True)
class CrawlStats:
    """What one crawl of one source did; written by the crawler, loaded into `crawl_runs`."""

    run_id: str
    source: str
    started_at: dt.datetime
    finished_at: dt.datetime
    status: str                    # ok | empty | failed | blocked
    pages_fetched: int = 0         # responses archived (lists, articles, 304s, errors, robots.txt)
    list_pages: int = 0            # list responses read (200) or answered 304
    article_requests: int = 0      # article URLs requested (new ones, or known ones with --refresh)
    articles_archived: int = 0     # article responses that were real pages (2xx, not blocked)
    not_modified: int = 0          # 304 answers to conditional GETs
    errors: int = 0
    blocked: int = 0               # challenge pages, login walls, soft 404s, non-HTML ...
    bytes: int = 0
    errors_by_kind: tuple[tuple[str, int], ...] = ()
    warc_path: str = ""
    message: str = ""
    retries: int = 0
    robots_disallowed: int = 0
    links_found: int = 0           # article links the list pages showed
    known_skipped: int = 0         # of them, already stored and so not fetched
    duration_s: float = 0.0
    status_counts: tuple[tuple[int, int], ...] = ()       # HTTP status -> responses
    blocked_by_reason: tuple[tuple[str, int], ...] = ()
    skipped_by_kind: tuple[tuple[str, int], ...] = ()     # known, older, robots, offsite, ...
    flags: tuple[str, ...] = ()    # nothing_new, mostly_errors, blocked, robots_ignored, resumed
    mode: str = "incremental"      # incremental | since | refresh
    resumed: bool = False          # continued a run that had been killed
    state_path: str = ""           # the run's URL and list-page state file (crawlers/state.py)


TAG_KINDS = ("language", "script", "topic", "place", "partner", "keyword")


@dataclass(frozen=True)
class Tag:
    """One tag of one article (a row of `article_tags`): kind is one of TAG_KINDS."""

    article_id: str
    kind: str
    tag: str
    score: float
    evidence: str = ""
