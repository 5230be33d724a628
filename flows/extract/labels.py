"""Labelled fields on the line under a headline: `2024-11-08 09:05 来源: 广西日报 作者: 韦夏妮`,
`发表于 2019-09-23`, `文章来源：新华网  责任编辑：张三`, `作者︱李四`.

Chinese CMS templates print the article's metadata as label + full- or half-width colon +
value on one or two lines between the headline and the body. A label counts only at the
start of a line or after a non-Han character, so 数据来源 in running text is not a 来源
label. Date labels ending in 于 (`发布于 2025-04-22`) and labels followed straight by a
date take no colon; byline, 来源 and editor labels also take the vertical bars magazines and
WeChat accounts use (`作者︱X`, `来源丨新华社`, `编辑 | Y`), bylines the slash (`执笔/X`).
"""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from flows.extract import names

_NOT_HAN_BEFORE = r"(?<![\u4e00-\u9fff])"
LABELS = {
    "date": ["发布时间", "發布時間", "发表时间", "發表時間", "发布日期", "發布日期", "发稿时间", "刊发时间", "发文日期",
             "生成日期", "成文日期", "印发日期", "公开日期", "公開日期", "发表于", "發表於", "发布于", "發布於", "发布於", "發佈於", "发布", "時間", "时间",
             "日期"],
    "updated": ["更新时间", "更新時間", "最后更新", "最後更新", "最后修改", "更新于", "更新於", "修改时间"],
    "source": ["文章来源", "文章來源", "信息来源", "信息來源", "稿件来源", "新闻来源", "新聞來源", "内容来源",
               "本文来源于", "本文来源", "来源", "來源", "稿源", "出处", "出處", "转载自",
               "发布机构", "發布機構", "发文机关", "發文機關", "发布单位", "来源单位"],
    "author": ["作者", "撰稿", "撰文", "执笔人", "执笔", "執筆", "采写", "採寫", "记者", "記者", "通讯员", "文"],
    "editor": ["责任编辑", "責任編輯", "责编", "責編", "编辑", "編輯", "值班编辑", "审核", "審核", "校对", "校對",
               "主编", "编审", "监制"],
    "title": ["标题", "標題", "文件标题", "文章标题"],
    "widget": ["点击", "點擊", "浏览", "瀏覽", "阅读", "閱讀", "评论", "評論", "字号", "字體", "字体", "打印", "分享",
               "访问量", "訪問量", "访问次数", "浏览次数", "阅读数", "点击数", "点击量", "浏览量", "阅读量"],
}
KIND = {w: k for k, ws in LABELS.items() for w in ws}
_ALL = sorted(KIND, key=len, reverse=True)


def _spaced(words) -> str:
    """Label words as a pattern that allows spaces between their characters: gov metadata
    tables pad labels to one width (`索 引 号`, `标　　题`)."""
    return "|".join(r"\s*".join(map(re.escape, w)) for w in words)
DATE_NEAR = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}|[〇○][〇○零一二三四五六七八九]{0,3}年|二[〇○零]")
# labels that also take the bars of magazine and WeChat layouts (`来源丨新华社`, `作者｜X`, `编辑 | Y`;
# NFKC turns ︱ into an em dash)
_BYLINE_LABELS = "|".join(map(re.escape, sorted(LABELS["author"] + LABELS["source"] + LABELS["editor"],
                                                key=len, reverse=True)))
_DATE_LABELS = "|".join(map(re.escape, sorted(LABELS["date"] + LABELS["updated"], key=len, reverse=True)))
LABEL_RE = re.compile(
    _NOT_HAN_BEFORE + "(?:"
    + "(" + _spaced(_ALL) + r")\s*[:：]\s*"                                       # 来源：X
    + "|(" + _BYLINE_LABELS + r")\s*(?:[︱｜丨|\u2014]|(?<=[文笔筆写寫者])\s*[/／])\s*(?=[\u4e00-\u9fffA-Za-z])"  # 作者︱X, 执笔/X
    + "|(" + _DATE_LABELS + r")\s*(?=(?:19|20)\d{2}\s*[-/.年])"                   # 发布于 2025-04-22
    + ")")
_VALUE_STOP = re.compile(r"\n|\s{2,}|[|｜丨【\[]|(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}\s*[-/.月]")
# a value that is itself the next label (`来源：访问量：199`) or ends in one
_ENDS_LABEL = re.compile(r"[:：]\s*$")


def label_of(m: re.Match) -> str:
    """The label word a LABEL_RE match found, without the spaces padding it."""
    return re.sub(r"\s+", "", m.group(1) or m.group(2) or m.group(3))


def find_labels(line: str) -> list[re.Match]:
    return list(LABEL_RE.finditer(line))


