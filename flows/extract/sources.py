"""来源: the credited outlet, chosen among what the page names.

Proposals (each checked by `names.is_outlet`: never a person, a label word, a placeholder
such as 转载文章 / 网络, or a sentence fragment):
- gov.cn's `ContentSource` meta;
- the labelled 来源 / 文章来源 / 信息来源 / 稿源 slot on the header line, weaker on short
  labelled lines elsewhere (a `来源：南方都市报` line closing the body of a re-post);
- `source` / `mediaid` meta, a Chinese `article:author` (portals put the outlet there),
  JSON-LD `publisher`;
- the unlabelled header line (`金融市场 棱镜 2019-09-23 07:48`, `2024-05-09 22:30 · 新华社`, a
  self-media account line above the date);
- the platform account the page belongs to (WeChat);
- the outlet a byline names (`澎湃新闻记者 贺梨萍` → 澎湃新闻, `石佳/中国青年报`);
- `本文来自 X` / `转自 X` sentences;
- last, the site itself: the name part of `og:site_name` (for Chinese pages its Chinese part),
  unless it names a platform carrying others' posts (微信公众平台, 百家号 …).
"""
from __future__ import annotations

import re
import unicodedata

from flows.extract import names
from flows.extract.bylines import NAME_SLASH_OUTLET
from flows.extract.candidates import Candidate
from flows.extract.dom import css, norm_space
from flows.extract.labels import DATE_NEAR, KIND, LABEL_RE, label_of

ACCOUNT_SELECTOR = "#js_name, .profile_nickname, .rich_media_meta_nickname, .account_nickname_inner"
SOURCE_SENTENCE = re.compile(r"(?:本文来自|本文来源于|本文来源|转自|转载自|原刊于|来源于)\s*[:：]?\s*"
                             r"[《“]?([\u4e00-\u9fffA-Za-z0-9·]{2,16}?)[》”]?(?=[，,。；;）)\s]|$)")
BYLINE_OUTLET = re.compile(r"(?:^|[（(\s【\[])((?!本报|本台|本刊|本网)[\u4e00-\u9fff·]{2,12}?)(?:全媒体|融媒体|特约|见习|实习)?"
                           r"(?:记者|記者|评论员|特约评论员|专栏作者)")
