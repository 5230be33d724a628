"""The raw-page archive: every fetched response kept verbatim in gzipped WARC files.

One WARC file per source per crawl run, one gzip member per record, written append-only and
flushed record by record. A crawl killed mid-write leaves at most one torn record at the end:
`read_pages` detects it, stops there and reports it, and everything before it stays readable.
Keeping raw pages means a better extractor can be re-run over everything without refetching.

Our own WARC headers (`NF-*`) carry what the pipeline needs besides the HTTP exchange: the
source, the page kind, the date the list page showed, and the URL the bytes really came from
(the local mirror) while WARC-Target-URI stays the real site's URL.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from schemas import RawPage

# Hop-by-hop and encoding headers no longer describe the (already decoded) body we store.
_DROP_HEADERS = {"content-encoding", "transfer-encoding", "content-length", "connection"}
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 304: "Not Modified",
            403: "Forbidden", 404: "Not Found", 412: "Precondition Failed", 500: "Internal Server Error"}


class ArchiveWriter:
    """Appends response records to one .warc.gz file.

    The file is opened at the first record, and an empty one is removed on close: a run that
    fetched nothing (a dead site, no network) leaves no 0-byte WARC file behind."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fh = None
        self._buf = io.BytesIO()                # one record is composed here, then written at once
        self._writer = WARCWriter(self._buf, gzip=True)
        self.records = 0

    def _open(self):
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab", buffering=0)
        return self._fh

    def write(self, *, url: str, final_url: str, fetch_url: str, status: int,
              headers: list[tuple[str, str]], body: bytes, fetched_at: dt.datetime,
              source: str, page_kind: str, list_date: str | None, run_id: str,
              block_reason: str | None = None) -> int:
        """Write one response; returns its offset in the file."""
        http_headers = StatusAndHeaders(
            f"{status} {_REASONS.get(status, 'Status')}",
            [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS]
            + [("Content-Length", str(len(body)))],
            protocol="HTTP/1.1")
        warc_headers = {
            "WARC-Date": fetched_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "NF-Source": source, "NF-Page-Kind": page_kind, "NF-Run-Id": run_id,
            "NF-Request-URI": url, "NF-Fetch-URI": fetch_url,
        }
        if list_date:
            warc_headers["NF-List-Date"] = list_date
        if block_reason:
            warc_headers["NF-Block-Reason"] = block_reason
        record = self._writer.create_warc_record(final_url, "response", payload=io.BytesIO(body),
                                                 http_headers=http_headers,
                                                 warc_headers_dict=warc_headers)
        self._buf.seek(0)
        self._buf.truncate()
        self._writer.write_record(record)
        view = memoryview(self._buf.getvalue())
        self._open()
        offset = self._fh.seek(0, os.SEEK_END)
        try:
            while view:                         # (a write may be short on a nearly full disk)
                view = view[self._fh.write(view):]
        except OSError:
            # a full disk or a file-size limit: cut the half-written record off again, so the
            # file stays a sequence of whole records; the caller decides what to do
            with contextlib.suppress(OSError):
                os.ftruncate(self._fh.fileno(), offset)
            raise
        self.records += 1
        return offset

    def close(self, fsync: bool = True) -> None:
        if self._fh is None or self._fh.closed:
            # never written to; a resumed run's file cut back to nothing goes too
            if self._fh is None and self.path.exists() and self.path.stat().st_size == 0:
                with contextlib.suppress(OSError):
                    self.path.unlink()
            return
        self._fh.flush()
        if fsync:
            os.fsync(self._fh.fileno())
        empty = self._fh.tell() == 0
        self._fh.close()
        if empty:
            with contextlib.suppress(OSError):
                self.path.unlink()

    @property
    def written(self) -> bool:
        """Whether the file exists with at least one record (this run's or a resumed one's)."""
        return self.path.exists() and self.path.stat().st_size > 0


