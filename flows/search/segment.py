"""Word segmentation for search (jieba), shared by indexing and queries so both agree.

jieba is imported lazily (≈0.5-1.4 s) and only by the commands that index or search.
Tokens are lower-cased; punctuation and whitespace are dropped. Text is segmented in its
simplified form, so a traditional-script query finds simplified articles and the reverse.
"""
from __future__ import annotations

import functools
import re

_KEEP = re.compile(r"[\w\u3400-\u9fff]", re.U)
# domain words jieba's general dictionary splits apart (碳中和 -> 碳/中/和)
DOMAIN_WORDS = ("碳中和", "碳达峰", "双碳", "碳排放", "碳交易", "碳市场", "碳汇", "零碳", "低碳",
                "生物多样性", "生态文明", "生态环境", "气候变化", "应对气候变化", "绿色金融",
                "绿色发展", "新能源", "清洁能源", "可再生能源", "东盟", "上合组织", "上海合作组织",
                "一带一路", "太平洋岛国", "联合国环境规划署", "联合国开发计划署", "生态补偿",
                "污染防治", "大气污染", "水污染", "土壤污染", "塑料污染", "红树林", "湿地")


@functools.lru_cache(maxsize=1)
def _jieba():
    # a private tokenizer: words other code adds to jieba's process-wide dictionary (tagging
    # adds the taxonomy's) must not change how articles and queries are segmented
    import logging

    import jieba
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for w in DOMAIN_WORDS:
        tokenizer.add_word(w, freq=200000)
    return tokenizer


def tokens(text: str | None) -> list[str]:
    if not text:
        return []
    out = []
    for tok in _jieba().cut(text, HMM=False):
        tok = tok.strip().lower()
        if tok and _KEEP.search(tok):
            out.append(tok)
    return out


def query_tokens(query: str) -> list[str]:
    """A user's query: simplified, then segmented (`碳中和 东盟` -> ['碳中和', '东盟'])."""
    from flows.extract.script import to_simplified
    return tokens(to_simplified(query))
