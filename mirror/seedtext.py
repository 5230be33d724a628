"""The five seed pages (``mirror/seeds/*.txt``, verbatim copies of /work/shared/seeds, the visible
text of five real pages) as structured articles, and the seeds' own pinyin table.

A body is a list of blocks: ("p", text) paragraph, ("h", text) sub-heading paragraph,
("img", caption) an image followed by its caption paragraph, ("attach", (kind, label)).
Standard library only.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"
SIMPLIFIED = ["000_e58f327ba19703f5.txt", "001_fef36e7e279e47c9.txt", "003_288f4a3a0b947890.txt"]
TRADITIONAL = ["002_896becad4a328636.txt", "004_26e0f8e24013ae1d.txt"]


def parse_date(s: str) -> dt.datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise ValueError(s)


PINYIN_RE = re.compile(r"([\u4e00-\u9fff])\(([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]+)\)")
WEIRD_RE = re.compile(r"[?\ue000-\uf8ff\u2002\xa0]")  # capture damage / odd spaces in seed text


def seed_lines(name: str) -> list[str]:
    return (SEEDS_DIR / name).read_text(encoding="utf-8").split("\n")


def pinyin_table() -> dict[str, str]:
    """The character -> pinyin table used by the traditional-script seeds (002, 004).

    The seeds annotate a fixed subset of characters, always with the same reading, so the
    invented traditional text is annotated with exactly the seeds' own table.
    """
    table: dict[str, str] = {}
    for name in ("002_896becad4a328636.txt", "004_26e0f8e24013ae1d.txt"):
        text = (SEEDS_DIR / name).read_text(encoding="utf-8")
        for m in PINYIN_RE.finditer(text):
            prev = table.setdefault(m.group(1), m.group(2))
            assert prev == m.group(2), (m.group(1), prev, m.group(2))
    return dict(sorted(table.items()))


PINYIN = pinyin_table()


def annotate(s: str | None) -> str | None:
    """Traditional text -> the seeds' style, e.g. 推動 -> 推動(dòng)."""
    if s is None:
        return None
    out = []
    for i, ch in enumerate(s):
        out.append(ch)
        if ch in PINYIN and not s.startswith("(", i + 1):
            out.append("(" + PINYIN[ch] + ")")
    return "".join(out)



def strip_pinyin(s: str | None) -> str | None:
    """The seeds' style back to plain text: 推動(dòng) -> 推動."""
    return None if s is None else PINYIN_RE.sub(r"\1", s)


def _between(lines: list[str], start: int, stop_prefix: str) -> list[str]:
    out = []
    for line in lines[start:]:
        if line.startswith(stop_prefix):
            return out
        out.append(line)
    raise AssertionError("stop line %r not found" % stop_prefix)


def seed_000() -> dict:
    L = seed_lines("000_e58f327ba19703f5.txt")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d) \xa0{4}来源: (.+?) \xa0{4}作者: (.+)", L[8])
    assert m, L[8]
    body = []
    for line in _between(L, 13, "文件下载:"):
        if not line:
            continue
        if line.startswith("2024中国—东盟环境合作论坛开幕式现场。"):
            body.append(("img", line))
        elif line == "核心提示" or re.match(r"\d\.", line):
            body.append(("h", line))
        else:
            body.append(("p", line))
    return dict(title=L[6], date=m.group(1), source=m.group(2), author=m.group(3), body=body,
                crumb=L[4])


def seed_001() -> dict:
    L = seed_lines("001_fef36e7e279e47c9.txt")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d \d\d:\d\d) \xa0{4}来源: (.+?) \xa0{4}作者: (.+)", L[8])
    assert m, L[8]
    captions = {"自治区生态环境厅厅长陈亮致辞", "共同发布中国—东盟绿色价值链伙伴关系"}
    body = []
    for line in _between(L, 13, "文件下载:"):
        if line:
            body.append(("img" if line in captions else "p", line))
    return dict(title=L[6], date=m.group(1), source=m.group(2), author=m.group(3), body=body,
                crumb=L[4])


def seed_002() -> dict:
    L = seed_lines("002_896becad4a328636.txt")
    source, author, date = "海報(bào)新聞", "孫杰", "2025-02-12 13:04"
    assert L[2] == "文章來源:" + source + author + date, L[2]
    body = []
    for line in _between(L, 3, "【版權(quán)聲明】"):
        if line in ("", "\xa0"):
            continue
        assert line.startswith("  ") and not line.startswith("   "), line[:10]
        body.append(("p", line[2:]))  # the template puts the two-space indent back
    i = L.index(next(x for x in L if x.startswith("【版權(quán)聲明】")))
    return dict(title=L[0], date=date, source=source, author=author, body=body,
                notice=L[i], widgets=L[i + 1:i + 10], footer=[x for x in L[i + 10:] if x])


def seed_003() -> dict:
    L = seed_lines("003_288f4a3a0b947890.txt")
    m = re.fullmatch(r"贵州文化网 发表于:(\S+ \S+) 来源:(\S*) 作者:(\S*) 点击: 评论:0", L[2])
    assert m, L[2]
    body = [("p", x) for x in _between(L, 3, "贵州文化网声明:") if x]
    notice = next(x for x in L if x.startswith("贵州文化网声明:"))
    footer = [x for x in L[L.index(notice):] if x][5:]
    return dict(title=L[1], date=m.group(1), source=m.group(2) or None, author=m.group(3) or None,
                body=body, notice=notice, footer=footer)


def seed_004() -> dict:
    L = seed_lines("004_26e0f8e24013ae1d.txt")
    body = []
    for n, line in enumerate(_between(L, 2, "法律聲明")):
        plain = PINYIN_RE.sub(r"\1", line)
        if n == 1:
            body.append(("img", line))  # 中歐代表在會議現場交流。… 攝
        elif len(plain) <= 8 and not re.search(r"[,，。:：()“”]", plain):
            body.append(("h", line))  # 匯聚多方力量 / 共筑創新平臺 ...
        else:
            body.append(("p", line))
    footer = [x for x in L[L.index(next(x for x in L if x.startswith("法律聲明"))):] if x]
    # The seed shows neither date nor 来源: both are inventions (README).
    # No author field on the page, but the byline paragraph names the writers: that is the
    # author an analyst expects (a 记者 byline), so the manifest expects it.
    return dict(title=L[0], subtitle=L[1], date="2024-12-16 08:30", source="海南日報(bào)",
                author=None, byline_author="余佳琪 王迎春", body=body, footer=footer)


SEEDS = {
    "000_e58f327ba19703f5.txt": seed_000(),
    "001_fef36e7e279e47c9.txt": seed_001(),
    "002_896becad4a328636.txt": seed_002(),
    "003_288f4a3a0b947890.txt": seed_003(),
    "004_26e0f8e24013ae1d.txt": seed_004(),
}


def paragraph_pool(seed_names, encoding=None) -> list[str]:
    pool = []
    for name in seed_names:
        for kind, text in SEEDS[name]["body"]:
            if kind != "p" or len(PINYIN_RE.sub(r"\1", text)) < 40 or WEIRD_RE.search(text):
                continue
            if encoding:
                try:
                    text.encode(encoding)
                except UnicodeEncodeError:
                    continue
            pool.append(text)
    return pool

