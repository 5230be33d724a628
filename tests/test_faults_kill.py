"""kill -9 at the worst moments, through the real CLI in real processes, then run again.

One generated site (200 articles, 10 TRS list pages) served slowly on 127.0.0.1, and the
bundled registry's gxzf entry pointed at it (so the CLI runs as against a live site):

1. `newsflow crawl` is SIGKILLed (with its crawl process) mid-crawl; the archive reads up to
   the end, a torn last record is detected and skipped; the next crawl resumes the run, cuts
   the torn tail off and fetches only what is missing.
2. `newsflow process` is SIGKILLed while extracting (the WARC file open, the warehouse not yet);
   the warehouse is untouched; the next `newsflow ingest` (the Prefect flow) loads the run the
   killed process never loaded, though the crawl fetches nothing new.
3. `newsflow process` into a second warehouse is SIGKILLed while it holds the warehouse for the
   load; the warehouse opens, holds whole batches only (every article tagged, no orphans), and
   the next `newsflow process` completes it.
Every article ends in each warehouse exactly once.
"""
import json
import os
import signal
import subprocess
import time

import pytest

import warehouse
from crawlers.archive import ReadReport, read_pages
from faults.helpers import (NEWSFLOW, consistent, env, generated_site, ledger, open_files, record, run,
                            unindexed, wait_for)

N = 200


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kill")
    with generated_site(tmp, N) as (info, server, base, reg, urls):
        yield dict(tmp=tmp, server=server, base=base, reg=reg, urls=urls,
                   db=tmp / "nf.duckdb", archive=tmp / "archive")


def start(site, *args):
    return subprocess.Popen([NEWSFLOW, "--db", str(site["db"]), "--archive", str(site["archive"]),
                             "--registry", str(site["reg"]), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env(site["tmp"]), start_new_session=True)


def kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)          # the CLI and its crawl process, as a crash would
    proc.communicate(timeout=30)


def cli(site, *args, check=0):
    return run("--db", site["db"], "--archive", site["archive"], "--registry", site["reg"], *args,
               tmp_path=site["tmp"], check=check, timeout=600)


