"""Extract title, publish time, 来源, author, editor and body from one page's bytes.

Metadata comes in layers, first hit wins, and each field records which rule produced it:
gov.cn `<meta>` tags (ArticleTitle, PubDate, ContentSource) -> JSON-LD / OpenGraph -> the
labelled header line under the headline (`2024-11-08 09:05 来源: 广西日报 作者: …`,
`发表于:… 来源:… 作者:`, `文章来源:…`, `（记者 X）`) found through the CMS preset's info
selector or by position -> trafilatura -> the date the list page showed.

The body is the CMS preset's content container when it matches (the fast path), else
trafilatura's main text; either way our cleanup then drops what these sites leave in it
(print/share widgets, empty attachment labels, ICP and copyright lines).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

from flows.extract import body as content
from flows.extract.dates import has_time, parse_date
from flows.extract.decode import decode_html
from flows.extract.normalise import clean_body, clean_inline, count_pinyin, strip_pinyin

EXTRACTOR_VERSION = "0.3.0"


class Preset(Protocol):
    title_selector: str
    body_selector: str
    info_selector: str


class ExtractError(Exception):
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

    @property
    def date_missing(self) -> bool:
        return self.published_at is None


# --- labels -------------------------------------------------------------------------------
# A label counts only at the start of a line or after a non-Han character, so 数据来源 in
# running text is not a 来源 label.
_NOT_HAN_BEFORE = r"(?<![\u4e00-\u9fff])"
LABELS = {
    "date": ["发布时间", "發布時間", "发表时间", "发表于", "發表於", "发布日期", "發布日期", "更新时间",
             "时间", "時間", "日期"],
    "source": ["文章来源", "文章來源", "信息来源", "信息來源", "稿件来源", "新闻来源", "内容来源",
               "本文来源于", "本文来源", "来源", "來源", "稿源", "出处", "转载自", "原创"],
    "author": ["作者", "撰稿", "撰文", "记者", "記者", "通讯员", "文"],
    "editor": ["责任编辑", "責任編輯", "责编", "責編", "编辑", "編輯", "值班编辑", "审核", "審核",
               "校对", "校對", "主编", "编审", "监制", "点击", "點擊", "浏览", "瀏覽", "阅读", "評論",
               "评论", "字号", "字體", "字体", "打印", "分享"],
}
_ALL = sorted({w for ws in LABELS.values() for w in ws}, key=len, reverse=True)
LABEL_RE = re.compile(_NOT_HAN_BEFORE + "(" + "|".join(map(re.escape, _ALL)) + r")\s*[:：]\s*")
_KIND = {w: k for k, ws in LABELS.items() for w in ws}
_NOT_EDITORS = {"点击", "點擊", "浏览", "瀏覽", "阅读", "評論", "评论", "字号", "字體", "字体", "打印", "分享"}
# `（记者 张三 李四）`, `本报记者 张三`, `海南日报全媒体记者 余佳琪 王迎春` (not `记者 王程龙 摄`)
_NAMES = r"([\u4e00-\u9fff]{2,4}(?:(?:\s+|、|，|,)[\u4e00-\u9fff]{2,4})*)"
# `（记者 张三 李四）`, `本报记者 张三`, `海南日报全媒体记者 余佳琪 王迎春` (not `记者 王程龙 摄`)
REPORTER_RE = re.compile(r"(?:^|[（(\s])[\u4e00-\u9fff]{0,12}?(?:记者|記者|通讯员|通訊員|评论员|評論員)\s*[:：]?\s*"
                         + _NAMES + r"\s*(?=$|[）)\s、，]|报道|報道|发自|發自)")
# `文/张三`, `文丨政能亮特约评论员 韩涵`, `文|图 张三`
SLASH_AUTHOR_RE = re.compile(r"(?:^|[\s（(])(?:文|文/图|文／图|图/文|撰文|作者)\s*[/／|｜丨:：]\s*"
                             r"(?:[\u4e00-\u9fff]{0,12}?(?:特约评论员|评论员|记者|通讯员|特约撰稿人))?\s*"
                             + _NAMES + r"\s*(?=$|[）)\s])")
# a line that is only a byline: `《棱镜》作者 周纯`, `作者 张三`, `文 / 张三`
BYLINE_LINE = re.compile(r"^(?:《[^》]{1,12}》|[\u4e00-\u9fff]{0,8})\s*(?:作者|撰文|文)\s*[:：/／|丨]?\s*"
                         + _NAMES + r"\s*$")
ROLE_PREFIX = re.compile(r"^(?:本报|本台|本刊|特约|实习)?(?:记者|記者|通讯员|通訊員|评论员|特约评论员|撰稿人)\s*")
WIDGET_WORDS = {"举报", "分享", "收藏", "评论", "打印", "纠错", "关注", "订阅", "点赞", "转发", "字号",
                "返回", "更多", "投稿", "编辑", "责编", "阅读", "浏览", "点击", "正文", "首页", "新闻",
                "资讯", "详情", "原文", "链接", "图片", "视频", "专题", "列表"}
ACCOUNT_SELECTOR = "#js_name, .profile_nickname, .rich_media_meta_nickname, .account_nickname_inner"
SOURCE_SENTENCE = re.compile(r"(?:本文来自|本文来源于|本文来源|转自|转载自|原刊于|来源于)\s*[:：]?\s*"
                             r"[《“]?([\u4e00-\u9fffA-Za-z0-9·]{2,16}?)[》”]?(?=[，,。；;）)\s]|$)")
ZH_SENTENCE = re.compile(r"[，。；]")
DATE_NEAR = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}")
BRACKET_NAME = re.compile(r"[\[【]\s*([\u4e00-\u9fff]{2,4})\s*[\]】][\s\ue000-\uf8ff|｜丨]*\Z")
_VALUE_STOP = re.compile(r"\s{2,}|[|｜丨【\[]|(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]")

CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
BLOCK_TAGS = {"p", "div", "br", "li", "ul", "ol", "tr", "table", "tbody", "h1", "h2", "h3", "h4",
              "h5", "h6", "section", "article", "header", "footer", "dd", "dt", "dl", "blockquote",
              "pre", "form", "center", "td", "th", "figure", "figcaption", "hr", "nav", "aside"}
DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
             "select", "button", "input", "textarea")

def _text_lines(root, inline_sep: str) -> list[str]:
    """Visible text split at block elements; `inline_sep` joins inline element boundaries."""
    out: list[str] = []
    buf: list[str] = []

    def flush():
        line = "".join(buf).strip()
        if line:
            out.append(line)
        buf.clear()

    def walk(el):
        tag = el.tag if isinstance(el.tag, str) else ""
        block = tag in BLOCK_TAGS
        if block:
            flush()
        elif inline_sep and tag:
            buf.append(inline_sep)
        if el.text and tag:
            buf.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                buf.append(child.tail)
        if block:
            flush()
        elif inline_sep and tag:
            buf.append(inline_sep)

    walk(root)
    flush()
    return out


def _flat(s: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def _norm_space(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


# --- title ----------------------------------------------------------------------------------
_TITLE_SPLIT = re.compile(r"\s*(?:[_|｜]|--|—|–|\s-\s|-(?=[^-]*$))\s*")


def _title_from_tag(title_tag: str) -> str:
    """`<title>` minus the site suffix: the longest segment between separators."""
    parts = [p for p in _TITLE_SPLIT.split(title_tag) if p.strip()]
    if not parts:
        return title_tag.strip()
    return parts[0].strip() if len(parts[0]) >= 6 else max(parts, key=len).strip()


def _is_header_line(line: str) -> bool:
    """A short line carrying a publish date or a 来源/作者 label: what sits under a headline."""
    return len(line) <= 160 and bool(DATE_NEAR.search(unicodedata.normalize("NFKC", line))
                                     or LABEL_RE.search(line))


def _looks_like_headline(line: str) -> bool:
    flat = _flat(line)
    if len(ZH_SENTENCE.findall(flat)) > 3 or "。" in flat or flat.endswith(("：", ":")):
        return False        # a body sentence, not a headline
    return 5 <= len(flat) <= 80 and not _is_header_line(line) and not content.BOILERPLATE_LINE.match(line) \
        and not re.search(r"[>›»]|首页|当前位置|您的位置", line)


def _pick_headline(doc, title_tag: str, preset: Preset | None,
                   lines: list[str]) -> tuple[str | None, str]:
    """The page's own headline: an h1/h2/title-like element the <title> contains, else the
    line right above the first header line (date / 来源), else nothing."""
    key = _flat(title_tag or "")
    candidates: list[tuple[str, str]] = []
    if preset is not None and preset.title_selector:
        for el in _css(doc, preset.title_selector)[:3]:
            candidates.append(("preset_title", el.text_content()))
    for tag in ("h1", "h2", "h3"):
        for el in doc.iter(tag):
            candidates.append((tag, el.text_content()))
    for el in doc.xpath("//*[contains(@class,'title') or contains(@id,'title') or "
                        "contains(@class,'Title') or contains(@id,'Title')]")[:30]:
        if el.tag not in ("head", "title", "html", "body", "meta"):
            candidates.append(("title_class", el.text_content()))
    heads = {_flat(t) for _, t in candidates}
    best, best_rule, best_score = None, "", 0.0
    for rule, text in candidates:
        t = _norm_space(text)
        flat = _flat(t)
        if not (4 <= len(flat) <= 120):
            continue
        if key and flat == key:
            score = 0.45        # all of <title>: right only if nothing shorter (no site suffix) fits
        elif key and flat in key:
            score = len(flat) / max(len(key), 1) + 0.5     # the <title> contains it: a headline
        elif key and key in flat and len(flat) < len(key) + 30:
            score = 0.4
        else:
            continue
        if rule == "preset_title":
            score += 0.3
        if score > best_score:
            best, best_rule, best_score = t, rule, score
    if best:
        return best, best_rule
    # <title> is generic ("新闻动态--某网站"): the headline is the line above the header line
    # the line above a header line (date / 来源 / 作者); earlier, labelled, and headline-like
    # elements score higher (a bare date may be the top bar's "2024年5月20日 星期一")
    best_line, best_line_score = None, 0.0
    n = max(len(lines), 1)
    for i, line in enumerate(lines[:400]):
        if i == 0 or len(line) > 100 or not _is_header_line(line):
            continue
        label = LABEL_RE.search(line)
        kind = _KIND.get(label.group(1)) if label else None
        if label and kind not in ("date", "source", "author"):
            continue
        for j in (i - 1, i - 2):
            if _looks_like_headline(lines[j]):
                flat = _flat(lines[j])
                score = 1.0 + (0.5 if label else 0.0) + (1.0 if flat in heads else 0.0) - i / n
                if score > best_line_score:
                    best_line, best_line_score = _norm_space(lines[j]), score
                break
    if best_line:
        return best_line, "above_header"
    for rule, text in candidates:
        t = _norm_space(text)
        if rule in ("preset_title", "h1") and 6 <= len(t) <= 80:
            return t, rule
    return None, ""


@functools.lru_cache(maxsize=512)
def _compiled(selector: str):
    """A selector compiled once (translating CSS to XPath took a sixth of extraction's CPU);
    None when lxml's cssselect cannot run it (a preset selector: treated as no match)."""
    try:
        return CSSSelector(selector, translator="html")
    except Exception:
        return None


def _css(doc, selector: str) -> list:
    sel = _compiled(selector)
    if sel is None:
        return []
    try:
        return sel(doc)
    except Exception:
        return []


# --- structured metadata -------------------------------------------------------------------
def _meta(doc) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in doc.iter("meta"):
        key = (m.get("name") or m.get("property") or m.get("itemprop") or "").strip().lower()
        val = (m.get("content") or "").strip()
        if key and val and key not in out:
            out[key] = val
    return out


def _jsonld(doc) -> dict:
    for s in doc.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(s.text or "")
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        for item in items:
            if isinstance(item, dict) and ("headline" in item or "datePublished" in item):
                return item
    return {}


# --- header-line labels -------------------------------------------------------------------
def parse_labels(line: str) -> dict[str, str]:
    """Labelled values in one header line: {'date':…, 'source':…, 'author':…, 'editor':…}."""
    line = unicodedata.normalize("NFKC", line).replace("\u00a0", " ")
    found: dict[str, str] = {}
    matches = list(LABEL_RE.finditer(line))
    for i, m in enumerate(matches):
        label = m.group(1)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        raw = re.sub(r"[\[\]【】]", " ", line[m.end():end])
        kind = _KIND[label]
        if kind == "date":
            if "date" not in found and DATE_NEAR.search(raw):
                found["date"] = raw.strip()
            continue
        if label in _NOT_EDITORS:
            continue
        if kind == "source":
            # `2004年7月16日 [ 黄宇 ]  来源：[ 国际金融报 ]` (portal header lines of the 2000s): a
            # bracketed name right before 来源, on a dated line, is the byline
            before = BRACKET_NAME.search(line, matches[i - 1].end() if i else 0, m.start())
            if before and before.group(1) not in WIDGET_WORDS and DATE_NEAR.search(line) \
                    and re.match(r"[\s:：]*[\[【]", line[m.end():end]):
                found.setdefault("author_guess", before.group(1))
            # `来源:海报新闻 孙杰 2025-02-12` — outlets have no spaces; a short name after it
            # (before any date or separator) is the byline on DedeCMS-style header lines
            parts = re.split(r"((?:19|20)\d{2}\s*[-/.年])", raw, maxsplit=1)
            head, dated = parts[0], len(parts) > 1
            head = re.split(r"[|｜丨]", head)[0]
            tokens = head.split()
            if not tokens:
                continue
            value = tokens[0].strip(" :：,，;；()（）")
            if len(tokens) == 2 and dated and "author" not in found and tokens[1] not in WIDGET_WORDS \
                    and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", tokens[1]):
                found["author_guess"] = tokens[1]
        else:
            stop = _VALUE_STOP.search(raw)
            value = (raw[:stop.start()] if stop else raw).strip(" :：,，;；()（）")
        if not value:
            continue
        if len(value) > 40:
            continue
        found.setdefault(kind, value)
    if "date" not in found:
        m = DATE_NEAR.search(line)
        if m:
            found["date_unlabelled"] = line[m.start():m.start() + 25]
    return found


def _reporters(lines: list[str]) -> tuple[str | None, str]:
    for line in lines:
        if len(line) <= 30:
            m = BYLINE_LINE.match(line.strip())
            if m and m.group(1) not in WIDGET_WORDS:
                return m.group(1), "byline_line"
        if len(line) > 300:
            line = line[:60] + " " + line[-80:]     # bylines open or close a paragraph
        for rx, rule in ((REPORTER_RE, "reporter_line"), (SLASH_AUTHOR_RE, "slash_byline")):
            for m in rx.finditer(line):
                if re.match(r"\s*[摄攝]", line[m.end():]) or re.search(r"[摄攝]\s*$", m.group(1)):
                    continue        # a photographer's credit
                names = m.group(1).strip()
                if names and names not in WIDGET_WORDS:
                    return names, rule
    return None, ""


# --- body ------------------------------------------------------------------------------------
def _container_text(el) -> str:
    return "\n\n".join(content.clean_lines(content.lines_with_links(el)))


def _body(doc, preset: Preset | None, url: str | None,
          title: str | None = None) -> tuple[str, str, list, list]:
    """(text, rule, images, attachments): preset container, else the densest block."""
    if preset is not None and preset.body_selector:
        for sel in [s.strip() for s in preset.body_selector.split(",") if s.strip()]:
            for el in _css(doc, sel)[:1]:
                images, attachments = content.take_media(el, url)
                text = _container_text(el)
                if len(text) >= 80:
                    return text, f"preset:{sel}", images, attachments
    content.drop_unlikely(doc)
    body = doc.find("body")
    blocks, score = content.best_container(body if body is not None else doc, title)
    if blocks and score >= 5:
        images, attachments, parts = [], [], []
        for el in blocks:
            imgs, atts = content.take_media(el, url)
            images += imgs
            attachments += atts
            parts.append(_container_text(el))
        text = "\n\n".join(p for p in parts if p)
        if len(text) >= 50:
            return text, "density" + (f"+{len(blocks) - 1}" if len(blocks) > 1 else ""), images, attachments
    return "", "", [], []


def _body_from_trafilatura(html: str, url: str | None) -> str:
    import trafilatura
    text = trafilatura.extract(html, url=url, include_comments=False, include_tables=True,
                               with_metadata=False) or ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # trafilatura returns a page of nothing but links (a column page, a soft 404 in the site's
    # chrome) as text: a line that is mostly the page's link texts is navigation, not body
    links = _link_texts(html) if lines else None
    lines = [ln for ln in lines if not _mostly_links(ln, links)]
    return "\n\n".join(content.clean_lines([(ln, len(ln), 0) for ln in lines]))


def _link_texts(html: str):
    """A regex matching the text of any link on the page (whitespace removed), or None."""
    try:
        doc = lxml.html.document_fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError):
        return None
    texts = {re.sub(r"\s+", "", a.text_content()) for a in doc.iter("a")}
    texts = sorted((t for t in texts if len(t) >= 2), key=len, reverse=True)[:3000]
    return re.compile("|".join(map(re.escape, texts))) if texts else None


