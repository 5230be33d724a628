"""End to end through the real entry point: `newsflow ingest --mirror` runs the Prefect flow
(ephemeral, no server), a real Scrapy crawl over HTTP of the mirror on 127.0.0.1, extraction,
and loads into a real DuckDB file. Then again: nothing may be duplicated."""
import json
import subprocess
from pathlib import Path

import pytest

import warehouse
from flows.extract.normalise import strip_pinyin
from faults.helpers import seeded_home

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))


def fold(s):
    # GB2312 byte pair A1AA is U+2015 to Python's gb2312 codec and U+2014 to its gbk codec
    # (and to browsers): the same bytes, two legitimate readings
    return s.replace("\u2015", "\u2014") if s else s


def norm(s):
    return fold("".join(strip_pinyin(s).split())) if s else s


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, newsflow_exe):
    tmp = tmp_path_factory.mktemp("ingest")
    db = tmp / "nf.duckdb"
    env_args = [newsflow_exe, "--db", str(db), "ingest", "--mirror", "--json"]
    runs = []
    for _ in range(2):
        proc = subprocess.run(env_args, capture_output=True, text=True, timeout=600,
                              env={**__import__("os").environ, "PREFECT_HOME": seeded_home(tmp / "prefect")})
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(json.loads(proc.stdout))
    return db, runs


def rows(db, sql, params=None):
    return warehouse.query(db, sql, params)[1]


def test_first_run_loads_every_mirror_article_once(ingested):
    db, (first, _) = ingested
    assert first["sources"] == 8 and not first["failed_sources"]
    assert first["articles_new"] == len(EXPECTED)
    urls = [r[0] for r in rows(db, "select url from articles")]
    assert sorted(urls) == sorted(e["url"] for e in EXPECTED)


def test_urls_are_canonical_and_the_fetched_spelling_is_kept(ingested):
    """The Hainan column links some articles with ?ddtab=true (sources.md; the registry drops the
    flag): each is stored once under its canonical URL, the URL as fetched in url_original."""
    db, _ = ingested
    got = rows(db, "select url, url_original from articles where source = 'hainan'")
    assert got and all(o is not None and o.split("?")[0] == u and "?" not in u for u, o in got)
    assert {o.endswith("?ddtab=true") for _, o in got} == {True, False}
    assert rows(db, "select count(*) from articles where url_original is null") == [(0,)]


def test_second_run_adds_nothing(ingested):
    db, (first, second) = ingested
    assert second["articles_new"] == 0 and second["articles_updated"] == 0
    # incremental: nothing is fetched again, every list page answers 304 (issue 4)
    assert second["article_requests"] == 0 and second["articles_unchanged"] == 0
    assert not second["failed_sources"]
    assert all(p["not_modified"] >= 1 and "nothing_new" in p["flags"] for p in second["per_source"])
    assert rows(db, "select count(*), count(distinct url) from articles") == [(len(EXPECTED), len(EXPECTED))]
    runs = rows(db, "select count(distinct run_id), count(*) from crawl_runs")
    assert runs == [(2, 16)]


@pytest.mark.parametrize("exp", [e for e in EXPECTED if e.get("seed")], ids=lambda e: e["seed"])
def test_seed_pages_golden_fields(ingested, exp):
    db, _ = ingested
    (row,) = rows(db, "select title, strftime(published_at, '%Y-%m-%d %H:%M:%S'), original_source, author, text "
                      "from articles where url = ?", [exp["url"]])
    title, published, source, author, text = row
    text = fold(text)
    assert norm(title) == norm(exp["title"])
    if exp["published_at"]:
        assert published.startswith(exp["published_at"]), (published, exp["published_at"])
    assert norm(source) == norm(exp["original_source"])
    assert norm(author) == norm(exp["author"])
    for frag in exp["must_include"]:
        assert strip_pinyin(frag) in text
    for frag in exp["must_exclude"]:
        assert strip_pinyin(frag) not in text


def test_all_mirror_articles_fields(ingested):
    db, _ = ingested
    got = {r[0]: r[1:] for r in rows(db, "select url, title, strftime(published_at, '%Y-%m-%d %H:%M'), "
                                         "original_source, author, text from articles")}
    problems = []
    for exp in EXPECTED:
        title, published, source, author, text = got[exp["url"]]
        text = fold(text)
        if norm(title) != norm(exp["title"]):
            problems.append((exp["url"], "title", title, exp["title"]))
        if exp["published_at"] and published[:len(exp["published_at"])] != exp["published_at"][:16]:
            problems.append((exp["url"], "published_at", published, exp["published_at"]))
        if norm(source) != norm(exp["original_source"]):
            problems.append((exp["url"], "source", source, exp["original_source"]))
        if norm(author) != norm(exp["author"]):
            problems.append((exp["url"], "author", author, exp["author"]))
        for frag in exp["must_include"]:
            if strip_pinyin(frag) not in text:
                problems.append((exp["url"], "missing", frag))
        for frag in exp["must_exclude"]:
            if strip_pinyin(frag) in text:
                problems.append((exp["url"], "leaked", frag))
    assert not problems, "\n".join(map(str, problems))


def test_gbk_source_decoded(ingested):
    db, _ = ingested
    encs = {r[0] for r in rows(db, "select distinct encoding from articles where source = 'gzwhw'")}
    assert encs and encs <= {"gb2312", "gbk", "gb18030"}       # never a replacement decode


def test_sql_answers_after_the_flow(ingested, newsflow_exe):
    db, _ = ingested
    proc = subprocess.run([newsflow_exe, "--db", str(db), "sql",
                           "select source, count(*) from articles group by 1 order by 1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "gxzf" in proc.stdout and "(8 rows)" in proc.stdout


def test_syndicated_story_is_one_cluster_with_both_outlets(ingested):
    db, _ = ingested
    synd = [e for e in EXPECTED if e.get("syndicated_from")]
    assert synd
    for e in synd:
        rows = rows_of = warehouse.query(
            db, "select count(distinct c.cluster_id) from article_clusters c join articles a on a.id = c.article_id "
                "where a.url in (?, ?)", [e["url"], e["syndicated_from"]])[1]
        assert rows == [(1,)], rows_of
    cols, stories = warehouse.query(db, "select articles, sources from stories where articles > 1")
    assert stories and all(n == len(set(srcs)) or n >= 2 for n, srcs in stories)