@dataclass
class ReadReport:
    """What reading one archive file found besides good records."""

    path: str
    records: int = 0
    torn_at: int | None = None           # offset of a truncated/corrupt tail, if any
    problems: list[str] = field(default_factory=list)


def read_pages(path: str | Path, report: ReadReport | None = None,
               location: str | None = None) -> Iterator[RawPage]:
    """Yield every complete response record of one archive file, in order. Each page's
    `warc_path` is `location` (how the warehouse names the file, see `location()`), or the
    path as given."""
    path = Path(path)
    where = location if location is not None else str(path)
    report = report if report is not None else ReadReport(str(path))
    with open(path, "rb") as fh:
        yield from read_stream(fh, where, report)


def read_store(store, loc: str, report: ReadReport | None = None,
               offsets: set[int] | None = None) -> Iterator[RawPage]:
    """The pages of one WARC file of a store (crawlers/storage.py), named `loc`; with `offsets`,
    only the records that start there: one ranged read per record where the store says that
    pays (a few records of a big object), else one pass over the file."""
    report = report if report is not None else ReadReport(loc)
    if offsets is not None and store.ranged(loc, len(offsets)):
        for off in sorted(offsets):
            with store.open(loc, off) as fh:
                for page in read_stream(fh, loc, report, base=off, limit=1):
                    if page.warc_offset == off:
                        yield page
        return
    with store.open(loc) as fh:
        for page in read_stream(fh, loc, report):
            if offsets is None or page.warc_offset in offsets:
                yield page


def read_stream(fh, where: str, report: ReadReport, base: int = 0,
                limit: int | None = None) -> Iterator[RawPage]:
    """The complete response records of a WARC stream that starts at offset `base` of its
    file (at most `limit` of them); a torn or corrupt tail ends it and is reported."""
    it = ArchiveIterator(fh)
    offset = base
    seen = 0
    try:
        for rec in it:
            if rec.rec_type != "response":
                continue
            body = rec.content_stream().read()
            offset = base + it.get_record_offset()     # (warcio: only valid after the read)
            expected = rec.http_headers.get_header("Content-Length") if rec.http_headers else None
            if expected is not None and expected.isdigit() and int(expected) != len(body):
                raise EOFError(f"record cut short: {len(body)} of {expected} body bytes")
            report.records += 1
            yield _page(rec, body, where, offset)
            seen += 1
            if limit is not None and seen >= limit:
                return
    # warcio raises assorted errors on a torn gzip member or record (AttributeError on a
    # header block cut in half, among others): any of them ends the readable part here
    except (ArchiveLoadFailed, EOFError, zlib.error, OSError, ValueError, AttributeError,
            TypeError, IndexError) as exc:
        report.torn_at = offset
        report.problems.append(f"torn or corrupt record after offset {offset}: {exc}")


def _page(rec, body: bytes, where: str, offset: int) -> RawPage:
    h = rec.rec_headers
    status = int(rec.http_headers.get_statuscode() or 0) if rec.http_headers else 0
    headers = tuple(rec.http_headers.headers) if rec.http_headers else ()
    fetched = dt.datetime.strptime(h.get_header("WARC-Date")[:19], "%Y-%m-%dT%H:%M:%S")
    return RawPage(
        url=h.get_header("NF-Request-URI") or h.get_header("WARC-Target-URI"),
        final_url=h.get_header("WARC-Target-URI"), status=status, headers=headers,
        body=body, fetched_at=fetched.replace(tzinfo=dt.timezone.utc),
        source=h.get_header("NF-Source") or "", page_kind=h.get_header("NF-Page-Kind") or "other",
        list_date=h.get_header("NF-List-Date"), run_id=h.get_header("NF-Run-Id") or "",
        block_reason=h.get_header("NF-Block-Reason"),
        warc_path=where, warc_offset=offset)


