"""`newsflow web` in a real browser: Playwright driving Debian's chromium (/usr/bin/chromium,
installed by `make system-deps`) against the explorer on 127.0.0.1, port 0, over the same
fixture warehouse as tests/test_web.py. Search, pick a facet, open a story, open an article,
replay its archived page (scripts off, nothing requested from outside), download the CSV, and
the search page by keyboard alone. Every page's screenshot is kept as an artifact in
$NEWSFLOW_ARTIFACTS (default bench/out/web/)."""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

import warehouse
import webfixture

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("NEWSFLOW_ARTIFACTS", Path(__file__).resolve().parents[1] / "bench" / "out" / "web"))
Q = "生态"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make system-deps)")


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    fx = webfixture.build(tmp_path_factory.mktemp("web-browser"))
    server = webfixture.start(fx)
    try:
        yield fx
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, fx):
    """A fresh page that records every request it makes and refuses any not to the explorer."""
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    pg.requests = []
    pg.outside = []             # requests that reached the network layer for another host (aborted)
    pg.blocked = {}             # url -> why the browser stopped it itself (e.g. 'csp')

    def route(r):
        if r.request.url.startswith(fx.url):
            r.continue_()
        else:
            pg.outside.append(r.request.url)
            r.abort()
    ctx.route("**/*", route)
    pg.on("request", lambda req: pg.requests.append(req.url))
    pg.on("requestfailed", lambda req: pg.blocked.setdefault(req.url, req.failure))
    pg.set_default_timeout(20_000)
    try:
        yield pg
    finally:
        ctx.close()


def shot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def search(pg, fx, query: str = Q):
    pg.goto(fx.url + "/")
    pg.fill("#q", query)
    pg.press("#q", "Enter")
    pg.wait_for_url(re.compile(r"\?q="))


def test_search_facet_story_article_replay(page, fx):
    search(page, fx)
    total = int(page.inner_text("#n-articles").replace(",", ""))
    assert total > 20 and page.locator("#hits li.hit").count() == 20
    assert page.locator("#hits mark").first.inner_text() in (Q, "生態")      # marked in the script it is written in
    shot(page, "search")

    # a facet: the first source; the URL now holds it and every row is from there
    link = page.locator("#facet-source a.fv").first
    source = link.get_attribute("data-value")
    link.click()
    page.wait_for_url(re.compile("source="))
    assert dict(parse_qsl(urlsplit(page.url).query))["source"] == source
    assert page.locator("#facet-source a.fv.on").count() == 1
    shot(page, "facet")
    for o in page.locator("#hits .outlet").all_inner_texts():
        assert o == source

    # a story with several copies: the canonical one marked
    cluster = warehouse.query(fx.db, "select cluster_id from stories where articles > 1 order by cluster_id limit 1")[1][0][0]
    page.goto(f"{fx.url}/story/{cluster}")
    assert page.locator("#copies tbody tr").count() >= 2
    assert page.locator("#copies tr.canonical .badge").count() == 1
    shot(page, "story")

    # its canonical article, then the archived page in the sandboxed frame
    page.locator("#copies tr.canonical td a").first.click()
    page.wait_for_url(re.compile("/article/"))
    assert page.locator("#fields").is_visible() and page.locator("#tags").is_visible()
    frame_el = page.locator("iframe#replay")
    frame_el.scroll_into_view_if_needed()
    assert frame_el.get_attribute("sandbox") == ""
    frame = page.frame_locator("iframe#replay")
    assert frame.locator("body").inner_text(timeout=20_000).strip()
    shot(page, "article")
    assert not page.outside, page.outside


def test_replay_runs_no_script_and_requests_nothing_outside(page, fx):
    aid = warehouse.query(fx.db, "select id from articles where url = ?", [webfixture.HOSTILE_URL])[1][0][0]
    page.goto(f"{fx.url}/article/{aid}")
    assert "<script>" in page.locator("h1").inner_text()           # the title shown as text, not run
    frame_el = page.locator("iframe#replay")
    frame_el.scroll_into_view_if_needed()
    body = page.frame_locator("iframe#replay").locator("body")
    assert "红树林" in body.inner_text(timeout=20_000)
    page.wait_for_timeout(500)
    assert body.get_attribute("data-ran") is None                  # its script never ran
    frame = next(f for f in page.frames if f.url.endswith(f"/raw/{aid}"))
    assert frame.title() != webfixture.HOSTILE_MARK
    shot(page, "replay")
    # the page asked for its image (and its script would have): the CSP stopped it in the browser,
    # so no request to another host ever reached the network
    tried = [u for u in page.requests if not u.startswith(fx.url)]
    assert tried == [webfixture.OUTSIDE] and page.blocked[webfixture.OUTSIDE] == "csp"
    assert not page.outside


def test_download_csv(page, fx, tmp_path):
    search(page, fx)
    total = int(page.inner_text("#n-articles").replace(",", ""))
    with page.expect_download() as info:
        page.click("#dl-csv")
    dl = info.value
    path = tmp_path / dl.suggested_filename
    dl.save_as(str(path))
    assert path.suffix == ".csv"
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == total and {"id", "title", "topics", "published_at"} <= set(rows[0])


def test_sources_page(page, fx):
    page.goto(fx.url + "/sources")
    assert page.locator("#health tbody tr").count() == 8
    assert page.locator("#yield svg").count() >= 1
    shot(page, "sources")


def test_search_page_by_keyboard_alone(page, fx):
    page.goto(fx.url + "/")
    page.keyboard.press("/")                                        # the shortcut focuses the search box
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(Q)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"\?q="))
    # Tab to the first source facet value and choose it with Enter
    for _ in range(60):
        page.keyboard.press("Tab")
        cls = page.evaluate("document.activeElement.className || ''")
        if "fv" in cls.split():
            break
    else:
        pytest.fail("no facet value reachable with Tab")
    focused = page.evaluate("document.activeElement.getAttribute('data-value')")
    # the focus is visible
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("source=|province=|topic="))
    assert focused in {v for _, v in parse_qsl(urlsplit(page.url).query)}
    # onwards to the first result and open it
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('title')"):
            break
    else:
        pytest.fail("no result reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile("/story/|/article/"))
    shot(page, "keyboard")
