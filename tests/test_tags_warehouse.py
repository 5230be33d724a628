"""article_tags in a real DuckDB file: idempotent loads, retag twice, retag after a taxonomy
change, content changes, missing articles, and tagged articles that still update."""
import dataclasses
import datetime as dt
import shutil

import pytest

import warehouse
from flows.extract.normalise import content_hash
from flows.extract.script import detect_script, to_simplified
from flows.tags import DATA_DIR, load_taxonomy, province_map, retag, tag_articles
from schemas import Article
from warehouse import tags as wt

NOW = dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc)


def article(i, title, text, source="gxzf"):
    return Article(id=f"id{i}", url=f"http://www.gxzf.gov.cn/gxyw/t{i}.shtml", source=source, title=title,
                   published_at=None, original_source=None, author=None, editor=None, text=text, language="zh",
                   content_hash=content_hash(title, text), extractor_version="test", fetched_at=NOW,
                   title_simplified=to_simplified(title), text_simplified=to_simplified(text),
                   script=detect_script(title + "\n" + text), quality_flags=("short",),
                   images=(("a.jpg", "图"),))


ARTICLES = [
    article(1, "广西启动碳排放权交易能力提升行动", "南宁召开会议，为钢铁、水泥等行业纳入全国碳市场做好准备。"),
    article(2, "中国—东盟气候变化适应能力建设培训班在南宁开班", "东盟10国学员学习气候风险评估、适应规划编制。"),
    article(3, "山東將打造國際零碳島", "山東將加強與太平洋島國合作，推動成立國際零碳島嶼聯盟。", source="tanpaifang"),
]


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "w.duckdb"
    with warehouse.connect(path) as con:
        warehouse.load_articles(con, ARTICLES, now=NOW)
    return path


def counts(path):
    with warehouse.connect(path, read_only=True) as con:
        return (con.execute("SELECT count(*), count(DISTINCT (article_id, kind, tag)) FROM article_tags").fetchone(),
                con.execute("SELECT count(*) FROM article_tag_state").fetchone()[0],
                con.execute("SELECT count(*) FROM taxonomy_versions").fetchone()[0])


def test_load_twice_adds_nothing(db):
    tx = load_taxonomy()
    tags = tag_articles(ARTICLES, tx, province_map(), keywords=False)
    with warehouse.connect(db) as con:
        first = wt.load_tags(con, tags, tx.version, tx.info())
        second = wt.load_tags(con, tags, tx.version, tx.info())
    assert first.articles_written == 3 and first.tags_inserted == len(tags)
    assert second.articles_written == 0 and second.articles_unchanged == 3 and second.tags_inserted == 0
    (rows, distinct), states, versions = counts(db)
    assert rows == distinct == len(tags) and states == 3 and versions == 1


def test_retag_twice_nothing_duplicated(db):
    r1 = retag(db, keywords=True)
    r2 = retag(db, keywords=True)
    assert r1.candidates == r1.retagged == 3 and r1.by_kind["keyword"] > 0
    assert r2.candidates == 0 and r2.retagged == 0 and r2.tags_written == 0
    (rows, distinct), states, versions = counts(db)
    assert rows == distinct == r1.tags_written and states == 3 and versions == 1
    with warehouse.connect(db, read_only=True) as con:
        got = set(con.execute("SELECT article_id, kind, tag FROM article_tags").fetchall())
    assert {("id1", "topic", "carbon"), ("id1", "place", "广西/南宁"), ("id1", "place", "广西"),
            ("id2", "partner", "ASEAN"), ("id2", "topic", "climate"), ("id3", "language", "zh"),
            ("id3", "script", "traditional"), ("id3", "place", "山东"), ("id3", "partner", "Pacific Islands"),
            ("id3", "topic", "carbon")} <= got


