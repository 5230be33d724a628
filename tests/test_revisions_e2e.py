"""Revisions end to end over the mirror's days (mirror/days.json): ingest on day 1, re-check on
day 2 and day 3 with real crawls; every edit, takedown, restore and delisting the manifest
lists is found, nothing else is (the 503 page, the whitespace and boilerplate changes make no
event), versions are compact and `history` / `changes` show them."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["gxzf", "hainan"]


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    from flows import steps
    from flows.revisions.recheck import recheck
    from mirror.days import load_days, serve
    tmp = tmp_path_factory.mktemp("days")
    db, archive = tmp / "w.duckdb", tmp / "archive"
    with serve(1) as m:
        res = steps.crawl_sources(db, SOURCES, archive, "day1", mapping=m.base_urls)
        steps.record_crawl(db, res["stats"], archive)
        steps.process_archives(db, steps.archive_paths_for(res["stats"]), archive=archive)
    counts = {}
    for day in (2, 3):
        with serve(day) as m:
            counts[day] = recheck(db, SOURCES, archive, f"day{day}", mapping=m.base_urls, force=True)
    return {"db": db, "archive": archive, "counts": counts, "changes": load_days()}


def _events(db, run_id):
    import warehouse
    rows = warehouse.query(db, "SELECT a.url, e.kind, e.reason FROM article_events e JOIN articles a "
                               "ON a.id = e.article_id WHERE e.run_id = ?", [run_id])[1]
    return Counter((url, kind if kind in ("edited", "restored", "delisted") else f"{kind}:{reason}")
                   for url, kind, reason in rows)


@pytest.mark.parametrize("day", [2, 3])
def test_every_change_of_the_day_is_found_and_nothing_else(days, day):
    want = Counter((c["url"], c["expect"][str(day)]) for c in days["changes"] if str(day) in c["expect"])
    assert want, "the manifest has changes for this day"
    assert _events(days["db"], f"day{day}") == want


def test_the_503_page_stays_live_and_its_failure_only_counts(days):
    import warehouse
    url = next(c["url"] for c in days["changes"] if c["change"] == "status" and c["status"] == 503)
    (removed, failures, outcome), = warehouse.query(
        days["db"], "SELECT a.removed_at, c.failures, c.last_outcome FROM articles a JOIN article_checks c "
                    "ON c.article_id = a.id WHERE a.url = ?", [url])[1]
    assert removed is None and failures == 0 and outcome == "not_modified"      # day 3: back, unchanged
    assert days["counts"][2]["counts"]["gxzf"].transient == 1


def test_unchanged_pages_cost_a_304(days):
    c2, c3 = days["counts"][2]["counts"], days["counts"][3]["counts"]
    assert c2["hainan"].not_modified == 7 and c3["hainan"].not_modified == 7
    stats = {s.source: s for s in days["counts"][3]["stats"]}
    assert stats["gxzf"].mode == "recheck" and stats["gxzf"].article_requests == 10
    assert stats["gxzf"].not_modified >= 7


def test_versions_are_whole_texts_again_and_compact(days):
    import warehouse
    from warehouse.revisions import history
    url = "http://www.gxzf.gov.cn/gxyw/t19581428.shtml"
    with warehouse.connect(days["db"]) as con:
        h = history(con, url)
        (text,), = con.execute("SELECT text FROM articles WHERE url = ?", [url]).fetchall()
    versions = h["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3]
    assert "21项主要指标" in versions[0]["text"] and "22项主要指标" in versions[1]["text"]
    assert versions[1]["author"] == "黄艳梅" and versions[2]["author"] == "黄燕梅"
    assert versions[-1]["text"] == text             # the latest version is the article
    assert versions[1]["bytes"] < 100                # one figure changed: a small delta, not a copy
    assert versions[0]["bytes"] < len(versions[0]["text"].encode("utf-8"))


def test_no_version_for_whitespace_or_boilerplate(days):
    import warehouse
    for c in days["changes"]:
        if c["change"] == "replace" and not c["expect"]:
            (n,), = warehouse.query(days["db"], "SELECT count(*) FROM article_versions v JOIN articles a "
                                                "ON a.id = v.article_id WHERE a.url = ?", [c["url"]])[1]
            assert n == 1, c["what"]


def test_takedowns_keep_their_evidence_and_nothing_is_deleted(days):
    import warehouse
    rows = warehouse.query(days["db"], "SELECT e.reason, e.http_status, e.final_url, e.warc_path, a.text "
                                       "FROM article_events e JOIN articles a ON a.id = e.article_id "
                                       "WHERE e.kind = 'removed'")[1]
    by_reason = {r[0]: r for r in rows}
    assert by_reason["http_410"][1] == 410 and by_reason["http_404"][1] == 404
    assert by_reason["redirect_home"][2] == "http://www.gxzf.gov.cn/"
    assert all(r[3] and r[3].endswith("/day2.warc.gz") for r in rows)
    assert all(len(r[4]) > 200 for r in rows)       # the article's last good text stays
    (n,), = warehouse.query(days["db"], "SELECT count(*) FROM articles")[1]
    assert n == 20


def test_cli_history_and_changes(days, newsflow_exe):
    base = [newsflow_exe, "--db", str(days["db"]), "--archive", str(days["archive"])]
    out = subprocess.run(base + ["history", "http://www.gxzf.gov.cn/gxyw/t19581428.shtml", "--no-color"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "3 version(s)" in out.stdout and "[-21-]{+22+}" in out.stdout
    js = subprocess.run(base + ["history", "http://www.gxzf.gov.cn/gxyw/t19421556.shtml", "--json"],
                        capture_output=True, text=True, timeout=120, cwd=ROOT)
    doc = json.loads(js.stdout)
    assert [e["kind"] for e in doc["events"]] == ["removed", "restored"]
    ch = subprocess.run(base + ["changes", "--since", "2000-01-01", "--source", "gxzf", "--kind", "removed", "--json"],
                        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert ch.returncode == 0, ch.stderr
    assert sorted(r["reason"] for r in json.loads(ch.stdout)) == ["http_404", "redirect_home", "soft_404"]
    view = subprocess.run(base + ["sql", "--format", "json", "select kind, sum(events) n from changes group by 1 order by 1"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    want = Counter(e.split(":")[0] for c in days["changes"] for e in c["expect"].values())
    assert want["delisted"] == 2 and want["removed"] == 6            # the manifest as this test knows it
    assert {r["kind"]: r["n"] for r in json.loads(view.stdout)} == dict(want)


def test_report_has_the_changes_section(days, tmp_path):
    from flows.cli.report import make_report
    out = tmp_path / "report.html"
    make_report(days["db"], out)
    page = out.read_text(encoding="utf-8")
    assert 'id="changes-by-source"' in page and "What changed and what vanished" in page
    section = page[page.index('id="changes-by-source"'):page.index('id="changes-recent"')]
    assert "<td>gxzf</td>" in section and "<td>hainan</td>" in section
    recent = page[page.index('id="changes-recent-table"'):]
    for reason in ("http_410", "placeholder", "redirect_column", "redirect_home", "soft_404", "http_404"):
        assert reason in recent, reason


def test_recheck_flow_runs_in_prefect(days, prefect_home, tmp_path):
    """The `recheck` deployment's flow: the same step under Prefect, on a copy of the warehouse,
    against the day-1 mirror (everything taken down on day 2 answers again: restored)."""
    import shutil
    from flows.ingest import recheck_flow
    db = tmp_path / "copy.duckdb"
    shutil.copy(days["db"], db)
    counts = recheck_flow(sources=["hainan"], db=str(db), archive_dir=str(tmp_path / "archive"), mirror=True, force=True)
    assert counts["hainan"]["restored"] == 3 and counts["hainan"]["removed"] == 0


def test_the_summary_artifact_lists_the_takedowns(days):
    """The recheck flow's markdown artifact: counts per source, and day 2's takedowns with evidence."""
    import warehouse
    from flows.ingest import recheck_markdown
    from warehouse.revisions import changes
    with warehouse.connect(days["db"]) as con:
        gone = [e for e in changes(con, kind="removed") if e["run_id"] == "day2"]
    counts = {k: vars(c) for k, c in days["counts"][2]["counts"].items()}
    md = recheck_markdown(counts, gone)
    assert "| gxzf | 10 | 1 | 3 | 3 | 0 | 2 | 1 |" in md and "| hainan | 10 | 7 | 0 | 3 | 0 | 0 | 0 |" in md
    assert md.count("\n- **") == 6
    assert "redirect_home (HTTP 200, to http://www.gxzf.gov.cn/)" in md and "http_410 (HTTP 410" in md


def test_cli_recheck_against_the_mirror(days, newsflow_exe, tmp_path):
    """`newsflow recheck --all --mirror` on a copy: the day-1 mirror answers what day 2 took down."""
    import shutil
    db = tmp_path / "copy.duckdb"
    shutil.copy(days["db"], db)
    out = subprocess.run([newsflow_exe, "--db", str(db), "--archive", str(tmp_path / "archive"), "recheck", "gxzf",
                          "--all", "--mirror", "--json"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    (row,) = json.loads(out.stdout)
    # day 1 again: the three gxzf takedowns of day 2 answer (the 404 was restored on day 3 already);
    # the three edited pages and the whitespace one change back: new versions, not takedowns
    assert (row["source"], row["asked"], row["removed"], row["restored"]) == ("gxzf", 10, 0, 2)
    assert row["edited"] == 3 and row["transient"] == 0
    help_ = subprocess.run([newsflow_exe, "recheck", "--help"], capture_output=True, text=True, timeout=60)
    assert "Example" in help_.stdout


@pytest.mark.parametrize("path, same", [("t19439729", True), ("t19529110", False)])
def test_a_newer_extractor_alone_makes_no_version(days, path, same):
    """A page fetched again by a newer extractor than the stored article's: when the stored raw
    page, run through today's extractor, gives the same version, the change is the extractor's."""
    import warehouse
    from crawlers.archive import read_pages_at
    from crawlers.registry import load_registry
    from flows.process import to_record
    from flows.revisions.recheck import _extractor_only
    reg = load_registry()
    url = f"http://www.gxzf.gov.cn/gxyw/{path}.shtml"
    where = dict(warehouse.query(days["db"], "SELECT run_id, warc_offset FROM crawl_urls WHERE url = ? "
                                             "AND kind = 'article' AND status = 200", [url])[1])
    (page,) = read_pages_at(days["archive"] / "gxzf" / "day2.warc.gz", [where["day2"]])
    record = to_record(page, reg.get("gxzf"), reg.presets)
    cand = {"extractor_version": "0.0-old", "warc_path": "gxzf/day1.warc.gz", "warc_offset": where["day1"]}
    assert _extractor_only(record, cand, reg.get("gxzf"), reg, days["archive"]) is same
    assert _extractor_only(record, {**cand, "extractor_version": record.extractor_version}, reg.get("gxzf"), reg,
                           days["archive"]) is False


def test_process_over_the_whole_archive_leaves_rechecked_pages_to_the_recheck(days):
    """`newsflow process` re-reads every archive file: a re-check run's placeholder or soft-404 page
    must not become the article's text or a version."""
    import warehouse
    from crawlers.archive import archive_files
    from flows import steps
    before = warehouse.query(days["db"], "SELECT count(*), sum(length(text)) FROM articles")[1][0]
    versions = warehouse.query(days["db"], "SELECT count(*) FROM article_versions")[1][0]
    steps.process_archives(days["db"], archive_files(days["archive"]), archive=days["archive"], dedupe=False)
    assert warehouse.query(days["db"], "SELECT count(*), sum(length(text)) FROM articles")[1][0] == before
    assert warehouse.query(days["db"], "SELECT count(*) FROM article_versions")[1][0] == versions