def _source_value(raw: str, found: dict) -> str | None:
    """The outlet after a 来源 label, and a byline that follows it on the same line."""
    parts = re.split(r"((?:19|20)\d{2}\s*[-/.年])", raw, maxsplit=1)
    head = re.split(r"[|｜丨\n]", parts[0])[0]
    tokens = head.split()
    if not tokens:
        return None
    value = tokens[0].strip(" :：,，;；()（）")
    if _ENDS_LABEL.search(tokens[0]):
        return None
    # `来源：中国新闻网 张三`, `来源:海报新闻 孙杰 2025-02-12`: outlets have no spaces; a
    # person's name right after the outlet is the byline
    if len(tokens) >= 2 and "author" not in found:
        name = names.person_names(tokens[1])
        if name and len(tokens[1]) <= 4:
            found.setdefault("author_guess", name)
    return value


def parse_labels(line: str) -> dict[str, str]:
    """Labelled values in one header line: {'date', 'date_label', 'updated', 'source',
    'author', 'editor', 'author_guess' (a name placed next to the 来源), 'date_unlabelled'}."""
    line = unicodedata.normalize("NFKC", line).replace("\u00a0", " ")
    found: dict[str, str] = {}
    matches = find_labels(line)
    for i, m in enumerate(matches):
        label = label_of(m)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        raw = re.sub(r"[\[\]【】]", " ", line[m.end():end])
        kind = KIND[label]
        if kind in ("date", "updated"):
            if kind not in found and DATE_NEAR.search(raw):
                found[kind] = raw.strip()
                if kind == "date":
                    found["date_label"] = label
            continue
        if kind == "widget":
            continue
        if kind == "source":
            value = _source_value(raw, found)
        else:
            stop = _VALUE_STOP.search(raw)
            value = (raw[:stop.start()] if stop else raw).strip(" :：,，;；()（）")
            if _ENDS_LABEL.search(raw[:stop.start()] if stop else raw):
                value = None
        if not value or len(value) > 40:
            continue
        if kind == "source" and not names.is_outlet(value):
            if names.person_names(value):
                found.setdefault("source_person", names.person_names(value))     # `来源：张三`
            continue
        found.setdefault(kind, value)
    if "date" not in found:
        m = DATE_NEAR.search(line)
        if m:
            found["date_unlabelled"] = line[m.start():m.start() + 25]
    return found


class Hit(NamedTuple):
    kind: str       # date, updated, source, author, editor, author_guess, date_unlabelled
    value: str
    zone: str       # info (the preset's info element), header (just under the headline),
    #                 around (short labelled lines near it), anywhere (short labelled lines)
    at: int         # index of the line in page.lines; -1 for the info element
    label: str = ""


def hits(page) -> list[Hit]:
    """Every labelled value on the page's header lines and on short labelled lines elsewhere,
    each with the zone it came from (the field rules weigh zones differently)."""
    out: list[Hit] = []
    seen: set[tuple[str, str]] = set()

    def add(line: str, zone: str, at: int, kinds=None):
        found = parse_labels(line)
        for kind, value in found.items():
            if kind == "date_label" or (kinds and kind not in kinds) or (kind, value) in seen:
                continue
            seen.add((kind, value))
            out.append(Hit(kind, value, zone, at, found.get("date_label", "") if kind == "date" else ""))

    for ln in page.info_lines:
        if len(ln) <= 200:
            add(ln, "info", -1)
    texts = page.texts
    start = page.title_at + 1 if page.title_at is not None else 0
    for j in range(len(page.near)):
        if len(page.near[j]) <= 200:
            add(joined(texts, start + j), "header", start + j)
    lo = max(0, page.title_at - 5) if page.title_at is not None else 0
    hi = page.title_at + 40 if page.title_at is not None else 80
    for i in range(lo, min(hi, len(texts))):
        if len(texts[i]) <= 80 and LABEL_RE.search(texts[i]):
            add(joined(texts, i), "around", i, ("source", "author", "date", "updated"))
    for i, ln in enumerate(texts):
        if len(ln) <= 80 and not lo <= i < hi and LABEL_RE.search(ln):
            add(joined(texts, i), "anywhere", i, ("source", "date"))
    return out


BARE_LABEL = re.compile(r"^\s*(?:" + _spaced(_ALL) + r")\s*[:：]\s*$")


def joined(texts: list[str], i: int) -> str:
    """A line that is only a label (`生成日期：`) with the line after it: table layouts (the
    信息公开 metadata tables) put the label and its value in neighbouring cells."""
    if BARE_LABEL.match(texts[i]) and i + 1 < len(texts) and len(texts[i + 1]) <= 60:
        return texts[i] + " " + texts[i + 1]
    return texts[i]
