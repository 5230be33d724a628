"""Scrapy settings for newsflow crawls. Politeness first: these are slow, fragile government
sites that a scheduled pipeline hits every few hours for months."""

BOT_NAME = "newsflow"
USER_AGENT = "newsflow/0.1 (research news archive; +https://github.com/newsflow)"
ROBOTSTXT_OBEY = True
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2      # Scrapy's default of 8 is rude to a provincial server
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]

# Every status reaches the spider, so errors are archived and counted, never dropped silently.
HTTPERROR_ALLOW_ALL = True
REDIRECT_MAX_TIMES = 5

LOG_LEVEL = "INFO"

# Settings for crawling the bundled local mirror: no delays, it is our own loopback server.
MIRROR_OVERRIDES = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "CONCURRENT_REQUESTS_PER_IP": 0,
    "RETRY_TIMES": 1,
    "DOWNLOAD_TIMEOUT": 10,
}
