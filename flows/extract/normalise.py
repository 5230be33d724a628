"""Normalise extracted fields before dedupe and load: strip the pinyin annotations content
farms add after characters (`推動(dòng)` -> `推動`), tidy whitespace, canonicalise the URL,
and derive the article id and content hash.

The pinyin pattern is from ../shared/research/sources.md §0.4: a Han character followed by a
parenthesised, tone-marked (or plain lowercase) syllable, optionally `a/b` alternatives.
Stripping never removes a Han character: only the parenthesised latin group goes.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

from crawlers.urls import canonical_url   # the generic rules; a source adds its own (Source.canonical)

_V = "aāáǎàeēéěèiīíǐìoōóǒòuūúǔùüǖǘǚǜvê"
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
# one syllable: optional initial, vowels, optional n/ng/r coda ("kg", "km" are not syllables)
_SYL = rf"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?[{_V}]{{1,4}}(?:ng|n|r)?"
PINYIN = re.compile(rf"(?<=[\u3400-\u9fff])[(（]({_SYL}(?:\s*/\s*{_SYL})*)[)）]")
# a lone toneless vowel, as in 第一场(a), is an enumeration, not an annotation
_LONE_VOWEL = re.compile(r"[aeiouv]")


def _annotation(m: re.Match) -> str:
    return m.group(0) if _LONE_VOWEL.fullmatch(m.group(1)) else ""


_SPACES = re.compile(r"[ \t\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff]+")
_BLANKS = re.compile(r"\n\s*\n+")


def strip_pinyin(text: str | None) -> str | None:
    """Remove `(pinyin)` groups that follow a Han character; idempotent."""
    if not text:
        return text
    return PINYIN.sub(_annotation, text)


def count_pinyin(text: str) -> int:
    return sum(1 for m in PINYIN.finditer(text) if not _LONE_VOWEL.fullmatch(m.group(1)))


def clean_inline(text: str | None) -> str | None:
    """One-line field: NFC, collapsed spaces, trimmed; empty becomes None."""
    if text is None:
        return None
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return text or None


def clean_body(text: str) -> str:
    """Body text: paragraphs kept (one blank line between), spaces inside lines collapsed."""
    lines = [(_SPACES.sub(" ", ln)).strip() for ln in unicodedata.normalize("NFC", text).splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def article_id(url: str, *, canonical: bool = False) -> str:
    """Stable id from the canonical URL: the same page always gets the same id. `canonical`:
    `url` is canonical already, with its source's rules (which may keep a parameter the
    generic rules drop: canonicalising again would give two pages one id)."""
    return hashlib.sha1((url if canonical else canonical_url(url)).encode("utf-8")).hexdigest()[:20]


def content_hash(*fields: object) -> str:
    h = hashlib.sha1()
    for f in fields:
        h.update(b"\x1f" + str(f if f is not None else "").encode("utf-8"))
    return h.hexdigest()
