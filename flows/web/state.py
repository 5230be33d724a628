"""The explorer's whole state lives in the URL's query string: a query, its facet values, the
view, the order, the page and the chart's grouping. Any page can be bookmarked and shared,
and every link on a page is this state with one thing changed (`State.url`).

Parsing is strict: a value of the wrong shape (a page that is not a number, an unknown view,
a date that is not YYYY-MM-DD) is a BadRequest (400), never a silent default.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from urllib.parse import parse_qsl, urlencode

from schemas.errors import BadInput

VIEWS = ("story", "article")
SORTS = ("relevance", "newest", "oldest")
BYS = ("source", "topic")
UNITS = ("auto", "day", "week", "month")
FACETS = ("source", "province", "topic", "partner", "place", "outlet", "script")   # repeatable keys
MAX_QUERY = 200             # characters of a query
MAX_VALUES = 50             # values of one facet
MAX_PAGE = 500              # pages of results (x PAGE_SIZE): deeper than anyone reads; download instead
PAGE_SIZE = 20


class BadRequest(BadInput):
    """A request the explorer cannot answer as asked (HTTP 400)."""


@dataclass(frozen=True)
class State:
    q: str = ""
    any: bool = False
    source: tuple[str, ...] = ()
    province: tuple[str, ...] = ()
    topic: tuple[str, ...] = ()
    partner: tuple[str, ...] = ()
    place: tuple[str, ...] = ()
    outlet: tuple[str, ...] = ()
    script: tuple[str, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    view: str = "story"
    sort: str = ""              # "" = relevance with a query, newest without
    page: int = 1
    by: str = "source"
    unit: str = "auto"

    @property
    def order(self) -> str:
        return self.sort or ("relevance" if self.q.strip() else "newest")

    @classmethod
    def parse(cls, query_string: str) -> "State":
        multi: dict[str, list[str]] = {k: [] for k in FACETS}
        single: dict[str, str] = {}
        for key, value in parse_qsl(query_string, keep_blank_values=False):
            if key in multi:
                if value not in multi[key]:
                    multi[key].append(value)
            elif key in _SINGLE:
                single[key] = value
            # unknown keys (a tracking parameter, an old bookmark's) are ignored
        for key, values in multi.items():
            if len(values) > MAX_VALUES:
                raise BadRequest(f"too many values for {key} (at most {MAX_VALUES})")
        q = single.get("q", "").strip()
        if len(q) > MAX_QUERY:
            raise BadRequest(f"the query is longer than {MAX_QUERY} characters")
        state = cls(q=q, any=_flag(single.get("any")), **{k: tuple(v) for k, v in multi.items()},
                    date_from=_date(single.get("from"), "from"), date_to=_date(single.get("to"), "to"),
                    view=_choice(single.get("view"), VIEWS, "view", "story"),
                    sort=_choice(single.get("sort"), ("",) + SORTS, "sort", ""),
                    page=_page(single.get("page")), by=_choice(single.get("by"), BYS, "by", "source"),
                    unit=_choice(single.get("unit"), UNITS, "unit", "auto"))
        if state.date_from and state.date_to and state.date_from > state.date_to:
            raise BadRequest(f"from {state.date_from} is after to {state.date_to}")
        return state

    def pairs(self) -> list[tuple[str, str]]:
        """The state as query-string pairs, defaults left out, in a stable order."""
        out: list[tuple[str, str]] = []
        if self.q:
            out.append(("q", self.q))
        if self.any:
            out.append(("any", "1"))
        for key in FACETS:
            out += [(key, v) for v in getattr(self, key)]
        if self.date_from:
            out.append(("from", self.date_from.isoformat()))
        if self.date_to:
            out.append(("to", self.date_to.isoformat()))
        for key, default in (("view", "story"), ("sort", ""), ("by", "source"), ("unit", "auto")):
            if getattr(self, key) != default:
                out.append((key, getattr(self, key)))
        if self.page != 1:
            out.append(("page", str(self.page)))
        return out

    def url(self, path: str = "/", **changes) -> str:
        """This state with `changes`, as a link. A change of anything but the page goes back to page 1."""
        if changes and "page" not in changes:
            changes["page"] = 1
        st = replace(self, **changes) if changes else self
        qs = urlencode(st.pairs())
        return path + ("?" + qs if qs else "")

    def toggle(self, facet: str, value: str, path: str = "/") -> str:
        """The link that adds `value` to `facet`, or removes it when it is selected."""
        current = getattr(self, facet)
        new = tuple(v for v in current if v != value) if value in current else current + (value,)
        return self.url(path, **{facet: new})

    def selected(self) -> list[tuple[str, str]]:
        """(facet, value) pairs selected, for the 'remove' chips."""
        return [(k, v) for k in FACETS for v in getattr(self, k)]

    def filters_only(self) -> "State":
        """The same query and facets, with the view's own settings back at their defaults."""
        keep = {f.name: getattr(self, f.name) for f in fields(self)
                if f.name in ("q", "any", "date_from", "date_to") + FACETS}
        return State(**keep)


_SINGLE = ("q", "any", "from", "to", "view", "sort", "page", "by", "unit")


def _flag(value: str | None) -> bool:
    if value in (None, "", "0"):
        return False
    if value in ("1", "on", "true"):
        return True
    raise BadRequest(f"any={value!r}: use 1 or leave it out")


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not a date like 2025-01-31") from None


def _choice(value: str | None, allowed: tuple[str, ...], name: str, default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        raise BadRequest(f"{name}={value!r}: use one of {', '.join(a for a in allowed if a)}")
    return value


def _page(value: str | None) -> int:
    if value is None:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise BadRequest(f"page={value!r}: a number from 1 to {MAX_PAGE} (download the result for more)")
    return int(value)