def test_retag_after_taxonomy_change_replaces_tags(db, tmp_path):
    first = retag(db, keywords=True)
    data = tmp_path / "data"
    data.mkdir()
    for f in DATA_DIR.glob("*.toml"):
        shutil.copy(f, data / f.name)
    with open(data / "taxonomy.toml", "a", encoding="utf-8") as f:
        f.write('\n[topics.capacity_building]\nlabel = "Capacity building"\n'
                '[topics.capacity_building.terms]\n"能力建设" = 2\n"培训班" = 2\n')
    changed = load_taxonomy(data)
    assert changed.version != first.version
    second = retag(db, taxonomy=changed, keywords=True)
    assert second.candidates == second.retagged == 3
    assert second.keywords_reused == 3            # content unchanged: jieba not run again
    assert second.previous_versions == {first.version: 3}
    with warehouse.connect(db, read_only=True) as con:
        versions = {r[0] for r in con.execute("SELECT DISTINCT taxonomy_version FROM article_tags").fetchall()}
        topics = {r[0] for r in con.execute("SELECT article_id FROM article_tags WHERE tag = 'capacity_building'"
                                            ).fetchall()}
        kw_before_after = con.execute("SELECT count(*) FROM article_tags WHERE kind = 'keyword'").fetchone()[0]
        assert [v["version"] for v in wt.versions(con)] == [first.version, changed.version]
    assert versions == {changed.version}          # no tag left from the old version
    assert topics == {"id2"}                      # 能力建设 + 培训班: the training course only
    assert kw_before_after == first.by_kind["keyword"]
    (rows, distinct), states, _ = counts(db)
    assert rows == distinct == second.tags_written and states == 3
    assert retag(db, taxonomy=changed).retagged == 0


def test_changed_content_is_retagged_and_tagged_articles_still_update(db):
    tx = load_taxonomy()
    retag(db, keywords=False)
    edited = dataclasses.replace(ARTICLES[0], text="南宁召开会议，部署红树林保护修复。",
                                 text_simplified="南宁召开会议，部署红树林保护修复。",
                                 quality_flags=("edited",), images=())
    edited = dataclasses.replace(edited, content_hash=content_hash(edited.title, edited.text))
    with warehouse.connect(db) as con:
        # an UPDATE that rewrites list columns of a tagged article: works (no declared foreign key)
        assert warehouse.load_articles(con, [edited], now=NOW + dt.timedelta(days=1)).updated == 1
        assert wt.articles_to_tag(con, tx.version) == ["id1"]
    r = retag(db, keywords=False)
    assert r.candidates == r.retagged == 1
    with warehouse.connect(db, read_only=True) as con:
        topics = {r[0] for r in con.execute("SELECT tag FROM article_tags WHERE article_id = 'id1' AND kind = 'topic'"
                                            ).fetchall()}
    assert "biodiversity" in topics


def test_tags_of_unknown_articles_are_not_stored_and_orphans_are_pruned(db):
    tx = load_taxonomy()
    ghost = article(9, "不存在的文章", "碳市场")
    with warehouse.connect(db) as con:
        res = wt.load_tags(con, tag_articles([ghost, ARTICLES[0]], tx, keywords=False), tx.version, tx.info())
        assert res.articles_missing == 1 and res.articles_written == 1
        assert con.execute("SELECT count(*) FROM article_tags WHERE article_id = 'id9'").fetchone()[0] == 0
        con.execute("DELETE FROM articles WHERE id = 'id1'")
        assert wt.prune_orphans(con) > 0
        assert con.execute("SELECT count(*) FROM article_tag_state WHERE article_id = 'id1'").fetchone()[0] == 0


def test_load_inside_the_callers_transaction(tmp_path):
    tx = load_taxonomy()
    path = tmp_path / "t.duckdb"
    with warehouse.connect(path) as con:
        with warehouse.LoadSession(con, now=NOW) as session:
            session.articles(ARTICLES)
            res = wt.load_tags(con, tag_articles(ARTICLES, tx, keywords=False), tx.version, tx.info(),
                               transaction=False)
        assert res.articles_written == 3
        assert con.execute("SELECT count(*) FROM article_tag_state").fetchone()[0] == 3


def test_retag_dry_run_counts_only(db):
    r = retag(db, dry_run=True)
    assert r.dry_run and r.candidates == 3 and r.retagged == 0
    with warehouse.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM article_tags").fetchone()[0] == 0
