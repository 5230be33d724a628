"""`newsflow serve`: run prefect.yaml's schedules on this machine with nothing to install.

Prefect's ephemeral API (what one-off flow runs use) runs no scheduler service, so serving
schedules needs a real Prefect server. This module starts one as a child process on
127.0.0.1 (a free port, its own PREFECT_HOME next to the warehouse), points the runner at it,
builds one deployment per prefect.yaml entry (same names, crons, time zones and parameters as
`prefect deploy` would register), and serves them with a Prefect Runner (what `prefect.serve`
uses). Ctrl-C or SIGTERM cancels the runs in progress, pauses the schedules, stops the runner
and then the server, within seconds; a second one, or a stop that takes over STOP_GRACE
seconds, kills what is left. Nothing is left running, even after a SIGKILL (flows.lifeline).

Found while building it: Prefect 3.8.8's scheduler fails on SQLAlchemy 2.1 (bulk DML), hence
the SQLAlchemy 2.0 pin.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from flows import lifeline
from schemas.errors import BadInput

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_YAML = ROOT / "prefect.yaml"
INGEST_ENTRYPOINT = "flows/ingest.py:ingest_flow"


class ServeError(BadInput):
    """prefect.yaml is unusable, or the local Prefect server did not come up."""


@dataclass(frozen=True)
class ScheduleSpec:
    cron: str | None = None
    interval: float | None = None        # seconds
    timezone: str = "Asia/Shanghai"
    active: bool = True


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    parameters: dict = field(default_factory=dict)
    schedules: tuple[ScheduleSpec, ...] = ()
    description: str = ""


def load_specs(path: str | Path = DEFAULT_YAML) -> list[DeploymentSpec]:
    import yaml
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ServeError(f"{path}: no such file")
    except yaml.YAMLError as exc:
        raise ServeError(f"{path}: not valid YAML: {exc}")
    specs = []
    for i, d in enumerate(data.get("deployments") or []):
        where = f"{path}: deployment {d.get('name', f'#{i + 1}')!r}"
        if not d.get("name") or not d.get("entrypoint"):
            raise ServeError(f"{where}: needs a name and an entrypoint")
        schedules = []
        for s in d.get("schedules") or []:
            if ("cron" in s) == ("interval" in s):
                raise ServeError(f"{where}: each schedule needs exactly one of cron or interval")
            schedules.append(ScheduleSpec(cron=s.get("cron"), interval=s.get("interval"),
                                          timezone=s.get("timezone", "Asia/Shanghai"),
                                          active=bool(s.get("active", True))))
        specs.append(DeploymentSpec(d["name"], d["entrypoint"], dict(d.get("parameters") or {}),
                                    tuple(schedules), d.get("description", "")))
    if not specs:
        raise ServeError(f"{path}: no deployments")
    return specs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalServer:
    url: str
    proc: subprocess.Popen

    def stop(self, wait: float = 10.0) -> None:
        """SIGTERM (uvicorn's graceful shutdown), SIGKILL after `wait` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@contextlib.contextmanager
def local_server(home: str | Path, timeout: float = 180.0) -> Iterator[LocalServer]:
    """A Prefect server on 127.0.0.1 for as long as the block runs.

    It runs in a session of its own, so a Ctrl-C sent to the terminal reaches `serve` and not
    the server: the runner still needs the server while it cancels runs and pauses schedules,
    and the server is stopped last. It watches this process (flows.lifeline), so a `serve`
    killed with SIGKILL does not leave it listening."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": env_default("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "10")}
    env.pop("PREFECT_API_URL", None)
    env.pop(lifeline.ENV, None)
    log = open(home / "server.log", "ab")
    cmd = lifeline.command([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                            "--port", str(port)])
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    server = LocalServer(f"http://127.0.0.1:{port}/api", proc)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ServeError(f"the local Prefect server exited ({proc.returncode}); see {home / 'server.log'}")
            try:
                with urllib.request.urlopen(server.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServeError(f"the local Prefect server did not answer in {timeout:.0f}s; see {home / 'server.log'}")
            time.sleep(0.5)
        yield server
    finally:
        server.stop()
        log.close()


def env_default(name: str, value: str) -> str:
    return os.environ.get(name, value)


def build_deployments(specs: list[DeploymentSpec], overrides: dict):
    from prefect.schedules import Cron, Interval

    from flows.ingest import ingest_flow, process_flow, recheck_flow, reextract_flow, retag_flow
    from flows.ingest_all import dedupe_flow, ingest_all_flow
    from flows.maintain import maintain_flow
    flows = {"flows/ingest.py:ingest_flow": ingest_flow, "flows/ingest.py:process_flow": process_flow,
             "flows/ingest.py:reextract_flow": reextract_flow, "flows/ingest.py:retag_flow": retag_flow,
             "flows/ingest.py:recheck_flow": recheck_flow, "flows/ingest_all.py:ingest_all_flow": ingest_all_flow,
             "flows/ingest_all.py:dedupe_flow": dedupe_flow, "flows/maintain.py:maintain_flow": maintain_flow}
    out = []
    for spec in specs:
        flow = flows.get(spec.entrypoint)
        if flow is None:
            raise ServeError(f"deployment {spec.name!r}: unknown entrypoint {spec.entrypoint!r}")
        schedules = [Cron(s.cron, timezone=s.timezone, active=s.active) if s.cron
                     else Interval(s.interval, timezone=s.timezone, active=s.active) for s in spec.schedules]
        params = {**spec.parameters, **{k: v for k, v in overrides.items() if k in _params(flow)}}
        out.append(flow.to_deployment(name=spec.name, schedules=schedules or None, parameters=params,
                                      description=spec.description or None, concurrency_limit=1))
    return out


def _params(flow) -> set[str]:
    import inspect
    return set(inspect.signature(flow.fn).parameters)


STOP_GRACE = 20.0      # seconds an orderly stop may take before serve kills what is left


def serve(db: str, archive_dir: str, prefect_yaml: str | Path = DEFAULT_YAML,
          only: list[str] | None = None, registry: str | None = None,
          grace: float = STOP_GRACE, archive_url: str | None = None) -> None:
    """Serve the deployments until SIGINT or SIGTERM, then stop in order (see _Stopper)."""
    specs = load_specs(prefect_yaml)
    if only:
        unknown = set(only) - {s.name for s in specs}
        if unknown:
            raise ServeError(f"no deployment named {', '.join(sorted(unknown))} in {prefect_yaml}")
        specs = [s for s in specs if s.name in only]
    from warehouse.lake import is_lake
    if is_lake(db):     # a DuckLake URL names no folder: serve's home sits beside the archive
        home = Path(archive_dir).resolve().parent / ".prefect-serve"
        overrides = {"db": db, "archive_dir": str(Path(archive_dir).resolve())}
    else:
        home = Path(db).resolve().parent / ".prefect-serve"
        overrides = {"db": str(Path(db).resolve()), "archive_dir": str(Path(archive_dir).resolve())}
    if registry:
        overrides["registry"] = registry
    if archive_url:
        overrides["archive_url"] = archive_url      # an S3 archive: archive_dir is then its spool
    stopper = _Stopper(grace)
    previous = stopper.install()
    try:
        with local_server(home) as server:
            stopper.server = server
            os.environ["PREFECT_API_URL"] = server.url
            os.environ[lifeline.ENV] = str(os.getpid())      # flow-run processes watch serve
            from prefect.runner import Runner
            _runs_in_their_own_session()
            runner = Runner(pause_on_shutdown=True)
            for deployment in build_deployments(specs, overrides):
                runner.add_deployment(deployment)
            # Runner.start installs runner.handle_sigterm for SIGTERM; its own handler stops
            # the runner from inside the signal handler and can hang there
            runner.handle_sigterm = stopper.handle
            print(f"newsflow serve: {len(specs)} deployment(s) ({', '.join(s.name for s in specs)}) "
                  f"on the local Prefect server {server.url}; Ctrl-C stops", file=sys.stderr, flush=True)
            asyncio.run(stopper.run(runner))
            _drain_to_server()
    except KeyboardInterrupt:        # a signal while starting: the server is stopped on the way out
        pass
    finally:
        stopper.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        os.environ.pop(lifeline.ENV, None)


def _runs_in_their_own_session() -> None:
    """Flow-run processes the runner starts (`python -m prefect.engine`) get a session of their
    own, as Prefect's own workspace starter gives its runs (isolate_process_group), so a
    terminal's Ctrl-C reaches serve alone and serve cancels them. In the terminal's group, a
    Ctrl-C in the seconds a run takes to start interrupted its imports (a KeyboardInterrupt
    traceback). The starter calls its module's `run_process`, the name Prefect documents as the
    one to patch."""
    from prefect.runner import _starter_engine
    original = _starter_engine.run_process
    if getattr(original, "newsflow_session", False):
        return

    async def run_process(*args, **kwargs):
        kwargs.setdefault("start_new_session", True)
        return await original(*args, **kwargs)
    run_process.newsflow_session = True
    _starter_engine.run_process = run_process


def _drain_to_server() -> None:
    """Send the runner's queued logs and events while the server is still up (Prefect drains
    them at exit, after the server has gone: "--- Error logging to API ---")."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):
            worker.drain_all(timeout=5)


