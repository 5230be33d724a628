"""`reextract` of a large archive on a two-worker Dask cluster vs one process.

    .venv/bin/python -m bench.bench_dask [--pages 20000] [--files 40] [--workers 2] [--json FILE]
    .venv/bin/python -m bench.bench_dask --ceiling --pages 4000 --files 8   # plain processes only
    .venv/bin/python -m bench.bench_dask --cluster    # a standing API and cluster, as in the scale-out setup

Builds a synthetic archive of N pages in F WARC files by replicating the bundled mirror's
article pages under new URLs (`build_archive`), loads it once (extraction only: no tags, index
or dedupe, to set up the rows), then times `newsflow reextract` as the CLI runs it, in its
own process: one process, then `--dask local:W` (a LocalCluster of W single-threaded worker
processes on 127.0.0.1, through prefect-dask's DaskTaskRunner). Before each run the same
rows (every 10th) get a wrong title, so both runs find and rewrite the same changes; after
each the articles table's fingerprint is taken: they must be identical (exit 1 otherwise).

Printed: wall seconds of each run (the Dask one includes starting Prefect's temporary server
and the cluster), the CPU seconds of each run's process tree (the workers included), the
speed-up in wall time, and the machine's load average before and after (other agents share the
2 cores: under load the wall-time speed-up understates what two free cores give).

--cluster: the README's scale-out setup instead of `local:W`: a Prefect API (`prefect server
start`'s app) and a Dask scheduler with W `dask worker --nthreads 1 --preload flows.fanout`
processes, all on 127.0.0.1 and started before the clock; both runs get PREFECT_API_URL and the
Dask run is `--dask tcp://127.0.0.1:PORT`. The standing processes' CPU is added to the Dask run's.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))


def build_archive(root: Path, pages: int, files: int, run_prefix: str = "synth") -> list[Path]:
    """`files` WARC files under root/synth/ holding `pages` article responses in all: the
    mirror's article pages replicated under new URLs (each its own article id)."""
    from crawlers.archive import ArchiveWriter
    bodies = [(e, (ROOT / "mirror" / "sites" / e["path"]).read_bytes()) for e in EXPECTED]
    out = []
    per = -(-pages // files)
    n = 0
    for f in range(files):
        path = root / "synth" / f"{run_prefix}{f:04d}.warc.gz"
        w = ArchiveWriter(path)
        for _ in range(min(per, pages - n)):
            e, body = bodies[n % len(bodies)]
            base, dot, ext = e["url"].rpartition(".")
            url = f"{base}-r{n}.{ext}"
            w.write(url=url, final_url=url, fetch_url=url, status=200,
                    headers=[("Content-Type", "text/html")], body=body,
                    fetched_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), source=e["source"],
                    page_kind="article", list_date=e["list_date"], run_id=path.name[:-len(".warc.gz")])
            n += 1
        w.close(fsync=False)
        out.append(path)
    return out


def spoil(db: Path) -> int:
    """Give every 10th article (by id) a wrong title: work for both runs to find and undo."""
    import warehouse
    with warehouse.connect(db) as con:
        con.execute("update articles set title = '旧标题' where id in "
                    "(select id from (select id, row_number() over (order by id) n from articles) where n % 10 = 0)")
        return con.execute("select count(*) from articles where title = '旧标题'").fetchone()[0]


def fingerprint(db: Path) -> tuple:
    import warehouse
    _, rows = warehouse.query(db, "select count(*), sum(hash(id || title || coalesce(author, '') || text || "
                                  "content_hash || extractor_version)) from articles")
    return tuple(rows[0])


def _role(cmdline: list[str]) -> str:
    text = " ".join(cmdline)
    for key, name in (("distributed.cli", "dask"), ("spawn_main", "dask worker"), ("multiprocessing", "dask worker"),
                      ("uvicorn", "prefect API"), ("prefect", "prefect API"), ("newsflow", "parent")):
        if key in text:
            return name
    return "other"


