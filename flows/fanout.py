"""`process` and `reextract` over a Dask cluster, through prefect-dask's DaskTaskRunner.

The CPU-bound part of both passes (reading WARC records and extracting them) runs as one
Prefect task per WARC file on the cluster's workers; each task returns its records, and the
flow (this process) takes them in the order the files were given and loads them with the one
serialised loader (flows/steps.py: `_ChunkLoader`), exactly as a single-process pass does:
the warehouse is written by this process only, and the output is the same.

`--dask tcp://host:8786` uses a running scheduler (its workers need newsflow installed, and the
archive readable: an s3:// archive, or the same folder mounted); `--dask local:N` starts a
LocalCluster of N single-threaded worker processes on 127.0.0.1 for the run.

A cluster lost mid-pass (the scheduler killed, the connection gone) raises DaskLost: the chunks
loaded before it stay (whole chunks), the pass's crawl runs are not marked processed, and a
rerun loads the rest with exact counts (the load is idempotent).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from crawlers.registry import load_registry
from flows import steps
from flows.process import extract_file
from flows.reextract import reextract, reextract_file
from schemas.errors import Failed


class DaskLost(Failed):
    """The Dask cluster went away mid-pass (scheduler killed or unreachable): what was loaded
    before stays, nothing is half-written, and running the command again finishes the pass."""


class Sealed:
    """A task argument Prefect hands over as it is. Prefect walks every argument (lists,
    dicts, dataclasses: the registry, the offsets) looking for futures to wait on: 0.2 s of
    this process's CPU per task under cProfile (3.3 s for 16 submits), while the workers need
    both cores. Its own `quote` reached the task still wrapped through prefect-dask 0.3.7, so
    the tasks open these themselves."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


@task(name="extract-file", cache_policy=NO_CACHE, retries=0)
def extract_file_task(spec: Sealed, loc: Sealed, registry: Sealed):
    return extract_file(spec.value, loc.value, registry.value)


@task(name="reextract-file", cache_policy=NO_CACHE, retries=0)
def reextract_file_task(spec: Sealed, loc: Sealed, offsets: Sealed, registry: Sealed):
    return reextract_file(spec.value, loc.value, offsets.value, registry.value)


def task_runner(address: str):
    """The DaskTaskRunner for a running scheduler at `tcp://host:port`."""
    from prefect_dask import DaskTaskRunner
    return DaskTaskRunner(address=address)


def dask_setup(worker=None) -> None:
    """A worker's preload (`local:N`): import what a task runs (Prefect's task engine,
    extraction, normalisation) and warm the extractor once, while this process still starts
    Prefect's temporary API, instead of in each worker's first task."""
    from flows.process import warm_up
    warm_up()


@contextlib.contextmanager
def _scheduler(dask: str, env: dict):
    """The scheduler address to run on, as a callable: `tcp://...` as given; `local:N` a
    LocalCluster of N single-threaded worker processes on 127.0.0.1 with `env`, started in
    the background now (its workers import and warm up while this process starts Prefect's
    temporary API: ~2 s of a run) and closed after the flow; calling waits for it."""
    if not dask.startswith("local:"):
        yield lambda: dask
        return
    import threading

    import dask as dask_config
    from distributed import LocalCluster
    box: dict = {}

    def start():
        try:
            with dask_config.config.set({"distributed.worker.preload": ["flows.fanout"],
                                         "distributed.worker.profile.enabled": False}):
                # the statistical profiler samples the task thread every 10 ms (a plain
                # cluster extracting 4,000 pages: 14.3 s with it, 12.1 s without)
                box["cluster"] = LocalCluster(n_workers=int(dask[len("local:"):]), threads_per_worker=1,
                                              processes=True, host="127.0.0.1", dashboard_address=None, env=env)
        except BaseException as exc:        # handed to the caller, who waits for the address
            box["error"] = exc

    starter = threading.Thread(target=start, name="newsflow-local-cluster", daemon=True)
    starter.start()

    def address() -> str:
        starter.join()
        if "error" in box:
            raise box["error"]
        return box["cluster"].scheduler_address
    try:
        yield address
    finally:
        starter.join()
        if "cluster" in box:
            box["cluster"].close()


def _free_port() -> int:
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lost(dask: str, exc: BaseException) -> DaskLost:
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return DaskLost(f"lost the Dask cluster {dask} mid-pass ({type(exc).__name__}: {text}); the chunks "
                    "loaded before stay and nothing is half-written: run the command again to finish")


