"""The crawler against everything a fragile or defended site does, over real HTTP: the mirror's
fault host (served only here, with serve(faults=True)) and a test registry (tests/registries/
faults.toml). One crawl of all the test sources; each test reads what it left behind.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawlers.archive import read_pages
from crawlers.registry import load_registry
from crawlers.settings import USER_AGENT

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "tests" / "registries" / "faults.toml"
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
HOST = "faults.newsflow.test"
F = "http://faults.newsflow.test"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    from mirror.server import serve
    tmp = tmp_path_factory.mktemp("faults")
    with serve(faults=True) as server:
        (tmp / "map.json").write_text(json.dumps(server.base_urls))
        proc = subprocess.run([sys.executable, "-m", "crawlers.run", "--out", str(tmp / "a"), "--run-id", "r1",
                               "--map", str(tmp / "map.json"), "--registry", str(REGISTRY),
                               "--log-file", str(tmp / "crawl.log")],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        log = list(server.log)
    stats = {p.parent.name: json.loads(p.read_text()) for p in (tmp / "a").glob("*/r1.stats.json")}
    pages = {name: {p.url: p for p in read_pages(tmp / "a" / name / "r1.warc.gz")} for name in stats}
    return dict(proc=proc, stats=stats, pages=pages, log=log, tmp=tmp)


def requests_for(crawled, path):
    return [r for r in crawled["log"] if r["host"] == HOST and r["path"] == path]


def test_exit_status_reflects_failed_and_blocked_sources(crawled):
    proc, stats = crawled["proc"], crawled["stats"]
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert {k: v["status"] for k, v in stats.items()} == {
        "f-mixed": "failed", "f-blocked": "blocked", "f-jsonly": "blocked", "f-private": "failed",
        "f-private-ignore": "ok", "zj-sitemap": "ok", "zj-column": "ok", "tpf-feed": "ok"}
    assert "mostly_errors" in stats["f-mixed"]["flags"] and "blocked_pages" in stats["f-mixed"]["flags"]


@pytest.mark.parametrize("path,reason", [
    ("/news/a02.html", "challenge_ruishu"),      # HTTP 412 + inline $_ts
    ("/news/a03.html", "challenge_ruishu"),      # HTTP 202 + inline $_ts
    ("/news/a04.html", "challenge_jsl"),         # 加速乐: 521 + __jsluid cookie + cookie script
    ("/news/a05.html", "challenge_acw"),         # acw_sc__v2
    ("/news/a06.html", "login_wall"),            # redirect to /login.html
    ("/news/a18.html", "login_wall"),            # 401
    ("/news/a07.html", "soft_404"),              # redirect to /404.html
    ("/news/a08.html", "soft_404"),              # 200 saying the page does not exist
    ("/news/a09.html", "not_html"),              # a PDF
])
def test_blocked_pages_are_archived_with_their_reason(crawled, path, reason):
    page = crawled["pages"]["f-mixed"][F + path]
    assert page.block_reason == reason
    assert dict(crawled["stats"]["f-mixed"]["blocked_by_reason"]).get(reason)


def test_blocked_pages_never_become_articles(crawled, tmp_path):
    from flows import steps
    import warehouse
    db = tmp_path / "w.duckdb"
    warc = crawled["tmp"] / "a" / "f-mixed" / "r1.warc.gz"
    steps.process_archives(db, [warc], load_registry(REGISTRY))
    arts = {r[0] for r in warehouse.query(db, "select url from articles")[1]}
    assert arts == {F + p for p in ("/news/a01.html", "/news/a10.html", "/news/a11.html", "/news/a13-final.html",
                                    "/news/a17.html", "/news/a19.html")}
    blocked = {r[0] for r in warehouse.query(db, "select url from rejected where reason = 'blocked'")[1]}
    assert len(blocked) == 9 and not blocked & arts


def test_retries_back_off_and_honour_retry_after(crawled):
    stats = crawled["stats"]["f-mixed"]
    assert stats["retries"] == 5                  # a10 twice, a11 once, a12 twice
    t = [r["time"] for r in requests_for(crawled, "/news/a10.html")]
    assert [r["status"] for r in requests_for(crawled, "/news/a10.html")] == [503, 503, 200]
    assert t[1] - t[0] >= 0.18 and t[2] - t[1] >= 0.36           # retry_backoff 0.2 s, doubling
    t = [r["time"] for r in requests_for(crawled, "/news/a11.html")]
    assert [r["status"] for r in requests_for(crawled, "/news/a11.html")] == [429, 200]
    assert t[1] - t[0] >= 0.95                                    # Retry-After: 1
    assert crawled["pages"]["f-mixed"][F + "/news/a10.html"].status == 200


def test_slow_page_times_out_after_retries_and_a_slower_one_within_the_timeout_is_kept(crawled):
    stats = crawled["stats"]["f-mixed"]
    assert dict(stats["errors_by_kind"])["timeout"] == 1
    assert F + "/news/a12.html" not in crawled["pages"]["f-mixed"]
    assert crawled["pages"]["f-mixed"][F + "/news/a17.html"].status == 200


def test_redirect_chain_followed_and_other_domain_not(crawled):
    pages = crawled["pages"]["f-mixed"]
    chain = pages[F + "/news/a13.html"]
    assert chain.status == 200 and chain.final_url == F + "/news/a13-final.html"
    assert [r["path"] for r in crawled["log"] if r["path"].startswith("/r/")] == ["/r/1.html", "/r/2.html"]
    away = pages[F + "/news/a14.html"]
    assert away.status == 302 and away.header("location") == "http://offsite.newsflow.test/landing.html"
    assert dict(crawled["stats"]["f-mixed"]["errors_by_kind"])["redirect_offsite"] == 1
    assert not [r for r in crawled["log"] if r["path"] == "/landing.html"]


def test_response_size_cap_with_and_without_content_length(crawled):
    stats = crawled["stats"]["f-mixed"]
    assert dict(stats["errors_by_kind"])["too_large"] == 2
    assert len(requests_for(crawled, "/news/a15.html")) == 1       # cancelled, not retried
    assert F + "/news/a15.html" not in crawled["pages"]["f-mixed"]


def test_robots_txt_obeyed_logged_and_overridable(crawled):
    stats = crawled["stats"]
    assert stats["f-mixed"]["robots_disallowed"] == 1               # /private/a16.html listed on /news/
    assert stats["f-private"]["robots_disallowed"] == 1 and "robots_disallowed" in stats["f-private"]["flags"]
    assert len(requests_for(crawled, "/private/a16.html")) == 1     # only the source that ignores robots.txt
    assert stats["f-private-ignore"]["articles_archived"] == 2
    assert "robots_ignored" in stats["f-private-ignore"]["flags"]
    log = (crawled["tmp"] / "crawl.log").read_text()
    assert "robots.txt ignored for f-private-ignore" in log and "robots.txt forbids" in log


def test_challenge_start_page_and_js_only_list_block_the_source(crawled):
    blocked, js = crawled["stats"]["f-blocked"], crawled["stats"]["f-jsonly"]
    assert dict(blocked["blocked_by_reason"]) == {"challenge_ruishu": 1} and "start_blocked" in blocked["flags"]
    assert dict(js["blocked_by_reason"]) == {"js_only_list": 1} and js["article_requests"] == 0


def test_clear_user_agent_on_every_request(crawled):
    assert {r["user_agent"] for r in crawled["log"]} == {USER_AGENT}
    assert "newsflow" in USER_AGENT and "+http" in USER_AGENT


@pytest.mark.parametrize("name,source", [("zj-sitemap", "zj-sthjt"), ("zj-column", "zj-sthjt"),
                                         ("tpf-feed", "tanpaifang")])
def test_sitemap_feed_and_hanweb_discovery_with_list_dates(crawled, name, source):
    arts = {u: p.list_date for u, p in crawled["pages"][name].items() if p.page_kind == "article"}
    assert arts == {e["url"]: e["list_date"] for e in EXPECTED if e["source"] == source}
    if name == "zj-column":         # column page + 4 dataproxy POSTs, 2 records each
        posts = [r for r in crawled["log"] if r["method"] == "POST"]
        assert len(posts) == 4 and all("dataproxy.jsp?startrecord=" in r["path"] for r in posts)
