"""Downloader middlewares: where requests may go, redirects that leave the site, retries with
backoff.

- `GuardMiddleware` (before robots.txt, 40): a request goes out only to the source's own
  domains; on the local mirror (`NF_LOOPBACK_ONLY`) only to 127.0.0.1, whatever a page or a
  redirect says. Dropped requests are counted as skipped "offsite".
- `RedirectGuardMiddleware` (650, so it sees a 3xx before RedirectMiddleware at 600): a
  redirect to another domain is not followed; the 3xx itself reaches the spider, is archived
  and counted ("redirect_offsite"). On the mirror, a redirect to the real site's absolute URL
  is pointed back at the mirror.
- `CharsetGuardMiddleware` (585): a response whose charset cannot decode text is read as UTF-8.
- `BackoffRetryMiddleware` (replaces RetryMiddleware at 550): retries 429/5xx/timeouts like
  Scrapy's, but waits first: `retry_backoff` seconds, doubling each time, or the server's
  Retry-After when longer (capped by NF_RETRY_BACKOFF_MAX).
"""
from __future__ import annotations

import email.utils
import logging
import time
from urllib.parse import urljoin

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from crawlers.urls import on_loopback

logger = logging.getLogger(__name__)
REDIRECTS = {301, 302, 303, 307, 308}


class GuardMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler
        self.loopback_only = crawler.settings.getbool("NF_LOOPBACK_ONLY")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        spider = self.crawler.spider
        host = urlparse_cached(request).hostname or ""
        if self.loopback_only and not on_loopback(request.url):
            spider.tally.skip("offsite")
            raise IgnoreRequest(f"offsite: {host} is not on the local mirror")
        if request.meta.get("dont_obey_robotstxt"):        # robots.txt of a host we already use
            return None
        source = spider.source
        if not source.is_allowed(source.to_logical(request.url)):
            spider.tally.skip("offsite")
            raise IgnoreRequest(f"offsite: {host} is not a domain of {source.name}")
        return None


class RedirectGuardMiddleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_response(self, request, response):
        if response.status not in REDIRECTS or b"Location" not in response.headers:
            return response
        source = self.crawler.spider.source
        raw = response.headers[b"Location"].decode("latin-1").strip()
        target = urljoin(response.url, raw)
        logical = source.to_logical(target)
        if not source.is_allowed(logical):
            request.meta["dont_redirect"] = True
            request.meta["nf_offsite_redirect"] = logical
            logger.info("not following redirect of %s to another domain: %s",
                        source.to_logical(request.url), logical)
        elif source.fetch_base and target != source.to_fetch(logical):
            response.headers[b"Location"] = source.to_fetch(logical)
        return response


class CharsetGuardMiddleware:
    """(585: after decompression, before MetaRefreshMiddleware reads the text.) A page naming
    a charset Python can only half decode with (charset=base64, idna, undefined ...) makes
    every reader of `response.text` raise, so the page was dropped unarchived and fetched
    again on every crawl. Such a response is read as UTF-8 instead; the archive keeps its
    bytes and headers as they came, and extraction decodes them its own way."""

    def process_response(self, request, response):
        if isinstance(response, TextResponse):
            try:
                response.text           # (decoded once: Scrapy caches it for its later readers)
            except (LookupError, UnicodeError):
                logger.info("unusable charset %r on %s: read as utf-8", response.encoding, response.url)
                return response.replace(encoding="utf-8")
        return response


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings):
        super().__init__(settings)
        self.backoff = settings.getfloat("NF_RETRY_BACKOFF", 2.0)
        self.backoff_max = settings.getfloat("NF_RETRY_BACKOFF_MAX", 60.0)

    def delay_for(self, attempt: int, response=None) -> float:
        delay = self.backoff * (2 ** (attempt - 1))
        if response is not None:
            after = response.headers.get(b"Retry-After")
            if after:
                delay = max(delay, _retry_after(after.decode("latin-1")))
        return min(delay, self.backoff_max)

    async def _wait(self, retry, response=None):
        delay = self.delay_for(retry.meta.get("retry_times", 1), response)
        logger.info("retry %d of %s in %.2f s", retry.meta.get("retry_times", 1), retry.url, delay)
        if delay > 0:
            await sleep(delay)

    async def process_response(self, request, response):
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(retry, response)
        return retry

    async def process_exception(self, request, exception):
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._wait(retry)
        return retry


def _retry_after(value: str) -> float:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
