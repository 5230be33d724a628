"""The parsed page as the field rules see it: visible text split into lines at block
elements, each with how much of it is link text, plus small text helpers.

One walker serves the header zone (inline elements joined by a space, so
`<span>2024-11-08</span><span>来源: 广西日报</span>` stays two fields) and the body
(inline elements joined without a space, as the text reads).
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

from lxml.cssselect import CSSSelector

BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "tbody", "thead", "h1", "h2", "h3", "h4", "h5",
    "h6", "section", "article", "header", "footer", "dd", "dt", "dl", "blockquote", "pre", "form",
    "center", "td", "th", "figure", "figcaption", "hr", "nav", "aside", "main"})
DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
             "select", "button", "input", "textarea")
_WS = re.compile(r"\s+")


class Line(NamedTuple):
    text: str
    n: int              # characters, whitespace not counted
    links: int          # of those, inside <a>
    longest_link: int = 0   # the longest single link's characters (a headline link vs widget links)


def tag_of(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def text_len(s: str) -> int:
    return len(_WS.sub("", s))


def flat(s: str | None) -> str:
    """NFKC, no whitespace: the form strings are compared in."""
    return _WS.sub("", unicodedata.normalize("NFKC", s or ""))


def norm_space(s: str | None) -> str:
    return _WS.sub(" ", s or "").strip()


def block_lines(root, inline_sep: str = "") -> list[Line]:
    """Visible text split at block elements; `inline_sep` marks inline element boundaries."""
    out: list[Line] = []
    buf: list[str] = []
    link = [0, 0]

    def flush():
        line = "".join(buf).strip()
        if line:
            out.append(Line(line, text_len(line), link[0], link[1]))
        buf.clear()
        link[0] = link[1] = 0

    def walk(el, in_link):
        tag = tag_of(el)
        block = tag in BLOCK_TAGS
        if block:
            flush()
        elif inline_sep and tag:
            buf.append(inline_sep)
        here = in_link or tag == "a"
        if tag == "a" and not in_link:
            link[1] = max(link[1], text_len(el.text_content()))
        if el.text and tag:
            buf.append(el.text)
            if here:
                link[0] += text_len(el.text)
        for child in el:
            walk(child, here)
            if child.tail:
                buf.append(child.tail)
                if here:
                    link[0] += text_len(child.tail)
        if block:
            flush()
        elif inline_sep and tag:
            buf.append(inline_sep)

    walk(root, False)
    flush()
    return out


@functools.lru_cache(maxsize=512)
def _compiled(selector: str):
    """A selector compiled once (translating CSS to XPath took a sixth of extraction's CPU);
    None when lxml's cssselect cannot run it (a preset selector: treated as no match)."""
    try:
        return CSSSelector(selector, translator="html")
    except Exception:
        return None


def css(doc, selector: str) -> list:
    sel = _compiled(selector)
    if sel is None:
        return []
    try:
        return sel(doc)
    except Exception:
        return []
