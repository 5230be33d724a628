"""Prefect work pools (issue 15): `ingest-all` fans one `ingest` deployment run per source group
out to two process workers of the `newsflow` pool, and the warehouse ends up exactly as after a
plain `newsflow ingest --mirror`; the groups crawl at the same time (the crawl is outside the
warehouse's run lock); a worker killed with SIGKILL mid-crawl (with its flow-run and crawl
processes: a machine lost) leaves its run Running until the heartbeat automation marks it
Crashed, ingest-all submits the group again, and the counts are still exact.

Real parts only, on 127.0.0.1: `prefect server start` (flows.serve.local_server, own
PREFECT_HOME, free port), `prefect work-pool create`, `prefect --no-prompt deploy --all` from a
copy of the repo's prefect.yaml (schedules made inactive), two `prefect worker start --pool
newsflow --limit 1` processes, the `newsflow ingest-all` CLI, real Scrapy crawls of the
bundled mirror and real DuckDB files. The test process holds the warehouse's run lock while the
groups crawl: nothing can load then, so each crawl finishing proves it ran outside the lock,
and with `--limit 1` two crawls finished means two workers took the runs.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

import warehouse
from faults.helpers import NEWSFLOW, ROOT, consistent, ledger, record, seeded_home, wait_for
from faults.procs import alive, descendants, kinds
from flows import lifeline

pytestmark = pytest.mark.slow

HEARTBEAT = 30          # PREFECT_FLOWS_HEARTBEAT_FREQUENCY of the workers (Prefect's minimum)
UNRESPONSIVE = 60       # ingest-all --unresponsive-after: the automation's window after a heartbeat
SOURCES = ["gx-sthjt", "gxzf", "gz-sthj", "gzwhw", "hainan", "sd-sthj", "tanpaifang", "zj-sthjt"]

DUMPS = {   # what an ingest writes, without what names its run (run ids, times, WARC offsets)
    "articles": "select * exclude (first_seen, last_seen, fetched_at, run_id, warc_path, warc_offset, provenance) "
                "from articles order by id",
    "rejected": "select url, source, reason, detail from rejected order by all",
    "tags": "select article_id, kind, tag, score, taxonomy_version from article_tags order by all",
    "postings": "select * from search_postings order by all",
    # stories and their canonical articles; not how each article joined its story (match_kind,
    # matched_id, similarity) nor the story's id (taken from its first member): dedupe takes the
    # articles in storage order, i.e. the order the groups happened to load in
    "clusters": "select * exclude (cluster_id, match_kind, matched_id, similarity) from article_clusters "
                "order by all",
    "stories": "select list(article_id order by article_id) from article_clusters group by cluster_id order by 1",
    "per_source": "select source, sum(articles_new), sum(articles_rejected) from crawl_runs group by 1 order by 1",
}


def dump(db: Path) -> dict:
    return {name: warehouse.query(db, sql)[1] for name, sql in DUMPS.items()}


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "NEWSFLOW_LIFELINE")}
    return {**env, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


class Pool:
    def __init__(self, url: str, env: dict, tmp: Path):
        self.url, self.env, self.tmp = url, env, tmp
        self.workers: list[subprocess.Popen] = []

    def prefect(self, *args) -> str:
        p = subprocess.run([sys.executable, "-m", "prefect", *args], capture_output=True, text=True,
                           env=self.env, cwd=ROOT, timeout=300)
        assert p.returncode == 0, (args, p.stdout[-3000:], p.stderr[-3000:])
        return p.stdout

    def start_worker(self, name: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")
        # the worker watches this process (flows.lifeline): a test run that is itself killed
        # does not leave it polling
        w = subprocess.Popen(lifeline.command([sys.executable, "-m", "prefect", "worker", "start", "--pool",
                                               "newsflow", "--limit", "1", "--name", name]),
                             stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.tmp, start_new_session=True)
        log.close()
        self.workers.append(w)
        return w

    def ingest_all(self, db: Path, archive: Path, *args) -> subprocess.Popen:
        return subprocess.Popen([NEWSFLOW, "--db", str(db), "--archive", str(archive), "ingest-all", "--groups", "2",
                                 "--mirror", "--unresponsive-after", str(UNRESPONSIVE), "--json", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env, cwd=self.tmp)

    def online(self) -> int:
        """How many workers of the `newsflow` pool the server sees polling."""
        import urllib.request
        req = urllib.request.Request(f"{self.url}/work_pools/newsflow/workers/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return sum(1 for w in json.loads(r.read()) if w.get("status") == "ONLINE")

    def flow_run(self, run_id: str) -> dict:
        import urllib.request
        with urllib.request.urlopen(f"{self.url}/flow_runs/{run_id}", timeout=60) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """A Prefect server, the `newsflow` process pool, the repo's deployments, two workers; and,
    started first to run meanwhile, the plain ingest they are compared with."""
    from flows.serve import local_server
    tmp = tmp_path_factory.mktemp("pools")
    ref = tmp / "reference"
    ref.mkdir()
    plain = subprocess.Popen([NEWSFLOW, "--db", str(ref / "nf.duckdb"), "--archive", str(ref / "archive"), "ingest",
                              "--mirror"], stdout=subprocess.DEVNULL, stderr=open(ref / "stderr.log", "wb"), cwd=ref,
                             env=_clean_env(PREFECT_HOME=seeded_home(ref / "prefect-home")))
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    for d in spec["deployments"]:
        for s in d.get("schedules") or []:
            s["active"] = False          # a worker must not crawl live sites here
    config = tmp / "prefect.yaml"
    config.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # services these tests do not use (no active schedules, no pauses, no cancellations), off so
    # that they do not add writes to the server's SQLite database on this loaded machine
    quiet = {f"PREFECT_SERVER_SERVICES_{name}_ENABLED": "false"
             for name in ("SCHEDULER", "LATE_RUNS", "PAUSE_EXPIRATIONS", "CANCELLATION_CLEANUP", "DB_VACUUM")}
    saved = {k: os.environ.get(k) for k in quiet}
    os.environ.update(quiet)
    try:
        with local_server(seeded_home(tmp / "server-home")) as server:
            yield from _serve(server, tmp, config, plain, ref)
    finally:
        if plain.poll() is None:
            plain.kill()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _serve(server, tmp: Path, config: Path, plain: subprocess.Popen, ref: Path):
    """The pool on this server (the rest of the `pool` fixture)."""
    env = _clean_env(PREFECT_API_URL=server.url, PREFECT_HOME=str(tmp / "client-home"), NEWSFLOW_HOME=str(ROOT),
                     PREFECT_WORKER_QUERY_SECONDS="1", PREFECT_FLOWS_HEARTBEAT_FREQUENCY=str(HEARTBEAT),
                     COLUMNS="200")
    p = Pool(server.url, env, tmp)
    p.prefect("work-pool", "create", "newsflow", "--type", "process")
    p.prefect("--no-prompt", "deploy", "--all", "--prefect-file", str(config))
    p.deployments = {d["name"] for d in json.loads(p.prefect("deployment", "ls", "--output", "json"))}
    p.start_worker("pools-w1")
    p.start_worker("pools-w2")
    # the tests time the fan-out, not Prefect's start: on a loaded machine (the fault suite runs 4
    # files at once on 2 cores) a worker took minutes to import Prefect and poll
    wait_for(lambda: p.online() >= 2, 600, "both workers online", poll=1)
    p.plain, p.ref = plain, ref
    try:
        yield p
    finally:
        for w in p.workers:
            for pid in [w.pid, *descendants(w.pid)]:
                if alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            try:
                w.wait(10)
            except subprocess.TimeoutExpired:
                pass


@pytest.fixture(scope="module")
def reference(pool):
    """The tables of a plain single-process `newsflow ingest --mirror` (Prefect's temporary API)."""
    assert pool.plain.wait(300) == 0, (pool.ref / "stderr.log").read_text(errors="replace")[-3000:]
    return dump(pool.ref / "nf.duckdb")


def _crawling(p: Pool) -> dict[int, dict[int, str]]:
    """Worker pid -> its process tree, for the workers that have a crawl process now."""
    out = {}
    for w in p.workers:
        if w.poll() is None:
            tree = descendants(w.pid)
            if "crawl" in kinds(tree):
                out[w.pid] = tree
    return out


def _finish(proc: subprocess.Popen, timeout: float) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"ingest-all did not finish in {timeout}s: {err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out)


def test_ingest_all_on_two_workers_crawls_in_parallel_and_equals_a_plain_ingest(pool, reference, request):
    """Both groups crawl while the test holds the run lock (so outside it), on the two workers
    (each takes one run at a time); once the lock is let go both load, and every table equals a
    plain ingest's."""
    from flows.lock import run_lock
    assert {"ingest", "ingest-all", "dedupe"} <= pool.deployments
    db, archive = pool.tmp / "one" / "nf.duckdb", pool.tmp / "one" / "archive"
    db.parent.mkdir()
    started = time.monotonic()
    with run_lock(db):
        proc = pool.ingest_all(db, archive)
        seen: set[int] = set()

        def crawled():
            seen.update(_crawling(pool))
            return all(list((archive / s).glob("*.stats.json")) for s in SOURCES)
        try:
            wait_for(crawled, 240, "both groups' crawls finished while the run lock is held", proc=proc, poll=0.1)
        except AssertionError as exc:       # what ingest-all said, for the next one to read
            proc.kill()
            raise AssertionError(f"{exc}; crawled: {sorted(p.name for p in archive.glob('*'))}; ingest-all's "
                                 f"stderr: {proc.communicate()[1][-3000:]}") from None
        crawl_seconds = time.monotonic() - started
        assert not db.exists(), "nothing may load while the run lock is held"
        assert proc.poll() is None
    summary = _finish(proc, 240)
    record(request, seconds=round(time.monotonic() - started), crawled_within=round(crawl_seconds))
    assert [g["state"] for g in summary["groups"]] == ["COMPLETED", "COMPLETED"]
    assert sorted(s for g in summary["groups"] for s in g["sources"]) == SOURCES
    assert summary["flow_runs"] == 3 and summary["resubmitted"] == 0     # two groups, then the dedupe
    assert summary["dedupe"]["state"] == "COMPLETED"
    assert len(seen) == 2, f"both workers ran a crawl: {seen}"
    got = dump(db)
    assert summary["articles_new"] == sum(r[1] for r in reference["per_source"]) > 0
    for name in DUMPS:
        assert got[name] == reference[name], name
    assert set(consistent(db).values()) == {0}


def test_a_worker_killed_mid_crawl_is_marked_crashed_and_its_group_rerun_exact(pool, reference, request):
    """SIGKILL the first worker seen crawling, with its flow-run and crawl processes. Its flow run stays
    Running (nothing reports it) until the automation sees no heartbeat for UNRESPONSIVE s and
    marks it Crashed; ingest-all submits the group again, the other worker runs it, the crawl
    resumes, and the warehouse equals a plain ingest's."""
    from flows.lock import run_lock
    db, archive = pool.tmp / "two" / "nf.duckdb", pool.tmp / "two" / "archive"
    db.parent.mkdir()
    started = time.monotonic()
    with run_lock(db):      # nothing loads (or finishes) before the kill
        proc = pool.ingest_all(db, archive, "--attempts", "2")
        trees = wait_for(lambda: _crawling(pool), 240, "a worker crawling", proc=proc, poll=0.02)
        victim = next(w for w in pool.workers if w.pid in trees)
        tree = trees[victim.pid]
        for pid in [victim.pid, *tree]:
            os.kill(pid, signal.SIGKILL)
        victim.wait(10)
        killed_at = time.monotonic()
        # SIGKILL is delivered at once but a loaded machine takes a moment to finish each exit
        wait_for(lambda: not any(alive(pid) for pid in tree), 30, "the killed processes gone", poll=0.1)
    summary = _finish(proc, 400)
    finished_after_kill = time.monotonic() - killed_at
    states = {g["group"]: [r["state"] for r in g["runs"]] for g in summary["groups"]}
    assert sorted(states.values()) == [["COMPLETED"], ["CRASHED", "COMPLETED"]], states
    crashed = next(g for g in summary["groups"] if len(g["runs"]) == 2)["runs"][0]
    assert "no heartbeat" in crashed["message"], crashed
    run = pool.flow_run(crashed["id"])
    assert run["state"]["type"] == "CRASHED"
    assert summary["resubmitted"] == 1 and summary["dedupe"]["state"] == "COMPLETED"
    counts = ledger(db, [r[1] for r in reference["articles"]])
    record(request, seconds=round(time.monotonic() - started), finished_after_kill=round(finished_after_kill),
           lost=counts["lost"], duplicated=counts["duplicated"])
    assert counts == {"lost": 0, "duplicated": 0, "unexpected": 0, "articles": len(reference["articles"])}
    assert set(consistent(db).values()) == {0}
    got = dump(db)
    for name in DUMPS:
        assert got[name] == reference[name], name


def test_the_crash_automation_is_made_once_and_follows_the_window(pool):
    """ingest-all makes its automation once, by name, and sets its window to the one asked for."""
    from prefect.automations import Automation
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.ingest_all import AUTOMATION, ensure_crash_automation
    with temporary_settings(updates={PREFECT_API_URL: pool.url}):
        first = ensure_crash_automation(UNRESPONSIVE)       # the ingest-all runs above made it
        assert ensure_crash_automation(UNRESPONSIVE + 30) == first
        auto = Automation.read(name=AUTOMATION)
        assert auto.trigger.within.total_seconds() == UNRESPONSIVE + 30
        assert auto.trigger.posture == "Proactive" and auto.actions[0].state.value == "CRASHED"
        # the clock starts at Running too (a run killed before its first heartbeat), and only
        # ingest-all's own runs are watched
        assert auto.trigger.after == {"prefect.flow-run.heartbeat", "prefect.flow-run.Running"}
        assert auto.trigger.match_related.root["prefect.resource.id"] == "prefect.tag.newsflow-ingest-all"
        ensure_crash_automation(UNRESPONSIVE)
        assert Automation.read(name=AUTOMATION).trigger.within.total_seconds() == UNRESPONSIVE
