"""Prefect's processes: `newsflow serve` stops on a terminal's Ctrl-C, nothing outlives a parent
killed with SIGKILL, and the README's server path (server, work pool, deploy, worker, a
scheduled run) works end to end.

Real processes only: a real terminal (a pty whose line discipline turns ^C into SIGINT for the
foreground process group), real Prefect servers on 127.0.0.1 (free ports), real Scrapy crawls
of the bundled mirror, real DuckDB files. Processes are found through /proc.
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

import warehouse
from faults.helpers import NEWSFLOW, ROOT, consistent, record, seeded_home, wait_for
from faults.procs import STOP_LIMIT, alive, descendants, kinds, listening, port_of, serve_config

ORPHAN_LIMIT = 15.0   # seconds a child may outlive its killed parent (lifeline: SIGTERM, SIGKILL 5 s later)


def mid_run(proc, *needed: str):
    """The process tree once it has a process of each kind in `needed` (a run is crawling)."""
    def ready():
        tree = descendants(proc.pid)
        return tree if all(k in kinds(tree) for k in needed) else None
    return wait_for(ready, 300, f"{', '.join(needed)} under pid {proc.pid}", proc=proc, poll=0.05)


def kill_tree(proc, tree: dict[int, str]) -> None:
    """Test clean-up only: whatever is still there after an assertion failed."""
    for pid in [proc.pid, *tree]:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def serve_env(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "NEWSFLOW_LIFELINE")}
    return {**env, "PREFECT_HOME": seeded_home(tmp_path / "prefect-home"), "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}


def warehouse_whole(db: Path) -> dict:
    """After a stop: the warehouse opens, every article once, the cross-table invariants hold."""
    if not db.exists():
        return {"articles": 0}
    n, distinct = warehouse.query(db, "select count(*), count(distinct url) from articles")[1][0]
    bad = {k: v for k, v in consistent(db).items() if v}
    assert n == distinct and not bad, (n, distinct, bad)
    return {"articles": n}


# ----------------------------------------------------------------------------- Ctrl-C
class Terminal:
    """A pty as the controlling terminal of a new session: ^C written to it is what a user's
    Ctrl-C is, SIGINT from the line discipline to the terminal's foreground process group."""

    def __init__(self, argv: list[str], env: dict):
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT,
                                     start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:          # EIO: every process holding the terminal has gone
                return
            if not data:
                return
            self.chunks.append(data)

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def output(self) -> str:
        self._reader.join(5)
        return b"".join(self.chunks).decode(errors="replace")

    def close(self) -> None:
        os.close(self.master)


def test_ctrl_c_in_a_terminal_stops_serve_mid_run_within_seconds(tmp_path, request):
    """Issue 18.6: Ctrl-C while a scheduled run is crawling. Before: serve survived two Ctrl-C
    and a SIGTERM; SIGINT to the main process alone took ~65 s and printed tracebacks."""
    db = tmp_path / "nf.duckdb"
    term = Terminal([NEWSFLOW, "--db", str(db), "serve", "--config", str(serve_config(tmp_path))],
                    serve_env(tmp_path))
    proc, tree = term.proc, {}
    try:
        tree = mid_run(proc, "server", "flow run", "crawl")
        assert os.tcgetpgrp(term.master) == proc.pid, "serve is the terminal's foreground group"
        started = time.monotonic()
        term.ctrl_c()
        rc = proc.wait(60)
        took = time.monotonic() - started
        out = term.output()
    finally:
        kill_tree(proc, tree)
        term.close()
    left = {pid: cmd for pid, cmd in tree.items() if alive(pid)}
    record(request, stop_seconds=round(took, 1))
    assert rc == 0, out[-3000:]
    assert took < STOP_LIMIT, f"took {took:.1f}s to stop"
    assert "Traceback" not in out, out[-5000:]
    assert "newsflow serve: stopping" in out
    assert not left, f"left running: {left}"
    assert not listening(port_of(tree[kinds(tree)["server"][0]]))
    warehouse_whole(db)


