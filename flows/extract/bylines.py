"""Who wrote it: bylines by the conventions of the Chinese press.

Each convention is one rule proposing names (checked by `names.person_names`):

- `label`: a labelled 作者 / 记者 / 撰稿 / 执笔 / 采写 / 文 slot on the header line (`作者︱X`
  with any of the bars ︱｜丨|);
- `after_source`: a name placed right after the outlet on the 来源 line (`来源：中国新闻网 张三`)
  or bracketed right before it (sohu's 2004 `[ 黄宇 ]  来源：[ 国际金融报 ]`);
- `dateline`: the 电头 opening a wire story, `新华社北京5月19日电（记者 张三、李四）`,
  `中新网北京5月19日电(张三)`, `本报讯（记者 张三 通讯员 李四）`;
- `reporter`: a 记者 / 通讯员 / 评论员 credit opening or closing the body or under the
  headline: `（记者 张三 李四）`, `本报记者 张三`, `中青报·中青网记者 张三`, `XX报记者张三/文`;
- `slash_byline`: `文/张三`, `文丨X`, `【文/ X，整理/ Y】`, `(文/图 张三 李四)`, `（编译/张三）`,
  `执笔/X`, and the name-first form `石佳/中国青年报`;
- `byline_line`: a line that is only a byline, `《棱镜》作者 周纯`, `作者 张三`, `By Jane Doe`;
- `closing_signature`: the bracketed signature closing the body, `（张三）`, `（张三 李四）`,
  `（张三 上海报道）` (names must start with a common surname: brackets hold much else);
- `meta:author` / `jsonld:author`: declared authors, once site names and ids are removed;
- `blog_owner`: a blog or column page's owner (`<title>` `标题_张三_新浪博客`, `标题_张三的博客-CSDN博客`,
  `标题_王文专栏_观察者网`);
- `source_slot_person`: a person's name in the 来源 slot (`来源：张三`) is the author, not an outlet.

Photographers (`… 摄`), editors (责任编辑 …) and widget words are never authors.
"""
from __future__ import annotations

import re

from flows.extract import labels, names
from flows.extract.candidates import Candidate
from flows.extract.dom import flat, norm_space

H = r"\u4e00-\u9fff"
_NAMES = rf"([{H}]{{2,4}}(?:(?:\s+|、|，|,)[{H}]{{2,4}})*)"
_ROLE = r"(?:记者|記者|通讯员|通訊員|评论员|評論員)"
# 电头: place + date + 电/讯, then the reporters in brackets
DATELINE = re.compile(rf"^[{H}·]{{2,16}}?(?:\d{{1,2}}月\d{{1,2}}日)?(?:电|電|讯|訊)\s*[（(]\s*((?:[{H}]{{0,12}}?{_ROLE}\s*)?"
                      rf"[{H}]{{2,4}}(?:(?:\s+|、|，|,)(?:{_ROLE}\s*)?[{H}]{{2,4}})*)\s*[）)]")
REPORTER = re.compile(rf"(?:^|[（(\s【\[])[^\s（(]{{0,14}}?{_ROLE}\s*[:：]?\s*" + _NAMES
                      + r"\s*(?=$|[）)\s、，】\]/]|报道|報道|发自|發自)")
SLASH = re.compile(rf"(?:^|[\s（(【\[])(?:(?:文/图|文／图|图/文|图／文|文/摄|文／摄)\s*[/／|｜丨︱:：]?"
                   rf"|(?:文|撰文|作者|编译|編譯|执笔|執筆|采写)\s*[/／|｜丨︱])\s*"
                   rf"(?:[^\s/／，,）)】\]]{{0,14}}?(?:特约评论员|评论员|记者|通讯员|特约撰稿人|专栏作者|专栏作家))?\s*"
                   + _NAMES + r"\s*(?=$|[）)\s，,】\]])")
NAME_SLASH_OUTLET = re.compile(rf"^\s*([{H}]{{2,4}}(?:\s+[{H}]{{2,4}})?)\s*[/／]\s*([{H}A-Za-z·]{{2,16}})\s*$")
BYLINE_LINE = re.compile(rf"^(?:《[^》]{{1,12}}》)?\s*(?:作者|撰文|文)(?:\s*[:：/／|丨︱]\s*|\s+)" + _NAMES + r"\s*$")
# English pages: `By Jane Doe`, `By Jane Doe and John Roe, Reuters`
BY_LINE = re.compile(r"^\s*(?:By|BY)\s+((?:[A-Z][a-z'\-]+\.?\s+){0,2}[A-Z][a-z'\-]+(?:\s*(?:and|&)\s*"
                     r"(?:[A-Z][a-z'\-]+\.?\s+){0,2}[A-Z][a-z'\-]+)*)\s*(?:[,|·-].{0,40})?$")
