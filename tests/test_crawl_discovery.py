"""Discovery rules, block detection and the registry's new fields, as pure functions (the
crawl tests run the same code over HTTP)."""
import json
import re
from pathlib import Path

import pytest

from crawlers import discovery
from crawlers.blocking import classify
from crawlers.errors import RegistryError
from crawlers.registry import load_registry
from crawlers.state import ListState, load_source_state, scan_archive

ROOT = Path(__file__).resolve().parents[1]
SITES = ROOT / "mirror" / "sites"
REG = load_registry()
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))


def page(host_path: str) -> str:
    enc = "gb18030" if host_path.startswith("www.gzwhw.cn") else "utf-8"
    return (SITES / host_path).read_bytes().decode(enc)


def test_presets_give_every_cms_its_discovery_and_entries_override():
    trs, ucap, dede, hanweb = (REG.get(n) for n in ("gxzf", "hainan", "tanpaifang", "zj-sthjt"))
    assert trs.pagination == "trs" and "createPageHTML" in trs.page_count_pattern and trs.page_url == "{stem}_{i}.{ext}"
    assert ucap.page_url == "{stem}_{page}.{ext}" and ucap.next_selector == "div.pager a.next"   # entry override
    assert dede.pagination == "next" and dede.feeds == ("/data/rss/12.xml",)
    assert hanweb.dataproxy == "/module/web/jpage/dataproxy.jsp" and hanweb.sitemaps == ("/sitemap.xml",)
    assert all(s.robots == "obey" for s in REG.sources)


def test_trs_page_count_and_sequential_page_urls():
    s = REG.get("gxzf")
    first = s.start()[0]
    found = discovery.discover(s, "html", first, page("www.gxzf.gov.cn/gxyw/index.shtml"), first_url=first)
    assert found.rule == "list_item" and found.page_count == 5
    first_art = next(e for e in EXPECTED if e["source"] == "gxzf")
    assert found.articles(s)[0] == (first_art["url"], first_art["list_date"])
    assert [n.url for n in found.next_pages] == ["http://www.gxzf.gov.cn/gxyw/index_1.shtml"]    # one at a time
    last = discovery.discover(s, "html", "http://www.gxzf.gov.cn/gxyw/index_4.shtml",
                              page("www.gxzf.gov.cn/gxyw/index_4.shtml"), page=5, first_url=first)
    assert last.next_pages == []
    assert discovery.page_url(s, "http://www.gxzf.gov.cn/gxyw/", 3) == "http://www.gxzf.gov.cn/gxyw/index_2.shtml"


def test_ucap_and_dedecms_next_links_and_gbk_list_dates():
    h = REG.get("hainan")
    f = discovery.discover(h, "html", h.start()[0], page("www.hainan.gov.cn/hainan/5309/list3.shtml"))
    assert [n.url for n in f.next_pages] == ["http://www.hainan.gov.cn/hainan/5309/list3_2.shtml"]
    assert discovery.page_url(h, h.start()[0], 4) == "http://www.hainan.gov.cn/hainan/5309/list3_4.shtml"
    t = REG.get("tanpaifang")
    f = discovery.discover(t, "html", t.start()[0], page("www.tanpaifang.com/tanguihua/index.html"))
    assert [n.url for n in f.next_pages] == ["http://www.tanpaifang.com/tanguihua/list_12_2.html"]
    assert all(d for _, d in f.articles(t))
    g = REG.get("gzwhw")
    f = discovery.discover(g, "html", g.start()[0], page("www.gzwhw.cn/html/ywjj/snwh/index.html"))
    assert len(f.articles(g)) == 2 and all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for _, d in f.articles(g))


def test_hanweb_datastore_then_dataproxy_by_record_range():
    z = REG.get("zj-sthjt")
    col = z.start()[0]
    f = discovery.discover(z, "html", col, page("sthjt.zj.gov.cn/col/col1229263559/index.html"))
    assert f.rule == "datastore" and len(f.articles(z)) == 2          # records hidden in <script type="text/xml">
    (nxt,) = f.next_pages
    assert nxt.parse == "dataproxy" and "startrecord=3&endrecord=4&perpage=2" in nxt.url
    form = dict(nxt.form)
    assert form["columnid"] == "1229263559" and form["unitid"] == "4567185" and form["webname"] == "浙江省生态环境厅"
    xml = ('<?xml version="1.0"?><datastore><totalrecord>10</totalrecord><recordset>'
           '<record><![CDATA[<li><a href="/art/2025/7/3/art_1229263559_1.html">a</a><span>2025-07-03</span></li>]]></record>'
           '<record><![CDATA[<li><a href="/art/2025/6/19/art_1229263559_2.html">b</a><span>2025-06-19</span></li>]]></record>'
           "</recordset></datastore>")
    more = discovery.discover(z, "dataproxy", nxt.url, xml, page=2)
    assert more.articles(z) == [("http://sthjt.zj.gov.cn/art/2025/7/3/art_1229263559_1.html", "2025-07-03"),
                                ("http://sthjt.zj.gov.cn/art/2025/6/19/art_1229263559_2.html", "2025-06-19")]
    assert "startrecord=5&endrecord=6" in more.next_pages[0].url


