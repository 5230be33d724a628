"""`newsflow report` over a real small warehouse (the mirror's 80 articles, extracted, tagged
and deduplicated by process_archives, plus two hostile ones and two crawl runs): the sections
an analyst reads, the header, the escaping, and the page as headless Chromium lays it out
(labels inside their charts and not touching, nothing wider than the window, no empty panel).

Set NEWSFLOW_SAVE_SCREENSHOTS=1 to also copy the screenshot to bench/out/report-screenshot.png.
"""
import datetime as dt
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import warehouse
from browser import CHROMIUM, Browser
from flows.cli.report import choose_bins, make_report, render
from flows.steps import process_archives
from test_reextract import archive_some
from test_warehouse import art

ROOT = Path(__file__).resolve().parents[1]
UTC = dt.timezone.utc
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>标题'
NOW = dt.datetime(2025, 9, 2, 1, 30, tzinfo=UTC)            # 09:30 in Asia/Shanghai


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    db = tmp / "w.duckdb"
    warc = tmp / "a.warc.gz"
    archive_some(warc, n_per_source=10)
    process_archives(db, [warc])
    hostile = replace(art(99999), title=SCRIPT, original_source="'; DROP TABLE articles; --", source="gxzf",
                      published_at=dt.datetime(2025, 9, 1, 8, tzinfo=UTC))
    hostile2 = replace(hostile, id="id-hostile-2", url="javascript:alert(1)", source="hainan",
                       published_at=dt.datetime(2025, 8, 31, 8, tzinfo=UTC))
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [hostile, hostile2])
        # processed runs (their counts are final: the source_health view averages only those)
        con.execute("INSERT INTO crawl_runs (run_id, source, started_at, finished_at, status, pages_fetched, errors, "
                    "articles_new, processed_at) VALUES ('r1', 'gxzf', now(), now(), 'ok', 10, 1, 7, now()), "
                    "('r1', 'hainan', now(), now(), 'failed', 0, 3, 0, now())")
    out = make_report(db, tmp / "report.html", now=NOW)
    return out, out.read_text(encoding="utf-8"), db


def section(page: str, element_id: str) -> str:
    """The HTML from the element with this id to the next <h2> (or the end)."""
    start = page.index(f'id="{element_id}"')
    end = page.find("<h2", start)
    return page[start:end if end > 0 else len(page)]


def test_self_contained_and_escaped(report):
    path, page, db = report
    assert not re.search(r"<script|<link|<iframe|<img|<[a-z][^>]*\ssrc=|@import|url\(", page, re.I)  # nothing fetched
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith(("#", "http://", "https://")) for h in hrefs), hrefs
    assert not any("javascript" in h for h in hrefs)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;标题" in page
    assert "&#x27;; DROP TABLE articles; --" in page                              # 来源 shown, escaped
    assert warehouse.query(db, "select count(*) from articles where original_source = ?",
                           ["'; DROP TABLE articles; --"])[1][0][0] == 2      # stored as data


def test_header_names_the_file_the_time_zone_and_the_counts(report):
    path, page, db = report
    head = section(page, "header")
    assert f"<code>{db}</code>" in head
    assert "2025-09-02 09:30 UTC+08:00 (Asia/Shanghai)" in head                # not UTC under a Shanghai label
    assert "published 2023-07-06 – 2025-09-01" in head
    cards = dict((k, v) for v, k in re.findall(r'<div class="card"><b>([\d,]+)</b><span>(\w+)</span>', head))
    n_stories = warehouse.query(db, "select count(distinct coalesce(d.cluster_id, a.id)) from articles a "
                                    "left join dedupe_docs d on d.article_id = a.id")[1][0][0]
    assert cards["articles"] == "82" and cards["sources"] == "8" and cards["stories"] == str(n_stories) == "81"
    assert cards["topics"] == "8" and int(cards["partners"]) > 20 and int(cards["places"]) > 10
    assert "1 carried by more than one source" in head