def test_a_killed_recheck_is_neither_resumed_nor_processed(days, tmp_path):
    """A re-check run killed before its stats file: the next crawl does not continue it as its own
    run, and `process` does not load its pages (they are the re-check's to judge)."""
    import shutil
    from crawlers.state import load_source_state, recheck_marker
    from flows.steps import _prepare_files
    folder = tmp_path / "gxzf"
    folder.mkdir()
    warc = folder / "killed.warc.gz"
    shutil.copy(days["archive"] / "gxzf" / "day2.warc.gz", warc)
    assert recheck_marker(days["archive"] / "gxzf" / "day2.warc.gz").exists()
    shutil.copy(recheck_marker(days["archive"] / "gxzf" / "day2.warc.gz"), recheck_marker(warc))
    state, resume = load_source_state(folder, None, "next")
    assert resume is None and any("killed re-check run killed.warc.gz" in n for n in state.notes)
    files, runs = _prepare_files(tmp_path / "none.duckdb", [("gxzf/killed.warc.gz", warc)], None, tmp_path)
    assert files == [] and runs == set()


def test_ingest_summary_artifact_lists_the_takedowns_since_the_previous_ingest(days, monkeypatch, tmp_path):
    import datetime as dt
    import shutil

    import prefect.artifacts

    import warehouse
    from flows import ingest, steps
    from schemas import CrawlStats
    from warehouse.revisions import takedowns_since_ingest
    db = tmp_path / "w.duckdb"
    shutil.copy(days["db"], db)
    now = dt.datetime.now(dt.timezone.utc)
    stats = [CrawlStats(run_id="day4", source=s, started_at=now, finished_at=now, status="ok") for s in SOURCES]
    summary = {**steps.summarise(stats, {}, db, now), "run_id": "day4"}
    got = {}
    monkeypatch.setattr(prefect.artifacts, "create_markdown_artifact", lambda **k: got.update(k))
    ingest._publish_summary(summary)
    md = got["markdown"]
    gone = [c for c in days["changes"] if c["expect"].get("2", "").startswith("removed")]
    assert f"Takedowns since the previous ingest ({len(gone)})" in md
    for c in gone:
        assert f"]({c['url']}): {c['expect']['2'].split(':')[1]} (HTTP" in md, c["url"]
    # an ingest recorded after them: the next one lists none of them
    with warehouse.connect(db) as con:
        warehouse.record_crawl_runs(con, [CrawlStats(run_id="day4", source=s, started_at=now, finished_at=now,
                                                     status="ok") for s in SOURCES])
        assert takedowns_since_ingest(con, SOURCES, "day5") == []
        assert len(takedowns_since_ingest(con, SOURCES, "day4")) == len(gone)


