"""Named exceptions of the crawl side, branches of the one error table (schemas/errors.py)."""
from schemas.errors import BadInput, Busy, Failed



class RegistryError(BadInput):
    """The source registry is invalid; the message names file, source and field."""


class UnknownSource(RegistryError):
    """A source name that is not in the registry."""


class CrawlFailed(Failed):
    """The crawl process failed or fetched nothing."""


class CrawlBusy(Busy, CrawlFailed):
    """Another crawl of the same source is running (its lock file is held)."""


class ArchiveUnavailable(Failed):
    """The archive's store (object storage) could not be listed or read; nothing was changed."""


class ArchiveMissing(ArchiveUnavailable):
    """A WARC file the warehouse names is in neither the store nor the local spool."""


class ArchiveUploadFailed(ArchiveUnavailable):
    """A finished WARC file could not be uploaded to the archive's store; the local copy is
    kept, and the next crawl, ingest or process uploads it again."""
