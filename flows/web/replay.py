"""An archived page as it was fetched: the WARC record the warehouse points to (warc_path
relative to the archive root, warc_offset), served inside a sandboxed frame.

The page's bytes are sent as they were archived, with its own Content-Type, under a Content
Security Policy that turns scripts off and allows no request at all (`sandbox` with no
allowances; `default-src 'none'`; inline styles only), so an archived page can neither run code
nor reach the network (no tracker, no image from the live site).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawlers.archive import read_record, resolve

REPLAY_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
              "form-action 'none'; base-uri 'none'; frame-ancestors 'self'")
_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class NotArchived(LookupError):
    """The raw page cannot be shown (no location stored, file gone, record unreadable)."""


@dataclass(frozen=True)
class Replayed:
    body: bytes
    content_type: str
    url: str
    fetched_at: str
    status: int


def replay(archive_root: str | Path, warc_path: str, offset: int) -> Replayed:
    path = resolve(warc_path, archive_root)
    if not path.exists():
        raise NotArchived(f"the archive file {warc_path} is not under {archive_root}")
    try:
        page = read_record(path, offset)
    except ValueError as exc:
        raise NotArchived(str(exc)) from exc
    ctype = page.header("Content-Type") or "text/html"
    if not ctype.split(";")[0].strip().lower() in _TYPES:
        ctype = "text/plain; charset=utf-8"      # never let an archived response be something else
    return Replayed(page.body, ctype, page.final_url, page.fetched_at.isoformat(), page.status)
