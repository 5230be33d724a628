"""Parse the date forms Chinese news and government pages print, into Asia/Shanghai times.

Handles `2025年07月06日 08:35`, `2025-7-6 8:05`, `2025/07/06`, `2025.07.06 08:35:57`,
`二〇二五年四月二十一日` (official documents sign in Chinese numerals), and
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


# dates in Chinese numerals, as official documents sign them (二〇二五年四月二十一日)
_CN_DIGIT = {"〇": 0, "○": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_DATE = re.compile(r"([〇○零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日")


def _cn_number(s: str) -> int:
    if "十" not in s:
        return int("".join(str(_CN_DIGIT[c]) for c in s))
    tens, _, units = s.partition("十")
    return (_CN_DIGIT[tens] if tens else 1) * 10 + (_CN_DIGIT[units] if units else 0)


def cn_digits(text: str) -> str:
    """`二〇二五年四月二十一日` -> `2025年4月21日`; other text unchanged."""
    def one(m: re.Match) -> str:
        year = "".join(str(_CN_DIGIT[c]) for c in m.group(1))
        return f"{year}年{_cn_number(m.group(2))}月{_cn_number(m.group(3))}日"
    return CN_DATE.sub(one, text) if "年" in text else text


def parse_date(text: str | None, reference: dt.date | None = None,
               compact: bool = False) -> dt.datetime | None:
    """The first valid date in `text`, as an aware Asia/Shanghai datetime, else None.

    `compact` also accepts `20250706` (only safe in URLs and attributes, not running text).
    `reference` gives the year to a year-less `07-06`: the latest such date not after it.
    """
    if not text:
        return None
    text = cn_digits(unicodedata.normalize("NFKC", text))
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
