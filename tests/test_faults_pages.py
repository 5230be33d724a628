"""Bad pages: each becomes a valid article or a rejection with a clear reason, and none stops a
run. Checked twice: page by page (the crawler's classification, then flows.process.to_record),
and end to end (served over HTTP on 127.0.0.1, crawled, archived, processed into a warehouse:
every page lands exactly once, in `articles` or in `rejected` with its reason).
"""
import dataclasses
import datetime as dt

import pytest

import warehouse
from crawlers.archive import read_pages
from crawlers.blocking import classify
from crawlers.registry import load_registry
from faults.helpers import REGISTRY, record
from faults.netserver import FaultServer
from faults.pages import UTF8, article, bad_pages
from flows.process import to_record
from schemas import Article, RawPage, Rejected

PAGES = bad_pages()
BASE = "http://pages.faults.test"
UTC = dt.timezone.utc


def raw(name, body, ctype, status=200, source=None):
    url = f"{BASE}/p/{name}.html"
    headers = (("Content-Type", ctype),) if ctype else ()
    block = classify("article", status, list(headers), body, url)
    return RawPage(url=url, final_url=url, status=status, headers=headers, body=body,
                   fetched_at=dt.datetime(2025, 7, 1, tzinfo=UTC), source="fault-pages", page_kind="article",
                   list_date="2025-07-01", run_id="r1", block_reason=block, warc_path="x.warc.gz", warc_offset=0)


def check(rec, expect):
    """The record is what `expect` says (see tests/faults/pages.py)."""
    if expect[0] == "rejected":
        _, reason, detail = expect
        assert isinstance(rec, Rejected), f"let through as an article: {getattr(rec, 'title', rec)!r}"
        assert rec.reason == reason and detail in rec.detail, (rec.reason, rec.detail)
        return
    assert isinstance(rec, Article), f"rejected: {getattr(rec, 'reason', None)} {getattr(rec, 'detail', None)}"
    want = expect[1]
    assert rec.title == want["title"]
    if "text_starts" in want:
        assert rec.text.startswith(want["text_starts"]), rec.text[:80]
    if "encoding_in" in want:
        assert rec.encoding in want["encoding_in"], rec.encoding
    if "text_has" in want:
        assert want["text_has"] in rec.text
    if "text_lacks" in want:
        assert want["text_lacks"] not in rec.text
    if "attachments" in want:
        assert len(rec.attachments) == want["attachments"], rec.attachments
    if "flag" in want:
        assert want["flag"] in rec.quality_flags, rec.quality_flags
    assert "\ufffd" not in rec.title and "广西" in rec.text


@pytest.mark.parametrize("name", list(PAGES))
def test_bad_page_becomes_an_article_or_a_clear_rejection(name, request):
    page = PAGES[name]
    rec = to_record(raw(name, page["body"], page["ctype"]), None)
    check(rec, page["expect"])
    record(request, crashes=0, let_through=0, outcome=rec.reason if isinstance(rec, Rejected) else "article")


def test_twenty_megabyte_body_is_rejected_before_parsing(request):
    """The crawler cancels bodies over the cap (test_crawl_faults); a page archived bigger (a
    source allowed more, an older archive) is refused by processing too, without parsing it."""
    big = article(inside="<p>" + "数据" * 10_000_000 + "</p>").encode()
    assert len(big) > 20_000_000
    t = dt.datetime.now()
    rec = to_record(raw("big", big, UTF8), None)
    assert isinstance(rec, Rejected) and rec.reason == "too_large", rec
    assert (dt.datetime.now() - t).total_seconds() < 5
    source = load_registry(REGISTRY).get("fault-pages")
    roomy = dataclasses.replace(source, max_bytes=32 * 1024 * 1024)          # the source allows it
    page = article(inside="<img src='data:image/png;base64," + "QUJD" * 2_500_000 + "'>").encode()  # 10 MB
    assert isinstance(to_record(raw("inline", page, UTF8), roomy), Article)
    record(request, crashes=0, let_through=0)


