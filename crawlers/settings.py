"""Scrapy settings for newsflow crawls. Politeness first: these are slow, fragile government
sites that a scheduled pipeline hits every few hours for months.

Each source runs in its own Scrapy crawler, so a registry entry can override, for its site
only: `robots`, `delay`, `concurrency`, `timeout`, `retries`, `retry_backoff` and `max_bytes`
(see `per_source_settings`).
"""

BOT_NAME = "newsflow"
# One clear, honest User-Agent: who we are and where to read about it. No browser disguise.
USER_AGENT = "newsflow/0.2 (research news archive; +https://github.com/newsflow/newsflow#crawling)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False

CONCURRENT_REQUESTS = 16
# We yield requests, never items. Scrapy starts CONCURRENT_ITEMS (default 100) asyncio workers
# for every callback's output, which cost more CPU per page than archiving it; 8 is plenty for
# the <= 20 requests a list page yields.
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2      # Scrapy's default of 8 is rude to a provincial server
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024     # the response size cap: a bigger body is cancelled
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
NF_RETRY_BACKOFF = 2.0                  # first retry after 2 s, then 4 s ... (or Retry-After)
NF_RETRY_BACKOFF_MAX = 60.0

# Every status reaches the spider, so errors are archived and counted, never dropped silently.
HTTPERROR_ALLOW_ALL = True
REDIRECT_MAX_TIMES = 5

DOWNLOADER_MIDDLEWARES = {
    "crawlers.middlewares.GuardMiddleware": 40,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,     # GuardMiddleware does it
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.BackoffRetryMiddleware": 550,
    "crawlers.middlewares.RedirectGuardMiddleware": 650,
    "crawlers.middlewares.CharsetGuardMiddleware": 585,
}
EXTENSIONS = {"crawlers.extension.ArchiveExtension": 500}

LOG_LEVEL = "INFO"

# Politeness off: the bundled local mirror and benchmarks (our own loopback server). Requests
# may then only go to 127.0.0.1 (NF_LOOPBACK_ONLY), whatever a page or redirect says.
MIRROR_OVERRIDES = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "CONCURRENT_REQUESTS_PER_IP": 0,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 10,
    "NF_RETRY_BACKOFF": 0.05,
    "NF_LOOPBACK_ONLY": True,
}


def per_source_settings(source, polite: bool) -> dict:
    """The settings one source's registry entry overrides (politeness fields only apply when
    crawling politely, i.e. not the local mirror)."""
    out = {"ROBOTSTXT_OBEY": source.obey_robots}
    if polite:
        if source.delay is not None:
            out["DOWNLOAD_DELAY"] = source.delay
            out["AUTOTHROTTLE_START_DELAY"] = max(source.delay, 0.1)
        if source.concurrency is not None:
            out["CONCURRENT_REQUESTS_PER_DOMAIN"] = source.concurrency
    if source.timeout is not None:
        out["DOWNLOAD_TIMEOUT"] = source.timeout
    if source.retries is not None:
        out["RETRY_TIMES"] = source.retries
    if source.retry_backoff is not None:
        out["NF_RETRY_BACKOFF"] = source.retry_backoff
    if source.max_bytes is not None:
        out["DOWNLOAD_MAXSIZE"] = source.max_bytes
    return out
