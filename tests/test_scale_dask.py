"""`process` and `reextract` over a Dask cluster (flows/fanout.py, prefect-dask's DaskTaskRunner):
a LocalCluster of two worker processes on 127.0.0.1 gives exactly the output of one process;
a Dask scheduler killed mid-pass is a named error (DaskLost, exit 1), and the rerun leaves
exact counts."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import warehouse
from bench.bench_dask import build_archive, spoil

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent

DUMPS = {
    "articles": "select * exclude (first_seen, last_seen) from articles order by id",
    "rejected": "select * exclude (first_seen, last_seen) from rejected order by all",
    "tags": "select article_id, kind, tag, score, taxonomy_version from article_tags order by all",
    "postings": "select * from search_postings order by all",
    "clusters": "select * from article_clusters order by all",
}


def dump(db: Path) -> dict:
    return {name: warehouse.query(db, sql)[1] for name, sql in DUMPS.items()}


def nf(db, archive, *args, env=None, timeout=400):
    return subprocess.run([str(BIN / "newsflow"), "--db", str(db), "--archive", str(archive), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def passes(tmp_path_factory, prefect_home):
    """One synthetic archive (200 pages in 4 WARC files), processed and then re-extracted by one
    process (the CLI's code, in-process) into one warehouse and by the CLI on a two-worker
    LocalCluster into another."""
    from flows import steps
    from flows.reextract import reextract
    tmp = tmp_path_factory.mktemp("dask")
    archive = tmp / "archive"
    files = build_archive(archive, 200, 4)
    one, two = tmp / "one.duckdb", tmp / "two.duckdb"
    out = {"archive": archive, "one": one, "two": two}
    out["c1"] = steps.process_archives(one, files, archive=archive)
    out["p2"] = nf(two, archive, "process", "--dask", "local:2")
    out["d1"], out["d2"] = dump(one), dump(two)
    assert spoil(one) == spoil(two) > 0
    out["r1"] = reextract(one, archive=archive)
    out["r2"] = nf(two, archive, "reextract", "--dask", "local:2")
    return out


def test_process_on_two_dask_workers_equals_one_process(passes):
    assert passes["p2"].returncode == 0, passes["p2"].stderr[-3000:]
    assert "process-dask" in passes["p2"].stderr and "records read" in passes["p2"].stderr
    d1, d2 = passes["d1"], passes["d2"]
    assert len(d1["articles"]) == 200 and d1["tags"] and d1["postings"] and d1["clusters"]
    for name in DUMPS:
        assert d1[name] == d2[name], name
    for source, c in passes["c1"].items():                     # the same per-source counts
        assert f"{source} " in passes["p2"].stdout and f" {c.new} " in passes["p2"].stdout


def test_reextract_on_two_dask_workers_equals_one_process(passes):
    r1, r2 = passes["r1"], passes["r2"]
    assert r2.returncode == 0, r2.stderr[-3000:]
    assert (r1.scanned, r1.changed, r1.missing_page) == (200, 20, 0)
    assert f"{r1.scanned} pages re-extracted, {r1.changed} changed, {r1.unchanged} unchanged" in r2.stdout
    assert dump(passes["one"])["articles"] == dump(passes["two"])["articles"]


def test_a_bad_dask_address_is_a_usage_error(tmp_path):
    proc = nf(tmp_path / "nf.duckdb", tmp_path / "archive", "process", "--dask", "local:0")
    assert proc.returncode == 2 and "local:N" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def cluster(prefect_home):
    """A Dask scheduler and two single-threaded workers on 127.0.0.1, each its own process,
    reporting task runs to one Prefect API (started here, as `prefect server start` would be)."""
    from prefect.server.api.server import SubprocessASGIServer
    api = SubprocessASGIServer(port=_free_port())
    api.start()
    env = {**os.environ, "PREFECT_API_URL": api.api_url}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    procs += [subprocess.Popen([str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                "--no-dashboard", "--death-timeout", "20"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    from distributed import Client
    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=60)
    try:
        yield {"address": address, "scheduler": procs[0], "env": env}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        api.stop()


def test_killing_the_dask_scheduler_mid_pass_is_named_and_the_rerun_is_exact(cluster, tmp_path):
    archive, db = tmp_path / "archive", tmp_path / "nf.duckdb"
    build_archive(archive, 400, 16)
    proc = subprocess.Popen([str(BIN / "newsflow"), "--db", str(db), "--archive", str(archive), "process",
                             "--dask", cluster["address"]], env=cluster["env"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 240
    while not any("records read" in ln for ln in lines):       # the first file's records are back
        assert proc.poll() is None and time.monotonic() < deadline, "".join(lines)[-3000:]
        time.sleep(0.1)
    os.kill(cluster["scheduler"].pid, signal.SIGKILL)
    assert proc.wait(timeout=180) == 1
    reader.join(timeout=10)
    last = [ln for ln in lines if ln.startswith("error: ")]
    assert last and last[-1].startswith("error: lost the Dask cluster tcp://127.0.0.1:"), "".join(lines)[-3000:]
    assert "run the command again" in last[-1]
    mid = warehouse.query(db, "select count(*) from articles")[1][0][0] if db.exists() else 0
    assert mid < 400
    again = nf(db, archive, "process")
    assert again.returncode == 0, again.stderr[-2000:]
    assert warehouse.query(db, "select count(*), count(distinct id), count(distinct url) from articles")[1][0] \
        == (400, 400, 400)