def test_generated_time_is_shanghai_whatever_the_machine_zone(report, tmp_path, monkeypatch):
    import time
    from flows.extract.dates import SHANGHAI
    path, page, db = report
    monkeypatch.setenv("TZ", "UTC")              # a server's clock; the old header printed this zone's time
    time.tzset()
    try:
        head = section(make_report(db, tmp_path / "r.html").read_text(encoding="utf-8"), "header")
    finally:
        monkeypatch.undo()
        time.tzset()
    stamp = re.search(r"Generated</dt><dd>(\d{4}-\d\d-\d\d \d\d:\d\d) UTC\+08:00 \(Asia/Shanghai\)", head)
    made = dt.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)
    assert abs((dt.datetime.now(UTC) - made).total_seconds()) < 180


def test_totals_by_source_topic_partner_and_place(report):
    path, page, db = report
    rows = re.findall(r"<tr><td class=nw><b>([^<]+)</b></td><td class=nw>([^<]*)</td><td>([^<]*)</td>"
                      r"<td class=n>([\d,]+)</td>", section(page, "by-source"))
    by = {r[0]: r for r in rows}
    assert len(rows) == 8 and by["gxzf"][1:] == ("广西壮族自治区人民政府门户网站", "广西", "11")
    assert by["tanpaifang"][2] == "national" and by["hainan"][3] == "11"
    topics = section(page, "by-topic")
    assert "International cooperation" in topics and "国际合作" in topics          # labels, not ids
    assert "ASEAN" in section(page, "by-partner") and "东盟" in section(page, "by-partner")
    places = section(page, "by-place")
    assert places.index(">广西<") < places.index(">浙江<")                     # most first


def test_small_multiples_share_bins_and_have_full_labels(report):
    path, page, db = report
    for group, n in (("multiples-source", 8), ("multiples-topic", 8)):
        html = section(page, group)
        assert html.count('<figure class="panel"') == n, group
        svgs = re.findall(r"<svg class=\"chart\".*?</svg>", html)
        labels = [re.findall(r'class="axis xlabel"[^>]*>([^<]+)<', s) for s in svgs]
        assert all(len(ls) >= 3 and ls == labels[0] for ls in labels), labels  # shared x axis
        assert all(re.fullmatch(r"\d{4}-\d{2}", x) for x in labels[0]), labels[0]   # never "2025-0"
        tops = {re.findall(r'text-anchor="end">([^<]+)<', s)[-1] for s in svgs}
        assert len(tops) == 1, tops                                                  # shared y scale
    assert "Each bar is one calendar month" in section(page, "trends")            # says which bins
    assert section(page, "multiples-source").count("<rect") >= 30


