"""Chinese full-text search: our own inverted index in DuckDB, ranked by BM25 in SQL.

Why not DuckDB's fts extension: it loads offline (duckdb-ext-fts), but its index is static and
rebuilt from scratch on every change (97 s per 100k articles here) and `match_bm25` evaluates
per row (p50 ~430 ms on 100k). Postings appended per load batch, sorted by term inside each
batch so row-group zone maps skip most of the table, answer in ~30 ms on one core.

Tokens come from the caller (jieba over the simplified text, see flows/search/segment.py): this
module never segments, so the warehouse does not depend on flows.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Iterable, Sequence

import duckdb
import pyarrow as pa

from warehouse.transactions import transaction as in_transaction

K1, B = 1.2, 0.75
TITLE_WEIGHT = 3


def index_documents(con: duckdb.DuckDBPyConnection,
                    docs: Iterable[tuple[str, Sequence[str], Sequence[str]]]) -> int:
    """(article_id, title tokens, text tokens) -> postings, replacing any earlier ones."""
    terms, ids, tfs, doc_ids, lens = [], [], [], [], []
    for article_id, title_tokens, text_tokens in docs:
        counts = Counter(text_tokens)
        for t in title_tokens:
            counts[t] += TITLE_WEIGHT
        for term, tf in counts.items():
            terms.append(term)
            ids.append(article_id)
            tfs.append(tf)
        doc_ids.append(article_id)
        lens.append(len(text_tokens) + TITLE_WEIGHT * len(title_tokens))
    if not doc_ids:
        return 0
    now = dt.datetime.now(dt.timezone.utc)
    con.register("_docs", pa.table({"article_id": doc_ids, "len": pa.array(lens, pa.int32())}))
    con.register("_post", pa.table({"term": terms, "article_id": ids, "tf": pa.array(tfs, pa.int32())}))
    try:
        with in_transaction(con):
            con.execute("DELETE FROM search_postings WHERE article_id IN (SELECT article_id FROM _docs)")
            con.execute("DELETE FROM search_docs WHERE article_id IN (SELECT article_id FROM _docs)")
            # sorted by term inside the batch: each row group then covers a narrow term range
            con.execute("INSERT INTO search_postings SELECT term, article_id, tf FROM _post ORDER BY term")
            con.execute("INSERT INTO search_docs SELECT d.article_id, d.len, ?, a.content_hash "
                        "FROM _docs d LEFT JOIN articles a ON a.id = d.article_id", [now])
    finally:
        con.unregister("_docs")
        con.unregister("_post")
    return len(doc_ids)


def unindexed(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[tuple]:
    """Articles with no postings yet, or whose content changed since they were indexed."""
    sql = ("SELECT a.id, coalesce(a.title_simplified, a.title), coalesce(a.text_simplified, a.text) "
           "FROM articles a LEFT JOIN search_docs d ON d.article_id = a.id "
           "WHERE d.article_id IS NULL OR d.content_hash IS DISTINCT FROM a.content_hash ORDER BY a.id")
    if limit:
        sql += f" LIMIT {int(limit)}"
    return con.execute(sql).fetchall()


# The matching articles with their BM25 score and how many of the query's terms each has
# ($terms, $k1, $b, $need): shared by `search` and the explorer (warehouse/explore.py).
SCORED_CTES = """q AS (SELECT DISTINCT unnest($terms::VARCHAR[]) AS term),
p AS (SELECT p.term, p.article_id, p.tf FROM search_postings p WHERE p.term IN (SELECT term FROM q)),
df AS (SELECT term, count(*) AS df FROM p GROUP BY term),
st AS (SELECT count(*) AS n, avg(len) AS avgdl FROM search_docs),
scored AS (
    SELECT p.article_id,
           sum(ln((st.n - df.df + 0.5) / (df.df + 0.5) + 1) * p.tf * ($k1 + 1)
               / (p.tf + $k1 * (1 - $b + $b * d.len / st.avgdl))) AS score,
           count(*) AS matched      -- one posting per (term, article): index_documents replaces them whole
    FROM p JOIN df USING (term) JOIN search_docs d USING (article_id) CROSS JOIN st
    GROUP BY p.article_id
    HAVING count(*) >= $need
)"""

SEARCH_SQL = "WITH " + SCORED_CTES + """,
-- every match, counted for the total; the text is read for the shown ones only (on 10,000
-- generated articles and bench_search's queries: a window count over the full rows took ~20%
-- longer than the query without a total, this takes 35-45% less)
m AS MATERIALIZED (
    SELECT s.article_id, s.score, s.matched, a.published_at
    FROM scored s JOIN articles a ON a.id = s.article_id
    WHERE {filters}
),
top AS (SELECT * FROM m ORDER BY matched DESC, score DESC, published_at DESC NULLS LAST, article_id LIMIT $limit)
SELECT a.id, a.source, a.title, a.published_at, a.url, a.text, top.score, top.matched,
       (SELECT count(*) FROM m) AS total
FROM top JOIN articles a ON a.id = top.article_id
ORDER BY top.matched DESC, top.score DESC, a.published_at DESC NULLS LAST, a.id
"""


def search(con: duckdb.DuckDBPyConnection, terms: Sequence[str], since: dt.date | None = None,
           source: str | None = None, topic: str | None = None, limit: int = 20,
           any_term: bool = False) -> tuple[list[dict], int]:
    """(hits, total): the best `limit` articles matching the query tokens and how many match in
    all. An article matches when it has every term, or with `any_term` one of them (those with
    more of the terms first, then BM25). Filters: published since a day, a registry source, a
    topic tag."""
    terms = [t for t in dict.fromkeys(terms) if t.strip()]
    if not terms:
        return [], 0
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    filters, params = ["TRUE"], {"terms": terms, "k1": K1, "b": B, "limit": int(limit),
                                 "need": 1 if any_term else len(terms)}
    if since:
        filters.append("a.published_at >= $since")
        params["since"] = since
    if source:
        filters.append("a.source = $source")
        params["source"] = source
    if topic:
        filters.append("a.id IN (SELECT article_id FROM article_tags WHERE kind = 'topic' AND tag = $topic)")
        params["topic"] = topic
    cur = con.execute(SEARCH_SQL.format(filters=" AND ".join(filters)), params)
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    total = rows[0]["total"] if rows else 0
    for r in rows:
        del r["total"]
    return rows, total