def test_sitemap_index_urlset_rss_and_atom():
    z = REG.get("zj-sthjt")
    f = discovery.discover(z, "sitemap", "http://sthjt.zj.gov.cn/sitemap.xml", page("sthjt.zj.gov.cn/sitemap.xml"))
    assert len(f.articles(z)) == 10 and all(d for _, d in f.articles(z))
    idx = discovery.discover(z, "sitemap", "http://sthjt.zj.gov.cn/sitemap.xml",
                             "<sitemapindex><sitemap><loc>http://sthjt.zj.gov.cn/s1.xml</loc></sitemap></sitemapindex>")
    assert [(n.url, n.parse) for n in idx.next_pages] == [("http://sthjt.zj.gov.cn/s1.xml", "sitemap")]
    t = REG.get("tanpaifang")
    rss = discovery.discover(t, "feed", "http://www.tanpaifang.com/data/rss/12.xml", page("www.tanpaifang.com/data/rss/12.xml"))
    assert rss.rule == "rss" and len(rss.articles(t)) == 10 and all(d for _, d in rss.articles(t))
    atom = discovery.discover(t, "feed", "http://www.tanpaifang.com/atom.xml",
                              '<feed><entry><link rel="alternate" href="/tanguihua/2025/0101/1.html"/>'
                              "<updated>2025-01-01T08:00:00+08:00</updated></entry></feed>")
    assert atom.articles(t) == [("http://www.tanpaifang.com/tanguihua/2025/0101/1.html", "2025-01-01")]


def test_changed_template_falls_back_to_any_matching_link():
    s = REG.get("gxzf")
    html = '<html><body><div class="new"><a href="./t1.shtml">x</a> <a href="/other/">y</a></div></body></html>'
    f = discovery.discover(s, "html", "http://www.gxzf.gov.cn/gxyw/index.shtml", html)
    assert f.rule == "any_link" and f.articles(s) == [("http://www.gxzf.gov.cn/gxyw/t1.shtml", None)] and f.notes


H = [("Content-Type", "text/html; charset=utf-8")]


@pytest.mark.parametrize("kind,status,headers,body,url,expect", [
    ("article", 412, H, b"<script>$_ts=window['$_ts'];</script>", "http://a.cn/t1.html", "challenge_ruishu"),
    ("list", 202, H, b'<meta r="m"><script r="m">$_ts.nsd=1</script>', "http://a.cn/", "challenge_ruishu"),
    ("article", 412, H, b"<html>denied</html>", "http://a.cn/t1.html", "challenge_412"),
    ("article", 521, H + [("Set-Cookie", "__jsluid_h=1; path=/")], b"<script>document.cookie=1</script>",
     "http://a.cn/t1.html", "challenge_jsl"),
    ("article", 200, H, b"<script>reload('acw_sc__v2')</script>", "http://a.cn/t1.html", "challenge_acw"),
    ("article", 200, H, b"<html>login</html>", "http://a.cn/login.html?ReturnUrl=/t1", "login_wall"),
    ("article", 401, H, b"", "http://a.cn/t1.html", "login_wall"),
    ("article", 200, H, "<title>提示</title>您访问的页面不存在".encode(), "http://a.cn/t1.html", "soft_404"),
    ("article", 200, H, "<title>提示</title>您访问的页面不存在".encode("gbk"), "http://a.cn/t1.html", "soft_404"),
    ("article", 200, H, b"<title>x</title>", "http://a.cn/404.html", "soft_404"),
    ("article", 200, [("Content-Type", "application/pdf")], b"%PDF-1.4", "http://a.cn/t1.html", "not_html"),
    ("article", 200, H, "<title>第404期 环保快讯</title>".encode() + b"x" * 9000, "http://a.cn/t1.html", None),
    ("article", 200, H, b"<title>ok</title><p>" + b"x" * 9000, "http://a.cn/t1.html", None),
    ("article", 503, H, b"busy", "http://a.cn/t1.html", None),
])
def test_classify(kind, status, headers, body, url, expect):
    assert classify(kind, status, headers, body, url) == expect