def test_days_are_shanghai_days_whatever_the_session_zone(report):
    from warehouse import report_data
    path, page, db = report
    with warehouse.connect(db, read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")      # sd-sthj's pages say 00:00: the day before in UTC
        utc = sorted(con.execute("select published_at::date, source, count(*) from articles group by all").fetchall())
        ours = sorted(report_data.daily_by_source(con))
        view = sorted(con.execute("select day, source, articles from daily_source_counts").fetchall())
    assert ours == view and ours != utc


def test_newest_and_most_syndicated_stories_link_every_outlet(report):
    path, page, db = report
    newest = section(page, "newest")
    first = newest.split("<tbody>")[1].split("</tr>")[0]
    assert "2025-09-01 16:00" in first and "&lt;script&gt;" in first                # newest first, escaped
    assert 'href="http://www.gxzf.gov.cn/gxyw/t99999.shtml"' in first
    second = newest.split("</tr>")[2]
    assert "hainan" in second and "href" not in second.split("story")[1].split("</td>")[0]   # javascript: not linked
    syndicated = section(page, "syndicated")
    _, rows = warehouse.query(db, "select source, url from articles where id in (select article_id from "
                                  "dedupe_docs where cluster_id in (select cluster_id from stories where articles > 1))")
    assert len(rows) == 2 and {r[0] for r in rows} == {"gz-sthj", "gzwhw"}
    for source, url in rows:
        assert f'<a href="{url}" rel="noopener noreferrer"><b>{source}</b></a>' in syndicated
    assert "来源 人民日报" in syndicated


def test_health_from_crawl_runs(report):
    path, page, db = report
    health = section(page, "health")
    assert re.search(r"<b>gxzf</b></td><td class=ok>ok</td>", health)
    assert re.search(r"<b>hainan</b></td><td class=bad>failed</td>", health)
    assert re.search(r"<b>gx-sthjt</b></td><td class=muted>never crawled</td>", health)
    gxzf = health.split("<b>gxzf</b>")[1].split("</tr>")[0]
    assert "<td class=n>7</td><td class=n>7.0</td><td class=n>10.0%</td>" in gxzf  # new, new/run, errors


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make system-deps installs it)")
def test_renders_in_headless_chromium_with_nothing_cut(report, tmp_path):
    path, page, db = report
    shot = tmp_path / "report.png"
    with Browser() as browser:
        tab = browser.open(path.as_uri(), width=1160)
        layout = tab.evaluate(LAYOUT_JS)
        tab.screenshot(shot)
    if os.environ.get("NEWSFLOW_SAVE_SCREENSHOTS"):
        (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, ROOT / "bench" / "out" / "report-screenshot.png")
    assert ink(shot.read_bytes()) > 0.01, "the screenshot is blank"
    assert layout["charts"] == 16 and layout["xlabels"] >= 16 * 3
    assert layout["outside"] == [], layout["outside"]          # a label cut by its chart's edge
    assert layout["overlaps"] == [], layout["overlaps"]        # two labels on top of each other
    assert layout["empty"] == [], layout["empty"]              # a panel without a bar
    assert layout["clipped"] == [], layout["clipped"]          # a caption cut off
    assert layout["page_width"] <= 1160, layout["page_width"]  # no sideways scrolling
    assert layout["tables"] == 7


# Evaluated by the test through DevTools (the page itself has no script).
LAYOUT_JS = r"""
(() => {
  const r = {charts: 0, xlabels: 0, outside: [], overlaps: [], empty: [], clipped: [], tables: 0};
  for (const svg of document.querySelectorAll("svg.chart")) {
    r.charts++;
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll("text")].map(t => [t.textContent, t.getBoundingClientRect()]);
    r.xlabels += svg.querySelectorAll("text.xlabel").length;
    for (const [s, b] of texts)
      if (b.left < box.left - 0.5 || b.right > box.right + 0.5 || b.top < box.top - 0.5 || b.bottom > box.bottom + 0.5)
        r.outside.push(s);
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        const [a, p] = texts[i], [b, q] = texts[j];
        if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) r.overlaps.push(a + " / " + b);
      }
    if (!svg.querySelector("rect")) r.empty.push(svg.getAttribute("aria-label"));
  }
  for (const c of document.querySelectorAll("figcaption, td, th"))
    if (c.scrollWidth > c.clientWidth + 1) r.clipped.push(c.textContent.slice(0, 40));
  r.tables = document.querySelectorAll("table").length;
  r.page_width = document.documentElement.scrollWidth;
  return r;
})()
"""


