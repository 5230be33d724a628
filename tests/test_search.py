"""Chinese full-text search: jieba tokens, BM25 in SQL, filters, highlighting."""
import datetime as dt

import pytest

import warehouse
from flows.search.index import index_new, search, snippet
from flows.steps import process_archives
from test_reextract import archive_some


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    db = tmp / "w.duckdb"
    warc = tmp / "a.warc.gz"
    archive_some(warc, n_per_source=10)
    process_archives(db, [warc])          # the pipeline indexes what it loads
    return db


def test_index_is_incremental(db):
    assert index_new(db) == 0
    with warehouse.connect(db) as con:      # an article whose content changed is indexed again
        con.execute("update articles set content_hash = 'changed' where id = (select min(id) from articles)")
    assert index_new(db) == 1
    assert index_new(db) == 0
    with warehouse.connect(db) as con:
        n_docs = con.execute("select count(*) from search_docs").fetchone()[0]
        n_articles = con.execute("select count(*) from articles").fetchone()[0]
    assert n_docs == n_articles


def test_ranked_hits_contain_the_terms(db):
    r = search(db, "东盟 环境合作", any_term=True)
    terms, hits = r.terms, r.hits
    assert terms == ["东盟", "环境", "合作"] or "东盟" in terms
    assert hits, "no hits"
    scores = [h["score"] for h in hits]
    top = hits[0]
    assert top["matched"] == len(terms)                 # has every query term
    (text,) = warehouse.query(db, "select text_simplified from articles where id = ?", [top["id"]])[1][0]
    assert all(t in text for t in terms)
    assert "【" in top["snippet"]
    # documents matching more of the query terms rank first
    assert [h["matched"] for h in hits] == sorted((h["matched"] for h in hits), reverse=True)
    assert all(s > 0 for s in scores)


def _with_terms(db, terms, every):
    """Article ids whose indexed tokens hold every (or any) of `terms`, counted in SQL."""
    need = len(terms) if every else 1
    return {r[0] for r in warehouse.query(
        db, "select article_id from search_postings where term in (select unnest(?::varchar[])) "
            "group by 1 having count(distinct term) >= ?", [terms, need])[1]}


def test_every_word_by_default_any_word_on_request_and_the_total_of_all_matches(db):
    every, any_ = search(db, "东盟 环境合作", limit=1), search(db, "东盟 环境合作", limit=1, any_term=True)
    assert every.terms == any_.terms and len(every.terms) >= 2
    want_every, want_any = _with_terms(db, every.terms, True), _with_terms(db, every.terms, False)
    assert 0 < len(want_every) < len(want_any)          # the fixture tells the two apart
    assert (every.total, any_.total) == (len(want_every), len(want_any))    # all matches, not the limit
    assert len(every.hits) == len(any_.hits) == 1
    full = search(db, "东盟 环境合作", limit=1000)
    assert {h["id"] for h in full.hits} == want_every and all(h["matched"] == len(full.terms) for h in full.hits)
    assert search(db, "东盟 xyzzyqqq").total == 0 and search(db, "东盟 xyzzyqqq", any_term=True).total > 0


def test_traditional_query_finds_simplified_and_traditional_articles(db):
    simp = search(db, "生態文明").hits
    trad = search(db, "生态文明").hits
    assert {h["id"] for h in simp} == {h["id"] for h in trad} and simp


def test_filters(db):
    hits = search(db, "合作", source="hainan", limit=50).hits
    assert hits and {h["source"] for h in hits} == {"hainan"}
    assert search(db, "合作", since=dt.date(2100, 1, 1)).hits == []
    assert search(db, "xyzzyqqq").hits == []


def test_snippet_marks_every_hit():
    s = snippet("中国—东盟环境合作论坛在南宁举行，东盟各国代表出席。", ["东盟", "论坛"], width=40)
    assert s.count("【东盟】") == 2 and "【论坛】" in s
