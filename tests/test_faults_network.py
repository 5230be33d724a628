"""Bad networks: a server (tests/faults/netserver.py, 127.0.0.1 only) that resets connections,
never answers, answers 5xx to everything, loops redirects, redirects to another host, and
dribbles bytes. One crawl meets all of it: nothing truncated is archived, every failure is
counted under its kind, the crawl ends; then the server heals and the next crawl fetches
exactly what failed, so after processing every article is in the warehouse once.
(429 + Retry-After, plain timeouts, redirect chains and the 20 MB cap are in
test_crawl_faults.py, against the mirror's fault host.)
"""
import email.utils
import time

import pytest

import warehouse
from crawlers.archive import read_pages
from crawlers.registry import load_registry
from faults.helpers import REGISTRY, ledger, record
from faults.netserver import FaultServer
from faults.pages import article

BASE = "http://net.faults.test"
PAGE = {n: article(f"网络故障测试稿件{n}").encode() for n in range(20)}


def routes(landing: str) -> dict:
    r = {
        "ok": {},                                                   # the control
        "reset-once": {"fail": 1, "fail_with": {"reset": True}},   # RST, then fine: retried
        "reset-always": {"reset": True},                           # RST every time
        "reset-mid-body": {"reset_after": 300},                    # full Content-Length, 300 bytes, RST
        "hang": {"hang": 3.0},                                     # accepts, never answers
        "dribble-ok": {"dribble": 0.02, "chunk": 400},             # slow but within the timeout
        "dribble-slow": {"dribble": 0.25, "chunk": 40},            # still sending when the timeout hits
        "storm-1": {"fail": 99}, "storm-2": {"fail": 99}, "storm-3": {"fail": 99},   # 503 to everything
        "storm-4": {"fail": 99, "fail_status": 500}, "storm-5": {"fail": 99, "fail_status": 502},
        "loop-a": {"redirect": "/n/loop-b.html"},                  # a -> b -> a -> ...
        "offsite": {"redirect": landing},                          # another host: never followed
    }
    out = {}
    for i, (name, spec) in enumerate(r.items()):
        out[f"/n/{name}.html"] = {"body": PAGE[i], **spec}
    out["/n/loop-b.html"] = {"body": PAGE[19], "redirect": "/n/loop-a.html"}
    items = "".join(f"<li><a href='/n/{n}.html'>{n}</a><span>2025-07-01</span></li>" for n in r)
    out["/list.html"] = {"body": f"<html><body><ul class='list'>{items}</ul></body></html>".encode()}
    out["/robots.txt"] = {"body": b"User-agent: *\nDisallow:\n", "headers": [("Content-Type", "text/plain")]}
    return out


LINKED = [p for p in routes("x") if p.startswith("/n/") and p != "/n/loop-b.html"]


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    from flows import steps
    from flows.crawl import crawl
    tmp = tmp_path_factory.mktemp("net")
    archive, db = tmp / "archive", tmp / "w.duckdb"
    reg = load_registry(REGISTRY)
    with FaultServer({"/landing.html": {"body": b"<html>landing</html>"}}) as elsewhere:
        landing = f"http://localhost:{elsewhere.port}/landing.html"     # another host name: never followed
        with FaultServer(routes(landing)) as server:
            mapping = {BASE: server.base_url}
            t0 = time.monotonic()
            first = crawl(["fault-net"], archive_dir=archive, run_id="r1", registry=REGISTRY, mapping=mapping,
                          state=steps.crawl_state(db, ["fault-net"]), timeout=120)
            took = time.monotonic() - t0
            log1 = list(server.log)
            steps.record_crawl(db, first)
            c1 = steps.process_archives(db, steps.archive_paths_for(first), reg, dedupe=False, snapshot=False)
            loaded1 = {r[0] for r in warehouse.query(db, "select url from articles")[1]}
            server.healed = True
            mark = len(server.log)
            second = crawl(["fault-net"], archive_dir=archive, run_id="r2", registry=REGISTRY, mapping=mapping,
                           state=steps.crawl_state(db, ["fault-net"]), timeout=120)
            log2 = server.log[mark:]
            steps.record_crawl(db, second)
            c2 = steps.process_archives(db, steps.archive_paths_for(second), reg, dedupe=False, snapshot=False)
        elsewhere_log = list(elsewhere.log)
    return dict(first=first[0], second=second[0], log1=log1, log2=log2, db=db, took=took, c1=c1, c2=c2,
                loaded1=loaded1, elsewhere=elsewhere_log, warc1=archive / "fault-net" / "r1.warc.gz",
                warc2=archive / "fault-net" / "r2.warc.gz")