class _Stopper:
    """One orderly stop for SIGINT or SIGTERM, a forced one for a second signal or past `grace`.

    Orderly: the runner cancels the runs in progress (Prefect's own cancellation: SIGTERM with a
    cancel intent, so a run ends `Cancelled` and its warehouse transaction rolls back), pauses
    the schedules, exits; then the server is stopped. The flow-run processes are not in the
    terminal's process group (_runs_in_their_own_session, lifeline.adopt), so a Ctrl-C does not
    interrupt them half-way through a step and in an arbitrary order; serve does. Forced: SIGKILL to every process under serve,
    the server stopped, exit 130, no Python teardown (no tracebacks from half-stopped threads)."""

    def __init__(self, grace: float):
        self.grace = grace
        self.signals = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task | None = None
        self.runner = None
        self.server: LocalServer | None = None
        self._timer: threading.Timer | None = None

    def install(self) -> dict:
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, self.handle)
        return previous

    async def run(self, runner) -> None:
        self.runner = runner
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        if self.signals:
            return
        await runner.start()

    def handle(self, signum=None, frame=None) -> None:
        self.signals += 1
        if self.signals > 1:
            self.force()
        print("newsflow serve: stopping (runs in progress are cancelled, schedules paused); "
              "Ctrl-C again to stop at once", file=sys.stderr, flush=True)
        self._timer = threading.Timer(self.grace, self.force)
        self._timer.daemon = True
        self._timer.start()
        if self.loop is None or self.loop.is_closed():
            raise KeyboardInterrupt       # not serving (yet, or any more): unwind
        self.loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._stop_runner()))

    async def _stop_runner(self) -> None:
        try:
            await self.runner.astop()
        except Exception:            # not started yet, or already stopping
            if self.task is not None:
                self.task.cancel()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def force(self) -> None:
        with contextlib.suppress(Exception):     # may interrupt a print of the main thread
            print("newsflow serve: stopping now", file=sys.stderr, flush=True)
        server_pid = self.server.proc.pid if self.server else None
        for pid in _descendants(os.getpid()):
            if pid != server_pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        if self.server is not None:
            self.server.stop(wait=5)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(130)


def _descendants(pid: int) -> list[int]:
    """Every live process under `pid` (from /proc), children before their own children."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(0), []):
            out.append(child)
            todo.append(child)
    return out
