"""The page's own headline, chosen among candidates by agreement and position.

Proposals: gov.cn's `ArticleTitle` meta, the CMS preset's title element, h1/h2/h3 and
title-like elements, the line right above the header line (date / 来源), OpenGraph /
JSON-LD headlines, and `<title>` minus its site suffix. Evidence:

- agreement: the page's own headline is what `<title>`, `og:title` and JSON-LD repeat
  (often with a site suffix); another article's headline (a sidebar or "next article" h1)
  agrees with none of them;
- position: the headline sits right above the header line; a candidate inside a
  related / recommended / sidebar block, or right after 上一篇 / 下一篇, is not the page's;
- the site's own name (og:site_name, the last `<title>` segment) is never the headline;
- markup left in a title string (`…力量<div>——…</div>`) is removed.
"""
from __future__ import annotations

import re

from flows.extract import body as bodymod
from flows.extract.candidates import Candidate
from flows.extract.dom import css, flat, norm_space
from flows.extract.labels import DATE_NEAR, KIND, LABEL_RE, joined, label_of, parse_labels

# site-suffix separators; a Chinese dash (—) joins names (中国—东盟) and a double one (——)
# starts a subtitle, so a dash separates only a trailing site name (`…举办—新华网`)
TITLE_SPLIT = re.compile(r"\s*(?:[_|｜]|--|–|\s-\s|-(?=[^-]*$)"
                         r"|(?<!—)—(?=[^—]{0,10}(?:网|網|报|報|台|频道|頻道|新闻|新聞|在线|在線|门户|門戶|政府|网站|網站)$))\s*")
# layout tags a CMS leaves inside a title string; other tag-like text (`<script>` in a title
# about scripts, or a hostile one) is the page's text and stays
MARKUP = re.compile(r"</?(?:div|span|p|br|font|b|strong|em|i|u|a|sub|sup|h[1-6])(?:\s[^<>]{0,200})?/?>", re.I)
ZH_SENTENCE = re.compile(r"[，。；]")
NOT_OWN = re.compile(r"related|recommend|sidebar|side|hot|rank|tuijian|xgxw|xgyd|remen|next|prev|"
                     r"more|list|footer|nav|menu", re.I)
SITE_NAME = re.compile(r"(?:网|網|网站|門戶|门户|门户网站|官网|官方网站|首页|首頁|政府|人民政府)$")
WEIGHTS = {"meta:ArticleTitle": 0.9, "label": 0.6, "preset_title": 0.7, "h1": 0.55, "h2": 0.4, "h3": 0.3,
           "title_class": 0.4, "above_header": 0.5, "og:title": 0.45, "jsonld:headline": 0.45,
           "title_tag": 0.3}


def clean_title(text: str | None) -> str:
    return norm_space(MARKUP.sub("", text or ""))


def split_title_tag(title_tag: str) -> list[str]:
    return [p.strip() for p in TITLE_SPLIT.split(title_tag) if p.strip()]


def title_from_tag(title_tag: str) -> str:
    """`<title>` minus the site suffix: its first segment, or the longest when that is short."""
    parts = split_title_tag(title_tag)
    if not parts:
        return title_tag.strip()
    return parts[0] if len(parts[0]) >= 6 else max(parts, key=len)


def is_header_line(line: str) -> bool:
    """A short line carrying a publish date or a 来源/作者 label: what sits under a headline."""
    import unicodedata
    return len(line) <= 160 and bool(DATE_NEAR.search(unicodedata.normalize("NFKC", line)) or LABEL_RE.search(line))


def looks_like_headline(line: str) -> bool:
    f = flat(line)
    if len(ZH_SENTENCE.findall(f)) > 3 or "。" in f or f.endswith(("：", ":")):
        return False        # a body sentence, not a headline
    return 5 <= len(f) <= 80 and not is_header_line(line) and not bodymod.BOILERPLATE_LINE.match(line) \
        and not re.search(r"[>›»]|首页|当前位置|您的位置", line)


