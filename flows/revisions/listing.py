"""Delistings: an article that drops out of its column's list pages while its page still
answers. Pure functions over the list-page state the crawler keeps (crawlers/state.py: each
list page's links with the date the list showed, and the next pages it led to).

Per column, not per source: a source may read several columns (its start URLs, sitemaps and
feeds), each a first list page and the pages it leads to. An article is judged against each
column that listed it: it is delisted when it drops out of one of them, even if another column
(a home-page box, a second column) still links it; and each column's window is its own, since a
busy column's last page read can be days newer than a slow column's.

A column's list pages only show its newest items, so an item pushed off the last page read is
no delisting: only an item newer than the oldest item that column still shows, listed before
and missing now, is one. A column none of whose pages was read now concludes nothing.
"""
from __future__ import annotations

from typing import Callable, Iterable


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


def columns(roots: Iterable[str], *states: dict) -> dict[str, str]:
    """{list page URL: the root (a column's first list page) it belongs to}, following each
    page's `next` pages in any of these states ({url: {"next": [{"url": ...}]}}). A page no root
    leads to (a start URL since dropped from the registry) is a column of its own; a page two
    roots lead to belongs to the first."""
    nexts: dict[str, list[str]] = {}
    for state in states:
        for url, page in (state or {}).items():
            nexts.setdefault(url, [])
            nexts[url] += [n.get("url") for n in page.get("next") or () if isinstance(n, dict) and n.get("url")]
    out: dict[str, str] = {}
    for root in list(roots) + sorted(nexts):
        if root in out:
            continue
        todo = [root]
        while todo:
            url = todo.pop()
            if url in out:
                continue
            out[url] = root
            todo += nexts.get(url, ())
    return out


def by_column(lists: dict, column_of: dict[str, str], canonical: Callable[[str], str]
              ) -> dict[str, dict[str, str | None]]:
    """{column root: {canonical URL: list date}} of these list pages."""
    pages: dict[str, dict] = {}
    for url, page in (lists or {}).items():
        pages.setdefault(column_of.get(url, url), {})[url] = page
    return {root: listed(group, canonical) for root, group in pages.items()}


def delisted_by_column(before: dict, after: dict, roots: Iterable[str], canonical: Callable[[str], str]
                       ) -> dict[str, list[str]]:
    """{canonical URL: the columns (roots) it dropped out of}: for each column read now, the
    articles it listed before and no longer does, newer than the oldest item it still shows."""
    column_of = columns(roots, before, after)
    was, now = by_column(before, column_of, canonical), by_column(after, column_of, canonical)
    out: dict[str, list[str]] = {}
    for root in sorted(was):
        for url in delisted(was[root], now.get(root) or {}):
            out.setdefault(url, []).append(root)
    return out


def relisted(after: dict, roots: Iterable[str], canonical: Callable[[str], str],
             dropped_from: dict[str, str | None], before: dict | None = None) -> list[str]:
    """Of these delisted articles ({canonical URL: the column it dropped out of, None: unknown}),
    those listed again now by that column (by any column when it is unknown)."""
    column_of = columns(roots, before or {}, after)
    now = by_column(after, column_of, canonical)
    anywhere = {u for links in now.values() for u in links}
    return sorted(u for u, root in dropped_from.items()
                  if (u in (now.get(root) or {}) if root else u in anywhere))
