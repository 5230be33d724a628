"""Script (simplified / traditional) and text quality.

Script is decided from characters that exist in only one script (OpenCC's character
tables), so it stays right on short text where language detectors guess Korean. The
simplified copy (OpenCC t2s) is what matching and search use; converting costs ~2 ms/KB
in pure Python, so it runs only on text that has traditional-only characters.

Quality is a 0..1 score with named flags: bytes lost in decoding (U+FFFD), `??` runs left
where a converter failed, GBK-read-as-UTF-8 style mojibake, pinyin-annotated content-farm
copies, and bodies too short to be an article.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

QUESTION_RUNS = re.compile(r"\?{2,}|(?<=[\u4e00-\u9fff])\?(?=[\u4e00-\u9fff])")
LATIN1_MOJIBAKE = re.compile(r"[\u00c2-\u00ef][\u0080-\u00bf]|锟斤拷|烫烫烫|屯屯屯")


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[frozenset, frozenset]:
    import opencc
    folder = Path(opencc.__file__).with_name("dictionary")

    def keys(name: str) -> set[str]:
        out = set()
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            src, _, dst = line.partition("\t")
            if src and dst and src not in dst.split():
                out.add(src)
        return out
    trad = keys("TSCharacters.txt")
    simp = keys("STCharacters.txt")
    # characters in both tables (a one-to-many pair) say nothing about the script
    return frozenset(trad - simp), frozenset(simp - trad)


@functools.lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC
    return OpenCC("t2s")


def script_counts(text: str) -> tuple[int, int]:
    trad, simp = _tables()
    t = s = 0
    for ch in text:
        if ch in trad:
            t += 1
        elif ch in simp:
            s += 1
    return t, s


def detect_script(text: str) -> str | None:
    """'simplified', 'traditional', 'mixed', or None when the text has no Han characters."""
    t, s = script_counts(text)
    if t == 0 and s == 0:
        return "simplified" if re.search(r"[\u4e00-\u9fff]", text or "") else None
    if t >= 3 * max(s, 1) or (s == 0 and t > 0):
        return "traditional"
    if s >= 3 * max(t, 1) or t == 0:
        return "simplified"
    return "mixed"


def to_simplified(text: str | None) -> str | None:
    if not text:
        return text
    trad, _ = _tables()
    if not any(ch in trad for ch in text):
        return text
    return _t2s().convert(text)


def looks_like_utf8_read_as_gbk(text: str) -> bool:
    """Han text that re-encodes as GBK into valid multi-byte UTF-8 was UTF-8 read as GBK."""
    han = re.findall(r"[\u4e00-\u9fff]{4,}", text[:4000])
    sample = "".join(han)[:200]
    if len(sample) < 12:
        return False
    try:
        decoded = sample.encode("gbk").decode("utf-8", errors="replace")
    except UnicodeEncodeError:
        return False
    # real Chinese text re-encoded this way is nearly all U+FFFD; mojibake comes back as Han
    han = sum(1 for c in decoded if "\u4e00" <= c <= "\u9fff")
    return han >= 8 and han >= decoded.count("\ufffd") * 2


def quality(text: str, encoding: str | None = None, pinyin_groups: int = 0) -> tuple[float, tuple[str, ...]]:
    """A 0..1 score and the flags that lowered it."""
    flags = []
    score = 1.0
    n = max(len(text), 1)
    bad = text.count("\ufffd")
    if bad or (encoding or "").endswith((":replace", ":detected")):
        flags.append("lost_bytes")
        score -= min(0.5, 0.1 + 20 * bad / n)
    q = sum(len(m.group(0)) for m in QUESTION_RUNS.finditer(text))
    if q:
        flags.append("question_marks")
        score -= min(0.4, 0.05 + 20 * q / n)
    if LATIN1_MOJIBAKE.search(text) or looks_like_utf8_read_as_gbk(text):
        flags.append("mojibake")
        score -= 0.5
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    if pinyin_groups and han and pinyin_groups / han > 0.02:
        flags.append("pinyin_annotated")        # a content-farm copy, not the original
        score -= 0.2
    if len(text) < 200:
        flags.append("short")
        score -= 0.1
    return round(max(score, 0.0), 3), tuple(flags)
