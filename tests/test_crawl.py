"""Real Scrapy crawls over HTTP against the mirror on 127.0.0.1 (no Prefect)."""
import json
import subprocess
from pathlib import Path

from crawlers.archive import read_pages

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
LISTS = json.loads((ROOT / "mirror" / "expected_lists.json").read_text(encoding="utf-8"))


def test_one_off_crawl_archives_lists_and_articles_with_real_urls(newsflow_exe, tmp_path):
    db = tmp_path / "nf.duckdb"
    proc = subprocess.run([newsflow_exe, "--db", str(db), "crawl", "--mirror", "gz-sthj", "gxzf"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for source in ("gz-sthj", "gxzf"):
        (warc,) = (tmp_path / "archive" / source).glob("*.warc.gz")
        pages = list(read_pages(warc))
        kinds = {}
        for p in pages:
            kinds.setdefault(p.page_kind, set()).add(p.url)
            assert p.url.startswith("http://") and "127.0.0.1" not in p.url     # real-site URLs
            assert p.status == 200 and p.body
        want = {e["url"] for e in EXPECTED if e["source"] == source}
        assert kinds["article"] == want
        assert kinds["list"] == set(LISTS[source])
        listed = {p.url: p.list_date for p in pages if p.page_kind == "article"}
        for e in EXPECTED:
            if e["source"] == source:
                assert listed[e["url"]] == e["list_date"]
    import warehouse
    cols, rows = warehouse.query(db, "select source, status, pages_fetched, article_requests from crawl_runs order by 1")
    # 5 list pages + 10 articles + robots.txt (archived too)
    assert rows == [("gxzf", "ok", 16, 10), ("gz-sthj", "ok", 16, 10)]


def test_max_pages_limits_list_pages(newsflow_exe, tmp_path):
    db = tmp_path / "nf.duckdb"
    proc = subprocess.run([newsflow_exe, "--db", str(db), "crawl", "--mirror", "--max-pages", "1", "hainan"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (warc,) = (tmp_path / "archive" / "hainan").glob("*.warc.gz")
    lists = [p for p in read_pages(warc) if p.page_kind == "list"]
    assert [p.url for p in lists] == LISTS["hainan"][:1]


def test_crawl_of_unreachable_site_fails_with_status(tmp_path):
    """A source whose server is down: stats say failed and the crawl exits non-zero."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now
    m = tmp_path / "map.json"
    m.write_text(json.dumps({"http://www.gxzf.gov.cn": f"http://127.0.0.1:{port}"}))
    import sys
    proc = subprocess.run([sys.executable, "-m", "crawlers.run", "--out", str(tmp_path / "a"), "--run-id", "r1",
                           "--map", str(m), "gxzf"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3
    stats = json.loads((tmp_path / "a" / "gxzf" / "r1.stats.json").read_text())
    assert stats["status"] == "failed" and stats["errors"] >= 1 and stats["pages_fetched"] == 0


def test_a_feed_is_handed_on_line_by_line_while_the_process_runs(tmp_path):
    """flows/crawl.py's feed reader: lines come while the child still runs, a line written in
    two parts comes whole, and a child past its timeout is killed."""
    import json as _json
    import os
    import subprocess as sp
    import sys
    import time as _time

    import pytest

    from flows.crawl import _run_feeding
    feed = tmp_path / "feed.jsonl"
    feed.write_text("")
    child = ("import sys, time\n"
             "f = open(sys.argv[1], 'a', buffering=1)\n"
             "f.write('{\"n\": 1}\\n'); time.sleep(0.6)\n"
             "f.write('{\"n\": '); f.flush(); time.sleep(0.3); f.write('2}\\n')\n"
             "print('done'); print('warn', file=sys.stderr)\n")
    got = []
    start = _time.monotonic()
    proc = _run_feeding([sys.executable, "-c", child, str(feed)], dict(os.environ), 30, str(feed),
                        lambda e: got.append((e["n"], _time.monotonic() - start)))
    assert [n for n, _ in got] == [1, 2] and got[0][1] < 0.5       # the first before the child ended
    assert proc.returncode == 0 and proc.stdout == "done\n" and proc.stderr == "warn\n"
    with pytest.raises(sp.TimeoutExpired):
        _run_feeding([sys.executable, "-c", "import time; time.sleep(30)"], dict(os.environ), 0.5, str(feed),
                     lambda e: None)
    assert _json.loads(feed.read_text().splitlines()[0]) == {"n": 1}