def _mostly_links(line: str, links) -> bool:
    if links is None:
        return False
    flat = re.sub(r"\s+", "", line)
    return bool(flat) and sum(len(m.group()) for m in links.finditer(flat)) / len(flat) > 0.6


# --- the extractor --------------------------------------------------------------------------
def extract(body: bytes, url: str | None = None, *, content_type: str | None = None,
            preset: Preset | None = None, encoding_hint: str | None = None,
            list_date: str | None = None, detect_cms: bool = True) -> Extracted:
    """Extract one article from raw page bytes; raises ExtractError when it is not one."""
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
    html, encoding = decode_html(body, content_type, encoding_hint)
    # content-farm copies put pinyin after characters (推動(dòng)); it breaks labels, names and
    # matching, and the original stays in the archive
    pinyin_groups = count_pinyin(html)
    if pinyin_groups:
        html = strip_pinyin(html)
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
    prov: dict[str, str] = {"pinyin_stripped": str(pinyin_groups)} if pinyin_groups else {}
    if preset is None and detect_cms:
        from flows.extract import cms
        preset = cms.detect(html)
        if preset is not None:
            prov["cms"] = preset.name
    meta = _meta(doc)
    ld = _jsonld(doc)
    title_tag = _norm_space(doc.findtext(".//title") or "")
    for bad in doc.xpath("//" + "|//".join(DROP_TAGS + ("title",))):
        bad.drop_tree()     # (old pages put <title> in the body: it is not the headline line)
    etree.strip_elements(doc, etree.Comment, with_tail=False)

    body_el = doc.find("body")
    all_lines = _text_lines(body_el if body_el is not None else doc, " ")

    # title
    title = None
    if meta.get("articletitle"):
        title, prov["title"] = _norm_space(meta["articletitle"]), "meta:ArticleTitle"
    if not title:
        title, rule = _pick_headline(doc, title_tag, preset, all_lines)
        if title:
            prov["title"] = rule
    if not title and (ld.get("headline") or meta.get("og:title")):
        title, prov["title"] = _norm_space(ld.get("headline") or meta["og:title"]), "jsonld/og"
    if not title and title_tag:
        title, prov["title"] = _title_from_tag(title_tag), "title_tag"

    # the header line: the preset's info element, else the lines just under the headline
    info_lines: list[str] = []
    if preset is not None and preset.info_selector:
        for el in _css(doc, preset.info_selector)[:2]:
            info_lines.extend(_text_lines(el, " "))
    near: list[str] = []
    if title:
        flat_title = _flat(title)
        hits = [i for i, ln in enumerate(all_lines)
                if flat_title and flat_title in _flat(ln) and len(_flat(ln)) < len(flat_title) + 40]
        exact = [i for i in hits if _flat(all_lines[i]) == flat_title]
        if hits:
            i = (exact or hits)[0]
            near = all_lines[i + 1:i + 8]
    labels: dict[str, str] = {}
    label_rule = ""
    for rule, lines in (("info_selector", info_lines), ("header_line", near)):
        for ln in lines:
            if len(ln) > 200:
                continue
            for k, v in parse_labels(ln).items():
                if k not in labels:
                    labels[k] = v
                    label_rule = label_rule or rule
                    prov.setdefault("_labels_" + k, rule)
    if "source" not in labels or "author" not in labels:
        # a labelled line elsewhere around the headline (short lines only: not running text,
        # and not the comment section far below)
        title_at = next((i for i, ln in enumerate(all_lines) if title and _flat(title) in _flat(ln)), None)
        around = all_lines[max(0, title_at - 5):title_at + 40] if title_at is not None else all_lines[:80]
        for ln in around:
            if len(ln) <= 80 and LABEL_RE.search(ln):
                for k, v in parse_labels(ln).items():
                    if k in ("source", "author") and k not in labels:
                        labels[k] = v
                        prov.setdefault("_labels_" + k, "labelled_line")

    if "source" not in labels:
        for ln in all_lines:
            m = LABEL_RE.match(ln.strip())
            if m and len(ln) <= 40 and _KIND[m.group(1)] == "source":
                value = parse_labels(ln).get("source")
                if value:
                    labels["source"] = value
                    prov["_labels_source"] = "source_line"
                    break

    # published_at
    ref = None
    if list_date:
        try:
            ref = dt.date.fromisoformat(list_date[:10])
        except ValueError:
            ref = None
    published, date_rule = None, ""
    meta_date_key = next((k for k in META_DATE_KEYS if meta.get(k)), None)
    ref = ref or _reference_from(meta)
    candidates = [
        ("meta:" + (meta_date_key or ""), meta.get(meta_date_key) if meta_date_key else None),
        ("jsonld", ld.get("datePublished")),
        ("label:" + prov.get("_labels_date", ""), labels.get("date")),
        ("header_date", labels.get("date_unlabelled") if near or info_lines else None),
    ]
    updated_key = next((k for k in META_UPDATED_KEYS if meta.get(k)), None)
    if updated_key:
        candidates.append(("meta:" + updated_key, meta[updated_key]))
    for rule, raw in candidates:
        if raw:
            published = parse_date(raw, reference=ref)
            if published and (rule == "jsonld" or "published_time" in rule or "datepublished" in rule):
                published = _iso_to_shanghai(raw) or published
            if published:
                date_rule = rule
                if rule.startswith("meta:") and not has_time(raw):
                    # a day-only meta tag: the header line's time of that same day is better
                    for shown in (labels.get("date"), labels.get("date_unlabelled")):
                        better = parse_date(shown, reference=ref) if shown else None
                        if better and better.date() == published.date() and has_time(shown):
                            published, date_rule = better, rule + "+header_time"
                            break
                break
    if published is None:
        # a labelled date anywhere (some templates put 时间：… under the body), or the
        # publish time a platform keeps only in its page script (WeChat: var ct = "epoch")
        for ln in all_lines:
            if len(ln) <= 80:
                raw = parse_labels(ln).get("date")
                if raw and (published := parse_date(raw, reference=ref)):
                    date_rule = "labelled_line"
                    break
    if published is None:
        m = SCRIPT_EPOCH.search(html)
        if m:
            from flows.extract.dates import SHANGHAI
            published = dt.datetime.fromtimestamp(int(m.group(1)), SHANGHAI)
            date_rule = "script_epoch"

    # the account a platform page belongs to (WeChat official accounts and the like)
    account = next((_norm_space(el.text_content()) for el in _css(doc, ACCOUNT_SELECTOR)
                    if 2 <= len(_norm_space(el.text_content())) <= 30), None)

    # body (before 来源/作者: bylines often open or close it)
    text, body_rule, images, attachments = _body(doc, preset, url, title)
    if not text:
        text = _body_from_trafilatura(html, url)
        body_rule = "trafilatura" if text else ""
    if published is None and ref is not None:
        published, date_rule = dt.datetime.combine(ref, dt.time(), tzinfo=parse_date("2000-01-01").tzinfo), "list_date"
    body_lines = [ln for ln in text.split("\n") if ln.strip()]

    # 来源: gov meta, the labelled header line, other meta, the unlabelled header line,
    # the account, a 来源 label anywhere, a "本文来自 X" sentence
    source, source_rule = None, ""
    for rule, value in (("meta:ContentSource", meta.get("contentsource")),
                        ("label:" + prov.get("_labels_source", ""), labels.get("source")),
                        ("meta:source", _meta_source(meta)),
                        ("header_line_unlabelled", _unlabelled_source(near[:3], title)),
                        ("account", account),
                        ("byline_outlet", _byline_outlet(near[:3] + body_lines[:3])),
                        ("source_sentence", _source_sentence(near[:3] + body_lines[:2] + body_lines[-3:])),
                        ("meta:og:site_name", _site_outlet(meta))):
        value = clean_inline(value)
        if value and value not in WIDGET_WORDS and len(value) <= 40:
            source, source_rule = value, rule
            break
    author, author_rule = labels.get("author"), ("label:" + prov.get("_labels_author", "")) if labels.get("author") else ""
    if author:
        author = ROLE_PREFIX.sub("", author).strip() or None
    if author in WIDGET_WORDS:
        author, author_rule = None, ""
    if not author:
        author, author_rule = _reporters(near + info_lines + body_lines[:3] + body_lines[-6:]
                                         + [ln for ln in body_lines if len(ln) <= 30])
    if not author and labels.get("author_guess"):
        author, author_rule = labels["author_guess"], "after_source"
    if not author:
        group = next((ln.strip() for ln in near[:3] + body_lines[:3] if GROUP_AUTHOR.fullmatch(ln.strip())
                      and ln.strip() != title and not GROUP_NOT_AUTHOR.search(ln)), None)
        if group:
            author, author_rule = group, "group_line"
    editor = labels.get("editor")

    # a title repeated as the first body line, and the header line itself, are not body
    text = _strip_leading(text, title, near[:1])
    text = _drop_dated_teasers(clean_body(text))
    if len(text) < 20:
        if limit:
            raise ExtractError("unparseable", f"the parser stopped: {limit}")
        raise ExtractError("no_text", f"body too short ({len(text)} chars)")

    prov = {k: v for k, v in prov.items() if not k.startswith("_")}
    for k, v in (("published_at", date_rule), ("original_source", source_rule),
                 ("author", author_rule), ("text", body_rule)):
        if v:
            prov[k] = v
    if editor:
        prov["editor"] = "label"
    return Extracted(title=clean_inline(title), published_at=published,
                     original_source=clean_inline(source), author=clean_inline(author),
                     editor=clean_inline(editor), text=text, encoding=encoding, provenance=prov,
                     images=tuple(images), attachments=tuple(attachments),
                     column_name=clean_inline(meta.get("columnname")), pinyin_groups=pinyin_groups)