CLOSING = re.compile(rf"[（(]\s*((?:[{H}]{{0,8}}?{_ROLE}\s*)?[{H}·]{{2,8}}(?:[\s、，,][{H}·]{{2,8}}){{0,3}})\s*[）)]\s*$")
GROUP_AUTHOR = re.compile(rf"[{H}]{{2,30}}(?:课题组|调研组|研究组|编写组|写作组|调查组|编辑部|评论部|评论员)")
BLOG = re.compile(rf"^([{H}A-Za-z0-9_·]{{2,16}})的(?:博客|日志|个人空间|专栏|專欄|主页|文集)$")
COLUMN = re.compile(rf"^([{H}·]{{2,5}})(?:专栏|專欄|文集)$")      # `王文专栏`: a columnist's page
BLOG_PLATFORM = re.compile(r"(?:新浪|网易|搜狐|和讯|博客园|CSDN)?博客|博客园|CSDN|[Bb]log")
PHOTO = re.compile(r"^\s*[摄攝]|[摄攝](?:影)?\s*$")
WEIGHTS = {"label:info": 0.85, "label:header": 0.8, "label:around": 0.6, "label:body": 0.6, "after_source": 0.55,
           "dateline": 0.75, "reporter": 0.6, "slash_byline": 0.65, "byline_line": 0.6,
           "closing_signature": 0.55, "meta:author": 0.4, "jsonld:author": 0.5,
           "blog_owner": 0.45, "source_slot_person": 0.3}


def _not_photo(line: str, m: re.Match) -> bool:
    return not (PHOTO.search(line[m.end():m.end() + 3]) or PHOTO.search(m.group(1)))


def _scan(lines: list[str], zone_weight: float) -> list[Candidate]:
    """The in-text conventions over some lines (header zone, body start, body end)."""
    out = []
    for line in lines:
        if len(line) > 300:
            line = line[:80] + " " + line[-100:]      # bylines open or close a paragraph
        m = DATELINE.match(line)
        if m:
            n = names.person_names(m.group(1), strict=False)
            if n:
                out.append(Candidate(n, "dateline", WEIGHTS["dateline"] * zone_weight))
        m = BY_LINE.match(line) if len(line) <= 90 else None
        if m:
            out.append(Candidate(norm_space(m.group(1)), "byline_line", WEIGHTS["byline_line"] * zone_weight, ("by",)))
        if len(line) <= 40:
            m = BYLINE_LINE.match(line.strip())
            if m and (n := names.person_names(m.group(1), strict=False)):
                out.append(Candidate(n, "byline_line", WEIGHTS["byline_line"] * zone_weight))
            m = NAME_SLASH_OUTLET.match(line)
            if m and names.is_outlet(m.group(2)) and names.OUTLET_END.search(m.group(2)) \
                    and (n := names.person_names(m.group(1))):
                out.append(Candidate(n, "slash_byline", WEIGHTS["slash_byline"] * zone_weight, ("name/outlet",)))
        # after 记者 come verbs as often as names (记者获悉, 记者了解到): a reporter's name
        # must start with a surname; a slash byline may be a pen name
        for rx, rule, strict in ((REPORTER, "reporter", True), (SLASH, "slash_byline", False)):
            for m in rx.finditer(line):
                if _not_photo(line, m) and (n := names.person_names(m.group(1), strict=strict,
                                                                     trailing_place=rule == "reporter")):
                    out.append(Candidate(n, rule, WEIGHTS[rule] * zone_weight))
                    break
    return out


def closing_signature(body_lines: list[str]) -> tuple[str, str] | None:
    """The bracketed signature closing the body: ('person', names) or ('org', organ)."""
    for line in reversed(body_lines[-6:]):
        m = CLOSING.search(line[-60:])
        if not m or PHOTO.search(m.group(1)):
            continue
        inner = m.group(1)
        if re.search(r"编辑|編輯|责编|校对|审核|来源|來源|图|完|供稿|摘编|综合|整理", inner):
            continue
        n = names.person_names(inner, strict=True)
        if n:
            return "person", n
        if names.is_outlet(inner) and names.OUTLET_END.search(inner) and " " not in inner:
            return "org", inner
    return None


