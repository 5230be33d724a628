"""Scheduled flows: prefect.yaml covers the registry, `newsflow serve` runs a schedule end to
end against the mirror and stops cleanly on Ctrl-C, overlapping runs queue, and a failing
source fails the run without stopping the others. Real Prefect, real Scrapy, real DuckDB."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import warehouse
from crawlers.registry import DEFAULT_REGISTRY, load_registry
from flows.serve import INGEST_ENTRYPOINT, build_deployments, load_specs

ROOT = Path(__file__).resolve().parents[1]


def env(tmp_path):
    from faults.helpers import seeded_home
    return {**os.environ, "PREFECT_HOME": seeded_home(tmp_path / "prefect-home")}


def test_prefect_yaml_schedules_every_source_once():
    specs = load_specs(ROOT / "prefect.yaml")
    scheduled = [s for s in specs if s.schedules and s.entrypoint == INGEST_ENTRYPOINT]
    names = [n for s in scheduled for n in s.parameters["sources"]]
    assert sorted(names) == sorted(load_registry().names()), "every source in exactly one group"
    for s in scheduled:
        assert all(sch.timezone == "Asia/Shanghai" and sch.cron for sch in s.schedules)
    assert {s.name for s in specs if not s.schedules} == {"reextract", "retag", "ingest", "ingest-all", "dedupe"}
    (recheck,) = [s for s in specs if s.entrypoint == "flows/ingest.py:recheck_flow"]
    assert recheck.schedules and "sources" not in recheck.parameters      # every source, daily
    (upkeep,) = [s for s in specs if s.entrypoint == "flows/maintain.py:maintain_flow"]
    assert [sch.cron for sch in upkeep.schedules] == ["50 4 * * *"]       # daily, after the re-check
    deployments = build_deployments(specs, {"db": "x.duckdb"})
    assert [d.name for d in deployments] == [s.name for s in specs]
    assert all(d.parameters.get("db") == "x.duckdb" for d in deployments)


@pytest.mark.parametrize("source", load_registry().names())
def test_every_registry_source_is_in_exactly_one_ingest_group(source):
    """Parametrised over the registry: a source added there gets this check without a test edit."""
    groups = [s.name for s in load_specs(ROOT / "prefect.yaml")
              if s.entrypoint == INGEST_ENTRYPOINT and s.schedules and source in s.parameters.get("sources", [])]
    assert len(groups) == 1, (f"source {source!r} is in the ingest groups {groups} of prefect.yaml: "
                              "name it in exactly one scheduled ingest deployment's `sources`")


def count(db, sql="select count(*), count(distinct url) from articles"):
    try:
        return warehouse.query(db, sql, wait=1)[1][0]
    except warehouse.WarehouseError:
        return None


def test_serve_runs_a_schedule_against_the_mirror_and_stops_cleanly_on_sigterm(tmp_path, newsflow_exe):
    """A scheduled run loads the mirror; then SIGTERM to serve alone (what `kill PID` sends)
    stops it within seconds, without a traceback, and leaves none of its processes running
    (Ctrl-C in a terminal: tests/test_faults_prefect.py)."""
    from faults.procs import STOP_LIMIT, alive, descendants, kinds, serve_config
    config = serve_config(tmp_path)
    db = tmp_path / "nf.duckdb"
    proc = subprocess.Popen([newsflow_exe, "--db", str(db), "serve", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**env(tmp_path), "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"})
    tree = {}
    try:
        deadline = time.monotonic() + 300
        got = None
        while time.monotonic() < deadline and proc.poll() is None:
            tree.update(descendants(proc.pid))
            got = count(db) if db.exists() else None
            if got and got[0] > 0:
                break
            time.sleep(1)
        assert got and got[0] == got[1] > 0, "no scheduled run loaded articles"
        tree.update(descendants(proc.pid))
        assert "server" in kinds(tree)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail("serve did not stop on SIGTERM")
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out[-2000:]
    assert took < STOP_LIMIT, f"took {took:.1f}s to stop"
    assert "Traceback" not in out, out[-5000:]
    left = {pid: cmd for pid, cmd in tree.items() if alive(pid)}
    assert not left, f"outlived serve: {left}"
    runs = warehouse.query(db, "select count(*) from crawl_runs where source = 'hainan'")[1][0][0]
    assert runs >= 1


def test_overlapping_ingests_queue_and_duplicate_nothing(tmp_path, newsflow_exe):
    db = tmp_path / "nf.duckdb"
    cmd = [newsflow_exe, "--db", str(db), "ingest", "--mirror", "--json", "gxzf", "hainan"]
    a = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp_path))
    b = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp_path))
    outs = [p.communicate(timeout=600) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, [o[1][-1500:] for o in outs]
    summaries = [json.loads(o[0]) for o in outs]
    assert sorted(s["articles_new"] for s in summaries)[0] == 0      # the second found nothing new
    n, distinct = count(db)
    assert n == distinct == sum(s["articles_new"] for s in summaries) > 0


def test_a_failing_source_fails_the_run_but_not_the_others(tmp_path, newsflow_exe):
    db = tmp_path / "nf.duckdb"
    first = subprocess.run([newsflow_exe, "--db", str(db), "ingest", "--mirror", "gxzf"],
                           capture_output=True, text=True, timeout=600, env=env(tmp_path))
    assert first.returncode == 0, first.stderr[-2000:]
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    dead = s.getsockname()[1]
    s.close()                                                  # nothing listens there now
    broken = tmp_path / "sources.toml"
    broken.write_text(DEFAULT_REGISTRY.read_text(encoding="utf-8").replace(
        'base_url = "http://www.gxzf.gov.cn"', f'base_url = "http://127.0.0.1:{dead}"').replace(
        'allowed_domains = ["www.gxzf.gov.cn"]', 'allowed_domains = ["127.0.0.1"]'), encoding="utf-8")
    second = subprocess.run([newsflow_exe, "--db", str(db), "--registry", str(broken), "ingest", "--mirror",
                             "--json", "gxzf", "hainan"], capture_output=True, text=True, timeout=600,
                            env=env(tmp_path))
    assert second.returncode == 3, second.stderr[-2000:]
    assert "alert: sources that usually yield articles yielded none: gxzf" in second.stderr
    summary = json.loads(second.stdout)
    per = {p["source"]: p for p in summary["per_source"]}
    assert per["gxzf"]["status"] == "failed" and per["hainan"]["status"] == "ok"
    assert per["hainan"]["new"] > 0                            # the other source still loaded


def test_run_lock_makes_a_second_run_wait_then_refuse_clearly(tmp_path):
    import sys
    import textwrap
    from flows.lock import RunInProgress, run_lock
    db = tmp_path / "nf.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from flows.lock import run_lock
        with run_lock({str(db)!r}):
            print("held", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        said = []
        with pytest.raises(RunInProgress, match=r"another run holds .*nf.duckdb.lock \(pid \d+"):
            with run_lock(db, wait=1.0, poll=0.1, on_wait=said.append):
                pass
        assert said and "waiting for the run in progress" in said[0]
    finally:
        holder.kill()
        holder.wait()
    with run_lock(db, wait=5):                  # a killed holder leaves no stale lock
        pass


def test_one_off_cli_runs_turn_heartbeats_off_only_without_a_server(monkeypatch):
    """`newsflow ingest` with no Prefect server: no heartbeat thread (it rounds every flow run
    up to a whole second and nobody reads it); against a server they stay on."""
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings
    from flows.ingest import one_off
    before = get_current_settings().flows.heartbeat_frequency
    assert before
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with one_off():
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == before
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        with one_off():
            assert get_current_settings().flows.heartbeat_frequency == before


def test_maintain_waits_for_the_run_lock_on_a_file_and_checkpoints_after(tmp_path):
    """On a DuckDB file the upkeep needs the file's write handle: it queues on the run lock as a
    load does (here it gives up after its wait), and runs once the lock is free."""
    import sys
    import textwrap
    from flows.lock import RunInProgress
    from flows.maintain import maintain
    db = tmp_path / "nf.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from flows.lock import run_lock
        with run_lock({str(db)!r}):
            print("held", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    waits = []
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunInProgress):
            maintain(str(db), lock_wait=0.5, on_wait=waits.append)
    finally:
        holder.kill()
        holder.wait()
    assert waits and "waiting for the run in progress" in waits[0]
    assert not db.exists()                  # it waited before opening anything
    result = maintain(str(db))
    assert result["backend"] == "duckdb" and "CHECKPOINT" in result["steps"]