def _meta_source(meta: dict) -> str | None:
    """来源 from non-gov meta tags: `source` (often "来源：X"), `mediaid`, a named article:author."""
    for key in ("source", "mediaid", "article:author", "og:article:author"):
        value = (meta.get(key) or "").strip()
        value = re.sub(r"^(?:来源|來源|source)\s*[:：]\s*", "", value, flags=re.I)
        if value and not re.search(r"https?:|www\.|@|\d{3,}", value) and len(value) <= 30 \
                and re.search(r"[\u4e00-\u9fff]", value):
            return value
    return None


# a report's author on a line of its own under the headline: `XX调研课题组`, `XX联合调查组`
GROUP_AUTHOR = re.compile(r"[\u4e00-\u9fff]{2,30}(?:课题组|调研组|研究组|编写组|写作组|调查组)")
GROUP_NOT_AUTHOR = re.compile(r"成立|派出|组建|组成|牵头|召开|开展|赴|进驻")     # a headline about a group
PLATFORM_WORDS = re.compile(r"平台|公众号|微信|博客|论坛|社区|贴吧|百家号|头条号|客户端|网易号|搜狐号|企鹅号|"
                            r"搜狐|网易|新浪|腾讯|今日头条|凤凰|百度|雅虎|一点资讯|澎湃号")