@pytest.fixture(scope="module")
def crawl_killed(site):
    server = site["server"]
    proc = start(site, "crawl", "gxzf", "--max-pages", "100")
    wait_for(lambda: sum(1 for r in list(server.log) if "/gxyw/t" in r["path"]) >= 60, 60, "60 articles fetched",
             proc)
    kill(proc)
    (warc,) = (site["archive"] / "gxzf").glob("*.warc.gz")
    report = ReadReport(str(warc))
    before = list(read_pages(warc, report))
    stats_written = any((site["archive"] / "gxzf").glob("*.stats.json"))
    # the kill tears the record being written only if it lands inside that write() (the kernel
    # stops a write at a fatal signal): add the first half of a real record as a torn tail, so
    # there is one for the next crawl to detect and cut off either way
    data = warc.read_bytes()
    last = before[-1].warc_offset
    with open(warc, "ab") as fh:
        fh.write(data[last:last + (len(data) - last) // 2])
    torn = ReadReport(str(warc))
    after_tear = list(read_pages(warc, torn))
    # a request the killed crawl had in flight is logged when its handler thread answers (after
    # the server's delay, later still on a busy machine): let the log settle before the mark
    settled = len(server.log)
    while True:
        time.sleep(0.5)
        if len(server.log) == settled:
            break
        settled = len(server.log)
    mark = len(server.log)
    resumed = cli(site, "crawl", "gxzf", "--max-pages", "100")
    again = [r["path"] for r in server.log[mark:] if "/gxyw/t" in r["path"]]
    return dict(warc=warc, report=report, before=before, stats_written=stats_written, torn=torn,
                after_tear=after_tear, resumed=resumed, again=again)


def test_kill_during_crawl_leaves_a_readable_archive_and_a_torn_tail_is_skipped(crawl_killed, request):
    k = crawl_killed
    assert not k["stats_written"], "the crawl was not killed mid-way"
    assert 40 <= sum(1 for p in k["before"] if p.page_kind == "article") < N
    last = k["before"][-1].warc_offset                           # read to the last whole record
    assert k["report"].torn_at is None or k["report"].torn_at >= last, k["report"].problems
    assert [p.warc_offset for p in k["after_tear"]] == [p.warc_offset for p in k["before"]]
    assert k["torn"].torn_at is not None and k["torn"].problems  # detected, reported, skipped
    record(request, lost=0, crashes=0)


def test_the_next_crawl_resumes_the_killed_run_and_fetches_only_what_is_missing(crawl_killed, site, request):
    k = crawl_killed
    assert "resumed" in k["resumed"].stdout, k["resumed"].stdout
    report = ReadReport(str(k["warc"]))
    pages = list(read_pages(k["warc"], report))
    assert not report.problems                                  # the torn tail was cut off first
    arts = [p.url for p in pages if p.page_kind == "article"]
    assert sorted(arts) == sorted(site["urls"])                 # every article archived, once
    archived_before = {p.url.rsplit("/", 1)[1] for p in k["before"] if p.page_kind == "article"}
    assert not {p.rsplit("/", 1)[1] for p in k["again"]} & archived_before
    assert len(k["again"]) == N - len(archived_before)
    record(request, lost=0, duplicated=len(arts) - len(set(arts)), refetched=0)


@pytest.fixture(scope="module")
def extraction_killed(site, crawl_killed):
    db = site["db"]
    arts_before = warehouse.query(db, "select count(*) from articles")[1][0][0]
    mtime = db.stat().st_mtime_ns
    proc = start(site, "process")
    opened = wait_for(lambda: [f for f in open_files(proc.pid) if f.endswith(".warc.gz")], 60,
                      "the archive opened for extraction", proc, poll=0.002)
    assert not [f for f in open_files(proc.pid) if f.endswith(".duckdb")]
    kill(proc)
    return dict(opened=opened, arts_before=arts_before, mtime=mtime)


def test_kill_during_extraction_leaves_the_warehouse_untouched(site, extraction_killed, request):
    db = site["db"]
    assert extraction_killed["arts_before"] == 0
    assert db.stat().st_mtime_ns == extraction_killed["mtime"]
    assert warehouse.query(db, "select count(*) from articles")[1] == [(0,)]
    record(request, lost=0, duplicated=0, half_loaded=0)


def test_the_next_ingest_loads_what_the_killed_process_never_did(site, extraction_killed, request):
    """The crawl was recorded before the kill, so its URLs are known and the flow fetches
    nothing: it must still load the run (it used to process only the runs it crawled)."""
    proc = cli(site, "ingest", "gxzf", "--json")
    summary = json.loads(proc.stdout)
    assert summary["article_requests"] == 0 and summary["articles_new"] == N, summary
    got = ledger(site["db"], site["urls"])
    assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
    assert consistent(site["db"]) == {k: 0 for k in consistent(site["db"])} and unindexed(site["db"]) == 0
    assert summary["recovered_runs"]                            # the killed process's run, loaded now
    record(request, lost=got["lost"], duplicated=got["duplicated"], articles=got["articles"])


@pytest.fixture(scope="module")
def load_killed(site, crawl_killed):
    db2 = site["tmp"] / "second.duckdb"
    proc = subprocess.Popen([NEWSFLOW, "--db", str(db2), "--archive", str(site["archive"]), "--registry",
                             str(site["reg"]), "process"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env(site["tmp"]), start_new_session=True)
    # the process first records the archive's run in this new warehouse (migrations and all),
    # closes it, extracts with the archive open, then opens the warehouse again for the load:
    # wait for that second opening (the archive read and closed, the warehouse open)
    seen = {"archive": False}

    def loading():
        files = open_files(proc.pid)
        if any(f.endswith(".warc.gz") for f in files):
            seen["archive"] = True
            return False
        return seen["archive"] and any(f.endswith("second.duckdb") for f in files)
    wait_for(loading, 120, "the warehouse opened for the load", proc, poll=0.002)
    time.sleep(0.15)
    alive = proc.poll() is None
    kill(proc)
    return dict(db=db2, alive=alive)


def test_kill_during_load_leaves_whole_batches_only(load_killed, request):
    db = load_killed["db"]
    assert load_killed["alive"]
    n = warehouse.query(db, "select count(*) from articles")[1][0][0]
    assert n in (0, N), n                                          # one batch: all of it or none
    bad = consistent(db)
    assert bad == {k: 0 for k in bad}, bad
    record(request, half_loaded=0, articles_after_kill=n, **bad)


def test_the_next_process_completes_the_load_exactly_once(site, load_killed, request):
    db = load_killed["db"]
    run("--db", db, "--archive", site["archive"], "--registry", site["reg"], "process",
        tmp_path=site["tmp"], check=0, timeout=600)
    got = ledger(db, site["urls"])
    assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
    bad = consistent(db)
    assert bad == {k: 0 for k in bad} and unindexed(db) == 0, bad
    record(request, lost=got["lost"], duplicated=got["duplicated"], articles=got["articles"])