LOOSE_DATE = re.compile(r"(?:(?:19|20)\d{2}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
_NAME_TOKEN = re.compile(r"(?=.*[\u4e00-\u9fffA-Za-z])[\u4e00-\u9fffA-Za-z0-9·—]{2,16}")
DATE_TIME = re.compile(r"(?:(?:19|20)\d{2}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?")
WEIGHTS = {"meta:ContentSource": 0.9, "label:info": 0.85, "label:header": 0.8, "label:around": 0.65,
           "label:anywhere": 0.45, "meta:source": 0.55, "jsonld:publisher": 0.4, "header_unlabelled": 0.5,
           "account": 0.5, "byline_outlet": 0.45, "source_sentence": 0.4,
           "site_name": 0.2}


def site_outlet(meta: dict, chinese: bool = True) -> str | None:
    """The site's own name from `og:site_name` ("RFI - 法国国际广播电台", "少数派 - 高品质数字消费
    指南"): the name part (for a Chinese page its Chinese part; a slogan after the name is
    longer but no name), unless it names a platform that carries others' posts."""
    name = meta.get("og:site_name") or ""
    name = re.sub(r"\S*\.[A-Za-z]{2,}\S*", " ", name)         # a domain is no outlet name
    parts = [p.strip() for p in re.split(r"[-|_｜—–]", name) if p.strip()]
    if chinese:
        parts = [p for p in parts if re.search(r"[\u4e00-\u9fff]", p)]
    parts = [p for p in parts if not re.fullmatch(r"首页|首頁|home", p, re.I)]
    if not parts:
        return None
    best = parts[0]
    return None if names.PLATFORM_WORDS.search(best) or len(best) > 20 else best


def meta_source(meta: dict) -> str | None:
    """来源 from non-gov meta tags: `source` (often "来源：X"), `mediaid`, a named article:author."""
    for key in ("source", "mediaid", "article:author", "og:article:author"):
        value = (meta.get(key) or "").strip()
        value = re.sub(r"^(?:来源|來源|source)\s*[:：]\s*", "", value, flags=re.I)
        if value and not re.search(r"https?:|www\.|@|\d{3,}", value) and len(value) <= 30 \
                and re.search(r"[\u4e00-\u9fff]", value) and names.is_outlet(value) and not names.person_names(value):
            return value
    return None


def unlabelled_source(lines: list[str]) -> str | None:
    """The outlet on the line under the headline when it has no 来源 label:
    `金融市场 棱镜 2019-09-23 07:48`, `2024-05-09 22:30 · 新华社`, or a lone account-name line
    right above the date line (`八卦大相公` / `发布时间：01-14 17:58`)."""
    for i, line in enumerate(lines):
        norm = unicodedata.normalize("NFKC", line)
        m = DATE_NEAR.search(norm) or LOOSE_DATE.search(norm)
        if not m:
            continue
        label = LABEL_RE.search(norm)
        if label and KIND.get(label_of(label)) in ("source", "author"):
            return None         # a labelled line: the label rules had their chance
        if i > 0 and _NAME_TOKEN.fullmatch(lines[i - 1].strip()):
            return lines[i - 1].strip()
        if label:
            return None
        before = norm[:m.start()].split()
        if before and _NAME_TOKEN.fullmatch(before[-1]) and len(before) <= 3:
            return before[-1]
        whole = DATE_TIME.match(norm, m.start())
        after = re.sub(r"^[\s·•|｜丨/-]+", "", norm[whole.end() if whole else m.end():]).split()
        if after and _NAME_TOKEN.fullmatch(after[0]):
            return after[0]
        return None
    return None


def byline_outlet(lines: list[str]) -> str | None:
    """`澎湃新闻记者 贺梨萍`, `文丨政能亮特约评论员 韩涵`, `石佳/中国青年报`: the outlet a byline names."""
    for line in lines:
        m = NAME_SLASH_OUTLET.match(line) if len(line) <= 40 else None
        if m and names.OUTLET_END.search(m.group(2)):
            return m.group(2)
        m = BYLINE_OUTLET.search(re.sub(r"^\s*[【\[]?\s*(?:文|撰文)\s*[/／|丨]\s*", "", line[:60]))
        if m:
            return m.group(1)
    return None


def _sentence(lines: list[str]) -> str | None:
    for line in lines:
        m = SOURCE_SENTENCE.search(line[:200])
        if m:
            return m.group(1)
    return None


def _credit_lines(page, value: str) -> int:
    """Lines outside the header zone carrying `来源：value` (image / video credits repeat)."""
    start = (page.title_at or 0) + 1 + len(page.near)
    return sum(1 for t in page.texts[start:] if value in t and len(t) <= 40 and LABEL_RE.search(t))


def account(page) -> str | None:
    """The platform account a page belongs to (WeChat official accounts and the like)."""
    return next((norm_space(el.text_content()) for el in css(page.doc, ACCOUNT_SELECTOR)
                 if 2 <= len(norm_space(el.text_content())) <= 30), None)


def candidates(page, hits, chinese: bool = True) -> list[Candidate]:
    out: list[Candidate] = []

    def add(value, rule, w=None, ev=()):
        value = norm_space(value or "")
        if value and names.is_outlet(value):
            out.append(Candidate(value, rule, WEIGHTS[rule] if w is None else w, ev))

    add(page.meta.get("contentsource"), "meta:ContentSource")
    # the same 来源 on several lines away from the header: credits under images or videos
    # (`来源：Reuters`, `（来源：梨视频）`), not the article's outlet
    for h in hits:
        if h.kind != "source":
            continue
        if h.zone == "anywhere" and not (len(page.texts[h.at]) <= 40
                                         and LABEL_RE.match(page.texts[h.at].strip(" （(【[\u3000"))):
            continue            # elsewhere only a line that is the 来源 label itself
        w, ev = WEIGHTS["label:" + h.zone], (h.zone,)
        if h.zone in ("around", "anywhere") and _credit_lines(page, h.value) >= 2:
            w, ev = w - 0.6, ev + ("repeated:credit",)
        add(h.value, "label", w, ev)
    add(meta_source(page.meta), "meta:source")
    add(page.ld.get("publisher"), "jsonld:publisher")
    add(unlabelled_source(page.near[:3]), "header_unlabelled")
    add(page.account, "account")
    body = page.body_lines
    add(byline_outlet(page.near[:3] + body[:3] + body[-3:]), "byline_outlet")
    add(_sentence(page.near[:3] + body[:2] + body[-3:]), "source_sentence")
    site = site_outlet(page.meta, chinese)
    add(site, "site_name", WEIGHTS["site_name"] if chinese else 0.4)
    return out
