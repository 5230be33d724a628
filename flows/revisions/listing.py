"""Delistings: an article that drops out of its column's list pages while its page still
answers. Pure functions over the list-page state the crawler keeps (crawlers/state.py: each
list page's links with the date the list showed).

A column's list pages only show its newest items, so an item pushed off the last page read is
no delisting: only an item newer than the oldest item the lists still show, listed before and
missing now, is one.
"""
from __future__ import annotations

from typing import Callable


def listed(lists: dict, canonical: Callable[[str], str]) -> dict[str, str | None]:
    """{canonical URL: list date} of every link on these list pages ({url: {"links": ...}})."""
    out: dict[str, str | None] = {}
    for page in (lists or {}).values():
        for link in page.get("links") or ():
            url, date = (link[0], link[1] if len(link) > 1 else None)
            key = canonical(url)
            if out.get(key) is None:
                out[key] = date
    return out


def delisted(before: dict[str, str | None], after: dict[str, str | None]) -> list[str]:
    """Canonical URLs listed before, not listed now, and newer than the oldest item still listed."""
    dates = [d for d in after.values() if d]
    if not after or not dates:
        return []
    oldest = min(dates)
    return sorted(u for u, d in before.items() if u not in after and d and d > oldest)
