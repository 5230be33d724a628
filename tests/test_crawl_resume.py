"""A crawl killed with SIGKILL mid-way and started again continues where it stopped: same run,
same WARC file, every page archived before the kill kept, nothing archived fetched again."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_killed_crawl_resumes_without_refetching(tmp_path):
    import warehouse
    from crawlers.archive import read_pages
    from flows import steps
    from flows.crawl import crawl
    from mirror.build import build_large
    from mirror.server import serve

    info = build_large(tmp_path / "mirror", 120)          # 6 list pages of 20
    archive, db = tmp_path / "archive", tmp_path / "w.duckdb"
    with serve(tmp_path / "mirror" / "sites", delay=0.03) as server:     # slow enough to stop mid-way
        (tmp_path / "map.json").write_text(json.dumps(server.base_urls))
        proc = subprocess.Popen([sys.executable, "-m", "crawlers.run", "--out", str(archive), "--run-id", "r1",
                                 "--map", str(tmp_path / "map.json"), "--max-pages", "100",
                                 "--log-file", str(tmp_path / "r1.log"), "gxzf"],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sum(1 for r in list(server.log) if "/gxyw/t" in r["path"]) < 40:
            assert proc.poll() is None and time.monotonic() < deadline, "crawl ended before it could be killed"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        warc = archive / "gxzf" / "r1.warc.gz"
        assert warc.exists() and not (archive / "gxzf" / "r1.stats.json").exists()
        before = list(read_pages(warc))
        kept = {(p.url, p.warc_offset) for p in before}
        archived = {p.url for p in before if p.page_kind == "article"}
        assert 20 <= len(archived) < 120
        with open(warc, "ab") as fh:              # as if the kill had torn the record being written
            fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03torn")

        mark = len(server.log)
        stats = crawl(["gxzf"], archive_dir=archive, run_id="r2", mapping=server.base_urls, max_pages=100,
                      state=steps.crawl_state(db, ["gxzf"]))
        again = server.log[mark:]

    (s,) = stats
    assert s.run_id == "r1" and s.resumed and "resumed" in s.flags and s.status == "ok"
    assert not (archive / "gxzf" / "r2.warc.gz").exists()
    fetched_again = {server.to_real(server.base_urls["http://www.gxzf.gov.cn"] + r["path"])
                     for r in again if "/gxyw/t" in r["path"]}
    assert not fetched_again & archived                      # nothing archived is fetched twice
    pages = list(read_pages(warc))
    assert kept <= {(p.url, p.warc_offset) for p in pages}   # every page archived before the kill kept
    urls = [p.url for p in pages if p.page_kind == "article"]
    assert sorted(urls) == sorted(info["urls"])               # all 120, each once
    assert s.articles_archived == 120 and s.pages_fetched == len(pages)
    lists_before = {p.url for p in before if p.page_kind == "list"}
    relisted = {r["path"] for r in again if "index" in r["path"]}
    assert not {u.split("/", 3)[3] for u in lists_before} & {p.lstrip("/") for p in relisted}

    steps.record_crawl(db, stats)
    steps.process_archives(db, steps.archive_paths_for(stats))
    assert warehouse.query(db, "select run_id, resumed, articles_archived from crawl_runs")[1] == [("r1", True, 120)]
    assert warehouse.query(db, "select count(*) from articles")[1] == [(120,)]