def _sample(pid: int, seen: dict, stop) -> None:
    """Last CPU seconds seen of each process in pid's tree, by pid (psutil, every 0.2 s): a
    process that exits between two looks loses at most its last 0.2 s."""
    import psutil
    try:
        root = psutil.Process(pid)
    except psutil.Error:
        return
    while not stop.is_set():
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            break
        for p in procs:
            try:
                with p.oneshot():
                    c = p.cpu_times()
                    seen[p.pid] = (_role(p.cmdline()), c.user + c.system)
            except psutil.Error:
                pass
        stop.wait(0.2)


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def standing_cluster(workers: int):
    """A Prefect API and a Dask scheduler with `workers` single-threaded workers on 127.0.0.1:
    (the dask address, the environment naming the API, {role: psutil.Process})."""
    import psutil
    from distributed import Client
    from prefect.server.api.server import SubprocessASGIServer
    api = SubprocessASGIServer(port=_free_port())
    api.start()
    env = {**os.environ, "PREFECT_API_URL": api.api_url, "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(sys.executable).with_name("dask"))
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = {"scheduler": subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                            "--no-dashboard"], **quiet)}
    for i in range(workers):
        procs[f"worker {i + 1}"] = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                                                    "--no-dashboard", "--preload", "flows.fanout"], **quiet)
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        watched = {k: psutil.Process(p.pid) for k, p in procs.items()}
        watched["prefect API"] = psutil.Process(api.server_process.pid) if getattr(api, "server_process", None) else None
        yield address, env, {k: v for k, v in watched.items() if v is not None}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()
        api.stop()


def _cpu(procs: dict) -> dict[str, float]:
    """CPU seconds of each process and its children (a `dask worker` is a nanny and its worker)."""
    import psutil
    out = {}
    for role, p in procs.items():
        out[role] = 0.0
        try:
            tree = [p] + p.children(recursive=True)
        except psutil.Error:
            continue
        for q in tree:
            try:
                c = q.cpu_times()
                out[role] += c.user + c.system
            except psutil.Error:
                pass
    return out


