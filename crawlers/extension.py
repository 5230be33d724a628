"""Scrapy extension that archives every response verbatim and tallies the crawl's stats.

Hooked to `response_received`, which fires once per final response (after retries and
redirects), so list pages, articles and error pages are all kept. At close it writes the
per-source stats file the flow loads into `crawl_runs`.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from scrapy import signals

from crawlers.archive import ArchiveWriter
from crawlers.stats import write_stats
from schemas import CrawlStats

UTC = dt.timezone.utc


class ArchiveExtension:
    def __init__(self, crawler):
        self.crawler = crawler
        self.writer: ArchiveWriter | None = None
        self.started = dt.datetime.now(UTC)
        self.pages = 0
        self.bytes = 0
        self.articles = 0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider):
        out = Path(self.crawler.settings.get("NF_OUT_DIR"))
        self.warc_path = out / spider.source.name / f"{spider.run_id}.warc.gz"
        self.writer = ArchiveWriter(self.warc_path)

    def response_received(self, response, request, spider):
        source = spider.source
        first = (request.meta.get("redirect_urls") or [request.url])[0]
        kind = request.meta.get("nf_kind", "other")
        self.writer.write(
            url=source.to_logical(first), final_url=source.to_logical(response.url),
            fetch_url=response.url, status=response.status,
            headers=[(k.decode("latin-1"), v.decode("latin-1"))
                     for k, vs in response.headers.items() for v in vs],
            body=response.body, fetched_at=dt.datetime.now(UTC), source=source.name,
            page_kind=kind, list_date=request.meta.get("nf_list_date"), run_id=spider.run_id)
        self.pages += 1
        self.bytes += len(response.body)
        if kind == "article" and response.status < 400:
            self.articles += 1

    def spider_closed(self, spider, reason):
        if self.writer:
            self.writer.close()
        errors = dict(spider.errors)
        if reason not in ("finished",):
            errors[f"closed_{reason}"] = errors.get(f"closed_{reason}", 0) + 1
        n_errors = sum(errors.values())
        if self.pages == 0:
            status = "failed" if n_errors else "empty"
        elif self.articles == 0 and spider.article_requests == 0:
            status = "empty"
        elif n_errors > self.pages / 2:
            status = "failed"
        else:
            status = "ok"
        stats = CrawlStats(
            run_id=spider.run_id, source=spider.source.name, started_at=self.started,
            finished_at=dt.datetime.now(UTC), status=status, pages_fetched=self.pages,
            list_pages=spider.list_pages_seen, article_requests=spider.article_requests,
            articles_archived=self.articles, errors=n_errors, bytes=self.bytes,
            errors_by_kind=tuple(sorted(errors.items())), warc_path=str(self.warc_path),
            message=f"closed: {reason}")
        write_stats(Path(self.crawler.settings.get("NF_OUT_DIR")), stats)
