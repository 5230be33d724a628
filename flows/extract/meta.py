"""Structured metadata a page declares about itself: `<meta>` tags (gov.cn's ArticleTitle /
PubDate / ContentSource, OpenGraph, `name=author` ...) and schema.org JSON-LD
(`headline`, `datePublished`, `author`, `publisher`).

These are claims, not facts: CMSs fill `author` with the site name or an editor id and
PubDate with the page's generation time, so the field rules weigh them against what
the page shows.
"""
from __future__ import annotations

import json
import re

ARTICLE_TYPES = re.compile(r"Article|Posting|Report|BlogPosting|WebPage", re.I)


def meta_tags(doc) -> dict[str, str]:
    """name/property/itemprop (lower-cased) -> content; the first non-empty one wins."""
    out: dict[str, str] = {}
    for m in doc.iter("meta"):
        key = (m.get("name") or m.get("property") or m.get("itemprop") or "").strip().lower()
        val = (m.get("content") or "").strip()
        if key and val and key not in out:
            out[key] = val
    return out


def _names(value) -> list[str]:
    """schema.org Person/Organization values: a string, an object with `name`, or a list."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        name = value.get("name")
        return _names(name) if isinstance(name, (str, list)) else []
    if isinstance(value, list):
        return [n for v in value[:8] for n in _names(v)]
    return []


def jsonld(doc) -> dict:
    """The page's article object from JSON-LD: headline, datePublished, dateModified,
    author (a list of names), publisher (a name); {} when the page has none."""
    for s in doc.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(s.text or "")
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            kind = item.get("@type")
            kind = " ".join(kind) if isinstance(kind, list) else str(kind or "")
            if "headline" in item or "datePublished" in item or ARTICLE_TYPES.search(kind) and "author" in item:
                publisher = _names(item.get("publisher"))
                return {"headline": item.get("headline") if isinstance(item.get("headline"), str) else None,
                        "datePublished": item.get("datePublished") if isinstance(item.get("datePublished"), str) else None,
                        "dateModified": item.get("dateModified") if isinstance(item.get("dateModified"), str) else None,
                        "author": _names(item.get("author")),
                        "publisher": publisher[0] if publisher else None}
    return {}