def _site_outlet(meta: dict) -> str | None:
    """Last resort: an outlet's own article credits nobody, the outlet is the site
    (`og:site_name` "RFI - 法国国际广播电台"): its Chinese part, unless it names a platform
    that carries others' posts (微信公众平台, 百家号 ...)."""
    name = meta.get("og:site_name") or ""
    name = re.sub(r"\S*\.[A-Za-z]{2,}\S*", " ", name)         # a domain is no outlet name
    parts = [p.strip() for p in re.split(r"[-|_｜—–]", name) if re.search(r"[\u4e00-\u9fff]", p)]
    if not parts:
        return None
    best = max(parts, key=len)
    return None if PLATFORM_WORDS.search(best) or len(best) > 20 else best


LOOSE_DATE = re.compile(r"(?:(?:19|20)\d{2}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
_NAME_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z·]{2,16}")


def _unlabelled_source(lines: list[str], title: str | None) -> str | None:
    """The outlet on the line under the headline when it has no 来源 label:
    `金融市场 棱镜 2019-09-23 07:48`, `2024-05-09 22:30 · 新华社`, or a lone account-name line
    right above the date line (`八卦大相公` / `发布时间：01-14 17:58`)."""
    for i, line in enumerate(lines):
        norm = unicodedata.normalize("NFKC", line)
        m = DATE_NEAR.search(norm) or LOOSE_DATE.search(norm)
        if not m:
            continue
        label = LABEL_RE.search(norm)
        if label and _KIND.get(label.group(1)) in ("source", "author"):
            return None         # a labelled line: parse_labels had its chance
        if i > 0 and _NAME_TOKEN.fullmatch(lines[i - 1].strip()):
            return lines[i - 1].strip()
        if label:
            return None
        before = norm[:m.start()].split()
        if before and _NAME_TOKEN.fullmatch(before[-1]) and len(before) <= 3:
            return before[-1]
        after = re.sub(r"^[\s·•|｜丨/-]+", "", norm[m.end():]).split()
        if after and _NAME_TOKEN.fullmatch(after[0]) and after[0] not in WIDGET_WORDS:
            return after[0]
        return None
    return None