def _element_candidates(page) -> list[tuple[str, str, object]]:
    out = []
    preset = page.preset
    if preset is not None and getattr(preset, "title_selector", ""):
        for el in css(page.doc, preset.title_selector)[:3]:
            out.append(("preset_title", el.text_content(), el))
    for tag in ("h1", "h2", "h3"):
        for el in page.doc.iter(tag):
            out.append((tag, el.text_content(), el))
    for el in page.doc.xpath("//*[contains(@class,'title') or contains(@id,'title') or "
                             "contains(@class,'Title') or contains(@id,'Title')]")[:30]:
        if el.tag not in ("head", "title", "html", "body", "meta"):
            out.append(("title_class", el.text_content(), el))
    return out


def _in_other_block(el) -> bool:
    """Inside a related/recommended/sidebar/next-article block (by class or id)."""
    node = el.getparent()
    for _ in range(6):
        if node is None or node.tag in ("body", "html"):
            return False
        attrs = f"{node.get('class', '')} {node.get('id', '')}"
        if attrs.strip() and NOT_OWN.search(attrs) and not bodymod.RESCUE.search(attrs):
            return True
        node = node.getparent()
    return False


def _is_link(el, f: str) -> bool:
    if any(a.tag == "a" for a in el.iterancestors()):
        return True
    inner = el.find(".//a")
    return inner is not None and len(flat(inner.text_content())) >= 0.8 * len(f)


def _site_names(page) -> set[str]:
    names = set()
    site = page.meta.get("og:site_name") or page.meta.get("sitename") or ""
    if site:
        names.add(flat(site))
        names.update(flat(p) for p in re.split(r"[-|_｜—–]", site) if p.strip())
    parts = split_title_tag(page.title_tag)
    if len(parts) > 1:
        names.add(flat(parts[-1]))
    return names


def _references(page) -> list[tuple[str, str]]:
    """What the page says its headline is: (name, folded text)."""
    refs = []
    for name, value in (("title_tag", page.title_tag), ("og:title", page.meta.get("og:title")),
                        ("twitter:title", page.meta.get("twitter:title")),
                        ("jsonld", page.ld.get("headline")), ("ArticleTitle", page.meta.get("articletitle"))):
        if value:
            refs.append((name, flat(clean_title(value))))
    return refs


URL_WORDS = re.compile(r"[a-z]{3,}")


def _url_words(url: str | None) -> set[str]:
    """Words of an English article slug (`/2025/04/22/fed-keeps-rates-steady/`)."""
    if not url:
        return set()
    path = re.sub(r"^[a-z]+://[^/]+", "", url.lower()).split("?")[0]
    slug = max(path.strip("/").split("/"), key=lambda s: s.count("-"), default="")
    return set(URL_WORDS.findall(slug)) if slug.count("-") >= 2 else set()


def _agreement(f: str, refs: list[tuple[str, str]], suffixed: bool) -> tuple[float, list[str]]:
    """Support from the page's own references: all of one is best, a large part good;
    all of a `<title>` that carries a site suffix is only weak support."""
    score, why = 0.0, []
    for name, ref in refs:
        if not ref:
            continue
        if f == ref:
            s = 0.2 if name == "title_tag" and suffixed else 0.35
        elif f in ref:
            s = 0.35 * len(f) / len(ref) + 0.1
        elif ref in f and len(f) < len(ref) + 30:
            s = 0.15
        else:
            continue
        score = max(score, s) + (0.1 if why else 0.0)
        why.append(name)
    return min(score, 0.6), why


def _header_follows(page, f: str) -> bool:
    i = page.first_at.get(f)
    return i is not None and any(is_header_line(x) for x in page.texts[i + 1:i + 4])


def _scored_elements(page, refs, suffixed: bool, sites: set[str]) -> list[Candidate]:
    """h1/h2/h3, title-like elements and the preset's title element, with their evidence."""
    slug = _url_words(page.url)
    out: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    for rule, text, el in _element_candidates(page):
        t = clean_title(text)
        f = flat(t)
        if not 4 <= len(f) <= 120 or (rule, f) in seen:
            continue
        seen.add((rule, f))
        w, why = WEIGHTS[rule], []
        agree, refs_hit = _agreement(f, refs, suffixed)
        if slug and len(slug & set(URL_WORDS.findall(t.lower()))) >= min(3, len(slug)):
            agree, refs_hit = agree + 0.2, refs_hit + ["url"]
        if agree:
            w += agree
            why.append("agrees:" + "+".join(refs_hit))
        elif refs and rule != "preset_title":
            w -= 0.3                 # nothing the page says about itself matches it
            why.append("no_agreement")
        for bad, penalty, name in ((_in_other_block(el), 0.35, "other_block"),
                                   (rule != "preset_title" and _is_link(el, f), 0.2, "link"),  # a list item
                                   (f in sites, 0.5, "site_name")):
            if bad:
                w -= penalty
                why.append(name)
        if _header_follows(page, f):
            w += 0.15
            why.append("above_header")
        out.append(Candidate(t, rule, round(w, 3), tuple(why)))
    return out


