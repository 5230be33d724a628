"""Re-checks that meet transient failures (timeouts, 5xx, 429, a 瑞数 412 challenge) never call
an article taken down on one answer: the failure is counted in article_checks, and only the
registry's N failures over M days (here 2 over 7) make a `removed/repeated_failures` event. Real
crawls of the mirror (mirror/days.py builds the failing day), the registry's policy as data."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from faults.helpers import record

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = [e for e in json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
            if e["source"] == "hainan"]
FAILING = {
    "timeout": {"change": "fault", "spec": {"delay": 3}},
    "http_503": {"change": "status", "status": 503},
    "http_500": {"change": "status", "status": 500},
    "http_429": {"change": "fault", "spec": {"status": 429, "headers": [["Retry-After", "0"]], "body": "slow down"}},
    "challenge_ruishu": {"change": "fault", "spec": {"status": 412, "body": "<html><script>$_ts=window['$_ts'];"
                                                                            "</script></html>"}},
}
NOW = dt.datetime.now(dt.timezone.utc)


def _apply(change, sites):
    from mirror.days import _fault, apply
    if change["change"] == "fault":
        _fault(sites, change["url"], change["spec"])
    else:
        apply(change, sites)


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    from crawlers.registry import DEFAULT_REGISTRY
    from flows import steps
    from flows.revisions.recheck import recheck
    from mirror.days import build
    from mirror.server import serve
    tmp = tmp_path_factory.mktemp("transient")
    registry = tmp / "sources.toml"
    registry.write_text(DEFAULT_REGISTRY.read_text(encoding="utf-8").replace(
        'name = "hainan"\n', 'name = "hainan"\ntimeout = 1\nrecheck = {takedown_failures = 2, takedown_days = 7}\n', 1),
        encoding="utf-8")
    db, archive = tmp / "w.duckdb", tmp / "archive"
    with serve() as m:
        res = steps.crawl_sources(db, ["hainan"], archive, "day1", mapping=m.base_urls, registry=str(registry))
        steps.record_crawl(db, res["stats"], archive)
        steps.process_archives(db, steps.archive_paths_for(res["stats"]), archive=archive)
    changes = [{**spec, "url": e["url"]} for e, spec in zip(EXPECTED, FAILING.values())]
    sites = build(1, tmp / "failing")
    for c in changes:
        _apply(c, sites)
    runs = {}
    with serve(sites) as m:
        for name, when in (("first", NOW), ("next-day", NOW + dt.timedelta(days=1)),
                           ("eight-days", NOW + dt.timedelta(days=8))):
            runs[name] = recheck(db, ["hainan"], archive, name, registry=str(registry), mapping=m.base_urls,
                                 now=when, force=True)["counts"]["hainan"]
    return {"db": db, "runs": runs, "urls": {k: e["url"] for k, e in zip(FAILING, EXPECTED)}}


def _checks(db):
    import warehouse
    return {url: (failures, outcome, removed) for url, failures, outcome, removed in warehouse.query(
        db, "SELECT a.url, c.failures, c.last_outcome, a.removed_at IS NOT NULL FROM articles a "
            "JOIN article_checks c ON c.article_id = a.id")[1]}


@pytest.mark.parametrize("kind", list(FAILING))
def test_one_transient_failure_is_no_takedown(failing, kind, request):
    first = failing["runs"]["first"]
    assert first.transient == len(FAILING) and first.removed == 0
    assert first.reasons == {} and first.not_modified == len(EXPECTED) - len(FAILING)
    import warehouse
    (n,), = warehouse.query(failing["db"], "SELECT count(*) FROM article_events WHERE run_id IN ('first', 'next-day')")[1]
    assert n == 0
    record(request, transient=first.transient, false_takedowns=first.removed)


def test_failures_within_the_window_only_count(failing):
    nxt = failing["runs"]["next-day"]
    assert nxt.transient == len(FAILING) and nxt.removed == 0


@pytest.mark.parametrize("kind", list(FAILING))
def test_n_failures_over_m_days_make_a_takedown_with_the_evidence(failing, kind):
    import warehouse
    eight = failing["runs"]["eight-days"]
    assert eight.removed == len(FAILING) and eight.reasons == {"repeated_failures": len(FAILING)}
    url = failing["urls"][kind]
    assert _checks(failing["db"])[url] == (3, "removed", True)
    (reason, detail), = warehouse.query(failing["db"], "SELECT e.reason, e.detail FROM article_events e JOIN articles a "
                                                       "ON a.id = e.article_id WHERE a.url = ?", [url])[1]
    assert reason == "repeated_failures" and "3 failed checks over 8.0 days" in detail and kind in detail
