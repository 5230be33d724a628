"""Revisions without a crawl: what a re-check answer means (flows/revisions/evidence.py), the
failure rule, the re-check policy as registry data (crawlers/recheck.py), delistings, Chinese
diffs, and how versions are stored (warehouse/revisions.py)."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from crawlers.errors import RegistryError
from crawlers.recheck import DEFAULT_POLICY, RecheckPolicy, due, parse_policy
from flows.revisions.diff import diff_ops, render
from flows.revisions.evidence import CheckState, Verdict, after_check, classify, redirect_kind
from flows.revisions.listing import delisted, listed
from schemas import Article, Rejected

UTC = dt.timezone.utc
NOW = dt.datetime(2025, 7, 15, tzinfo=UTC)
URL = "http://www.gxzf.gov.cn/gxyw/t19581428.shtml"
STARTS = ("http://www.gxzf.gov.cn/gxyw/index.shtml",)
TEXT = "1月13日,自治区生态环境厅发布中期评估报告。报告显示,规划确定的21项主要指标中已有17项达到或超过序时进度。" * 10


def art(text=TEXT, **over) -> Article:
    a = Article(id="a1", url=URL, source="gxzf", title="广西发布评估报告", published_at=None,
                original_source="广西日报", author="黄艳梅", editor=None, text=text, language="zh",
                content_hash=str(hash(text)), extractor_version="t", fetched_at=NOW, url_original=URL)
    return replace(a, **over)


def answer(status=200, final=URL, **kw):
    return {"url": URL, "final_url": final, "status": status, **kw}


# ----------------------------------------------------------------------------- evidence

@pytest.mark.parametrize("ans, record, want", [
    (answer(404), None, ("removed", "http_404")),
    (answer(410), None, ("removed", "http_410")),
    (answer(200, "http://www.gxzf.gov.cn/"), art(), ("removed", "redirect_home")),
    (answer(200, "http://www.gxzf.gov.cn/index.shtml"), art(), ("removed", "redirect_home")),
    (answer(200, "http://www.gxzf.gov.cn/gxyw/index.shtml"), art(), ("removed", "redirect_column")),
    (answer(200, "http://www.gxzf.gov.cn/gxyw/"), art(), ("removed", "redirect_column")),
    (answer(404, "http://www.gxzf.gov.cn/"), None, ("removed", "redirect_home")),
    (answer(200, block="soft_404"), None, ("removed", "soft_404")),
    (answer(200), art(text="该信息已删除或不存在！返回首页"), ("removed", "soft_404")),
    (answer(200), art(text="该稿件暂不提供浏览。"), ("removed", "placeholder")),
    (answer(200), Rejected(URL, "gxzf", "no_text", "no body", NOW), ("removed", "placeholder")),
    (answer(304), None, ("not_modified", "")),
    (answer(200), art(text=TEXT + "更正"), ("live", "")),
    (answer(200, "http://www.gxzf.gov.cn/gxyw/t19581429.shtml"), art(), ("live", "")),   # moved to another article
    ({"url": URL, "error": "timeout", "status": None}, None, ("transient", "timeout")),
    ({"url": URL, "error": "connection_refused", "status": None}, None, ("transient", "connection_refused")),
    (answer(503), None, ("transient", "http_503")),
    (answer(502, "http://www.gxzf.gov.cn/"), None, ("transient", "http_502")),
    (answer(429), None, ("transient", "http_429")),
    (answer(412, block="challenge_ruishu"), None, ("transient", "challenge_ruishu")),
    (answer(412), None, ("transient", "http_412")),
    (answer(200, block="challenge_jsl"), None, ("transient", "challenge_jsl")),
    (answer(403), None, ("transient", "http_403")),
])
def test_classify(ans, record, want):
    v = classify(ans, record, previous_chars=len(TEXT), start_urls=STARTS)
    assert (v.outcome, v.reason) == want


def test_a_soft_404_page_is_read_when_small():
    v = classify(answer(200), Rejected(URL, "gxzf", "no_text", "", NOW), previous_chars=len(TEXT),
                 page_text="<html><p>该信息已删除或不存在！</p></html>")
    assert (v.outcome, v.reason) == ("removed", "soft_404")


def test_a_short_article_that_stays_short_is_no_placeholder():
    assert classify(answer(200), art(text="短讯一则。"), previous_chars=6).outcome == "live"


def test_redirect_kind_leaves_other_redirects_alone():
    assert redirect_kind(URL, URL) is None
    assert redirect_kind(URL, "http://www.gxzf.gov.cn/zwgk/t1.shtml", STARTS) is None


def test_transient_failures_make_a_takedown_only_n_times_over_m_days():
    state, fail = CheckState(), Verdict("transient", "http_503")
    for day in range(3):        # 3 failures within 2 days: not yet (policy: 3 over 7 days)
        state, event, v = after_check(state, fail, NOW + dt.timedelta(days=day), 3, 7)
        assert event is None and v.outcome == "transient"
    assert state.failures == 3 and state.first_failure_at == NOW
    state, event, v = after_check(state, fail, NOW + dt.timedelta(days=7), 3, 7)
    assert (event, v.outcome, v.reason) == ("removed", "removed", "repeated_failures")
    assert "4 failed checks over 7.0 days" in v.detail
    state, event, _ = after_check(state, fail, NOW + dt.timedelta(days=8), 3, 7)
    assert event is None                                    # removed once, not again
    state, event, _ = after_check(state, Verdict("not_modified"), NOW + dt.timedelta(days=9), 3, 7)
    assert event == "restored" and state == CheckState()


def test_one_good_answer_resets_the_count():
    state, _, _ = after_check(CheckState(), Verdict("transient", "timeout"), NOW, 3, 7)
    state, event, _ = after_check(state, Verdict("live"), NOW + dt.timedelta(days=1), 3, 7)
    assert state.failures == 0 and event is None
    state, event, _ = after_check(state, Verdict("removed", "http_404"), NOW + dt.timedelta(days=2), 3, 7)
    assert event == "removed" and state.removed
    _, event, _ = after_check(state, Verdict("removed", "http_404"), NOW + dt.timedelta(days=3), 3, 7)
    assert event is None


# ----------------------------------------------------------------------------- policy

def test_policy_tiers_and_due():
    p = DEFAULT_POLICY
    assert (p.interval(1), p.interval(30), p.interval(400)) == (1, 7, 30)
    rows = [{"id": "young", "published_at": NOW - dt.timedelta(days=3), "last_checked_at": NOW - dt.timedelta(days=2)},
            {"id": "fresh", "published_at": NOW - dt.timedelta(days=3), "last_checked_at": NOW - dt.timedelta(hours=2)},
            {"id": "month", "published_at": NOW - dt.timedelta(days=30), "last_checked_at": NOW - dt.timedelta(days=5)},
            {"id": "old", "published_at": None, "first_seen": NOW - dt.timedelta(days=400),
             "fetched_at": NOW - dt.timedelta(days=40)}]
    assert [r["id"] for r in due(rows, p, NOW)] == ["old", "young"]           # most overdue first
    assert len(due(rows, p, NOW, force=True)) == 4
    assert [r["id"] for r in due(rows, RecheckPolicy(max_requests=1), NOW)] == ["old"]


@pytest.mark.parametrize("table, msg", [
    ({"max_requests": 0}, "max_requests"),
    ({"evry": 1}, "unknown key"),
    ({"tiers": []}, "tiers"),
    ({"tiers": [{"younger_than": 90, "every": 7}, {"younger_than": 7, "every": 1}]}, "must grow"),
    ({"tiers": [{"every": 7}, {"younger_than": 7, "every": 1}]}, "only the last tier"),
    ({"tiers": [{"every": 0}]}, "every must be"),
    ({"takedown_days": -1}, "takedown_days"),
])
def test_policy_validation_names_the_key(table, msg):
    with pytest.raises(RegistryError, match=msg):
        parse_policy(table, "sources.toml: source 'x'")


def test_registry_policy_merges_default_preset_and_source(broken_registry):
    from crawlers.registry import load_registry
    path = broken_registry('name = "hainan"\n', 'name = "hainan"\nrecheck = {max_requests = 20}\n')
    reg = load_registry(path)
    assert reg.get("hainan").recheck.max_requests == 20
    assert reg.get("hainan").recheck.tiers == DEFAULT_POLICY.tiers
    assert reg.get("gxzf").recheck == DEFAULT_POLICY
    bad = broken_registry('name = "hainan"\n', 'name = "hainan"\nrecheck = {takedown_failures = "3"}\n')
    with pytest.raises(RegistryError, match=r"source 'hainan'.*recheck.takedown_failures"):
        load_registry(bad)


# ----------------------------------------------------------------------------- delistings, diffs

def test_delisted_only_when_newer_than_the_oldest_item_still_listed():
    before = listed({"p1": {"links": [["a?x", "2025-07-10"], ["b", "2025-07-08"]]},
                     "p2": {"links": [["c", "2025-07-05"], ["d", "2025-07-01"]]}}, lambda u: u.split("?")[0])
    assert before == {"a": "2025-07-10", "b": "2025-07-08", "c": "2025-07-05", "d": "2025-07-01"}
    after = {"new": "2025-07-12", "a": "2025-07-10", "c": "2025-07-05"}     # b gone, d pushed off the end
    assert delisted(before, after) == ["b"]
    assert delisted(before, {}) == []           # no list read: nothing is concluded


def test_diff_is_by_words_not_lines():
    old = "报告显示,规划确定的21项主要指标中已有17项达到。广西壮族自治区生态环境厅相关负责人黄艳梅介绍了经验。"
    new = "报告显示,规划确定的22项主要指标中已有17项达到。广西壮族自治区生态环境厅相关负责人黄燕梅介绍了经验。"
    ops = diff_ops(old, new)
    assert "".join(t for k, t in ops if k != "insert") == old and "".join(t for k, t in ops if k != "delete") == new
    assert [t for k, t in ops if k == "delete"] == ["21", "黄艳梅"]
    out = render(ops)
    assert "[-21-]{+22+}" in out and "[-黄艳梅-]{+黄燕梅+}" in out
    assert "\x1b[31" in render(ops, colour=True)


# ----------------------------------------------------------------------------- storage

def test_versions_stored_as_deltas_and_read_back_whole(tmp_path):
    import warehouse
    from warehouse.revisions import apply_delta, history, make_delta, version_bytes
    db = tmp_path / "w.duckdb"
    t1 = NOW + dt.timedelta(days=1)
    edited = TEXT.replace("21项", "22项", 1)
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art()])
        warehouse.load_articles(con, [art(text=TEXT.replace("。", "。 \n", 3), content_hash="ws", fetched_at=t1)])
        assert con.execute("SELECT count(*) FROM article_versions").fetchone()[0] == 1      # whitespace: no version
        warehouse.load_articles(con, [art(text=edited, content_hash="e1", fetched_at=t1 + dt.timedelta(hours=1))])
        warehouse.load_articles(con, [art(text="旧的抓取", content_hash="old", fetched_at=NOW - dt.timedelta(days=1))])
        with warehouse.LoadSession(con) as s:           # a re-extraction: no version
            s.articles([art(text=edited + "（新抽取器）", content_hash="rx", fetched_at=t1 + dt.timedelta(hours=1))],
                       replace=True)
        h = history(con, URL)
        size = version_bytes(con, "a1", 2)
        kinds = [r[0] for r in con.execute("SELECT kind FROM article_events").fetchall()]
    assert [v["version"] for v in h["versions"]] == [1, 2]
    assert h["versions"][0]["text"] == TEXT.replace("。", "。 \n", 3)     # the text of version 1 as last stored
    assert h["versions"][1]["text"] == edited
    assert kinds == ["edited"]
    assert size < 160, size                         # a one-figure edit of a 500-character article
    assert apply_delta("甲乙丙丁", make_delta("甲乙丙丁", "甲丙戊丁")) == "甲丙戊丁"


def test_a_warehouse_from_before_revisions_says_so(tmp_path):
    import warehouse
    from warehouse.revisions import changes, history
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        con.execute("DROP VIEW changes; DROP TABLE article_events")
    with warehouse.reader(db) as rd:
        with pytest.raises(warehouse.WarehouseError, match="no revisions yet"):
            history(rd.con, URL)
        with pytest.raises(warehouse.WarehouseError, match="no revisions yet"):
            changes(rd.con)


def test_delistings_are_judged_per_column():
    from flows.revisions.listing import columns, delisted_by_column, relisted
    ident = lambda u: u         # noqa: E731
    # column A is busy (two days on its pages), column B slow (a year); "a2" was pushed off A's
    # last page (no delisting, though B's oldest item is older), "a1" dropped out of A while B
    # still links it (a delisting of A), "b1" dropped out of B
    before = {"A": {"links": [["a1", "2025-07-10"], ["a2", "2025-07-09"]], "next": [{"url": "A2"}]},
              "A2": {"links": [["a3", "2025-07-09"]]},
              "B": {"links": [["a1", "2025-07-10"], ["b1", "2025-03-01"], ["b2", "2024-07-01"]]}}
    after = {"A": {"links": [["a4", "2025-07-12"], ["a3", "2025-07-09"]], "next": [{"url": "A2"}]},
             "A2": {"links": [["a3", "2025-07-09"]]},
             "B": {"links": [["a1", "2025-07-10"], ["b2", "2024-07-01"]]}}
    assert columns(["A", "B"], before, after) == {"A": "A", "A2": "A", "B": "B"}
    gone = delisted_by_column(before, after, ["A", "B"], ident)
    assert gone == {"a1": ["A"], "b1": ["B"]}
    # the whole source's lists, as one column, would have missed a1 and delisted a2
    from flows.revisions.listing import delisted, listed
    assert delisted(listed(before, ident), listed(after, ident)) == ["a2", "b1"]
    # a column not read now concludes nothing
    assert delisted_by_column(before, {"B": after["B"]}, ["A", "B"], ident) == {"b1": ["B"]}
    # relisted only by the column it dropped out of (any column when that is unknown)
    assert relisted(after, ["A", "B"], ident, {"a1": "A", "b2": "B", "a3": None}) == ["a3", "b2"]