BYLINE_OUTLET = re.compile(r"(?:^|[（(\s])((?!本报|本台|本刊|本网)[\u4e00-\u9fff]{2,10}?)(?:全媒体|融媒体|特约)?"
                           r"(?:记者|記者|评论员|特约评论员)")


def _byline_outlet(lines: list[str]) -> str | None:
    """`澎湃新闻记者 贺梨萍`, `文丨政能亮特约评论员 韩涵`: the outlet the byline names."""
    for line in lines:
        m = BYLINE_OUTLET.search(re.sub(r"^\s*(?:文|撰文)\s*[/／|丨]\s*", "", line[:60]))
        if m:
            return m.group(1)
    return None


def _source_sentence(lines: list[str]) -> str | None:
    for line in lines:
        m = SOURCE_SENTENCE.search(line[:200] if len(line) > 200 else line)
        if m:
            return m.group(1)
    return None


META_DATE_KEYS = ("pubdate", "publishdate", "publish_date", "publishtime", "publish-time", "pubtime",
                  "article:published_time", "og:article:published_time", "og:release_date",
                  "datepublished", "dc.date.issued", "dc.date", "sailthru.date",
                  "weibo:article:create_at", "firstpublishedtime", "published_time", "created")
# modification times: only after what the page shows, and as the year for year-less dates
META_UPDATED_KEYS = ("dateupdate", "dateupdated", "datemodified", "lastmodifiedtime",
                     "article:modified_time", "og:updated_time", "last-modified")
