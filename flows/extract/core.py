"""Extract title, publish time, 来源, author, editor and body from one page's bytes.

The page is decoded (`decode`), parsed once, and described as a `Page` (its meta tags,
JSON-LD, visible lines). Each field is then decided the same way: the rule modules
(`titles`, `published`, `sources`, `bylines`) propose candidates with evidence, and
`candidates.choose` takes the best-supported value; provenance names the winning rule and
the runner-up. The body is the CMS preset's container (fast path) or the densest block,
with trafilatura's body as a safety net when ours misses much of the page's prose (`body`).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Mapping, Protocol

import lxml.html
from lxml import etree

from flows.extract import body as bodytext
from flows.extract import bylines, labels, published, sources, titles
from flows.extract.candidates import Candidate, Choice, choose, provenance
from flows.extract.decode import decode_html
from flows.extract.dom import DROP_TAGS, block_lines, css, flat, norm_space
from flows.extract.meta import jsonld, meta_tags
from flows.extract.normalise import clean_body, clean_inline, count_pinyin, strip_pinyin
from flows.extract.page import Page
from schemas.errors import BadInput

EXTRACTOR_VERSION = "0.4.0"
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
HAN = re.compile(r"[\u4e00-\u9fff]")


class Preset(Protocol):
    title_selector: str
    body_selector: str
    info_selector: str


class ExtractError(BadInput):
    """A page that cannot be turned into an article; `reason` is a short kind."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Extracted:
    title: str | None
    published_at: dt.datetime | None
    original_source: str | None
    author: str | None
    editor: str | None
    text: str
    encoding: str
    provenance: dict = field(default_factory=dict)
    images: tuple[tuple[str, str], ...] = ()         # (src, caption)
    attachments: tuple[tuple[str, str], ...] = ()    # (url, link text)
    column_name: str | None = None
    pinyin_groups: int = 0      # pinyin annotations stripped (content-farm copies)
    # every field's proposals, for the rule ledger (bench/rule_ledger.py)
    candidates: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def date_missing(self) -> bool:
        return self.published_at is None


