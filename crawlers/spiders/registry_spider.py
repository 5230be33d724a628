"""A spider driven entirely by one registry entry: list pages (HTML, Hanweb XML, sitemaps,
feeds) -> article pages. What each page holds is read by crawlers/discovery.py; this spider
decides what to fetch next.

- Incremental by default: an article URL already stored (the state the flow passes in, plus
  runs on disk it has not recorded) is not requested again; list pages are fetched one after
  the other, and paging stops at a page whose articles are all known. List pages are asked
  with If-None-Match / If-Modified-Since; a 304 costs nothing: the links the page held last
  time (kept in the state) are replayed instead.
- `since`: back-fill. Known articles are still skipped, but paging goes on until a page holds
  only items dated before `since` (items dated before it are never requested).
- `refresh`: known articles are requested again (edits are caught; the earlier version stays
  in its WARC file) and paging does not stop at known pages.
- `resume`: continue a killed run: its archived list pages are read back from the archive
  (not fetched), its archived articles are skipped.

Every response is archived and tallied by the ArchiveExtension (crawlers/extension.py).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse

from crawlers import discovery
from crawlers.discovery import Found, Next
from crawlers.registry import Source
from crawlers.state import ListState, Resume, SourceState, ok_article

KIND_FOR_PARSE = {"html": "list", "dataproxy": "list", "sitemap": "sitemap", "feed": "feed"}
LIST_KINDS = {"list", "sitemap", "feed"}
logger = logging.getLogger(__name__)


@dataclass
class Tally:
    """What the crawl of one source did, filled by the spider and the archive extension."""

    pages: int = 0
    bytes: int = 0
    list_pages: int = 0
    list_ok: int = 0
    not_modified: int = 0
    articles: int = 0                 # real article pages archived
    new_articles: int = 0             # of which were not known before
    article_requests: int = 0
    links_found: int = 0
    known_skipped: int = 0
    robots_disallowed: int = 0
    roots_blocked: int = 0
    status: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    blocked: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    fetched: list[dict] = field(default_factory=list)
    lists_out: dict[str, ListState] = field(default_factory=dict)
    rechecks: dict[str, dict] = field(default_factory=dict)     # re-check: known URL -> what it answered

    def skip(self, kind: str, n: int = 1) -> None:
        self.skipped[kind] += n

    def error(self, kind: str) -> None:
        self.errors[kind] += 1


def error_kind(exc: BaseException) -> str:
    name = type(exc).__name__
    return {"DownloadTimeoutError": "timeout", "TimeoutError": "timeout", "TCPTimedOutError": "timeout",
            "DownloadConnectionRefusedError": "connection_refused", "ConnectionRefusedError": "connection_refused",
            "CannotResolveHostError": "dns", "DNSLookupError": "dns",
            "DownloadCancelledError": "too_large", "CancelledError": "too_large",
            "ResponseDataLossError": "data_loss", "ConnectionLost": "connection_lost",
            "ConnectionDone": "connection_lost", "DownloadFailedError": "connection_lost",
            "ResponseFailed": "connection_lost"}.get(name, name)


class RegistrySpider(scrapy.Spider):
    name = "registry"

    def __init__(self, source: Source, run_id: str, since: dt.date | None = None,
                 max_pages: int | None = None, state: SourceState | None = None,
                 refresh: bool = False, resume: Resume | None = None, recheck: list[dict] | None = None,
                 **kwargs):
        super().__init__(name=f"registry-{source.name}", **kwargs)
        self.source = source
        self.run_id = run_id
        self.since = since.isoformat() if since else None
        self.max_pages = max_pages or source.max_list_pages
        self.state = state or SourceState()
        self.refresh = refresh
        self.resume = resume
        self.recheck = recheck      # re-check: [{url, etag, last_modified}] of known articles to ask again
        self.mode = "recheck" if recheck is not None else (
            "refresh" if refresh else ("since" if since else "incremental"))
        self.tally = Tally()
        self.seen: set[str] = set()
        self.requested_lists: set[str] = set()
        self.replay: dict[str, object] = {}            # list pages this run archived before a kill
        self.resumed_articles: set[str] = set()
        # links are compared by their canonical spelling (the source's URL rules): a page linked
        # as `a.shtml?ddtab=true` on one list and `a.shtml` on another is one page, fetched once
        canon = source.canonical
        self.known = {canon(u) for u in self.state.known}
        self.stop_known = {canon(u) for u in self.state.stop_known}
        if resume:
            self._seed_from_resume(resume)

    # ------------------------------------------------------------------ resume
    def _seed_from_resume(self, resume: Resume) -> None:
        t = self.tally
        for p in resume.pages:
            t.pages += 1
            t.bytes += p.size
            t.status[p.status] += 1
            if p.kind in LIST_KINDS:
                if p.status == 304 or (200 <= p.status < 300 and not p.block):
                    self.replay[p.url] = p
            elif p.kind == "article":
                if ok_article(p.kind, p.status, p.block):
                    t.articles += 1
                    t.new_articles += 1 if self.source.canonical(p.url) not in self.stop_known else 0
                    self.resumed_articles.update(map(self.source.canonical, (p.url, p.final_url)))
            if p.block:
                t.blocked[p.block] += 1
            t.fetched.append({"url": p.url, "final_url": p.final_url, "kind": p.kind, "status": p.status,
                              "block": p.block, "offset": p.offset, "list_date": p.list_date,
                              "fetched_at": p.fetched_at})

    def _replayed(self, p, nxt: Next, root: str, count: int | None) -> Found | None:
        """A list page archived before the kill, read back instead of fetched."""
        t = self.tally
        t.list_pages += 1
        if p.status == 304:
            t.not_modified += 1
            ls = self.state.lists.get(nxt.url)
            if ls is None:
                return None
            t.lists_out[nxt.url] = ls
            return Found(nxt.parse, "resumed_304", list(ls.links), next_pages=[Next.from_json(d) for d in ls.next],
                         page_count=ls.count)
        t.list_ok += 1
        from w3lib.encoding import html_to_unicode
        ctype = next((v for k, v in p.headers if k.lower() == "content-type"), None)
        _, text = html_to_unicode(ctype, p.body)
        found = discovery.discover(self.source, nxt.parse, p.final_url, text, page=nxt.page,
                                   first_url=root, count=count)
        etag = next((v for k, v in p.headers if k.lower() == "etag"), None)
        lm = next((v for k, v in p.headers if k.lower() == "last-modified"), None)
        t.lists_out[nxt.url] = ListState(etag, lm, found.articles(self.source),
                                         [n.to_json() for n in found.next_pages], found.page_count, 200)
        return found

    # ------------------------------------------------------------------ requests
    async def start(self):
        if not self.source.obey_robots:
            logger.warning("robots.txt is ignored for source %s (registry: robots = \"ignore\")",
                           self.source.name)
        roots = ([Next(u, 1, "html") for u in self.source.start()]
                 + [Next(u, 1, "sitemap") for u in self.source.sitemap_urls()]
                 + [Next(u, 1, "feed") for u in self.source.feed_urls()])
        for nxt in roots:
            for req in self.list_request(nxt, nxt.url, None):
                yield req
        for item in self.recheck or ():
            yield self.recheck_request(item)

    def recheck_request(self, item: dict) -> scrapy.Request:
        """A known article asked again, conditionally: an unchanged page costs a 304."""
        headers = {}
        if item.get("etag"):
            headers["If-None-Match"] = item["etag"]
        if item.get("last_modified"):
            headers["If-Modified-Since"] = item["last_modified"]
        self.tally.article_requests += 1
        self.seen.add(self.source.canonical(item["url"]))
        return scrapy.Request(self.source.to_fetch(item["url"]), headers=headers, callback=self.parse_article,
                              errback=self.on_error, dont_filter=True,
                              meta={"nf_kind": "article", "nf_logical": item["url"], "nf_recheck": True})

    def list_request(self, nxt: Next, root: str, count: int | None):
        if nxt.url in self.requested_lists:
            return
        self.requested_lists.add(nxt.url)
        archived = self.replay.get(nxt.url)
        if archived is not None:
            found = self._replayed(archived, nxt, root, count)
            if found is not None:
                yield from self.follow(found, nxt, root)
                return
        headers = {}
        known = self.state.lists.get(nxt.url)
        if known is not None and not nxt.form:
            if known.etag:
                headers["If-None-Match"] = known.etag
            if known.last_modified:
                headers["If-Modified-Since"] = known.last_modified
        meta = {"nf_kind": KIND_FOR_PARSE.get(nxt.parse, "list"), "nf_parse": nxt.parse, "nf_page": nxt.page,
                "nf_root": root, "nf_count": count, "nf_logical": nxt.url, "nf_form": nxt.form}
        url = self.source.to_fetch(nxt.url)
        if nxt.form:
            yield scrapy.FormRequest(url, formdata=dict(nxt.form), callback=self.parse_list,
                                     errback=self.on_error, priority=10, dont_filter=True, meta=meta)
        else:
            yield scrapy.Request(url, headers=headers, callback=self.parse_list, errback=self.on_error,
                                 priority=10, dont_filter=True, meta=meta)

    def article_request(self, url: str, date: str | None) -> scrapy.Request:
        self.tally.article_requests += 1
        return scrapy.Request(self.source.to_fetch(url), callback=self.parse_article, errback=self.on_error,
                              dont_filter=True, meta={"nf_kind": "article", "nf_logical": url,
                                                      "nf_list_date": date})

    # ------------------------------------------------------------------ parsing
    def discover(self, response) -> Found:
        """Read a list response (called once, by the extension, before it is archived)."""
        meta = response.meta
        text = response.text if isinstance(response, TextResponse) else response.body.decode("utf-8", "replace")
        selector = response.selector if isinstance(response, TextResponse) and meta.get("nf_parse") == "html" else None
        return discovery.discover(self.source, meta.get("nf_parse", "html"), self.source.to_logical(response.url),
                                  text, page=meta.get("nf_page", 1), first_url=meta.get("nf_root"),
                                  count=meta.get("nf_count"), selector=selector)

    def parse_list(self, response):
        meta = response.meta
        url = meta["nf_logical"]
        nxt = Next(url, meta.get("nf_page", 1), meta.get("nf_parse", "html"), tuple(meta.get("nf_form") or ()))
        if response.status == 304:
            known = self.state.lists.get(url)
            if known is None:
                self.tally.error("304_without_state")
                return
            self.tally.lists_out[url] = dataclasses.replace(known, status=304)
            found = Found(nxt.parse, "replay_304", list(known.links),
                          next_pages=[Next.from_json(d) for d in known.next], page_count=known.count)
        elif meta.get("nf_block") or not 200 <= response.status < 300:
            return          # archived and counted by the extension; never paged from
        else:
            found = meta.get("nf_found") or self.discover(response)
            self.tally.lists_out[url] = ListState(
                response.headers.get(b"ETag", b"").decode("latin-1") or None,
                response.headers.get(b"Last-Modified", b"").decode("latin-1") or None,
                found.articles(self.source), [n.to_json() for n in found.next_pages], found.page_count, 200)
        yield from self.follow(found, nxt, meta.get("nf_root") or url)

    def follow(self, found: Found, nxt: Next, root: str):
        links = found.articles(self.source)
        t = self.tally
        t.links_found += len(links)
        if not links and not found.next_pages and found.rule not in ("replay_304", "resumed_304"):
            t.error("list_without_links")
        all_known = bool(links)
        all_old = bool(links) and self.since is not None
        for url, date in links:
            key = self.source.canonical(url)
            old = bool(self.since and date and date < self.since)
            if not old:
                all_old = False
            if key not in self.stop_known:
                all_known = False
            if old:
                t.skip("older_than_since")
                continue
            if key in self.seen:
                continue
            self.seen.add(key)
            if key in self.resumed_articles:
                t.skip("archived_before_kill")
                continue
            if key in self.known and not self.refresh:
                t.known_skipped += 1
                t.skip("known")
                continue
            if self.recheck is not None:
                t.skip("recheck_listed")    # a re-check reads the lists (delistings), fetches no new page
                continue
            yield self.article_request(url, date)
        if nxt.page >= self.max_pages:
            return
        if self.since is not None and all_old:
            return          # back-fill reached items older than --since
        if (self.since is None and not self.refresh and self.recheck is None and all_known
                and not self.state.page_all):
            return          # incremental: this page holds only URLs we already have
        for n in found.next_pages:
            yield from self.list_request(n, root, found.page_count)

    def parse_article(self, response):
        return None         # archived and counted by the extension

    def on_error(self, failure):
        exc = failure.value
        request = failure.request
        if isinstance(exc, IgnoreRequest):
            msg = str(exc)
            if "robots.txt" in msg:
                self.tally.robots_disallowed += 1
                self.tally.skip("robots")
                logger.info("robots.txt forbids %s", self.source.to_logical(request.url))
            elif "max redirections" in msg:     # a redirect loop (or a chain too long): an error
                self.tally.error("redirect_loop")
                self.logger.warning("fetch failed (redirect_loop): %s", self.source.to_logical(request.url))
            elif not msg.startswith("offsite"):
                self.tally.skip("ignored")
            return
        kind = error_kind(exc)
        self.tally.error(kind)
        if request.meta.get("nf_recheck"):
            logical = request.meta["nf_logical"]
            self.tally.rechecks[logical] = {"url": logical, "error": kind, "status": None,
                                            "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        self.logger.warning("fetch failed (%s): %s", kind, self.source.to_logical(request.url))