SCRIPT_EPOCH = re.compile(r"""\b(?:var\s+ct|ct|createTime|publish_time|pubtime)\s*[:=]\s*["']?(1[0-9]{9})\b""")


def _reference_from(meta: dict) -> dt.date | None:
    """A year for year-less visible dates (`01-14 17:58`), from any date-ish meta tag."""
    for k in META_DATE_KEYS + META_UPDATED_KEYS:
        if meta.get(k):
            d = parse_date(meta[k])
            if d:
                return d.date()
    return None


def _iso_to_shanghai(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    from flows.extract.dates import SHANGHAI
    return value.astimezone(SHANGHAI)


def _strip_leading(text: str, title: str | None, header: list[str]) -> str:
    """Drop leading lines that repeat the headline or are the labelled header line."""
    lines = text.split("\n")
    flat_title = re.sub(r"\s+", "", title or "")
    flat_header = {re.sub(r"\s+", "", h) for h in header}
    while lines:
        flat = re.sub(r"\s+", "", lines[0])
        if not flat or (flat_title and flat == flat_title) or flat in flat_header \
                or (len(flat) < 120 and LABEL_RE.search(lines[0]) and DATE_NEAR.search(lines[0])):
            lines.pop(0)
            continue
        break
    return "\n".join(lines)


DATE_ONLY = re.compile(r"(?:19|20)\d{2}(?:-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|年\d{1,2}月\d{1,2}日)(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")


def _drop_dated_teasers(text: str) -> str:
    """Cut a trailing list of other stories, each a short headline line then a date line
    (`【深度】越南拒用中国5G，原因和后果是...大参考` / `2019-09-08`): a related-items widget whose
    headlines are not links, so the link-line cleanup cannot see it. Three items at least (a
    notice two bodies sign, each with its date, keeps its signatures)."""
    lines = text.split("\n\n")
    cut = len(lines)
    while cut >= 2 and DATE_ONLY.fullmatch(lines[cut - 1].strip()) and \
            len(lines[cut - 2].strip()) <= 80 and not DATE_ONLY.fullmatch(lines[cut - 2].strip()) and \
            not lines[cut - 2].rstrip().endswith(("。", "！", "？")):
        cut -= 2
    if len(lines) - cut >= 6 and cut > 0:
        return "\n\n".join(lines[:cut])
    return text


def score_adapter(html: bytes, url: str | None = None) -> dict:
    """`python score.py flows.extract:score_adapter` (dev corpus scorer signature)."""
    try:
        e = extract(html, url)
    except ExtractError:
        return {}
    return {"title": e.title, "date": e.published_at.isoformat() if e.published_at else None,
            "source": e.original_source, "author": e.author, "text": e.text}
