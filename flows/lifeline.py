"""Child processes that die with their parent.

A process killed with SIGKILL (or OOM-killed) runs no cleanup, so its children live on: the
uvicorn server Prefect's ephemeral mode starts for `newsflow ingest` kept listening for over an
hour after its parent was killed, and `newsflow serve`'s Prefect server and flow-run processes
outlived a killed `serve` the same way. PR_SET_PDEATHSIG would let the kernel do this, but it
fires when the *thread* that forked the child exits, and Prefect forks from whichever thread
first needs a client, so a short-lived thread would take the server down mid-run. Instead the
child watches its parent itself: a daemon thread waits on a pidfd of the parent (instant, no
polling; polls getppid() where pidfds are missing) and, once the parent is gone, stops the
child with SIGTERM (its normal graceful shutdown), then SIGKILL if it is still alive after
GRACE seconds.

Two ways in, both cheap:
- `command(argv)` rewrites a Python child's argv (`python -m mod ...`) to
  `python -m flows.lifeline <parent pid> -m mod ...`, which starts the watch and runs the module
  as `__main__`. Used for the crawl process, `newsflow serve`'s server and (through
  `guard_subprocess`) Prefect's ephemeral uvicorn server.
- `adopt()` for children that run our code but that we do not start ourselves (the flow-run
  processes Prefect's runner spawns for `newsflow serve`): the parent exports its pid in
  NEWSFLOW_LIFELINE and the child, importing flows.ingest, starts the watch.
"""
from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time

ENV = "NEWSFLOW_LIFELINE"
GRACE = 5.0         # seconds between the SIGTERM and the SIGKILL a parentless child gets

_watching: set[int] = set()


def command(argv: list[str], parent: int | None = None) -> list[str]:
    """`[python, -m, mod, args...]` (or `[python, script, args...]`) watched by this process."""
    if not argv or argv[0] != sys.executable:
        raise ValueError(f"not a Python command for this interpreter: {argv[:3]}")
    return [sys.executable, "-m", "flows.lifeline", str(parent or os.getpid()), *argv[1:]]


def watch(parent: int, grace: float = GRACE) -> None:
    """Stop this process once `parent` has exited (call as early as possible in the child)."""
    if parent in _watching:
        return
    _watching.add(parent)
    threading.Thread(target=_watch, args=(parent, grace), name="newsflow-lifeline", daemon=True).start()


def _watch(parent: int, grace: float) -> None:
    fd = None
    try:
        fd = os.pidfd_open(parent)
    except (AttributeError, OSError):
        pass
    # checked after opening: a parent that died before the pidfd existed shows as a changed ppid
    if os.getppid() == parent:
        if fd is not None:
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            while not poller.poll():
                pass
        else:
            while os.getppid() == parent:
                time.sleep(0.5)
    if fd is not None:
        os.close(fd)
    _stop(grace)


def _stop(grace: float) -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)
    os.kill(os.getpid(), signal.SIGKILL)


def adopt() -> bool:
    """In a process started by one that exported NEWSFLOW_LIFELINE=<its pid>: watch it, and leave
    the terminal's process group (unless started in a session of its own already) so the
    parent, not a Ctrl-C sent to every process of the terminal, decides how this process stops.
    Grandchildren inherit the variable but see another parent pid and do nothing. True when
    adopted."""
    value = os.environ.get(ENV, "")
    if not value.isdigit() or int(value) != os.getppid():
        return False
    watch(int(value))
    try:
        os.setpgid(0, 0)
    except OSError:         # already a group or session leader
        pass
    return True


def guard_subprocess(module) -> None:
    """Make the processes `module` starts with `subprocess.Popen([sys.executable, ...])` watch
    the process that started them: its `subprocess` name is swapped for one whose Popen
    prefixes the lifeline, so the module's own arguments stay as they are. flows/ingest.py does
    this to prefect.server.api.server, whose SubprocessASGIServer starts the ephemeral mode's
    uvicorn server (`python -m uvicorn ...`)."""
    if not isinstance(module.subprocess, _Guarded):
        module.subprocess = _Guarded(module.subprocess)


class _Guarded:
    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, name)

    def Popen(self, args, *a, **kw):     # noqa: N802 (the name Prefect calls)
        if isinstance(args, (list, tuple)) and args and args[0] == sys.executable:
            args = command(list(args))
        return self._module.Popen(args, *a, **kw)


def _main(argv: list[str]) -> None:
    import runpy
    parent, rest = int(argv[0]), argv[1:]
    watch(parent)
    if rest[:1] == ["-m"]:
        sys.argv = [rest[1], *rest[2:]]
        runpy.run_module(rest[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = rest
        runpy.run_path(rest[0], run_name="__main__")


if __name__ == "__main__":
    _main(sys.argv[1:])
