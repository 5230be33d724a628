"""Delistings per column over the mirror's days (mirror/days.json): gxzf read through two
columns, its own (区内要闻, /gxyw/) and a second one (政务要闻, /zwyw/) that links the first
column's two newest items. On day 2 one of those two drops out of its own column while the
second column still links it: a delisting of its column, found although the source as a whole
still lists it; the article pushed along and the one delisted from the first column alone are
judged the same way; nothing is delisted twice and nothing relisted on day 3."""
from __future__ import annotations

import json

import pytest

OWN = "http://www.gxzf.gov.cn/gxyw/index.shtml"
SECOND = "http://www.gxzf.gov.cn/zwyw/index.shtml"
BOTH = "http://www.gxzf.gov.cn/gxyw/t19529110.shtml"       # on both columns; dropped from its own on day 2
ONLY = "http://www.gxzf.gov.cn/gxyw/t19492528.shtml"       # on its own column only; dropped on day 2


@pytest.fixture(scope="module")
def columns(tmp_path_factory):
    from crawlers.registry import DEFAULT_REGISTRY
    from flows import steps
    from flows.revisions.recheck import recheck
    from mirror.days import serve
    tmp = tmp_path_factory.mktemp("columns")
    registry = tmp / "sources.toml"
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    old = 'start_urls = ["/gxyw/index.shtml"]'
    assert old in text
    registry.write_text(text.replace(old, 'start_urls = ["/gxyw/index.shtml", "/zwyw/index.shtml"]', 1),
                        encoding="utf-8")
    db, archive = tmp / "w.duckdb", tmp / "archive"
    with serve(1) as m:
        res = steps.crawl_sources(db, ["gxzf"], archive, "day1", mapping=m.base_urls, registry=str(registry))
        steps.record_crawl(db, res["stats"], archive)
        steps.process_archives(db, steps.archive_paths_for(res["stats"]), archive=archive)
    for day in (2, 3):
        with serve(day) as m:
            recheck(db, ["gxzf"], archive, f"day{day}", registry=str(registry), mapping=m.base_urls, force=True)
    return {"db": db}


def _delisted(db, run_id):
    import warehouse
    return {r[0]: r[1:] for r in warehouse.query(
        db, "SELECT a.url, e.final_url, e.detail FROM article_events e JOIN articles a ON a.id = e.article_id "
            "WHERE e.kind = 'delisted' AND e.run_id = ?", [run_id])[1]}


def test_the_second_column_is_read_and_still_links_the_article(columns):
    import warehouse
    (links,), = warehouse.query(columns["db"], "SELECT links FROM list_pages WHERE url = ?", [SECOND])[1]
    assert BOTH in {u for u, _ in json.loads(links)}     # the source as a whole still lists it on day 2+


def test_an_article_dropped_from_its_own_column_is_delisted_though_another_links_it(columns):
    day2 = _delisted(columns["db"], "day2")
    assert set(day2) == {BOTH, ONLY}
    assert day2[BOTH][0] == OWN and OWN in day2[BOTH][1]      # the column it dropped out of
    assert day2[ONLY][0] == OWN


def test_no_delisting_twice_and_no_relisting_by_another_column(columns):
    import warehouse
    assert _delisted(columns["db"], "day3") == {}
    rows = dict(warehouse.query(columns["db"], "SELECT url, delisted_at IS NOT NULL FROM articles "
                                               "WHERE url IN (?, ?)", [BOTH, ONLY])[1])
    assert rows == {BOTH: True, ONLY: True}       # the second column listing BOTH does not relist it
