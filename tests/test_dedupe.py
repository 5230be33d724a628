"""Dedupe and syndication in the warehouse: quality on the labelled set, idempotence,
incremental batches, restarts, merges, the canonical article, and the story views."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pytest

from bench.bench_dedupe import evaluate, labelled_articles, labelled_docs, labelled_outlets
from flows.dedupe import (DedupeConfig, DedupeDoc, DedupeParamsChanged, dedupe_articles, dedupe_new,
                          reset_dedupe, summary)
from flows.dedupe.minhash import MinHashParams, exact_jaccard
from flows.extract.normalise import content_hash
from schemas import Article
from warehouse.store import LoadSession, migrate

ROOT = Path(__file__).resolve().parents[1]
SH = dt.timezone(dt.timedelta(hours=8))
TABLES = ("dedupe_docs", "dedupe_bands", "dedupe_clusters", "dedupe_merges", "syndication_edges")


def fresh() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    migrate(con)
    return con


def load(con, articles) -> None:
    with LoadSession(con) as s:
        s.articles(articles)


def art(aid: str, text: str, source: str = "s1", day: int = 1, hour: int = 9, credited: str | None = None,
        title: str | None = None) -> Article:
    title = title or f"标题{aid}"
    pub = dt.datetime(2025, 3, day, hour, tzinfo=SH)
    return Article(id=aid, url=f"http://{source}.example.cn/{aid}.html", source=source, title=title,
                   published_at=pub, original_source=credited, author=None, editor=None, text=text,
                   language="zh", content_hash=content_hash(title, pub, credited, text), extractor_version="t",
                   fetched_at=pub, title_simplified=title, text_simplified=text, script="simplified")


_CHARS = "".join(sorted(set("".join(d["text_simplified"] for d in labelled_docs()[:40]))))
_HAN = [c for c in _CHARS if "\u4e00" <= c <= "\u9fff"]


def rand_text(seed: int, n: int) -> str:
    rng = np.random.default_rng(seed)
    return "".join(_HAN[i] for i in rng.integers(0, len(_HAN), size=n))


def assert_unique(con) -> None:
    """The dedupe tables declare no keys (see migration 4): the code keeps them unique."""
    for table, key in (("dedupe_docs", "article_id"), ("dedupe_docs", "seq"), ("dedupe_clusters", "cluster_id"),
                       ("syndication_edges", "copy_id, original_id"),
                       ("dedupe_bands", "band, seq")):
        dup = con.execute(f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY ALL HAVING count(*) > 1)").fetchone()[0]
        assert dup == 0, (table, key)
    assert con.execute("SELECT count(*) FROM (SELECT copy_id FROM syndication_edges WHERE superseded_at IS NULL "
                       "GROUP BY 1 HAVING count(*) > 1)").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM dedupe_docs d ANTI JOIN dedupe_clusters c "
                       "ON c.cluster_id = d.cluster_id AND c.merged_into IS NULL").fetchone()[0] == 0


def snapshot(con) -> dict:
    assert_unique(con)
    out = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    out["docs"] = con.execute("SELECT article_id, cluster_id, seq, match_kind, matched_id FROM dedupe_docs "
                              "ORDER BY article_id").fetchall()
    out["clusters"] = con.execute("SELECT cluster_id, canonical_id, size, merged_into, updated_at "
                                  "FROM dedupe_clusters ORDER BY 1").fetchall()
    out["edges"] = con.execute("SELECT copy_id, original_id, superseded_at FROM syndication_edges ORDER BY 1, 2").fetchall()
    out["bands"] = con.execute("SELECT sum(hash(band, bucket, seq)) FROM dedupe_bands").fetchone()[0]
    return out


# --- quality ------------------------------------------------------------------------------------

def test_labelled_set_meets_precision_and_recall_targets():
    res = evaluate()
    assert res["positives"] >= 200 and res["pairs"] >= 30000
    assert res["precision"] >= 0.99, res["false_positives"]
    assert res["recall"] >= 0.95, res["false_negatives"]
    by = res["by_kind"]
    for kind in ("+exact", "+trad_pinyin", "+simplified_copy", "+excerpt", "+mirror_syndicated"):
        assert by[kind].get("not", 0) == 0, (kind, by[kind])
    for kind in ("-list_boilerplate", "-same_department", "-shared_paragraph"):
        assert by[kind].get("predicted", 0) == 0, (kind, by[kind])
    assert res["canonical_ok"] >= 0.95 * res["canonical_stories"], res["canonical_wrong"]


def test_renmin_ribao_story_is_one_cluster_with_a_dated_edge():
    docs = [d for d in labelled_docs() if d["kind"].startswith("mirror")]
    con = fresh()
    load(con, labelled_articles(docs))
    dedupe_new(con, outlets=labelled_outlets())
    gzwhw = next(d["id"] for d in docs if d["url"] == "http://www.gzwhw.cn/html/2025/snwh_0706/51836.html")
    copy = next(d["id"] for d in docs if d["kind"] == "mirror_syndicated")
    row = con.execute("SELECT cluster_id, canonical_id, republished_from, lag_hours, match_kind "
                      "FROM article_clusters WHERE article_id = ?", [copy]).fetchone()
    assert row[1] == gzwhw and row[2] == gzwhw and row[4] == "exact"
    assert row[3] == pytest.approx(25.734, abs=0.01)          # 07-06 08:35:57 -> 07-07 10:20
    story = con.execute("SELECT canonical_id, articles, outlets, sources, original_source FROM stories "
                        "WHERE cluster_id = ?", [row[0]]).fetchone()
    assert story[:3] == (gzwhw, 2, 2) and story[3] == ["gz-sthj", "gzwhw"] and story[4] == "人民日报"
    # every other mirror article is a story of its own
    assert con.execute("SELECT count(*) FROM stories").fetchone()[0] == len(docs) - 1


# --- idempotence, increments, restarts ----------------------------------------------------------

def test_run_twice_nothing_duplicated():
    docs = labelled_docs()
    con = fresh()
    load(con, labelled_articles(docs))
    first = dedupe_new(con, outlets=labelled_outlets())
    assert first.signed == len(docs)
    before = snapshot(con)
    load(con, labelled_articles(docs))                        # the same batch loaded again
    again = dedupe_new(con, outlets=labelled_outlets())
    assert again.signed == again.resigned == 0
    direct = dedupe_articles(con, labelled_articles(docs[:50]), outlets=labelled_outlets())
    assert direct.unchanged == 50 and direct.signed == 0
    assert snapshot(con) == before
    assert before["dedupe_docs"] == len(docs)
    assert before["dedupe_clusters"] == con.execute("SELECT count(DISTINCT cluster_id) FROM dedupe_docs").fetchone()[0]


def test_a_batch_touches_only_the_clusters_it_joins():
    docs = labelled_docs()
    originals = [d for d in docs if d["base"] is None]
    copies = [d for d in docs if d["base"] is not None][:12]
    con = fresh()
    load(con, labelled_articles(originals))
    t1 = dt.datetime(2025, 8, 1, tzinfo=dt.timezone.utc)
    dedupe_new(con, outlets=labelled_outlets(), now=t1)
    before = dict(con.execute("SELECT cluster_id, updated_at FROM dedupe_clusters").fetchall())
    load(con, labelled_articles(copies))
    r = dedupe_new(con, outlets=labelled_outlets(), now=t1 + dt.timedelta(days=1))
    assert r.signed == len(copies) and r.joined_existing == len(copies) and r.new_clusters == 0
    after = dict(con.execute("SELECT cluster_id, updated_at FROM dedupe_clusters").fetchall())
    joined = {"c" + d["base"] for d in copies}
    changed = {c for c in before if after[c] != before[c]}
    assert changed == joined and r.clusters_touched == len(joined)
    assert set(after) == set(before)


def test_restart_a_new_process_sees_earlier_signatures(tmp_path):
    import warehouse
    docs = labelled_docs()
    originals = [d for d in docs if d["base"] is None]
    text = {d["id"]: d["text_simplified"] for d in docs}
    copies = [d for kind in ("edit", "trad_pinyin") for d in [
        d for d in docs if d["kind"] == kind and exact_jaccard(d["text_simplified"], text[d["base"]]) >= 0.75][:5]]
    assert {d["kind"] for d in copies} == {"edit", "trad_pinyin"}
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        load(con, labelled_articles(originals))
        dedupe_new(con)
    ids = [d["id"] for d in copies]
    script = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import warehouse
from bench.bench_dedupe import labelled_articles, labelled_docs
from flows.dedupe import dedupe_new
from warehouse.store import LoadSession
want = set({ids!r})
docs = [d for d in labelled_docs() if d["id"] in want]
with warehouse.connect({str(db)!r}) as con:
    with LoadSession(con) as s:
        s.articles(labelled_articles(docs))
    r = dedupe_new(con)
    rows = con.execute("SELECT article_id, cluster_id, match_kind FROM dedupe_docs").fetchall()
print(json.dumps({{"signed": r.signed, "rows": rows}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["signed"] == len(copies)                       # the originals were not signed again
    cluster = {a: c for a, c, _ in res["rows"]}
    kinds = {a: k for a, _, k in res["rows"]}
    for d in copies:
        assert cluster[d["id"]] == "c" + d["base"], d["kind"]
        assert kinds[d["id"]] in ("exact", "near", "excerpt")
    with warehouse.connect(db) as con:
        assert_unique(con)


# --- merges, canonical, changes ------------------------------------------------------------------

def test_a_bridging_article_merges_two_stories_and_nothing_is_deleted():
    p1, core, p4 = rand_text(1, 300), rand_text(2, 1000), rand_text(3, 300)
    a = art("a", p1 + core, day=1)
    c = art("c", core + p4, "s2", day=2)
    c2 = art("c2", core + p4, "s3", day=3, credited="s2报")      # exact copy of c
    b = art("b", core, "s4", day=4)                             # J(a,b) = J(c,b) = 0.77 >= 0.7 > J(a,c)
    con = fresh()
    load(con, [a])
    dedupe_new(con)
    load(con, [c, c2])
    r2 = dedupe_new(con)
    assert r2.new_clusters == 1 and r2.merges == 0
    edges_before = con.execute("SELECT count(*) FROM syndication_edges").fetchone()[0]
    assert edges_before == 1
    load(con, [b])
    r3 = dedupe_new(con)
    assert r3.merges == 1 and r3.near == 1
    assert con.execute("SELECT count(DISTINCT cluster_id) FROM dedupe_docs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM dedupe_docs").fetchone()[0] == 4
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 4
    loser = con.execute("SELECT cluster_id, merged_into FROM dedupe_clusters WHERE merged_into IS NOT NULL").fetchall()
    assert loser == [("cc", "ca")]
    assert con.execute("SELECT loser, survivor, via_article FROM dedupe_merges").fetchall() == [("cc", "ca", "b")]
    assert con.execute("SELECT count(*) FROM syndication_edges").fetchone()[0] >= edges_before
    story = con.execute("SELECT canonical_id, articles, outlets FROM stories").fetchall()
    assert story == [("a", 4, 4)]
    assert con.execute("SELECT count(*) FROM syndication_edges WHERE superseded_at IS NULL").fetchone()[0] == 3
    assert_unique(con)


def test_canonical_prefers_the_credited_outlet_then_the_earliest():
    body = rand_text(7, 900)
    portal = art("portal", body, "portal", day=1, hour=7, credited="人民日报")   # earliest, a re-post
    rmrb = art("rmrb", body, "rmrb", day=1, hour=9, credited="人民日报")
    farm = art("farm", body + "（責任編輯：王芳）", "farm", day=2, credited="人民日報")
    outlets = {"rmrb": ("人民網", "人民日報"), "portal": ("东方环保网",), "farm": ("华夏资讯网",)}
    con = fresh()
    load(con, [portal, rmrb, farm])
    dedupe_new(con, outlets=outlets)
    assert con.execute("SELECT canonical_id FROM stories").fetchone()[0] == "rmrb"
    edges = dict(con.execute("SELECT copy_id, original_id FROM syndication_edges WHERE superseded_at IS NULL").fetchall())
    assert edges == {"portal": "rmrb", "farm": "rmrb"}
    lag = con.execute("SELECT lag_hours FROM syndication_edges WHERE copy_id = 'portal'").fetchone()[0]
    assert lag == pytest.approx(-2.0)                            # republished "before" the original
    # without outlet names the earliest published wins
    con2 = fresh()
    load(con2, [portal, rmrb, farm])
    dedupe_new(con2)
    assert con2.execute("SELECT canonical_id FROM stories").fetchone()[0] == "portal"


def test_a_changed_article_is_resigned_in_place_and_keeps_its_story():
    body = rand_text(11, 800)
    con = fresh()
    load(con, [art("x", body), art("y", body, "s2", day=2)])
    dedupe_new(con)
    seq_before = con.execute("SELECT seq, cluster_id FROM dedupe_docs WHERE article_id = 'y'").fetchone()
    bands_before = con.execute("SELECT count(*) FROM dedupe_bands").fetchone()[0]
    load(con, [art("y", body[:700] + rand_text(12, 40), "s2", day=2)])      # re-fetched, edited
    r = dedupe_new(con)
    assert r.resigned == 1 and r.signed == 0
    row = con.execute("SELECT seq, cluster_id, match_kind FROM dedupe_docs WHERE article_id = 'y'").fetchone()
    assert row[:2] == seq_before and row[2] == "near"
    assert con.execute("SELECT count(*) FROM dedupe_bands").fetchone()[0] == bands_before + 32   # y has its own bands now
    assert con.execute("SELECT match_kind FROM syndication_edges WHERE copy_id = 'y' AND superseded_at IS NULL"
                       ).fetchone()[0] == "near"
    assert con.execute("SELECT superseded_at IS NULL FROM syndication_edges WHERE copy_id = 'y'").fetchall() == [(True,)]
    assert_unique(con)


def test_other_signature_parameters_are_refused_until_reset():
    con = fresh()
    docs = labelled_docs()[:30]
    load(con, labelled_articles(docs))
    dedupe_new(con)
    other = DedupeConfig(params=MinHashParams(shingle=4))
    with pytest.raises(DedupeParamsChanged):
        dedupe_new(con, config=other)
    # a different threshold needs no re-signing
    dedupe_new(con, config=DedupeConfig(params=MinHashParams(threshold=0.8)))
    reset_dedupe(con)
    r = dedupe_new(con, config=other)
    assert r.signed == 30
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 30
    assert summary(con)["articles"] == 30


def test_short_texts_stay_apart_and_excerpts_need_the_same_headline():
    body = rand_text(21, 1200)
    con = fresh()
    load(con, [art("s1", "详见附件。", title="通知甲"), art("s2", "详见附件。", "s2", title="通知乙"),
               art("full", body, title="某某项目环境影响评价公示"),
               art("part", body[:700] + "（未完）点击阅读原文", "s2", day=2, title="某某项目环境影响评价公示"),
               art("other", body[:700] + "（未完）点击阅读原文", "s3", day=2, title="另一个完全不同的标题")])
    dedupe_new(con)
    kinds = dict(con.execute("SELECT article_id, match_kind FROM dedupe_docs").fetchall())
    cluster = dict(con.execute("SELECT article_id, cluster_id FROM dedupe_docs").fetchall())
    assert kinds["s1"] == kinds["s2"] == "short" and cluster["s1"] != cluster["s2"]
    assert kinds["part"] == "excerpt" and cluster["part"] == cluster["full"]
    # the same excerpt under another headline matches "full" by no rule of its own; it is an
    # exact copy of "part", so it still ends up in the story
    assert kinds["other"] == "exact" and cluster["other"] == cluster["full"]
    con2 = fresh()
    load(con2, [art("full", body, title="某某项目环境影响评价公示"),
                art("other", body[:700] + "（未完）点击阅读原文", "s3", day=2, title="另一个完全不同的标题")])
    dedupe_new(con2)
    assert con2.execute("SELECT count(DISTINCT cluster_id) FROM dedupe_docs").fetchone()[0] == 2


def test_direct_records_without_article_rows():
    """dedupe_articles works on records alone (the estimate decides borderline pairs)."""
    body = rand_text(31, 900)
    con = fresh()
    r = dedupe_articles(con, [DedupeDoc("d1", body, "题", "a"), DedupeDoc("d2", body + "编辑", "题", "b"),
                              DedupeDoc("d3", rand_text(32, 900), "别的", "c")])
    assert r.signed == 3 and r.near == 1 and r.founders == 2
    assert summary(con) | {"band_rows": 0} == {"articles": 3, "stories": 2, "syndicated_stories": 1,
                                               "edges": 1, "band_rows": 0}


def test_templated_pages_probe_a_bounded_number_of_stored_copies():
    """300 stored notices from one template (they differ by a number) are one story; a new one
    is probed against a few of its members, not all 300 (the soak's 20,000 templated pages
    otherwise made millions of candidate rows: 6.5 GB), and still joins that story."""
    from flows.dedupe.minhash import MinHasher, fold_many
    from warehouse import clusters as W
    con = fresh()
    body = rand_text(7, 900)
    batch = [art(f"n{i:03d}", f"第{i}号公告。" + body, day=1 + i % 28) for i in range(300)]
    load(con, batch)
    dedupe_new(con)
    assert con.execute("SELECT count(DISTINCT cluster_id) FROM dedupe_docs").fetchone()[0] == 1
    new = art("n999", "第999号公告。" + body, day=28)
    hasher = MinHasher(DedupeConfig().params)
    codes, lens = fold_many([new.text])
    keys = hasher.band_keys(hasher.sign_concat(codes, lens))
    cand = W.lsh_candidates(con, np.array([0]), keys, [new.id])
    assert 1 <= cand.num_rows <= 4 and len(set(cand.column("cluster_id").to_pylist())) == 1
    load(con, [new])
    report = dedupe_new(con)
    assert report.near + report.exact == 1
    assert con.execute("SELECT count(DISTINCT cluster_id) FROM dedupe_docs").fetchone()[0] == 1
    assert_unique(con)
