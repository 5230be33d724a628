"""Parse the date forms Chinese news and government pages print, into Asia/Shanghai times.

Handles `2025年07月06日 08:35`, `2025-7-6 8:05`, `2025/07/06`, `2025.07.06 08:35:57`, and
year-less `07-06` / `7月6日` when a reference date supplies the year. Never guesses the crawl
time: no parseable date means None.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

_SEP = r"\s*[-/.年]\s*"
_TIME = r"(?:[\sT日]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?"
FULL = re.compile(r"(?<!\d)((?:19|20)\d{2})" + _SEP + r"(\d{1,2})" + r"\s*[-/.月]\s*" + r"(\d{1,2})(?!\d)\s*日?" + _TIME)
COMPACT = re.compile(r"(?<!\d)((?:19|20)\d{2})(\d{2})(\d{2})(?!\d)")
NOYEAR = re.compile(r"(?<![\d-])(\d{1,2})\s*[-/月]\s*(\d{1,2})(?![\d-])\s*日?" + _TIME)


def _build(y, mo, d, h=None, mi=None, s=None) -> dt.datetime | None:
    try:
        return dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0),
                           tzinfo=SHANGHAI)
    except (ValueError, TypeError):
        return None


def parse_date(text: str | None, reference: dt.date | None = None,
               compact: bool = False) -> dt.datetime | None:
    """The first valid date in `text`, as an aware Asia/Shanghai datetime, else None.

    `compact` also accepts `20250706` (only safe in URLs and attributes, not running text).
    `reference` gives the year to a year-less `07-06`: the latest such date not after it.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    for m in FULL.finditer(text):
        value = _build(*m.groups())
        if value:
            return value
    if compact:
        for m in COMPACT.finditer(text):
            value = _build(*m.groups())
            if value:
                return value
    if reference:
        for m in NOYEAR.finditer(text):
            mo, d, h, mi, s = m.groups()
            for year in (reference.year, reference.year - 1):
                value = _build(year, mo, d, h, mi, s)
                if value and value.date() <= reference:
                    return value
    return None


def has_time(text: str) -> bool:
    m = FULL.search(unicodedata.normalize("NFKC", text or ""))
    return bool(m and m.group(4))