def paths(log, path):
    return [r for r in log if r["path"] == path]


def test_each_network_fault_is_counted_under_its_kind_and_the_crawl_ends(net, request):
    s = net["first"]
    errors = dict(s.errors_by_kind)
    assert errors.get("connection_lost", 0) + errors.get("data_loss", 0) >= 2, errors   # reset-always, reset-mid
    assert errors.get("timeout") == 2, errors                                            # hang, dribble-slow
    assert errors.get("redirect_loop") == 1, errors
    assert errors.get("redirect_offsite") == 1 and errors.get("http_503") == 3, errors
    assert net["took"] < 60
    record(request, crashes=0)


def test_nothing_truncated_or_failed_is_archived_as_a_page(net, request):
    pages = {p.url: p for p in read_pages(net["warc1"]) if p.page_kind == "article"}
    for name in ("reset-always", "reset-mid-body", "hang", "dribble-slow", "loop-a"):
        assert f"{BASE}/n/{name}.html" not in pages, name
    for url, p in pages.items():
        if p.status == 200:                                    # every 200 kept whole
            i = list(routes("x")).index(url[len(BASE):])
            assert p.body == PAGE[i], url
    assert pages[f"{BASE}/n/dribble-ok.html"].status == 200
    assert pages[f"{BASE}/n/reset-once.html"].status == 200
    record(request, let_through=0)


def test_5xx_storm_is_retried_with_backoff_then_rejected_not_loaded(net, request):
    for n in range(1, 6):
        hits = paths(net["log1"], f"/n/storm-{n}.html")
        assert len(hits) == 3                                   # 1 + retries (2)
        assert hits[1]["time"] - hits[0]["time"] >= 0.09 and hits[2]["time"] - hits[1]["time"] >= 0.18
    rej = dict(warehouse.query(net["db"], "select url, detail from rejected where reason = 'http_error'")[1])
    assert {u.rsplit("/", 1)[1] for u in rej} >= {f"storm-{n}.html" for n in range(1, 6)}
    assert not {f"{BASE}/n/storm-{n}.html" for n in range(1, 6)} & net["loaded1"]
    assert "mostly_errors" in net["first"].flags
    record(request, let_through=0)


def test_redirect_loop_gives_up_and_offsite_redirect_is_never_followed(net, request):
    loop = [r for r in net["log1"] if r["path"].startswith("/n/loop-")]
    assert 5 <= len(loop) <= 3 * 7                              # REDIRECT_MAX_TIMES per attempt, no more
    assert not net["elsewhere"], "a request went to the other host"
    rej = dict(warehouse.query(net["db"], "select url, detail from rejected")[1])
    assert "not followed" in rej[f"{BASE}/n/offsite.html"] and "localhost" in rej[f"{BASE}/n/offsite.html"]
    record(request, requests_offsite=len(net["elsewhere"]))


def test_connection_reset_once_is_retried_and_loaded(net, request):
    assert len(paths(net["log1"], "/n/reset-once.html")) == 2
    assert f"{BASE}/n/reset-once.html" in net["loaded1"]
    record(request, lost=0)


def test_after_the_server_heals_the_next_crawl_fetches_exactly_what_failed(net, request):
    fetched_again = {r["path"] for r in net["log2"] if r["path"].startswith("/n/")}
    done_first = {u[len(BASE):] for u in net["loaded1"]}
    assert fetched_again == set(LINKED) - done_first           # the failures, and only they
    got = ledger(net["db"], [BASE + p for p in LINKED])
    assert got["lost"] == 0 and got["duplicated"] == 0 and got["unexpected"] == 0, got
    assert net["second"].status == "ok" and not net["second"].errors
    record(request, **{k: got[k] for k in ("lost", "duplicated")}, articles=got["articles"])


def test_retry_after_seconds_or_http_date_and_capped():
    from scrapy.settings import Settings

    from crawlers.middlewares import BackoffRetryMiddleware, _retry_after
    assert _retry_after("3") == 3.0
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after(when) <= 31
    assert _retry_after("soon") == 0.0 and _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0

    class R:
        headers = {b"Retry-After": b"86400"}
    mw = BackoffRetryMiddleware(Settings({"NF_RETRY_BACKOFF": 0.5, "NF_RETRY_BACKOFF_MAX": 60}))
    assert mw.delay_for(1) == 0.5 and mw.delay_for(3) == 2.0
    assert mw.delay_for(1, R()) == 60.0                        # a day's Retry-After waits the cap, no more
