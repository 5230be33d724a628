"""A spider driven entirely by one registry entry: column list pages -> article pages.

List pages are paged by the source's rule (TRS `createPageHTML(N, ...)`, or a "next" link);
article links are the list items' links that match the source's article pattern on an allowed
domain. Every response (lists, articles, errors) is written verbatim to the WARC archive by
the ArchiveExtension; this spider only decides what to fetch and counts what happened.
"""
from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin, urlsplit

import scrapy

from crawlers.registry import Source

TRS_PAGES = re.compile(r"createPageHTML\(\s*(?:['\"][^'\"]*['\"]\s*,\s*)?(\d+)")


def list_page_urls_trs(first_url: str, count: int) -> list[str]:
    """TRS paging: index.shtml, then index_1.shtml ... index_{count-1}.shtml."""
    parts = urlsplit(first_url)
    path = parts.path if not parts.path.endswith("/") else parts.path + "index.shtml"
    stem, _, ext = path.rpartition(".")
    base = parts._replace(path="").geturl()
    return [f"{base}{stem}_{i}.{ext}" for i in range(1, count)]


class RegistrySpider(scrapy.Spider):
    name = "registry"

    def __init__(self, source: Source, run_id: str, since: dt.date | None = None,
                 max_pages: int | None = None, **kwargs):
        super().__init__(name=f"registry-{source.name}", **kwargs)
        self.source = source
        self.run_id = run_id
        self.since = since
        self.max_pages = max_pages or source.max_list_pages
        self.date_re = re.compile(source.list_date_pattern)
        self.list_pages_seen = 0
        self.article_requests = 0
        self.seen_articles: set[str] = set()
        self.errors: dict[str, int] = {}

    # the fetch URL is what Scrapy requests; the logical URL is what we record
    def request(self, logical: str, callback, kind: str, **meta) -> scrapy.Request:
        return scrapy.Request(self.source.to_fetch(logical), callback=callback,
                              errback=self.on_error, dont_filter=False,
                              meta={"nf_kind": kind, "nf_logical": logical, **meta})

    async def start(self):
        for url in self.source.start():
            yield self.request(url, self.parse_list, "list", nf_page=1)

    def count_error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def on_error(self, failure):
        exc = failure.value
        kind = type(exc).__name__
        self.count_error(kind)
        self.logger.warning("fetch failed (%s): %s", kind, failure.request.url)

    def logical(self, url: str) -> str:
        return self.source.to_logical(url)

    def parse_list(self, response):
        if response.status >= 400:
            self.count_error(f"http_{response.status}")
            return
        if not hasattr(response, "text"):
            self.count_error("list_not_text")
            return
        self.list_pages_seen += 1
        page = response.meta.get("nf_page", 1)
        items = response.css(self.source.list_item) if self.source.list_item else []
        links: list[tuple[str, str | None]] = []
        for item in items:
            href = item.css("a::attr(href)").get()
            if href:
                links.append((href, self.item_date(" ".join(item.css("*::text").getall()))))
        if not links:   # template changed or unknown: any matching link on the page
            links = [(h, None) for h in response.css("a::attr(href)").getall()]
        fresh = 0
        for href, date in links:
            url = self.logical(response.urljoin(href.strip()))
            if not self.source.is_article(url) or url in self.seen_articles:
                continue
            if self.since and date and dt.date.fromisoformat(date) < self.since:
                continue
            fresh += 1
            self.seen_articles.add(url)
            self.article_requests += 1
            yield self.request(url, self.parse_article, "article", nf_list_date=date)
        if self.since and links and fresh == 0:
            return          # the whole page is older than --since: stop paging
        yield from self.next_pages(response, page)

    def item_date(self, text: str) -> str | None:
        m = self.date_re.search(text)
        if not m:
            return None
        try:
            return dt.date(*(int(g) for g in m.groups()[:3])).isoformat()
        except (ValueError, TypeError):
            return None

    def next_pages(self, response, page: int):
        if page >= self.max_pages:
            return
        rule = self.source.pagination
        if rule == "trs":
            if page != 1:
                return      # page 1 knows the count and schedules every other page
            m = TRS_PAGES.search(response.text)
            if m:
                count = min(int(m.group(1)), self.max_pages)
                here = response.meta["nf_logical"]
                for i, url in enumerate(list_page_urls_trs(here, count), start=2):
                    yield self.request(url, self.parse_list, "list", nf_page=i)
                return
            rule = "next"   # no TRS pager on this page: fall back to a next link
        if rule == "next":
            nexts = response.css(self.source.next_selector) if self.source.next_selector else []
            href = next((a.attrib["href"] for a in nexts if a.attrib.get("href")), None)
            if href:
                url = self.logical(response.urljoin(href.strip()))
                if self.source.is_allowed(url):
                    yield self.request(url, self.parse_list, "list", nf_page=page + 1)

    def parse_article(self, response):
        if response.status >= 400:
            self.count_error(f"http_{response.status}")
