"""Named exceptions of the crawl side."""


class RegistryError(Exception):
    """The source registry is invalid; the message names file, source and field."""


class UnknownSource(RegistryError):
    """A source name that is not in the registry."""


class CrawlFailed(Exception):
    """The crawl process failed or fetched nothing."""
