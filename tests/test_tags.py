"""Tagger behaviour on small texts: overlaps, ambiguous names, scoring rules, the API."""
import subprocess
import sys
import textwrap

import pytest

from flows.tags import Doc, Tag, Tagger, load_taxonomy, province_map, tag_articles


@pytest.fixture(scope="module")
def tagger():
    return Tagger(load_taxonomy(), keywords=False)


def run(tagger, title, text="", province=None):
    doc = Doc(id="a", source="s", title=title, text=text, title_simplified=title, text_simplified=text)
    out = {}
    for t in tagger.tag(doc, province):
        out.setdefault(t.kind, {})[t.tag] = t
    return out


def test_longest_match_across_places_and_partners(tagger):
    got = run(tagger, "", "中国—上海合作组织生态环保创新基地落户青岛。内蒙古代表团到访。")
    assert set(got["partner"]) == {"SCO"}                  # not Shanghai, not Mongolia
    assert set(got["place"]) == {"山东/青岛", "内蒙古"}


def test_dash_variants_and_latin_words(tagger):
    got = run(tagger, "", "2025中国―东盟山地旅游交流活动；WHO试点项目。The WHOLE team.")
    assert set(got["partner"]) == {"ASEAN", "WHO"}
    assert got["partner"]["WHO"].score == 1.0              # "WHOLE" is not WHO


def test_blockers_and_ambiguous_short_forms(tagger):
    got = run(tagger, "", "北京时间昨日，与会来宾参观了美丽水乡。长治久安。")
    assert "place" not in got
    # 日照 needs its province named (or the source in it); 来宾 counts only as 来宾市
    assert "place" not in run(tagger, "", "日照时数偏多，来宾们合影。")
    assert set(run(tagger, "", "山东日照港开展岸电改造。")["place"]) == {"山东", "山东/日照"}
    assert set(run(tagger, "", "来宾市生态环境局")["place"]) == {"广西/来宾"}
    assert set(run(tagger, "", "日照港岸电改造", province="山东")["place"]) == {"山东", "山东/日照"}


def test_source_province_is_a_place_with_its_evidence(tagger):
    got = run(tagger, "", "南宁市召开会议。", province="广西")
    assert got["place"]["广西"].score == 0.0 and got["place"]["广西"].evidence == "source"
    assert got["place"]["广西/南宁"].evidence == "text"
    got = run(tagger, "广西发布规划", "广西将加强合作。", province="广西")
    assert got["place"]["广西"].evidence == "title+text+source" and got["place"]["广西"].score == 2.0


def test_specific_term_alone_tags_generic_needs_two_paragraphs(tagger):
    assert "carbon" in run(tagger, "", "全国碳市场扩容。")["topic"]
    assert "topic" not in run(tagger, "", "要积极应对气候变化。")
    assert "climate" in run(tagger, "", "要积极应对气候变化。\n\n推动气候变化国际谈判。")["topic"]
    assert "climate" in run(tagger, "积极应对气候变化", "会议召开。")["topic"]     # headline counts twice


def test_enumeration_items_count_as_generic_mentions(tagger):
    text = "共同应对气候变化、生物多样性保护、环境污染治理等全球性挑战。"
    assert "biodiversity" not in run(tagger, "", text).get("topic", {})
    assert "biodiversity" in run(tagger, "", "开展生物多样性保护联合调查。").get("topic", {})


def test_context_terms_and_partners_need_an_anchor(tagger):
    assert "green_finance" not in run(tagger, "", "银行贷款和融资规模增长。").get("topic", {})
    assert "green_finance" in run(tagger, "", "发展绿色金融，扩大绿色信贷和贷款投放。").get("topic", {})
    # a foreign country alone is not cooperation; the country next to 合作 / 交流 words is
    assert "intl_cooperation" not in run(tagger, "", "法国选手夺冠。\n\n法国队获胜。").get("topic", {})
    assert "intl_cooperation" in run(tagger, "", "广西与越南签署合作协议。\n\n双方开展交流。").get("topic", {})


def test_shields_hide_the_word_inside(tagger):
    assert "climate" not in run(tagger, "", "建设气候康养示范基地，气候宜人。").get("topic", {})


def test_topic_tag_carries_score_and_evidence(tagger):
    t = run(tagger, "", "全国碳市场扩容，碳排放权交易覆盖钢铁行业。")["topic"]["carbon"]
    assert t.score >= 2 and "碳市场×1" in t.evidence


def test_language_and_script_tags(tagger):
    got = run(tagger, "山東將打造國際零碳島", "推動成立國際零碳島嶼聯盟")
    assert set(got["language"]) == {"zh"} and set(got["script"]) == {"traditional"}
    got = run(tagger, "", "")
    assert set(got["language"]) == {"und"} and "script" not in got


def test_tag_articles_on_records_and_rows():
    from flows.extract.script import to_simplified
    rows = [{"id": "x", "source": "gxzf", "title": "中國—東盟碳市場論壇", "text": "碳排放權交易合作。"}]
    tags = tag_articles(rows, province_of=province_map(), keywords=False)
    assert all(isinstance(t, Tag) for t in tags)
    kinds = {(t.kind, t.tag) for t in tags}
    assert ("topic", "carbon") in kinds and ("partner", "ASEAN") in kinds and ("place", "广西") in kinds
    assert to_simplified(rows[0]["title"]) != rows[0]["title"]      # simplified on the fly when missing


def test_keywords_are_jieba_tfidf_and_jieba_loads_only_for_them():
    code = textwrap.dedent("""
        import sys
        from flows.tags import tag_articles
        rows = [{"id": "x", "source": "", "title": "广西发布应对气候变化规划",
                 "text": "自治区生态环境厅发布应对气候变化规划，南宁、柳州气候适应型城市建设试点稳步推进。"}]
        tag_articles(rows, keywords=False)
        assert "jieba" not in sys.modules, "jieba imported without keywords"
        kw = [t for t in tag_articles(rows, keywords=True) if t.kind == "keyword"]
        assert "jieba" in sys.modules and 0 < len(kw) <= 8, kw
        assert all(len(t.tag) >= 2 and t.score > 0 for t in kw)
        print(" ".join(t.tag for t in kw))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "气候" in out.stdout or "规划" in out.stdout


def test_an_id_twice_in_a_batch_is_tagged_from_its_latest_fetch():
    import dataclasses
    import datetime as dt

    from schemas import Article
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    old = Article(id="x", url="u", source="", title="碳市场扩容", published_at=None, original_source=None,
                  author=None, editor=None, text="全国碳市场扩容。", language="zh", content_hash="h1",
                  extractor_version="t", fetched_at=t0)
    new = dataclasses.replace(old, title="红树林保护", text="开展红树林保护修复。", content_hash="h2",
                              fetched_at=t0 + dt.timedelta(days=1))
    topics = {t.tag for t in tag_articles([new, old], keywords=False) if t.kind == "topic"}
    assert topics == {"biodiversity"}


def test_taxonomy_words_never_reach_search_segmentation():
    """Keywords use a private jieba tokenizer: the words retag adds (taxonomy terms, place
    names) must not change how the search index segments text, whatever ran first."""
    from flows.search.segment import tokens
    from flows.tags import keyword_tags
    text = "今年将建设绿洲湾区示范区，绿洲湾区的规划已经公布。"
    before = tokens(text)
    assert "绿洲湾区" not in before          # jieba's own dictionary splits the made-up name
    kws = keyword_tags("a1", text, vocabulary=frozenset({"绿洲湾区"}))
    assert "绿洲湾区" in [k.tag for k in kws]   # the tagger's tokenizer keeps it whole
    assert tokens(text) == before
