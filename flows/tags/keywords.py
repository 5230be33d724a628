"""Keyword tags: jieba's TF-IDF top terms of an article's simplified text.

The pipeline ranks the tokens the search index already segmented (`keywords_from_tokens`),
so keywords cost no second jieba pass; `retag` segments afresh (`keyword_tags`) with the
taxonomy's words in the dictionary, so 碳中和 or 黔东南州 come out whole. Each use has its own
`jieba.Tokenizer`: words added here never reach jieba's process-wide dictionary, which
search segmentation (flows/search/segment.py) would otherwise see, making postings depend
on whether tagging ran first in the process.
"""
from __future__ import annotations

import functools
import re
from typing import Sequence

from schemas.records import Tag

KEYWORDS_TOP_K = 8
_NOT_KEYWORD = re.compile(r"^[\d.,%％．\-—]+$|^[A-Za-z]$")


@functools.lru_cache(maxsize=4)
def _tfidf(vocabulary: frozenset[str]):
    """A TF-IDF extractor over a private tokenizer holding jieba's dictionary plus `vocabulary`
    (one per taxonomy; jieba reads its dictionary cache in ~1 s on first use)."""
    import logging

    import jieba
    import jieba.analyse
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for w in sorted(vocabulary):
        tokenizer.add_word(w)
    tfidf = jieba.analyse.TFIDF()
    tfidf.tokenizer = tokenizer
    return tfidf


def keyword_tags(article_id: str, text: str, top_k: int = KEYWORDS_TOP_K,
                 vocabulary: frozenset[str] = frozenset()) -> list[Tag]:
    """jieba TF-IDF top terms of the simplified text, `vocabulary` words kept whole."""
    if not text.strip():
        return []
    out = []
    for word, weight in _tfidf(frozenset(vocabulary)).extract_tags(text, topK=top_k * 2, withWeight=True):
        if len(word) < 2 or _NOT_KEYWORD.match(word):
            continue
        out.append(Tag(article_id, "keyword", word, round(float(weight), 4), "tfidf"))
        if len(out) == top_k:
            break
    return out


@functools.lru_cache(maxsize=1)
def _idf() -> tuple[dict, float, frozenset]:
    # jieba's bundled IDF table and stop words: no tokenizer (no dictionary) is needed for them
    import jieba.analyse
    tfidf = jieba.analyse.default_tfidf
    idf_freq, median = tfidf.idf_loader.get_idf()
    return idf_freq, median, frozenset(tfidf.stop_words)


def keywords_from_tokens(article_id: str, tokens: Sequence[str], top_k: int = KEYWORDS_TOP_K) -> list[Tag]:
    """The same TF-IDF ranking as `keyword_tags`, over tokens already segmented (the search
    index segments every article anyway): keywords then cost no second jieba pass."""
    if not tokens:
        return []
    idf, median, stop = _idf()
    counts: dict[str, int] = {}
    for t in tokens:
        if len(t) >= 2 and t not in stop and not _NOT_KEYWORD.match(t):
            counts[t] = counts.get(t, 0) + 1
    total = len(tokens)
    ranked = sorted(((c / total * idf.get(w, median), w) for w, c in counts.items()), reverse=True)[:top_k]
    return [Tag(article_id, "keyword", w, round(float(weight), 4), "tfidf") for weight, w in ranked]