@pytest.mark.parametrize("status", [302, 301, 500, 404])
def test_an_error_or_unfollowed_redirect_is_an_http_error(status, request):
    """A redirect that was not followed (another domain) is archived as the 3xx: a rejection
    naming the status and target, never an 'empty' article page."""
    page = raw("r", b"", None, status=status)
    if status in (301, 302):
        page = dataclasses.replace(page, headers=(("Location", "http://elsewhere.example/x.html"),))
    rec = to_record(page, None)
    assert isinstance(rec, Rejected) and rec.reason == "http_error" and f"HTTP {status}" in rec.detail
    if status in (301, 302):
        assert "elsewhere.example" in rec.detail and "not followed" in rec.detail
    record(request, crashes=0, let_through=0)


# ------------------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    from flows import steps
    from flows.crawl import crawl
    tmp = tmp_path_factory.mktemp("pages")
    items = "".join(f"<li><a href='/p/{n}.html'>{n}</a><span>2025-07-01</span></li>" for n in PAGES)
    routes = {"/list.html": {"body": f"<html><body><ul class='list'>{items}</ul></body></html>".encode()}}
    routes.update({f"/p/{n}.html": {"body": p["body"], "headers": [("Content-Type", p["ctype"])]}
                   for n, p in PAGES.items()})
    with FaultServer(routes) as server:
        stats = crawl(["fault-pages"], archive_dir=tmp / "archive", run_id="r1", registry=REGISTRY,
                      mapping={BASE: server.base_url}, timeout=120)
    db = tmp / "w.duckdb"
    steps.record_crawl(db, stats)
    counts = steps.process_archives(db, steps.archive_paths_for(stats), load_registry(REGISTRY))
    return dict(db=db, stats=stats, counts=counts, warc=tmp / "archive" / "fault-pages" / "r1.warc.gz")


def test_a_run_over_every_bad_page_completes_and_accounts_for_each(crawled, request):
    db, (stats,) = crawled["db"], crawled["stats"]
    assert stats.status == "ok" and stats.articles_archived + stats.blocked == len(PAGES)
    arts = dict(warehouse.query(db, "select url, title from articles")[1])
    rej = {u: (r, d) for u, r, d in warehouse.query(db, "select url, reason, detail from rejected")[1]}
    pages = {p.url: p for p in read_pages(crawled["warc"]) if p.page_kind == "article"}
    wrong = []
    for name, page in PAGES.items():
        url = f"{BASE}/p/{name}.html"
        assert url in pages, f"{name} was not archived"
        assert (url in arts) != (url in rej), f"{name}: in articles {url in arts}, in rejected {url in rej}"
        exp = page["expect"]
        if exp[0] == "article":
            if url not in arts or arts[url] != exp[1]["title"]:
                wrong.append((name, rej.get(url), arts.get(url)))
        elif url not in rej or rej[url][0] != exp[1] or exp[2] not in rej[url][1]:
            wrong.append((name, rej.get(url), arts.get(url)))
    assert not wrong
    n_art = sum(1 for p in PAGES.values() if p["expect"][0] == "article")
    c = crawled["counts"]["fault-pages"]
    assert (c.new, c.rejected) == (n_art, len(PAGES) - n_art)
    assert warehouse.query(db, "select count(*), count(distinct url) from articles")[1] == [(n_art, n_art)]
    record(request, lost=0, duplicated=0, crashes=0, pages=len(PAGES), articles=n_art, rejected=len(PAGES) - n_art)


def test_the_same_archive_processed_again_changes_nothing(crawled, request):
    from flows import steps
    db = crawled["db"]
    before = warehouse.query(db, "select count(*) from articles")[1] + warehouse.query(db, "select count(*) from rejected")[1]
    counts = steps.process_archives(db, [crawled["warc"]], load_registry(REGISTRY), dedupe=False, snapshot=False)
    c = counts["fault-pages"]
    assert c.new == 0 and c.updated == 0
    after = warehouse.query(db, "select count(*) from articles")[1] + warehouse.query(db, "select count(*) from rejected")[1]
    assert before == after
    record(request, duplicated=0)