def test_js_only_list_only_when_no_article_link():
    body = b"<ul id='list'></ul><script>$.ajax({url:'/api/list'})</script>"
    assert classify("list", 200, H, body, "http://a.cn/", found_articles=0) == "js_only_list"
    assert classify("list", 200, H, body, "http://a.cn/", found_articles=3) is None
    assert classify("list", 200, [("Content-Type", "text/xml")], b"<urlset/>", "http://a.cn/s.xml", parse="sitemap") is None


@pytest.mark.parametrize("new,field", [
    ('name = "gxzf"\nrobots = "sometimes"', "robots"),
    ('name = "gxzf"\ndelay = -1', "delay"),
    ('name = "gxzf"\nconcurrency = 0', "concurrency"),
    ('name = "gxzf"\npage_url = "{stem}_{x}.{ext}"', "page_url"),
    ('name = "gxzf"\nfeeds = ["ftp://x"]', "feeds"),
    ('name = "gxzf"\ndataproxy = "module/x.jsp"', "dataproxy"),
])
def test_bad_new_fields_fail_naming_source_and_field(broken_registry, new, field):
    with pytest.raises(RegistryError, match=rf"'gxzf'.*'{field}'"):
        load_registry(broken_registry('name = "gxzf"', new))


def test_state_files_make_a_crawl_incremental_without_a_warehouse(tmp_path):
    from crawlers.archive import ArchiveWriter
    from crawlers.state import write_run_state
    import datetime as dt
    folder = tmp_path / "gxzf"
    write_run_state(folder, "r1", "gxzf", [{"url": "http://x/t1", "final_url": "http://x/t1", "kind": "article",
                                           "status": 200, "block": None}],
                    {"http://x/": ListState('"e1"', None, [("http://x/t1", None)], [], None, 200)})
    (folder / "r1.stats.json").write_text("{}")
    (folder / "r1.warc.gz").write_bytes(b"")
    w = ArchiveWriter(folder / "r2.warc.gz")         # a killed run: WARC without stats
    for i in range(3):
        w.write(url=f"http://x/t{i + 2}", final_url=f"http://x/t{i + 2}", fetch_url="http://127.0.0.1:1/", status=200,
                headers=[("Content-Type", "text/html")], body=b"<p>x</p>" * 50, fetched_at=dt.datetime.now(dt.timezone.utc),
                source="gxzf", page_kind="article", list_date=None, run_id="r2")
    w.close()
    size = (folder / "r2.warc.gz").stat().st_size
    with open(folder / "r2.warc.gz", "ab") as fh:
        fh.write(b"\x1f\x8b\x08\x00torn")            # half a record, as SIGKILL leaves it
    state, resume = load_source_state(folder, None, "r3")
    assert state.stop_known == {"http://x/t1"} and state.lists["http://x/"].etag == '"e1"'
    assert {"http://x/t2", "http://x/t3", "http://x/t4"} <= state.known
    assert resume.run_id == "r2" and resume.torn and resume.good_end == size and len(resume.pages) == 3
    assert len(scan_archive(folder / "r2.warc.gz").pages) == 3


def test_politeness_comes_from_the_registry_per_source():
    from crawlers.settings import per_source_settings
    gx, tp = REG.get("gxzf"), REG.get("tanpaifang")
    assert per_source_settings(gx, polite=True) == {"ROBOTSTXT_OBEY": True, "DOWNLOAD_DELAY": 1.0,
                                                    "AUTOTHROTTLE_START_DELAY": 1.0, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}
    assert per_source_settings(tp, polite=True)["CONCURRENT_REQUESTS_PER_DOMAIN"] == 1
    assert per_source_settings(gx, polite=False) == {"ROBOTSTXT_OBEY": True}        # the mirror: politeness off
    f = load_registry(ROOT / "tests" / "registries" / "faults.toml")
    assert per_source_settings(f.get("f-mixed"), polite=False) == {
        "ROBOTSTXT_OBEY": True, "DOWNLOAD_TIMEOUT": 1.0, "RETRY_TIMES": 2, "NF_RETRY_BACKOFF": 0.2}
    assert per_source_settings(f.get("f-private-ignore"), polite=True)["ROBOTSTXT_OBEY"] is False