FORCED = """
import os, signal, subprocess, sys, time
from flows.serve import LocalServer, _Stopper
server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
stubborn = subprocess.Popen([sys.executable, "-c",      # a run that ignores SIGTERM, with a child
    "import signal, subprocess, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); time.sleep(120)"])
stopper = _Stopper(grace=float(sys.argv[1]))
stopper.server = LocalServer("http://127.0.0.1:9/api", server)
stopper.install()
print("ready", flush=True)
sys.stdin.readline()
try:
    os.kill(os.getpid(), signal.SIGINT)            # the first Ctrl-C
    time.sleep(0.2)
except KeyboardInterrupt:                          # (not serving yet: unwinds start-up)
    pass
if sys.argv[2] == "again":
    os.kill(os.getpid(), signal.SIGINT)            # the second Ctrl-C
time.sleep(60)                                     # an orderly stop that hangs
"""


@pytest.mark.parametrize("how", ["second-ctrl-c", "grace-expired"])
def test_a_second_ctrl_c_or_a_stop_past_its_grace_kills_what_is_left(tmp_path, how):
    """serve's forced stop (flows/serve.py: _Stopper.force): every process under serve is
    SIGKILLed (a run that ignores SIGTERM too), the server is stopped, exit 130."""
    args = ["30", "again"] if how == "second-ctrl-c" else ["1", "once"]
    proc = subprocess.Popen([sys.executable, "-c", FORCED, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout.readline().strip() == "ready"
    def three():
        tree = descendants(proc.pid)
        return tree if len(tree) == 3 else None
    tree = {}
    try:
        tree = wait_for(three, 10, "the server, the run and its child", poll=0.05)
        out, err = proc.communicate("go\n", timeout=30)
        assert proc.returncode == 130, err[-2000:]
        assert "newsflow serve: stopping now" in err and "Traceback" not in err, err[-2000:]
        wait_for(lambda: not any(alive(p) for p in tree), 5, "the server, the run and its child gone", poll=0.1)
    finally:
        kill_tree(proc, tree)


# ----------------------------------------------------------------------------- kill -9
def kill_parent_alone(proc, tree: dict, what: str) -> float:
    """SIGKILL the parent alone (as the OOM killer would); seconds until its children are gone."""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    killed = time.monotonic()
    wait_for(lambda: not any(alive(p) for p in tree), ORPHAN_LIMIT, f"children of the killed {what} "
             f"gone: {[(p, c[:80]) for p, c in tree.items() if alive(p)]}", poll=0.1)
    return time.monotonic() - killed


def test_a_killed_ingest_leaves_no_prefect_server_or_crawl(tmp_path, request):
    """Issue 18.8: `newsflow ingest` SIGKILLed while its ephemeral Prefect server (uvicorn) is up
    and its crawl is running. Before: the server kept listening for over an hour."""
    db = tmp_path / "nf.duckdb"
    proc = subprocess.Popen([NEWSFLOW, "--db", str(db), "ingest", "--mirror"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=serve_env(tmp_path), cwd=ROOT, start_new_session=True)
    tree = {}
    try:
        tree = mid_run(proc, "server", "crawl")
        port = port_of(tree[kinds(tree)["server"][0]])
        assert listening(port)
        gone = kill_parent_alone(proc, tree, "ingest")
    finally:
        kill_tree(proc, tree)
    record(request, orphan_seconds=round(gone, 1))
    assert not listening(port)


def test_a_killed_serve_leaves_no_server_flow_run_or_crawl(tmp_path, request):
    """Issue 18.8, `newsflow serve`: SIGKILLed mid-run, its Prefect server, the flow-run process
    and that run's crawl stop within seconds. Before: all three lived on."""
    db = tmp_path / "nf.duckdb"
    proc = subprocess.Popen([NEWSFLOW, "--db", str(db), "serve", "--config", str(serve_config(tmp_path))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=serve_env(tmp_path),
                            cwd=ROOT, start_new_session=True)
    tree = {}
    try:
        tree = mid_run(proc, "server", "flow run", "crawl")
        port = port_of(tree[kinds(tree)["server"][0]])
        gone = kill_parent_alone(proc, tree, "serve")
    finally:
        kill_tree(proc, tree)
    record(request, orphan_seconds=round(gone, 1))
    assert not listening(port)
    warehouse_whole(db)


# ----------------------------------------------------------------------------- server path
def _api(url: str, body: dict | None = None):
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"},
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except TimeoutError:
        return None, "timed out"


def test_readme_server_path_deploys_and_a_worker_runs_a_scheduled_ingest(tmp_path, monkeypatch, request):
    """Issue 18.7: `prefect server start`, `prefect work-pool create newsflow --type process`,
    `prefect deploy --all`, `prefect worker start --pool newsflow`, then a run the schedule
    created loads the mirror into DuckDB. Before: `prefect deploy --all` and `prefect deployment
    ls` failed with 422 (fastapi >= 0.151 validates Prefect's `"limit": null` as an int).

    The deployed file is the repo's prefect.yaml (its pull step, pool, parameters) with every
    production schedule made inactive (a worker must not crawl live sites here) and one test
    deployment added: ingest-hainan's parameters plus mirror: true and a test warehouse, every 10 s."""
    from flows.serve import local_server
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    for d in spec["deployments"]:
        for s in d.get("schedules") or []:
            s["active"] = False
    db, archive = tmp_path / "nf.duckdb", tmp_path / "archive"
    base = next(d for d in spec["deployments"] if d["name"] == "ingest-hainan")
    spec["deployments"].append({**base, "name": "ingest-mirror-test", "description": "test only",
                                "parameters": {**base["parameters"], "mirror": True, "db": str(db),
                                               "archive_dir": str(archive)},
                                "schedules": [{"interval": 10, "timezone": "Asia/Shanghai"}]})
    config = tmp_path / "prefect.yaml"
    config.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "2")
    started = time.monotonic()
    with local_server(seeded_home(tmp_path / "server-home")) as server:
        env = {**serve_env(tmp_path), "PREFECT_API_URL": server.url, "PREFECT_HOME": str(tmp_path / "client-home"),
               "NEWSFLOW_HOME": str(ROOT), "PREFECT_WORKER_QUERY_SECONDS": "1", "COLUMNS": "200"}

        def prefect(*args):
            p = subprocess.run([sys.executable, "-m", "prefect", *args], capture_output=True, text=True,
                               env=env, cwd=ROOT, timeout=300)
            assert p.returncode == 0, (args, p.stdout[-3000:], p.stderr[-3000:])
            return p.stdout

        prefect("work-pool", "create", "newsflow", "--type", "process")
        # the request `prefect deploy` fails on when fastapi validates an explicit null
        status, body = _api(server.url + "/work_pools/newsflow/workers/filter",
                            {"workers": None, "offset": None, "limit": None})
        assert status == 200, body
        prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(config))
        listed = {d["name"] for d in json.loads(prefect("deployment", "ls", "--output", "json"))}
        assert listed == {d["name"] for d in spec["deployments"]}
        worker = subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", "newsflow"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                  cwd=tmp_path, start_new_session=True)
        try:
            def finished():
                status, runs = _api(server.url + "/flow_runs/filter", {
                    "deployments": {"name": {"any_": ["ingest-mirror-test"]}},
                    "flow_runs": {"state": {"type": {"any_": ["COMPLETED", "FAILED", "CRASHED"]}}}})
                if status is None:     # a busy server (SQLite under a loaded machine): ask again
                    return None
                assert status == 200, runs
                return runs
            runs = wait_for(finished, 300, "a finished scheduled run", proc=worker, poll=1)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
    record(request, seconds=round(time.monotonic() - started))
    run = runs[0]
    assert run["state_type"] == "COMPLETED", run["state"]
    assert run["auto_scheduled"], "the run came from the schedule"
    n, distinct = warehouse.query(db, "select count(*), count(distinct url) from articles where source = 'hainan'")[1][0]
    assert n == distinct > 0
    assert list((archive / "hainan").glob("*.warc.gz")), "the run archived into the test archive"
