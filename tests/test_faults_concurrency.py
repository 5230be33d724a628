"""Two runs at once on the same archive and warehouse, as real processes. (Two `newsflow ingest`
at once queue on the run lock: tests/test_flows.py::test_overlapping_ingests_queue_and_duplicate_nothing.)

- Two crawls of one source: the second used to take the first's unfinished WARC file for a
  killed run and resume it, so two processes appended to one file (duplicate records, stats
  overwritten); now it refuses with a clear message and the first finishes alone.
- Two `newsflow process` into one warehouse: DuckDB admits one writer, the other waits; every
  article once.
"""
import subprocess

import pytest

from crawlers.archive import ReadReport, read_pages
from faults.helpers import NEWSFLOW, consistent, env, generated_site, ledger, record, wait_for

N = 60


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conc")
    # slow answers (0.3 s, and AutoThrottle backing off from them: ~20 s for the crawl), so the
    # second crawl starts while the first still runs, however long a loaded machine takes
    with generated_site(tmp, N, delay=0.3) as (info, server, base, reg, urls):
        db, archive = tmp / "nf.duckdb", tmp / "archive"
        cmd = [NEWSFLOW, "--db", str(db), "--archive", str(archive), "--registry", str(reg), "crawl", "gxzf",
               "--max-pages", "100"]
        first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp))
        wait_for(lambda: list((archive / "gxzf").glob("*.warc.gz")) and
                 sum(1 for r in list(server.log) if "/gxyw/t" in r["path"]) >= 10, 60, "the first crawl under way",
                 first)
        second = subprocess.run(cmd, capture_output=True, text=True, env=env(tmp), timeout=120)
        out1 = first.communicate(timeout=300)
        log = list(server.log)
    return dict(tmp=tmp, db=db, archive=archive, reg=reg, first=first, out1=out1, second=second, urls=urls, log=log)


def test_a_second_crawl_of_a_source_refuses_while_the_first_runs(both, request):
    second = both["second"]
    assert second.returncode == 4, (second.stdout, second.stderr)
    assert "another crawl of gxzf is running" in second.stderr and "error: error" not in second.stderr
    assert both["first"].returncode == 0, both["out1"][1][-2000:]
    (warc,) = (both["archive"] / "gxzf").glob("*.warc.gz")          # one run, one file
    report = ReadReport(str(warc))
    arts = [p.url for p in read_pages(warc, report) if p.page_kind == "article"]
    assert not report.problems and sorted(arts) == sorted(both["urls"])  # each article archived once
    fetched = [r["path"] for r in both["log"] if "/gxyw/t" in r["path"]]
    assert len(fetched) == len(set(fetched)) == N                    # and fetched once
    record(request, duplicated=len(arts) - len(set(arts)), lost=N - len(set(arts)))


def test_two_process_runs_at_once_load_every_article_once(both, request):
    db = both["tmp"] / "two.duckdb"
    cmd = [NEWSFLOW, "--db", str(db), "--archive", str(both["archive"]), "--registry", str(both["reg"]), "process"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(both["tmp"]))
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-1500:] for o in outs]
    got = ledger(db, both["urls"])
    assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
    bad = consistent(db)
    assert bad == {k: 0 for k in bad}, bad
    record(request, lost=got["lost"], duplicated=got["duplicated"], articles=got["articles"])
