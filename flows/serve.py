"""`newsflow serve`: run prefect.yaml's schedules on this machine with nothing to install.

Prefect's ephemeral API (what one-off flow runs use) runs no scheduler service, so serving
schedules needs a real Prefect server. This module starts one as a child process on
127.0.0.1 (a free port, its own PREFECT_HOME next to the warehouse), points the runner at it,
builds one deployment per prefect.yaml entry (same names, crons, time zones and parameters as
`prefect deploy` would register), and serves them with `prefect.serve`. Ctrl-C pauses the
schedules, stops the runner and then the server: nothing is left running.

Found while building it: Prefect 3.8.8's scheduler fails on SQLAlchemy 2.1 (bulk DML), hence
the SQLAlchemy 2.0 pin.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_YAML = ROOT / "prefect.yaml"
INGEST_ENTRYPOINT = "flows/ingest.py:ingest_flow"


class ServeError(Exception):
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


@contextlib.contextmanager
def local_server(home: str | Path, timeout: float = 180.0) -> Iterator[str]:
    """A Prefect server on 127.0.0.1 for as long as the block runs; yields its API URL."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": env_default("PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS", "10")}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise ServeError(f"the local Prefect server exited ({proc.returncode}); see {home / 'server.log'}")
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServeError(f"the local Prefect server did not answer in {timeout:.0f}s; see {home / 'server.log'}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def env_default(name: str, value: str) -> str:
    return os.environ.get(name, value)


def build_deployments(specs: list[DeploymentSpec], overrides: dict):
    from prefect.schedules import Cron, Interval

    from flows.ingest import ingest_flow, process_flow, reextract_flow, retag_flow
    flows = {"flows/ingest.py:ingest_flow": ingest_flow, "flows/ingest.py:process_flow": process_flow,
             "flows/ingest.py:reextract_flow": reextract_flow, "flows/ingest.py:retag_flow": retag_flow}
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


def serve(db: str, archive_dir: str, prefect_yaml: str | Path = DEFAULT_YAML,
          only: list[str] | None = None, registry: str | None = None) -> None:
    specs = load_specs(prefect_yaml)
    if only:
        unknown = set(only) - {s.name for s in specs}
        if unknown:
            raise ServeError(f"no deployment named {', '.join(sorted(unknown))} in {prefect_yaml}")
        specs = [s for s in specs if s.name in only]
    home = Path(db).resolve().parent / ".prefect-serve"
    overrides = {"db": str(Path(db).resolve()), "archive_dir": str(Path(archive_dir).resolve())}
    if registry:
        overrides["registry"] = registry
    with local_server(home) as url:
        os.environ["PREFECT_API_URL"] = url
        from prefect import serve as prefect_serve
        deployments = build_deployments(specs, overrides)
        try:
            prefect_serve(*deployments, pause_on_shutdown=True)
        except KeyboardInterrupt:
            pass
