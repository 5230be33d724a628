"""`newsflow report`: a self-contained page whose charts render in headless Chromium, and
whose text from the web is escaped."""
import datetime as dt
import re
import shutil
import subprocess
from dataclasses import replace

import pytest

import warehouse
from flows.report import make_report
from flows.steps import process_archives
from test_reextract import archive_some
from test_warehouse import art

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    db = tmp / "w.duckdb"
    warc = tmp / "a.warc.gz"
    archive_some(warc, n_per_source=10)
    process_archives(db, [warc])
    hostile = replace(art(99999), title='<script>alert("x")</script><img src=x onerror=alert(1)>标题',
                      original_source="'; DROP TABLE articles; --", source="gxzf",
                      published_at=dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc))
    hostile2 = replace(hostile, id="id-hostile-2", url="http://x/2", source="hainan")
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [hostile, hostile2])
        con.execute("INSERT INTO crawl_runs (run_id, source, started_at, finished_at, status, pages_fetched, errors) "
                    "VALUES ('r1', 'gxzf', now(), now(), 'ok', 10, 1), ('r1', 'hainan', now(), now(), 'failed', 0, 3)")
    out = make_report(db, tmp / "report.html")
    return out, out.read_text(encoding="utf-8"), db


def test_self_contained_and_escaped(report):
    path, page, db = report
    assert not re.search(r"<script|src=\"https?:|href=\"https?:|@import|url\(", page)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert warehouse.query(db, "select count(*) from articles where original_source = ?",
                           ["'; DROP TABLE articles; --"])[1][0][0] == 2      # stored as data
    for chart_id in ("chart-daily", "syndicated", "health"):
        assert f'id="{chart_id}"' in page
    assert page.count('class="series"') >= 7                                   # a line per source


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_renders_in_headless_chromium(report, tmp_path):
    path, page, db = report
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1100,1400", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists(), "no screenshot"
    assert ink(shot.read_bytes()) > 0.01, "the screenshot is blank"
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", path.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    assert dom.count("<polyline") >= 7 and '<svg id="chart-daily"' in dom and '<table id="health"' in dom


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


def test_every_web_string_is_escaped():
    from flows.report import render
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    data = {"totals": {"articles": 1, "sources": 1, "first": None, "last": None},
            "daily": [(dt.date(2025, 7, 1), evil, 3)], "topics": [(dt.date(2025, 6, 30), evil, 2)],
            "syndicated": (evil, [{"key": 1, "title": evil, "copies": 2, "sources": 2, "outlets": evil,
                                   "first_seen": None}]),
            "health": [{"source": evil, "last_status": evil, "last_ok": None, "last_run": None, "runs": 1,
                        "articles": 1, "new_per_run": 1.0, "error_rate": 0.0, "with_date": 1.0,
                        "with_source": 1.0, "with_author": 1.0, "quality": 1.0}],
            "generated": evil, "db": evil}
    page = render(data)
    assert "<script" not in page and "<img" not in page
    assert page.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") >= 6
