"""Keep the full-text search index current (segment articles that are new or re-loaded since
they were indexed: jieba over the simplified title and text) and answer queries: every word of
the query by default, any of them on request, with the total number of matches."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

BATCH = 2000


def index_new(db: str | Path, progress: Callable[[str], None] | None = None) -> int:
    import warehouse
    from warehouse import search as wsearch

    from flows.search.segment import tokens
    done = 0
    with warehouse.connect(db) as con:
        while True:
            rows = wsearch.unindexed(con, BATCH)
            if not rows:
                break
            wsearch.index_documents(con, ((aid, tokens(title), tokens(text)) for aid, title, text in rows))
            done += len(rows)
            if progress:
                progress(f"search index: {done} articles")
    return done


@dataclass
class SearchResult:
    terms: list[str]        # the query's tokens
    hits: list[dict]        # the best `limit` matches, each with a snippet
    total: int              # how many articles match in all
    source: Path            # the file read (the warehouse, or its snapshot while a load holds it)


def search(db: str | Path, query: str, since=None, source: str | None = None,
           topic: str | None = None, limit: int = 20, any_term: bool = False,
           say: Callable[[str], None] | None = None) -> SearchResult:
    """Articles with every word of `query` (with `any_term`, any of them), best first; hits
    carry a snippet around the first matched term. `say` hears when the snapshot was read."""
    import warehouse
    from warehouse import search as wsearch

    from flows.search.segment import query_tokens
    terms = query_tokens(query)
    with warehouse.reader(db, say=say) as rd:
        hits, total = wsearch.search(rd.con, terms, since=since, source=source, topic=topic, limit=limit,
                                     any_term=any_term)
    for h in hits:
        h["snippet"] = snippet(h.pop("text") or "", terms)
    return SearchResult(terms, hits, total, rd.path)


def snippet(text: str, terms: list[str], width: int = 80, mark: tuple[str, str] = ("【", "】")) -> str:
    """The passage around the first hit, with every hit marked."""
    from flows.extract.script import to_simplified
    simple = to_simplified(text) or ""
    lowered = simple.lower()
    first = min((i for i in (lowered.find(t) for t in terms) if i >= 0), default=0)
    start = max(0, first - width // 3)
    piece = text[start:start + width].replace("\n", " ")
    piece_s = simple[start:start + width].replace("\n", " ").lower()
    # mark on the original characters, located through the simplified copy (same length)
    spans = []
    for t in sorted(set(terms), key=len, reverse=True):
        i = piece_s.find(t)
        while i >= 0:
            if not any(a <= i < b for a, b in spans):
                spans.append((i, i + len(t)))
            i = piece_s.find(t, i + len(t))
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos:
            continue
        out += [piece[pos:a], mark[0], piece[a:b], mark[1]]
        pos = b
    out.append(piece[pos:])
    return ("…" if start else "") + "".join(out) + ("…" if start + width < len(text) else "")
