"""Incremental crawling over real HTTP against the mirror: conditional GETs, known URLs not
fetched again, --since back-fill, --refresh keeping earlier versions."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from crawlers.archive import read_pages

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
LISTS = json.loads((ROOT / "mirror" / "expected_lists.json").read_text(encoding="utf-8"))


def run(tmp, server, run_id, *args, sources=()):
    (tmp / "map.json").write_text(json.dumps(server.base_urls))
    before = len(server.log)
    proc = subprocess.run([sys.executable, "-m", "crawlers.run", "--out", str(tmp / "a"), "--run-id", run_id,
                           "--map", str(tmp / "map.json"), "--log-file", str(tmp / f"{run_id}.log"), *args, *sources],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    return proc, server.log[before:]


def test_unchanged_site_recrawled_asks_304_and_requests_no_article(tmp_path, mirror_server):
    proc, first = run(tmp_path, mirror_server, "r1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len([r for r in first if r["method"] == "GET" and "/robots.txt" not in r["path"]]) > 80
    proc, second = run(tmp_path, mirror_server, "r2")          # no warehouse: the state files on disk
    assert proc.returncode == 0, proc.stderr[-2000:]
    fetched = [r for r in second if "/robots.txt" not in r["path"]]
    assert fetched and all(r["status"] == 304 and r["if_none_match"] for r in fetched), fetched
    # one 304 per start URL, sitemap and feed: paging stopped at the first page of known URLs
    assert len(fetched) == 8 + 1 + 1
    for source in LISTS:
        stats = json.loads((tmp_path / "a" / source / "r2.stats.json").read_text())
        assert stats["status"] == "ok" and stats["article_requests"] == 0 and stats["not_modified"] >= 1
        assert "nothing_new" in stats["flags"] and stats["known_skipped"] >= 2


def test_since_backfills_past_known_pages_until_items_are_older(tmp_path, mirror_server):
    arts = [e for e in EXPECTED if e["source"] == "gxzf"]          # newest first, 2 per list page
    proc, log = run(tmp_path, mirror_server, "r1", "--max-pages", "2", sources=["gxzf"])
    assert proc.returncode == 0 and len([r for r in log if "/t" in r["path"]]) == 4
    proc, log = run(tmp_path, mirror_server, "r2", sources=["gxzf"])
    assert [r["status"] for r in log if "robots" not in r["path"]] == [304]       # known page: stop
    since = arts[5]["list_date"]
    proc, log = run(tmp_path, mirror_server, "r3", "--since", since, sources=["gxzf"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = {r["path"] for r in log if "/gxyw/t" in r["path"]}
    assert got == {"/" + a["url"].split("/", 3)[3] for a in arts[4:6]}
    lists = [(r["path"], r["status"]) for r in log if "index" in r["path"]]
    assert lists == [("/gxyw/index.shtml", 304), ("/gxyw/index_1.shtml", 304), ("/gxyw/index_2.shtml", 200),
                     ("/gxyw/index_3.shtml", 200)]        # page 4 is all older than --since: paging stops
    stats = json.loads((tmp_path / "a" / "gxzf" / "r3.stats.json").read_text())
    assert stats["mode"] == "since" and dict(stats["skipped_by_kind"])["older_than_since"] == 2
    listed = {p.url: p.list_date for p in read_pages(tmp_path / "a" / "gxzf" / "r3.warc.gz") if p.page_kind == "article"}
    assert listed == {arts[4]["url"]: arts[4]["list_date"], arts[5]["url"]: arts[5]["list_date"]}


def test_refresh_refetches_known_articles_and_keeps_the_earlier_version(tmp_path):
    import warehouse
    from flows import steps
    from flows.crawl import crawl
    from mirror.server import serve
    sites = tmp_path / "sites"
    shutil.copytree(ROOT / "mirror" / "sites", sites)
    db, archive = tmp_path / "w.duckdb", tmp_path / "archive"
    target = next(e for e in EXPECTED if e["source"] == "hainan")

    def once(run_id, server, **kw):
        stats = crawl(["hainan"], archive_dir=archive, run_id=run_id, mapping=server.base_urls,
                      state=steps.crawl_state(db, ["hainan"]), **kw)
        steps.record_crawl(db, stats, archive)
        counts = steps.process_archives(db, steps.archive_paths_for(stats), archive=archive)
        return stats[0], counts.get("hainan", steps.SourceCounts())

    with serve(sites) as server:
        s1, c1 = once("r1", server)
        assert s1.status == "ok" and c1.new == 10
        page = sites / target["path"]
        page.write_bytes(page.read_bytes().replace("</ucapcontent>".encode(), "<p>更正：本文有修改。</p></ucapcontent>".encode()))
        s2, c2 = once("r2", server)                          # incremental: the edit is not seen
        assert s2.article_requests == 0 and c2.updated == 0
        s3, c3 = once("r3", server, refresh=True)
    assert s3.mode == "refresh" and s3.article_requests == 10 and s3.articles_archived == 10
    assert (c3.updated, c3.unchanged, c3.new) == (1, 9, 0)
    # (the list may link it with Hainan's ?ddtab=true: the crawl log keeps the URL as fetched)
    spellings = [target["url"], target["url"] + "?ddtab=true"]
    rows = warehouse.query(db, "select run_id, warc_path from crawl_urls where url in (?, ?) and kind = 'article' "
                               "order by run_id", spellings)[1]
    assert [r[0] for r in rows] == ["r1", "r3"]
    assert [r[1] for r in rows] == ["hainan/r1.warc.gz", "hainan/r3.warc.gz"]     # under the archive root
    old = next(p for p in read_pages(archive / rows[0][1]) if p.url in spellings)
    new = next(p for p in read_pages(archive / rows[1][1]) if p.url in spellings)
    assert "更正".encode() not in old.body and "更正".encode() in new.body          # both versions kept
    (text,) = warehouse.query(db, "select text from articles where url = ?", [target["url"]])[1][0]
    assert "更正" in text


def test_links_are_compared_by_their_canonical_url():
    """One page under two spellings (Hainan's optional ?ddtab=true, a tracking parameter) is
    requested once in a run, and not at all when its canonical URL is already known."""
    from crawlers.discovery import Found, Next
    from crawlers.registry import load_registry
    from crawlers.spiders.registry_spider import RegistrySpider
    from crawlers.state import SourceState
    hainan = load_registry().get("hainan")
    base = "http://www.hainan.gov.cn/hainan/5309/202501/"
    a, b = base + "a" * 32 + ".shtml", base + "b" * 32 + ".shtml"
    found = Found("html", "list_item", items=[(a + "?ddtab=true", None), (a, None), (a + "?utm_source=wx", None),
                                               (b + "?ddtab=true", None)])
    spider = RegistrySpider(source=hainan, run_id="r1", state=SourceState(known={b}, stop_known={b}))
    requests = list(spider.follow(found, Next(hainan.start()[0], 1), hainan.start()[0]))
    assert [r.meta["nf_logical"] for r in requests] == [a + "?ddtab=true"]     # fetched as linked
    assert spider.tally.known_skipped == 1