def read_pages_at(path: str | Path, offsets, location: str | None = None) -> Iterator[RawPage]:
    """The response records that start at these offsets of one archive file (a re-check reads
    the few changed pages of a run mostly made of 304s without reading the rest)."""
    where = location if location is not None else str(path)
    with open(path, "rb") as fh:
        for offset in sorted(set(offsets)):
            fh.seek(offset)
            for rec in ArchiveIterator(fh):
                if rec.rec_type == "response":
                    yield _page(rec, rec.content_stream().read(), where, offset)
                break


def archive_files(root: str | Path) -> list[Path]:
    return sorted(Path(root).rglob("*.warc.gz"))


# ----------------------------------------------------------------------------- locations
# The warehouse records where each raw page is (articles, rejected, crawl_runs, crawl_urls and
# the stats files) relative to the archive root, POSIX-style: `gxzf/<run_id>.warc.gz`. Paths
# are resolved against the archive in use when they are read, so an archive that was moved,
# copied to another machine or mounted elsewhere (object storage) still finds its pages.

def location(path: str | Path, root: str | Path | None) -> str:
    """How the warehouse names this WARC file: relative to the archive root when it is under
    it; otherwise (a file processed from elsewhere) its absolute path."""
    path = Path(path)
    if root is not None:
        for p, r in ((Path(os.path.abspath(path)), Path(os.path.abspath(root))),
                     (path.resolve(), Path(root).resolve())):
            try:
                return p.relative_to(r).as_posix()
            except ValueError:
                pass
    return os.path.abspath(path)


def resolve(stored: str, root: str | Path | None) -> Path:
    """The file a stored location names, under this archive root.

    Warehouses and stats files from before archive-relative locations hold absolute paths,
    or paths relative to the folder the load ran in: an existing file is used as is;
    otherwise it is looked for in the archive by its last two parts (`<source>/<file>`),
    where the archive layout puts it. Returns the expected path when nothing exists."""
    p = Path(stored)
    tail = Path(*p.parts[-2:]) if len(p.parts) >= 2 else p
    candidates = []
    if p.is_absolute():
        candidates.append(p)
        if root is not None:
            candidates.append(Path(root) / tail)
    else:
        if root is not None:
            candidates += [Path(root) / p, Path(root) / tail]
        candidates.append(p)
    for c in candidates:
        if c.exists():
            return c
    return candidates[0]


def read_record(path: str | Path, offset: int) -> RawPage:
    """The one response record at `offset` of an archive file (where the warehouse says an
    article's raw page is: `warc_path`, `warc_offset`). ValueError when no complete response
    record starts there."""
    path = Path(path)
    with open(path, "rb") as fh:
        fh.seek(offset)
        try:
            for rec in ArchiveIterator(fh):
                if rec.rec_type != "response":
                    break
                body = rec.content_stream().read()
                h = rec.rec_headers
                status = int(rec.http_headers.get_statuscode() or 0) if rec.http_headers else 0
                fetched = dt.datetime.strptime(h.get_header("WARC-Date")[:19], "%Y-%m-%dT%H:%M:%S")
                return RawPage(
                    url=h.get_header("NF-Request-URI") or h.get_header("WARC-Target-URI"),
                    final_url=h.get_header("WARC-Target-URI"), status=status,
                    headers=tuple(rec.http_headers.headers) if rec.http_headers else (),
                    body=body, fetched_at=fetched.replace(tzinfo=dt.timezone.utc),
                    source=h.get_header("NF-Source") or "", page_kind=h.get_header("NF-Page-Kind") or "other",
                    list_date=h.get_header("NF-List-Date"), run_id=h.get_header("NF-Run-Id") or "",
                    block_reason=h.get_header("NF-Block-Reason"), warc_path=str(path), warc_offset=offset)
        except (ArchiveLoadFailed, EOFError, zlib.error, OSError, AttributeError, TypeError, IndexError) as exc:
            raise ValueError(f"no readable record at offset {offset} of {path}: {exc}") from exc
    raise ValueError(f"no response record at offset {offset} of {path}")