def newsflow(db: Path, archive: Path, *args: str, env: dict | None = None,
             standing: dict | None = None) -> tuple[float, float, subprocess.CompletedProcess, dict]:
    """Run the CLI; its wall seconds, the CPU seconds of its whole process tree (the cluster's
    workers included: they are its children), the result, and CPU seconds by role (parent,
    Prefect API, Dask workers, scheduler: sampled, so a little short of the total)."""
    import resource
    import threading
    exe = Path(sys.executable).with_name("newsflow")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    standing_before = _cpu(standing or {})
    t = time.perf_counter()
    popen = subprocess.Popen([str(exe), "--db", str(db), "--archive", str(archive), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    seen: dict = {}
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(popen.pid, seen, stop), daemon=True)
    sampler.start()
    out, err = popen.communicate()
    wall = time.perf_counter() - t
    stop.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    roles: dict[str, float] = {}
    for role, secs in seen.values():
        roles[role] = round(roles.get(role, 0.0) + secs, 1)
    for role, secs in _cpu(standing or {}).items():     # the standing processes: what this run cost them
        used = secs - standing_before[role]
        cpu += used
        roles[f"standing {role}"] = round(used, 1)
    return wall, cpu, subprocess.CompletedProcess(popen.args, popen.returncode, out, err), roles


def _extract_all(args):
    from crawlers.registry import load_registry
    from crawlers.storage import LocalStore
    from flows.process import extract_file
    root, locs = args
    store, reg = LocalStore(root), load_registry()
    return sum(len(extract_file(store.spec(), loc, reg)[0]) for loc in locs)


def ceiling(pages: int, files: int, workers: int) -> None:
    """What the machine gives two processes at all, without Dask or Prefect: the same files
    extracted by one process, then split over `workers` plain processes (multiprocessing),
    each warmed up first. Its ratio bounds what any fan-out can reach here and now."""
    import multiprocessing as mp
    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-ceiling-"))
    build_archive(tmp / "archive", pages, files)
    from crawlers.storage import LocalStore
    locs = LocalStore(tmp / "archive").locations()
    with mp.get_context("spawn").Pool(workers) as pool:
        pool.map(_extract_all, [(tmp / "archive", locs[:1])] * workers)          # imports, warm-up
        t = time.perf_counter()
        pool.map(_extract_all, [(tmp / "archive", locs)])
        one = time.perf_counter() - t
        t = time.perf_counter()
        pool.map(_extract_all, [(tmp / "archive", locs[i::workers]) for i in range(workers)])
        many = time.perf_counter() - t
    print(f"ceiling (plain processes, no Dask/Prefect): {pages} pages in 1 process {one:.1f} s, in {workers} "
          f"{many:.1f} s: {one / many:.2f}x   load {os.getloadavg()[0]:.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ceiling", action="store_true",
                    help="only measure what plain processes gain on this machine now (no Dask, no Prefect)")
    ap.add_argument("--pages", type=int, default=20000)
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cluster", action="store_true",
                    help="a standing Prefect API and Dask scheduler + workers (tcp://) instead of local:W")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    if args.ceiling:
        ceiling(args.pages, args.files, args.workers)
        return 0
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    tmp = Path(tempfile.mkdtemp(prefix="bench-dask-"))
    archive, db = tmp / "archive", tmp / "nf.duckdb"
    t = time.perf_counter()
    files = build_archive(archive, args.pages, args.files)
    print(f"archive: {args.pages} pages in {len(files)} WARC files "
          f"({sum(p.stat().st_size for p in files) / 1e6:.0f} MB) built in {time.perf_counter() - t:.1f} s")
    from flows import steps
    t = time.perf_counter()
    counts = steps.process_archives(db, files, archive=archive, tag=False, index=False, dedupe=False,
                                    snapshot=False)
    print(f"loaded {sum(c.new for c in counts.values())} articles in {time.perf_counter() - t:.1f} s (setup)")
    with contextlib.ExitStack() as stack:
        if args.cluster:
            t = time.perf_counter()
            address, env, standing = stack.enter_context(standing_cluster(args.workers))
            print(f"standing Prefect API and Dask cluster {address} ({args.workers} workers) up in "
                  f"{time.perf_counter() - t:.1f} s (not timed below)")
            runs = (("one process", (), None), (f"dask {address}", ("--dask", address), standing))
        else:
            env = None
            runs = (("one process", (), None), (f"dask local:{args.workers}", ("--dask", f"local:{args.workers}"), None))
        return _compare(args, db, archive, files, runs, env)


def _compare(args, db: Path, archive: Path, files: list, runs, env) -> int:
    results = {}
    for name, extra, standing in runs:
        spoiled = spoil(db)
        load = os.getloadavg()[0]
        secs, cpu, proc, roles = newsflow(db, archive, "reextract", *extra, env=env, standing=standing)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("extractor ")), "")
        results[name] = {"seconds": round(secs, 2), "cpu_seconds": round(cpu, 1), "report": line,
                         "fingerprint": fingerprint(db), "cpu_by_process": roles,
                         "spoiled": spoiled, "load_before": load, "load_after": os.getloadavg()[0]}
        print(f"{name:<28} {secs:7.1f} s wall  {cpu:7.1f} s CPU (process tree)   "
              f"load {load:.2f} -> {os.getloadavg()[0]:.2f}   {line}")
        print("    CPU s by process: " + ", ".join(f"{k} {v}" for k, v in sorted(roles.items())))
    (a, b) = results.values()
    same = a["fingerprint"] == b["fingerprint"] and a["report"] == b["report"]
    speedup = a["seconds"] / b["seconds"]
    print(f"speed-up {speedup:.2f}x on {os.cpu_count()} cores; identical output: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps({"pages": args.pages, "files": len(files), "speedup": speedup,
                                               "cluster": "standing" if args.cluster else "local",
                                               "identical": same, "runs": results}, indent=1, default=str))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