def ink(png: bytes) -> float:
    """Share of decoded PNG bytes that are neither 0 nor 255: ~0 for a blank page (white
    pixels, or zeros once PNG's row filters apply), clearly more with text and charts."""
    import struct
    import zlib
    pos, data = 8, b""
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        if kind == b"IDAT":
            data += png[pos + 8:pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(data)
    return sum(1 for b in raw[::7] if b not in (0, 255)) / max(len(raw[::7]), 1)


def test_cli_report_names_the_file_it_read(report, tmp_path):
    from flows.cli import main
    path, page, db = report
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["--db", str(db), "report", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert f"report of {db} written to {out}" in result.output
    assert f"<code>{db}</code>" in out.read_text(encoding="utf-8")
    missing = CliRunner().invoke(main, ["--db", str(tmp_path / "nope.duckdb"), "report", "--output", str(out)])
    assert missing.exit_code == 1 and "no warehouse at" in missing.output


def test_a_warehouse_without_tags_or_dedupe_still_reports(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(1), art(2, source="hainan", url="http://x/2"),
                                      art(3, published_at=None, date_missing=True, url="http://x/3")])
    page = make_report(db, tmp_path / "r.html", source_label="snapshot <b>copy</b>").read_text(encoding="utf-8")
    assert "<code>snapshot &lt;b&gt;copy&lt;/b&gt;</code>" in page
    assert "1 article without a publish date" in page and "identical titles (dedupe has not run yet)" in page
    assert 'id="multiples-source"' in page and "Each bar is one day" in page
    assert "No topic tags on dated articles yet." in page and "No story seen in more than one place yet." in page


def test_bins_follow_the_span_and_skip_ancient_outliers():
    d = dt.date(2025, 3, 31)
    assert choose_bins([d - dt.timedelta(days=40), d])["unit"] == "day"
    weeks = choose_bins([d - dt.timedelta(days=200), d])
    assert weeks["unit"] == "week" and all(b.weekday() == 0 for b in weeks["bins"])
    months = choose_bins([dt.date(1998, 1, 5), d - dt.timedelta(days=800), d])
    assert months["unit"] == "month" and months["start"] == dt.date(2022, 3, 1)     # 1998 not charted
    assert months["bins"][0] == dt.date(2022, 3, 1) and months["bins"][-1] == dt.date(2025, 3, 1)


def test_every_web_string_is_escaped():
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    when = dt.datetime(2025, 7, 1, tzinfo=UTC)
    story = {"story": evil, "copies": 2, "sources": 2, "first_published": when, "last_published": when,
             "title": evil, "url": "javascript:alert(1)", "source": evil, "original_source": evil,
             "outlets": [{"source": evil, "url": 'http://x/"><script>', "copies": 2, "published_at": when}],
             "credited": [evil]}
    data = {"overview": {"articles": 1, "sources": 1, "dated": 1, "first": when, "last": when, "first_seen": when,
                         "last_seen": when, "stories": 1, "multi_source_stories": 1, "clustered": True,
                         "last_run": when},
            "by_source": [{"source": evil, "articles": 1, "dated": 1, "first": when, "last": when, "shared": 1,
                           "top_topics": [evil]}],
            "topics": [{"tag": evil, "articles": 1, "sources": 1, "last": when}],
            "partners": [{"tag": evil, "articles": 1, "sources": 1, "last": when}],
            "places": [{"tag": evil, "articles": 1, "sources": 1, "last": when}],
            "tag_counts": {"topic": 1}, "daily_source": [(dt.date(2025, 7, 1), evil, 3)],
            "daily_topic": [(dt.date(2025, 7, 1), evil, 2)], "stories_by": evil, "newest": [story],
            "syndicated": [story],
            "health": [{"source": evil, "last_status": evil, "last_ok": None, "last_run": None, "runs": 1,
                        "articles": 1, "last_new": None, "new_last_run": 1, "new_per_run": 1.0, "error_rate": 0.0,
                        "with_date": 1.0, "with_source": 1.0, "with_author": 1.0, "quality": 1.0}],
            "generated": when, "source_label": evil, "file": {},
            "sources_meta": {evil: {"title": evil, "province": evil, "known": True}},
            "topic_labels": {evil: (evil, evil)}, "partner_labels": {evil: evil}}
    page = render(data)
    assert "<script" not in page and "<img" not in page and "javascript:" not in page
    assert 'href="http://x/&quot;&gt;&lt;script&gt;"' in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 20
