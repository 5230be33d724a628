"""One page as every field rule sees it: the parsed tree, its declared metadata, its visible
lines, and (once the headline is chosen) where the headline sits, the header zone under it,
and the body's lines.

Built once per page by `core`; the rule modules (titles, published, sources, bylines)
only read it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flows.extract.dom import Line, flat


@dataclass
class Page:
    html: str
    url: str | None
    doc: Any                           # lxml root, scripts/styles/comments removed
    meta: dict[str, str]
    ld: dict
    title_tag: str
    lines: list[Line]                  # visible lines of <body>, inline elements space-separated
    preset: Any = None
    list_date: str | None = None
    ref: dt.date | None = None         # the year for year-less dates
    # filled after the headline is chosen
    title: str | None = None
    title_at: int | None = None        # index in `lines` of the headline
    near: list[str] = field(default_factory=list)          # the header zone under the headline
    info_lines: list[str] = field(default_factory=list)    # the preset's info element
    body_lines: list[str] = field(default_factory=list)
    account: str | None = None         # the platform account the page belongs to (WeChat ...)
    texts: list[str] = field(default_factory=list)         # `lines` as plain strings
    flats: list[str] = field(default_factory=list)         # `lines` folded (dom.flat)
    first_at: dict[str, int] = field(default_factory=dict)  # folded line -> its first index

    def __post_init__(self):
        self.texts = [ln.text for ln in self.lines]
        self.flats = [flat(t) for t in self.texts]
        for i, f in enumerate(self.flats):
            self.first_at.setdefault(f, i)