def fanout(the_task, dask: str):
    """A fan-out for flows/steps.py: one task per argument tuple on the cluster, all submitted
    at once (each argument Sealed), the results taken back in order."""
    def run(fn, args):
        from schemas.errors import NewsflowError
        try:
            futures = [the_task.submit(*[Sealed(x) for x in a]) for a in args]
        except Exception as exc:
            raise _lost(dask, exc) from exc
        for f in futures:
            try:
                yield f.result()
            except NewsflowError:
                raise
            except Exception as exc:
                # a task that fails with an error of its own is a bug and keeps it; anything
                # else here is the cluster: the scheduler gone, a connection closed, cancelled
                if _is_task_error(exc):
                    raise
                raise _lost(dask, exc) from exc
    return run


def _is_task_error(exc: BaseException) -> bool:
    """An exception raised by our code inside a task (not by Dask's machinery)."""
    import asyncio
    import concurrent.futures
    dask_kinds = (concurrent.futures.CancelledError, asyncio.CancelledError, OSError, TimeoutError,
                  asyncio.TimeoutError)
    try:
        from distributed.comm.core import CommClosedError
        from distributed.client import FutureCancelledError
        dask_kinds += (CommClosedError, FutureCancelledError)
    except ImportError:
        pass
    try:
        from prefect.exceptions import CancelledRun, CrashedRun
        dask_kinds += (CrashedRun, CancelledRun)
    except ImportError:
        pass
    return not isinstance(exc, dask_kinds)


def _store(archive: str, archive_url: str | None):
    from crawlers.storage import open_store
    return open_store(archive_url or archive, spool=archive)


@flow(name="process-dask")
def process_dask_flow(db: str, paths: list[str], registry: str | None, archive: str,
                      archive_url: str | None, dask: str) -> dict:
    """Extract these WARC files on the cluster, load them here (one loader)."""
    counts = steps.process_archives(db, paths, load_registry(registry), progress=get_run_logger().info,
                                    archive=archive, store=_store(archive, archive_url),
                                    fanout=fanout(extract_file_task, dask))
    return {k: vars(v) for k, v in counts.items()}


@flow(name="reextract-dask")
def reextract_dask_flow(db: str, registry: str | None, source: str | None, since: str | None,
                        dry_run: bool, archive: str, archive_url: str | None, dask: str):
    return reextract(db, load_registry(registry), source=source,
                     since=dt.date.fromisoformat(since) if since else None, dry_run=dry_run,
                     progress=get_run_logger().info, archive=archive, store=_store(archive, archive_url),
                     fanout=fanout(reextract_file_task, dask))


def _run(the_flow, cluster: str, **params):
    """Run the flow on the cluster. Without a Prefect server configured, the temporary API's
    port is chosen first, so a local cluster's workers start knowing it (each would otherwise
    start a temporary server of its own, ~10 s each), and start while it does."""
    from prefect.settings import get_current_settings

    from flows.ingest import one_off
    port = None if get_current_settings().api.url or os.environ.get("PREFECT_API_URL") else _free_port()
    with _scheduler(cluster, {"PREFECT_API_URL": f"http://127.0.0.1:{port}/api"} if port else {}) as address:
        if port:
            from prefect.server.api import server as api_server
            srv = api_server.SubprocessASGIServer()     # the instance Prefect's ephemeral client uses
            if not srv.running:
                # (should the port be taken meanwhile, Prefect moves to another and the
                # workers' first tasks fail to report: run again)
                srv.port = port
        with one_off():
            return the_flow.with_options(task_runner=task_runner(address()))(**params)


def process_on_dask(db: str | Path, paths: list[str], registry: str | None, archive: str,
                    archive_url: str | None, dask: str) -> dict[str, steps.SourceCounts]:
    """`newsflow process --dask`: the per-source counts, as `steps.process_archives` returns them."""
    raw = _run(process_dask_flow, dask, db=str(db), paths=[str(p) for p in paths], registry=registry,
               archive=str(archive), archive_url=archive_url, dask=dask)
    return {k: steps.SourceCounts(**v) for k, v in raw.items()}


def reextract_on_dask(db: str | Path, registry: str | None, source: str | None, since: dt.date | None,
                      dry_run: bool, archive: str, archive_url: str | None, dask: str):
    """`newsflow reextract --dask`: the ReextractReport."""
    return _run(reextract_dask_flow, dask, db=str(db), registry=registry, source=source,
                since=since.isoformat() if since else None, dry_run=dry_run, archive=str(archive),
                archive_url=archive_url, dask=dask)