def _declared(page, sites: set[str]) -> list[Candidate]:
    """og:title, JSON-LD headline and <title>, each minus a site suffix."""
    declared = [(rule, title_from_tag(clean_title(value))) for rule, value in
                (("og:title", page.meta.get("og:title")), ("jsonld:headline", page.ld.get("headline")),
                 ("title_tag", page.title_tag)) if value]
    out = []
    for rule, t in declared:
        f = flat(t)
        if f in sites or (rule == "title_tag" and SITE_NAME.search(t)):
            continue
        # the page's declarations agreeing with each other (og:title = JSON-LD = <title>):
        # when no element shows the headline in full, this is it
        same = sum(1 for r, u in declared if r != rule and flat(u) == f)
        out.append(Candidate(t, rule, round(WEIGHTS[rule] + 0.15 * same, 3), ("declared_by_%d" % (same + 1),)))
    return out


def candidates(page) -> list[Candidate]:
    refs = _references(page)
    suffixed = len(split_title_tag(page.title_tag)) > 1
    sites = _site_names(page)
    out: list[Candidate] = []
    if page.meta.get("articletitle"):
        out.append(Candidate(clean_title(page.meta["articletitle"]), "meta:ArticleTitle",
                             WEIGHTS["meta:ArticleTitle"]))
    out += _scored_elements(page, refs, suffixed, sites)
    agreed = any("agrees" in " ".join(c.evidence) for c in out)
    # the `标题：` row of a metadata table (gov 信息公开 pages), and the line above the header line
    for rule, line in (("label", _labelled_title(page)), ("above_header", _line_above_header(page))):
        if line:
            agree, refs_hit = _agreement(flat(line), refs, suffixed)
            # (no agreement counts against it only when another candidate has some)
            w = WEIGHTS[rule] + agree - (0.3 if agreed and not agree else 0.0)
            out.append(Candidate(line, rule, round(w, 3), ("agrees:" + "+".join(refs_hit),) if agree else ()))
    return out + _declared(page, sites)


def _labelled_title(page) -> str | None:
    for i, line in enumerate(page.texts[:200]):
        if len(line) <= 160 and LABEL_RE.search(line):
            value = parse_labels(joined(page.texts, i)).get("title")
            if value and 4 <= len(flat(value)) <= 120:
                return clean_title(value)
    return None


def _line_above_header(page) -> str | None:
    """`<title>` is generic ("新闻动态--某网站"): the headline is the line above the first
    header line (date / 来源 / 作者); earlier and labelled header lines score higher (a bare
    date may be the top bar's "2024年5月20日 星期一")."""
    texts = page.texts
    heads = {flat(t) for t in (el.text_content() for el in page.doc.iter("h1", "h2", "h3"))}
    best, best_score = None, 0.0
    n = max(len(texts), 1)
    for i, line in enumerate(texts[:400]):
        if i == 0 or len(line) > 100 or not is_header_line(line):
            continue
        label = LABEL_RE.search(line)
        kind = KIND.get(label_of(label)) if label else None
        if label and kind not in ("date", "source", "author"):
            continue
        if label and not {"date", "source", "author"} & set(parse_labels(line)):
            label = None            # `时 间：7:00-9:30` in an agenda: a label, but no date
        for j in (i - 1, i - 2):
            if looks_like_headline(texts[j]):
                f = flat(texts[j])
                score = 1.0 + (0.5 if label else 0.0) + (1.0 if f in heads else 0.0) - i / n
                if score > best_score:
                    best, best_score = norm_space(texts[j]), score
                break
    return best
