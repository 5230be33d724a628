"""Scrapy extension that archives every response verbatim, tells blocked pages apart, tallies
the crawl and, at the end, writes the run's state and stats files.

Hooked to `response_received`, which fires once per final response (after retries and
redirects), so list pages, articles, 304s and error pages are all kept. A list page is read
here once (crawlers/discovery.py) so that `classify` can tell a JS-only list from a real one;
the spider reuses that reading. The stats file is written last: its presence marks a run as
finished (a run without one was killed and is resumed by the next crawl).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from scrapy import signals
from scrapy.http import TextResponse

from crawlers.archive import ArchiveWriter, location
from crawlers.blocking import classify
from crawlers.state import recheck_marker, run_state_path, truncate_archive, write_run_state
from crawlers.stats import write_stats
from schemas import CrawlStats

UTC = dt.timezone.utc
logger = logging.getLogger(__name__)


class ArchiveExtension:
    def __init__(self, crawler):
        self.crawler = crawler
        self.writer: ArchiveWriter | None = None
        self.write_error: str | None = None     # the archive could not be written: the crawl stops
        self._feed_fh = None
        self.started = dt.datetime.now(UTC)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider):
        self.out = Path(self.crawler.settings.get("NF_OUT_DIR")) / spider.source.name
        self.warc_path = self.out / f"{spider.run_id}.warc.gz"
        if spider.resume is not None:
            truncate_archive(spider.resume)
            if spider.resume.started_at:
                self.started = dt.datetime.fromisoformat(spider.resume.started_at)
            logger.info("resuming run %s of %s: %d pages already archived%s", spider.run_id, spider.source.name,
                        len(spider.resume.pages), " (torn last record cut off)" if spider.resume.torn else "")
        self.writer = ArchiveWriter(self.warc_path)
        if spider.recheck is not None:
            # a re-check's WARC is judged by the re-check only: if this run is killed, the next
            # crawl does not resume it, nor does `process` load it (crawlers/state.py, flows/steps.py)
            recheck_marker(self.warc_path).write_text(spider.run_id, encoding="utf-8")

    def response_received(self, response, request, spider):
        if self.write_error:
            return          # closing: a page that cannot be kept is not counted as fetched
        t = spider.tally
        source = spider.source
        meta = request.meta
        kind = meta.get("nf_kind", "other")
        parse = meta.get("nf_parse", "html")
        redirects = meta.get("redirect_urls")
        first = source.to_logical(redirects[0]) if redirects else (meta.get("nf_logical") or source.to_logical(request.url))
        final = source.to_logical(response.url)
        status = response.status
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in response.headers.items() for v in vs]
        block = None
        if kind != "other" and status != 304:
            found_articles = None
            if kind in ("list", "sitemap", "feed") and 200 <= status < 300 and isinstance(response, TextResponse):
                found = spider.discover(response)
                meta["nf_found"] = found
                found_articles = len(found.articles(source))
            block = classify("article" if kind == "article" else "list", status, headers, response.body, final,
                             parse=parse, found_articles=found_articles, soft404_markers=source.soft404_markers)
            meta["nf_block"] = block
        try:
            offset = self.writer.write(
                url=first, final_url=final, fetch_url=response.url, status=status, headers=headers,
                body=response.body, fetched_at=dt.datetime.now(UTC), source=source.name, page_kind=kind,
                list_date=meta.get("nf_list_date"), run_id=spider.run_id, block_reason=block)
        except OSError as exc:
            # a full disk: fetching on would only fetch pages we cannot keep. The pages not
            # archived are not known, so the next crawl fetches them.
            self.write_error = spider.archive_error = f"cannot write the archive {self.warc_path}: {exc}"
            logger.error("%s; closing the crawl of %s", self.write_error, source.name)
            t.error("archive_write_failed")
            from scrapy.utils.defer import deferred_from_coro
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="archive_write_failed"))
            return
        t.pages += 1
        t.bytes += len(response.body)
        t.status[status] += 1
        if block:
            t.blocked[block] += 1
            if kind != "article" and meta.get("nf_page", 1) == 1:
                t.roots_blocked += 1
            logger.warning("blocked (%s): %s", block, final)
        elif status == 304:
            if kind in ("list", "sitemap", "feed"):
                t.list_pages += 1
                t.not_modified += 1
        elif status in (301, 302, 303, 307, 308):
            t.error("redirect_offsite" if meta.get("nf_offsite_redirect") else "redirect_not_followed")
        elif status >= 400:
            t.error(f"http_{status}")
        elif kind == "article":
            t.articles += 1
            if spider.source.canonical(first) not in spider.known:
                t.new_articles += 1
        elif kind in ("list", "sitemap", "feed"):
            t.list_pages += 1
            t.list_ok += 1
        entry = {"url": first, "final_url": final, "kind": kind, "status": status, "block": block,
                 "offset": offset, "list_date": meta.get("nf_list_date"),
                 "fetched_at": dt.datetime.now(UTC).isoformat(timespec="seconds")}
        if kind == "article":       # validators, for the conditional GET of a later re-check
            entry["etag"] = response.headers.get(b"ETag", b"").decode("latin-1") or None
            entry["last_modified"] = response.headers.get(b"Last-Modified", b"").decode("latin-1") or None
            if status == 304:
                t.not_modified += 1
        t.fetched.append(entry)
        if meta.get("nf_recheck"):
            t.rechecks[meta["nf_logical"]] = {**entry, "url": meta["nf_logical"],
                                              "redirected": bool(redirects)}
            if kind == "article" and 200 <= status < 300 and not block:
                self._feed(source.name, offset)

    def _feed(self, source: str, offset: int) -> None:
        """One line for the caller (crawlers/run.py --feed): the record is whole on disk
        already (ArchiveWriter writes unbuffered), so the caller can read it at once."""
        path = self.crawler.settings.get("NF_FEED")
        if not path:
            return
        try:
            if self._feed_fh is None:
                self._feed_fh = open(path, "a", encoding="utf-8", buffering=1)
            where = location(self.warc_path, Path(self.crawler.settings.get("NF_OUT_DIR")))
            self._feed_fh.write(json.dumps({"source": source, "warc": str(self.warc_path), "location": where,
                                            "offset": offset}) + "\n")
        except OSError as exc:      # the caller reads the page after the crawl instead
            logger.warning("cannot write the feed %s: %s", path, exc)

    def spider_closed(self, spider, reason):
        if self.writer:
            self.writer.close()
        if self._feed_fh is not None:
            self._feed_fh.close()
        t = spider.tally
        errors = dict(t.errors)
        if reason != "finished":
            errors[f"closed_{reason}"] = errors.get(f"closed_{reason}", 0) + 1
        n_errors = sum(errors.values())
        n_blocked = sum(t.blocked.values())
        attempts = t.pages + sum(v for k, v in errors.items() if not k.startswith(("http_", "redirect_")))
        roots = len(spider.source.start()) + len(spider.source.sitemaps) + len(spider.source.feeds)
        flags = []
        if self.write_error:
            status = "failed"           # the archive could not be written (a full disk)
        elif t.list_ok + t.not_modified == 0 and t.roots_blocked:
            status = "blocked"          # the site answered every start page with a challenge
        elif t.list_ok + t.not_modified == 0:
            status = "failed"           # no list page could be read: nothing was discovered
        elif t.links_found == 0:
            status = "empty"            # list pages came back, but without one article link
        elif (n_errors + n_blocked) * 2 > attempts:
            status = "failed"
        else:
            status = "ok"
        if t.new_articles == 0:
            flags.append("nothing_new")
        if (n_errors + n_blocked) * 2 > attempts:
            flags.append("mostly_errors")
        if n_blocked:
            flags.append("blocked_pages")
        if t.robots_disallowed:
            flags.append("robots_disallowed")
        if not spider.source.obey_robots:
            flags.append("robots_ignored")
        if spider.resume is not None:
            flags.append("resumed")
        if t.roots_blocked and t.roots_blocked >= roots:
            flags.append("start_blocked")
        state_path = write_run_state(self.out, spider.run_id, spider.source.name, t.fetched, t.lists_out,
                                     rechecks=t.rechecks if spider.recheck is not None else None)
        # where the files are, relative to the archive root (crawlers/archive.py: location); a
        # run that archived nothing has no WARC file
        root = Path(self.crawler.settings.get("NF_OUT_DIR"))
        warc = location(self.warc_path, root) if self.writer is not None and self.writer.written else ""
        finished = dt.datetime.now(UTC)
        retries = int(self.crawler.stats.get_value("retry/count", 0) or 0)
        notes = [f"closed: {reason}"] + ([self.write_error] if self.write_error else []) + spider.state.notes
        if spider.resume is not None:
            notes.append(f"resumed after {len(spider.resume.pages)} archived pages")
        stats = CrawlStats(
            run_id=spider.run_id, source=spider.source.name, started_at=self.started, finished_at=finished,
            status=status, pages_fetched=t.pages, list_pages=t.list_pages, article_requests=t.article_requests,
            articles_archived=t.articles, not_modified=t.not_modified, errors=n_errors, blocked=n_blocked,
            bytes=t.bytes, errors_by_kind=tuple(sorted(errors.items())), warc_path=warc,
            message="; ".join(notes), retries=retries, robots_disallowed=t.robots_disallowed,
            links_found=t.links_found, known_skipped=t.known_skipped,
            duration_s=round((finished - self.started).total_seconds(), 3),
            status_counts=tuple(sorted(t.status.items())), blocked_by_reason=tuple(sorted(t.blocked.items())),
            skipped_by_kind=tuple(sorted(t.skipped.items())), flags=tuple(flags), mode=spider.mode,
            resumed=spider.resume is not None, state_path=location(run_state_path(self.out, spider.run_id), root))
        assert state_path.exists()
        write_stats(Path(self.crawler.settings.get("NF_OUT_DIR")), stats)