def _check_bytes(body: bytes) -> None:
    if not body or not body.strip():
        raise ExtractError("empty", "empty body")
    head = body[:2048].lstrip().lower()
    if head.startswith((b"%pdf", b"pk\x03\x04", b"\xd0\xcf\x11\xe0", b"\x89png", b"gif8", b"\xff\xd8")):
        raise ExtractError("not_html", "binary body (document or image)")
    # binary without a known signature (zlib/brotli data served as text/html, video ...): one
    # byte in twelve is a control byte, which HTML in any charset but UTF-16/32 (which has its
    # BOM) holds only a few of (old portals separate ad fields in comments with \x02)
    sample = body[:8192]
    if not sample.startswith((b"\xff\xfe", b"\xfe\xff")) and \
            len(CONTROL_BYTES.findall(sample)) > max(16, len(sample) // 50):
        raise ExtractError("not_html", "binary body (control bytes)")


def _parse(html: str):
    if html.count("\x00") > 16:
        raise ExtractError("not_html", "binary body")
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        doc = lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractError("unparseable", str(exc)[:200])
    # libxml2 stops at elements nested over 256 deep or a text node over 10 MB: the rest of
    # the page is not in the tree (kept that way: it bounds what a hostile page costs)
    limit = next((e.message.strip() for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT"), None)
    return doc, limit


def _page(doc, html: str, url, preset, list_date) -> Page:
    meta = meta_tags(doc)
    ld = jsonld(doc)
    title_tag = norm_space(doc.findtext(".//title") or "")
    for bad in doc.xpath("//" + "|//".join(DROP_TAGS + ("title",))):
        bad.drop_tree()     # (old pages put <title> in the body: it is not the headline line)
    etree.strip_elements(doc, etree.Comment, with_tail=False)
    root = doc.find("body")
    lines = block_lines(root if root is not None else doc, " ")
    ref = None
    if list_date:
        try:
            ref = dt.date.fromisoformat(list_date[:10])
        except ValueError:
            ref = None
    page = Page(html=html, url=url, doc=doc, meta=meta, ld=ld, title_tag=title_tag, lines=lines,
                preset=preset, list_date=list_date, ref=ref or published.reference_from(meta))
    if preset is not None and getattr(preset, "info_selector", ""):
        for el in css(doc, preset.info_selector)[:2]:
            page.info_lines.extend(ln.text for ln in block_lines(el, " "))
    page.account = sources.account(page)
    return page


def _locate_headline(page: Page, title: str | None) -> None:
    """Where the headline sits among the lines, and the header zone just under it."""
    page.title = title
    if not title:
        return
    f = flat(title)
    if f in page.first_at:
        page.title_at = page.first_at[f]
    else:
        page.title_at = next((i for i, ln in enumerate(page.flats) if f and f in ln and len(ln) < len(f) + 40), None)
    if page.title_at is not None:
        # the header zone: up to seven lines under the headline, ending where the body's
        # first paragraph starts
        near = page.lines[page.title_at + 1:page.title_at + 8]
        end = next((j for j, ln in enumerate(near) if bodytext.is_prose(ln)), len(near))
        page.near = [ln.text for ln in near[:end]]


def _is_chinese(page: Page) -> bool:
    sample = (page.title or page.title_tag or "") + "".join(page.texts[:60])[:3000]
    han = len(HAN.findall(sample))
    words = len(re.findall(r"[A-Za-z]{2,}", sample))
    return han >= words


def _site_keys(page: Page) -> set[str]:
    keys = {flat(page.meta.get("og:site_name", ""))}
    keys.update(flat(p) for p in titles.split_title_tag(page.title_tag)[1:])
    return {k for k in keys if k}


def _decide_people(page: Page, hits) -> tuple[Choice, Choice, dict]:
    chinese = _is_chinese(page)
    src_cands = sources.candidates(page, hits, chinese)
    source = choose(src_cands, floor=0.15)
    au_cands = bylines.candidates(page, hits, _site_keys(page))
    if source.value:
        # an outlet is not its own author (`作者：国际在线` is the source slot misused)
        key = flat(source.value)
        au_cands = [Candidate(c.value, c.rule, c.weight - 0.3, c.evidence + ("is_source",))
                    if flat(c.value) == key else c for c in au_cands]
    author = choose(au_cands, floor=0.3)
    return source, author, {"original_source": src_cands, "author": au_cands}


def extract(body: bytes, url: str | None = None, *, content_type: str | None = None,
            preset: Preset | None = None, encoding_hint: str | None = None,
            list_date: str | None = None, detect_cms: bool = True,
            presets: Mapping[str, Mapping] | None = None) -> Extracted:
    """Extract one article from raw page bytes; raises ExtractError when it is not one.
    A page of no registry source gets the selectors of the CMS family it shows, from `presets`
    (the registry in use; default: the bundled one)."""
    _check_bytes(body)
    html, encoding = decode_html(body, content_type, encoding_hint)
    # content-farm copies put pinyin after characters (推動(dòng)); it breaks labels, names and
    # matching, and the original stays in the archive
    pinyin_groups = count_pinyin(html)
    if pinyin_groups:
        html = strip_pinyin(html)
    doc, limit = _parse(html)
    prov: dict[str, str] = {"pinyin_stripped": str(pinyin_groups)} if pinyin_groups else {}
    if preset is None and detect_cms:
        from flows.extract import cms
        preset = cms.detect(html, presets)
        if preset is not None:
            prov["cms"] = preset.name
    page = _page(doc, html, url, preset, list_date)

    title_cands = titles.candidates(page)
    title = choose(title_cands)
    _locate_headline(page, title.value)
    hits = labels.hits(page)

    content = bodytext.main_text(page.doc, html, url, preset, page.title, page.lines)
    page.body_lines = [ln for ln in content.text.split("\n") if ln.strip()]
    date, date_cands = published.decide(page, hits)
    source, author, people = _decide_people(page, hits)
    editor = next((h.value for h in hits if h.kind == "editor" and h.zone in ("info", "header")), None)

    # a title repeated as the first body line, and the header line itself, are not body
    header = [ln for ln in page.near[:1] if titles.is_header_line(ln)]
    text = bodytext.strip_leading(content.text, page.title, header)
    text = bodytext.drop_notices(bodytext.drop_dated_teasers(clean_body(text)))
    if len(text) < 20:
        if limit:
            raise ExtractError("unparseable", f"the parser stopped: {limit}")
        raise ExtractError("no_text", f"body too short ({len(text)} chars)")

    for name, choice in (("title", title), ("published_at", date), ("original_source", source),
                         ("author", author)):
        prov.update(provenance(name, choice))
    if content.rule:
        prov["text"] = content.rule
    if editor:
        prov["editor"] = "label"
    return Extracted(title=clean_inline(title.value), published_at=date.value,
                     original_source=clean_inline(source.value), author=clean_inline(author.value),
                     editor=clean_inline(editor), text=text, encoding=encoding, provenance=prov,
                     images=tuple(content.images), attachments=tuple(content.attachments),
                     column_name=clean_inline(page.meta.get("columnname")), pinyin_groups=pinyin_groups,
                     candidates={"title": title_cands, "published_at": date_cands, **people})


def score_adapter(html: bytes, url: str | None = None) -> dict:
    """`python score.py flows.extract:score_adapter` (dev corpus scorer signature)."""
    try:
        e = extract(html, url)
    except ExtractError:
        return {}
    return {"title": e.title, "date": e.published_at.isoformat() if e.published_at else None,
            "source": e.original_source, "author": e.author, "text": e.text}