def _declared(page, site_keys: set[str]) -> list[Candidate]:
    out = []
    host = re.sub(r"^[a-z]+://", "", (page.url or "").lower()).split("/")[0]

    host_words = {w for w in re.split(r"[.\-]", host) if len(w) >= 3 and w not in ("www", "com", "net", "org")}

    def person(value: str) -> str | None:
        """A declared author that is a person: CMSs put the site (网易, chinanews, sina_mobile),
        an id or a template placeholder there. Han names need a surname; Latin names and
        handles must not be the site's own host name."""
        v = norm_space(value)
        low = v.lower()
        if not v or flat(v) in site_keys or any(w in low for w in host_words) \
                or re.search(r"@|https?:|\d{3,}|team|admin|editor", v, re.I) or names.PLATFORM_WORDS.search(v):
            return None
        if GROUP_AUTHOR.fullmatch(v):
            return v
        strict = bool(re.search(r"[\u4e00-\u9fff]", v))
        return names.person_names(v, strict=strict)

    for key in ("author", "article:author", "og:article:author", "dc.creator"):
        if page.meta.get(key) and (n := person(page.meta[key])):
            out.append(Candidate(n, "meta:author", WEIGHTS["meta:author"], (key,)))
            break
    for value in page.ld.get("author") or ():
        if (n := person(value)):
            out.append(Candidate(n, "jsonld:author", WEIGHTS["jsonld:author"]))
            break
    owner = blog_owner(page.title_tag or "")
    if owner:
        out.append(Candidate(owner, "blog_owner", WEIGHTS["blog_owner"]))
    return out


def blog_owner(title_tag: str) -> str | None:
    """A blog page's owner from its `<title>`: `标题_张三的博客-CSDN博客` / `标题 - 张三的日志 -
    网易博客`, or the segment right before the platform: `标题_张三_新浪博客`, `标题 - 张三 - 博客园`."""
    parts = [p.strip() for p in re.split(r"\s*[-_|｜—]\s*", title_tag) if p.strip()]
    for i, part in enumerate(parts[1:], 1):
        m = BLOG.match(part)
        if m:
            return names.person_names(m.group(1), strict=False) or m.group(1)
        m = COLUMN.match(part)
        if m and names.person_names(m.group(1)):
            return m.group(1)
        if BLOG_PLATFORM.fullmatch(part) and i >= 2:
            return names.person_names(parts[i - 1], strict=False)
    return None


def candidates(page, hits, site_keys: set[str]) -> list[Candidate]:
    out: list[Candidate] = []
    for h in hits:
        if h.kind == "author" and h.zone in ("info", "header", "around"):
            n = names.person_names(h.value, strict=False) or (h.value if GROUP_AUTHOR.fullmatch(h.value) else None)
            if n:
                out.append(Candidate(n, "label", WEIGHTS["label:" + h.zone], (h.zone,)))
        elif h.kind == "author_guess" and h.zone in ("info", "header", "around"):
            out.append(Candidate(h.value, "after_source", WEIGHTS["after_source"]))
        elif h.kind == "source_person" and h.zone in ("info", "header"):
            out.append(Candidate(h.value, "source_slot_person", WEIGHTS["source_slot_person"]))
    body = page.body_lines
    # credits closing (or opening) the body in label form: `执笔人：X`, `撰稿：X`, `作者：X`
    for line in body[:3] + body[-6:]:
        if len(line) <= 80:
            value = labels.parse_labels(line).get("author")
            n = names.person_names(value, strict=False) if value else None
            if n:
                out.append(Candidate(n, "label", WEIGHTS["label:body"], ("body",)))
    out += _scan(page.near + page.info_lines, 1.0)
    out += _scan(body[:3], 1.0)
    out += _scan(body[-6:], 0.9)
    out += _scan([ln for ln in body[3:-6] if len(ln) <= 30], 0.7)
    sig = closing_signature(body)
    if sig and sig[0] == "person":
        out.append(Candidate(sig[1], "closing_signature", WEIGHTS["closing_signature"]))
    return out + _declared(page, site_keys)
