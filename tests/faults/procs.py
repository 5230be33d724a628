"""Processes seen through /proc: a process's tree, whether a pid still runs, what kind of
newsflow process a command line is, whether a port on 127.0.0.1 listens."""
from __future__ import annotations

import os
import socket
from pathlib import Path

STOP_LIMIT = 20.0     # seconds `newsflow serve` may take to stop in order (measured: see docs/reliability.md)


def _table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, command line) for every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rindex(b")") + 2:].split()
        out[int(entry)] = (int(rest[1]), rest[0].decode(), cmd.strip())
    return out


def descendants(pid: int) -> dict[int, str]:
    table = _table()
    out, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, state, cmd) in table.items():
            if ppid == parent and child not in out and state != "Z":
                out[child] = cmd
                todo.append(child)
    return out


def alive(pid: int) -> bool:
    """Running (a zombie has exited: this container's init does not always reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2:].split()[0] != b"Z"


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def port_of(cmd: str) -> int:
    words = cmd.split()
    return int(words[words.index("--port") + 1])


def kind(cmd: str) -> str | None:
    if "crawlers.run" in cmd:
        return "crawl"
    if "uvicorn" in cmd or "prefect server start" in cmd:
        return "server"
    if "multiprocessing" in cmd or "prefect.engine" in cmd:
        return "flow run"
    return None


def kinds(tree: dict[int, str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for pid, cmd in tree.items():
        if kind(cmd):
            out.setdefault(kind(cmd), []).append(pid)
    return out


def serve_config(tmp_path: Path) -> Path:
    """A test-only prefect.yaml: one deployment that ingests the mirror's hainan every 5 seconds.
    The home `newsflow serve` gives its server beside a warehouse in `tmp_path` is seeded
    (faults.helpers.seeded_home)."""
    from faults.helpers import seeded_home
    seeded_home(tmp_path / ".prefect-serve")
    config = tmp_path / "prefect.yaml"
    config.write_text(
        "deployments:\n"
        "  - name: ingest-test\n"
        "    entrypoint: flows/ingest.py:ingest_flow\n"
        "    parameters: {sources: [hainan], mirror: true}\n"
        "    schedules:\n"
        "      - interval: 5\n"
        "        timezone: Asia/Shanghai\n", encoding="utf-8")
    return config