def _day1(tmp):
    from flows import steps
    from mirror.days import serve
    db, archive = tmp / "w.duckdb", tmp / "archive"
    with serve(1) as m:
        res = steps.crawl_sources(db, SOURCES, archive, "day1", mapping=m.base_urls)
        steps.record_crawl(db, res["stats"], archive)
        steps.process_archives(db, steps.archive_paths_for(res["stats"]), archive=archive)
    return db, archive


def test_pages_worked_on_during_the_crawl_give_what_reading_them_after_gives(tmp_path, monkeypatch):
    """The re-check works on each 2xx page while the crawl still runs (the crawl's feed):
    every such page is taken from there, and the warehouse ends as without the feed."""
    import warehouse
    from flows import crawl as crawl_step
    from flows.revisions import recheck as rc
    from mirror.days import serve
    real_crawl, real_call, real_pages = crawl_step.crawl, rc._Ahead.__call__, rc._pages
    fed, looked = [], []

    def spy_call(self, entry):
        fed.append(entry)
        real_call(self, entry)

    def spy_pages(warc, where, offsets, source, presets, ahead=None):
        if ahead is not None:       # the read after the crawl: how many the feed had ready
            looked.append((len(offsets), sum((where, o) in ahead.pages for o in offsets)))
        return real_pages(warc, where, offsets, source, presets, ahead)
    monkeypatch.setattr(rc._Ahead, "__call__", spy_call)
    monkeypatch.setattr(rc, "_pages", spy_pages)
    out = {}
    for feed in (True, False):
        if not feed:
            monkeypatch.setattr(crawl_step, "crawl", lambda *a, **k: real_crawl(*a, **{**k, "on_page": None}))
        tmp = tmp_path / f"feed{feed}"
        db, archive = _day1(tmp)
        with serve(2) as m:
            rc.recheck(db, SOURCES, archive, "day2", mapping=m.base_urls, force=True)
        out[feed] = {i: warehouse.query(db, q)[1] for i, q in enumerate((
            "SELECT a.url, v.version, v.title, v.text_chars, v.is_delta FROM article_versions v "
            "JOIN articles a ON a.id = v.article_id ORDER BY ALL",
            "SELECT a.url, e.kind, e.reason, e.detail FROM article_events e JOIN articles a ON a.id = e.article_id "
            "ORDER BY ALL",
            "SELECT a.url, t.kind, t.tag FROM article_tags t JOIN articles a ON a.id = t.article_id ORDER BY ALL",
            "SELECT term, a.url, tf FROM search_postings p JOIN articles a ON a.id = p.article_id ORDER BY ALL",
            f"SELECT url, title, text, replace(warc_path, '{tmp}', '') FROM articles ORDER BY url"))}
        # (offsets differ between two crawls: the order of answers does) each names its own page
        from crawlers.archive import read_record
        for url, path, offset in warehouse.query(db, "SELECT url, warc_path, warc_offset FROM articles "
                                                     "WHERE warc_path LIKE '%day2%'")[1]:
            assert read_record(path, offset).url == url
        if feed:
            assert fed and all(hit == n for n, hit in looked) and sum(n for n, _ in looked) == len(fed)
    for q in out[True]:
        assert out[True][q] == out[False][q], q
    assert any(r[1] >= 2 for r in out[True][0])      # edits were among them (versions 2)
