"""Prefect overhead: the same ingest through the Prefect flow and as plain function calls.

    .venv/bin/python -m bench.bench_prefect [--articles 1000] [--rounds 3] [--task-calls 40] [--flat]

Generates a gxzf-like mirror of N articles (20 to a list page; `mirror.build.build_large`, as
bench_crawl does) in a temp dir and points `mirror.server`'s default sites at it, so both
variants serve it on 127.0.0.1 from this process exactly as `newsflow ingest --mirror` does.
Then, in this one process:

1. warm-up, plain (not measured): imports, jieba's dictionary, the taxonomy, the page cache;
2. the first flow run of the process: `ingest_flow` (its time minus a later flow run's is
   Prefect's ephemeral API start-up, reported on its own, not in the overhead);
3. `--rounds` rounds, each a plain ingest and a flow ingest (the order alternates):
   - flow:  `flows.ingest.ingest_flow(["gxzf"], mirror=True, ...)` (ephemeral mode, no server),
     inside `flows.ingest.one_off()` as `newsflow ingest` runs it (flow heartbeats off);
   - plain: what its tasks wrap, called directly: run lock, `steps.crawl_state`,
     `flows.crawl.crawl`, `unrecorded_runs` (+ `steps.unprocessed_runs` where it exists),
     `steps.record_crawl`, `steps.process_archives`, `steps.summarise`;
   each on a fresh warehouse and archive, so both do the same work (a full first crawl of
   every page, then extract, load, tag, index, dedupe and snapshot every article);
   - with --flat, two more: one flow calling ingest_flow's three tasks directly (no
     subflows), and the same with flow heartbeats off (the fixes the numbers point to);
4. per-call costs, measured after the warm-up: an empty flow run, an empty subflow call, and
   a trivial task call (N task calls in one flow minus N plain calls, over N).

Prints both ingest times (median and best), the overhead in seconds and percent (target:
Prefect adds <= 10%), the CPU seconds of each variant (this process, the crawl subprocess and
Prefect's local API server process), and the per-call costs. Figures only, no assertions.

The pipeline's step functions (crawl, record, process ...) are wrapped with timers in both
variants, so each run also splits into time inside the steps and time outside them (Prefect's
engine and API calls, or the plain glue). That difference is a second overhead estimate that
other load on the machine hardly moves (both halves come from the same run); the difference of
wall medians is the one the target is about. A background load makes both noisy: run with
more --rounds on a busy machine.
Prefect runs with a fresh PREFECT_HOME in the temp dir (so the first run also creates its
database) unless --prefect-home is given; PREFECT_API_URL is ignored (ephemeral mode).
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCE = "gxzf"          # build_large writes a gxzf-like site
MAX_PAGES = 100_000      # follow every list page (bench_crawl does the same)
TICK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------ CPU accounting

def _live_children_cpu() -> dict[int, float]:
    """CPU seconds (user+sys, with their reaped children) of this process's live children:
    Prefect's local API server is one (it runs until the process exits)."""
    me, out = os.getpid(), {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()      # after "pid (comm) "
        if int(fields[1]) == me:
            out[int(entry)] = sum(int(x) for x in fields[11:15]) / TICK
    return out


class CpuMeter:
    """CPU seconds spent between start() and stop(): this process (all threads, so the mirror
    server threads too), reaped children (the crawl subprocess), live children (Prefect's API
    server)."""

    def start(self):
        self.s = resource.getrusage(resource.RUSAGE_SELF)
        self.c = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.live = _live_children_cpu()
        return self

    def stop(self) -> dict[str, float]:
        s, c, live = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN),
                      _live_children_cpu())
        return {"self": s.ru_utime + s.ru_stime - self.s.ru_utime - self.s.ru_stime,
                "crawl": c.ru_utime + c.ru_stime - self.c.ru_utime - self.c.ru_stime,
                "server": sum(v - self.live.get(pid, 0.0) for pid, v in live.items())}


# ------------------------------------------------------------------------------ step timers

STEP_SECONDS: dict[str, float] = {}


def time_steps() -> None:
    """Wrap the step functions both variants call (module attributes looked up at call time by
    flows/ingest.py and by ingest_steps below) with timers adding to STEP_SECONDS."""
    import functools

    from flows import crawl as crawl_step
    from flows import steps

    def timed(module, name):
        fn = getattr(module, name)

        @functools.wraps(fn)
        def wrapper(*a, **kw):
            t = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                STEP_SECONDS[name] = STEP_SECONDS.get(name, 0.0) + time.perf_counter() - t
        setattr(module, name, wrapper)

    for name in ("crawl_state", "unprocessed_runs", "record_crawl", "process_archives", "archive_paths_for",
                 "summarise"):
        if hasattr(steps, name):
            timed(steps, name)
    for name in ("crawl", "unrecorded_runs"):
        timed(crawl_step, name)


# ------------------------------------------------------------------------------ the two variants

def ingest_steps(db: Path, archive: Path, via_tasks: bool = False) -> dict:
    """What ingest_flow does (flows/ingest.py), in its order, minus its subflows and artifact:
    plain calls of the step functions, or (via_tasks) calls of its three tasks."""
    from crawlers.registry import load_registry
    from flows import crawl as crawl_step
    from flows import ingest
    from flows import steps
    from flows.lock import run_lock
    from flows.process import run_id_now
    from mirror.server import serve

    log = logging.getLogger("bench.plain")       # process_task logs progress to Prefect's logger
    started = dt.datetime.now(dt.timezone.utc)
    with run_lock(db):
        names = [SOURCE]
        run_id = run_id_now()
        server = serve()
        try:
            if via_tasks:
                r = ingest.crawl_task(names, str(archive), run_id, dict(server.base_urls), None, MAX_PAGES,
                                      None, str(db))
                stats, recovered = r["stats"], r["recovered"]
            else:
                state = steps.crawl_state(db, names)
                stats = crawl_step.crawl(names, archive_dir=archive, run_id=run_id,
                                         mapping=dict(server.base_urls), max_pages=MAX_PAGES, state=state)
                recovered = crawl_step.unrecorded_runs(archive, names, state, exclude=stats)
                if hasattr(steps, "unprocessed_runs"):      # as crawl_task does
                    recovered += steps.unprocessed_runs(db, names, exclude=stats + recovered)
        finally:
            server.close()
        done = stats + recovered
        runs_done = [(s.run_id, s.source) for s in done]
        if via_tasks:
            ingest.record_task(str(db), done)
            counts = ingest.process_task(str(db), steps.archive_paths_for(done), None, runs_done)
        else:
            steps.record_crawl(db, done)
            counts = steps.process_archives(db, steps.archive_paths_for(done), load_registry(None),
                                            progress=log.info, runs_done=runs_done)
        summary = steps.summarise(stats, counts, db, started)
    return summary


def ingest_plain(db: Path, archive: Path) -> dict:
    return ingest_steps(db, archive)


def ingest_prefect(db: Path, archive: Path) -> dict:
    """As `newsflow ingest` runs it: in flows.ingest.one_off() (heartbeats off with no server)."""
    from flows.ingest import ingest_flow, one_off
    with one_off():
        return ingest_flow(sources=[SOURCE], mirror=True, db=str(db), archive_dir=str(archive), max_pages=MAX_PAGES)


_flat_flow = None


def quiet_settings():
    """A settings context with flow heartbeats off: Prefect 3.8's heartbeat thread sleeps in
    1-second slices and every flow run joins it on exit. No environment variable can switch it
    off (PREFECT_FLOWS_HEARTBEAT_FREQUENCY must be an integer >= 30)."""
    from prefect.context import SettingsContext
    from prefect.settings import get_current_settings
    quiet = get_current_settings().model_copy(deep=True)
    quiet.flows.heartbeat_frequency = None
    return SettingsContext(profile=SettingsContext.get().profile, settings=quiet)


def ingest_flat(db: Path, archive: Path, quiet: bool = False) -> dict:
    """--flat: one flow calling ingest_flow's three tasks directly, no subflows (a sketch of the
    fix the report suggests, not the project's flow); quiet: with flow heartbeats off too."""
    global _flat_flow
    if quiet:
        with quiet_settings():
            return ingest_flat(db, archive)
    if _flat_flow is None:
        from prefect import flow

        @flow(name="bench-ingest-flat")
        def flat(db: str, archive: str) -> dict:
            return ingest_steps(Path(db), Path(archive), via_tasks=True)
        _flat_flow = flat
    return _flat_flow(str(db), str(archive))


def timed_ingest(kind: str, fn, work: Path, n: int, expect: int) -> dict:
    run = work / f"{kind}{n}"
    db, archive = run / "newsflow.duckdb", run / "archive"
    STEP_SECONDS.clear()
    meter = CpuMeter().start()
    t0 = time.perf_counter()
    summary = fn(db, archive)
    secs = time.perf_counter() - t0
    cpu = meter.stop()
    in_steps = sum(STEP_SECONDS.values())
    if summary["articles_new"] != expect or summary["failed_sources"]:
        raise SystemExit(f"{kind} ingest {n}: {summary['articles_new']} new articles (expected {expect}), "
                         f"failed sources {summary['failed_sources']}")
    return {"seconds": secs, "pages": summary["pages_fetched"], "articles": summary["articles_new"], "cpu": cpu,
            "in_steps": in_steps, "outside": secs - in_steps, "steps": dict(STEP_SECONDS)}


# ------------------------------------------------------------------------------ per-call costs

def per_call_costs(task_calls: int, repeat: int = 5) -> dict[str, float]:
    """Median seconds of: an empty flow run (timed from outside), one empty subflow call and
    one trivial task call (both timed inside a running flow: a flow's own wall time is rounded
    up to its heartbeat thread's next 1-second tick, see the report)."""
    from prefect import flow, task

    @task(name="bench-noop")
    def noop(i: int) -> int:
        return i

    @flow(name="bench-empty")
    def empty() -> None:
        return None

    @flow(name="bench-calls")
    def calls(n: int, kind: str) -> float:
        t = time.perf_counter()
        for i in range(n):
            if kind == "task":
                noop(i)
            elif kind == "plain":
                noop.fn(i)
            else:
                empty()
        return time.perf_counter() - t

    def med(fn, *a):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn(*a)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    empty()                                        # warm the definitions
    calls(2, "task")
    calls(1, "subflow")
    flow_run = med(empty)
    with quiet_settings():                         # the same with flow heartbeats off
        flow_run_quiet = med(empty)
    tasks = statistics.median(calls(task_calls, "task") for _ in range(repeat))
    plain = statistics.median(calls(task_calls, "plain") for _ in range(repeat))
    n_sub = 3
    subflow = statistics.median(calls(n_sub, "subflow") for _ in range(max(1, repeat // 2))) / n_sub
    return {"flow": flow_run, "flow_quiet": flow_run_quiet, "subflow": subflow,
            "task": (tasks - plain) / task_calls}


# ------------------------------------------------------------------------------ main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--task-calls", type=int, default=40, help="trivial task calls per flow for the per-call cost")
    ap.add_argument("--prefect-home", type=Path, help="PREFECT_HOME to use (default: a fresh one in the temp dir)")
    ap.add_argument("--flat", action="store_true",
                    help="also time one flow calling the three tasks (no subflows), with and without heartbeats")
    args = ap.parse_args(argv)
    runs, first, costs = measure(args)
    print_figures(args, runs, first, costs)
    return 0


def measure(args) -> tuple[dict, dict, dict]:
    """Warm-up, the first flow run, then rotating rounds of each variant, and per-call costs."""
    with tempfile.TemporaryDirectory(prefix="nf-bench-prefect-") as tmp:
        tmp = Path(tmp)
        # Prefect reads its settings on import: set them first. Ephemeral mode = no API URL.
        os.environ.pop("PREFECT_API_URL", None)
        os.environ["PREFECT_HOME"] = str(args.prefect_home or tmp / "prefect-home")
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

        t0 = time.perf_counter()
        from mirror.build import build_large
        info = build_large(tmp / "mirror", args.articles)
        import mirror.server
        mirror.server.DEFAULT_SITES = tmp / "mirror" / "sites"   # serve() (in the flow and here) serves it
        print(f"generated mirror: {info['articles']} articles, {info['list_pages']} list pages "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)

        import prefect
        t0 = time.perf_counter()
        import flows.ingest  # noqa: F401
        time_steps()
        print(f"Prefect {prefect.__version__}, ephemeral mode (PREFECT_HOME={os.environ['PREFECT_HOME']}); "
              f"import of flows.ingest {time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs, not pinned",
              flush=True)

        work = tmp / "runs"
        n = args.articles
        warm = timed_ingest("plain", ingest_plain, work, 0, n)
        print(f"warm-up, plain (not measured): {warm['pages']} pages, {warm['articles']} articles in "
              f"{warm['seconds']:.2f} s", flush=True)
        first = timed_ingest("prefect", ingest_prefect, work, 0, n)
        print(f"first flow run of the process (Prefect's API start-up + the ingest): {first['seconds']:.2f} s",
              flush=True)

        fns = {"plain": ingest_plain, "prefect": ingest_prefect}
        if args.flat:
            fns["flat"] = ingest_flat
            fns["flat-quiet"] = lambda db, archive: ingest_flat(db, archive, quiet=True)
        runs = {k: [] for k in fns}
        for r in range(1, args.rounds + 1):
            kinds = list(fns)
            order = kinds[(r - 1) % len(kinds):] + kinds[:(r - 1) % len(kinds)]   # rotate who goes first
            for kind in order:
                runs[kind].append(timed_ingest(kind, fns[kind], work, r, n))
            print(f"round {r}: " + ", ".join(f"{k} {runs[k][-1]['seconds']:.2f} s" for k in order), flush=True)

        costs = per_call_costs(args.task_calls)
    return runs, first, costs


def print_figures(args, runs: dict, first: dict, costs: dict) -> None:
    n = args.articles

    def med(kind, key=lambda x: x["seconds"]):
        return statistics.median(key(x) for x in runs[kind])

    plain_med, pref_med = med("plain"), med("prefect")
    plain_best, pref_best = min(x["seconds"] for x in runs["plain"]), min(x["seconds"] for x in runs["prefect"])
    over = pref_med - plain_med
    pct = 100 * over / plain_med
    out_plain, out_pref = med("plain", lambda x: x["outside"]), med("prefect", lambda x: x["outside"])
    pages = runs["plain"][0]["pages"]
    print()
    print(f"ingest of {pages} pages ({n} articles) on a fresh warehouse and archive, {args.rounds} rounds each "
          f"(medians; CPU seconds: this process / crawl subprocess / Prefect's API server process):")
    print(f"{'variant':<13} {'wall s':>7} {'best s':>7} {'pages/s':>8} {'in steps s':>11} {'outside s':>10} "
          f"{'CPU s':>6} {'crawl':>6} {'API':>5}")
    names = {"plain": "plain calls", "prefect": "Prefect flow", "flat": "flat flow", "flat-quiet": "flat, no HB"}
    for kind in runs:
        name, m, b = names[kind], med(kind), min(x["seconds"] for x in runs[kind])
        cpu = {k: med(kind, lambda x, k=k: x["cpu"][k]) for k in ("self", "crawl", "server")}
        print(f"{name:<13} {m:>7.2f} {b:>7.2f} {pages / m:>8.1f} {med(kind, lambda x: x['in_steps']):>11.2f} "
              f"{med(kind, lambda x: x['outside']):>10.2f} {cpu['self']:>6.2f} {cpu['crawl']:>6.2f} "
              f"{cpu['server']:>5.2f}")
    print("inside the steps, by variant (medians, s; the rest take ~0):")
    for kind in runs:
        print(f"  {names[kind]:<13} " + ", ".join(
            f"{k} {statistics.median(x['steps'].get(k, 0) for x in runs[kind]):.2f}"
            for k in ("crawl", "record_crawl", "process_archives")))
    verdict = "met" if pct <= 10 else "NOT met"
    print(f"\nPrefect overhead: {over:+.2f} s per ingest = {pct:+.1f}% of the plain run (wall medians; best vs best "
          f"{100 * (pref_best - plain_best) / plain_best:+.1f}%); target <= 10%: {verdict}")
    print(f"  same-run estimate (time outside the steps, Prefect minus plain): {out_pref - out_plain:+.2f} s = "
          f"{100 * (out_pref - out_plain) / plain_med:+.1f}% of the plain run")
    for kind, what in (("flat", "flat flow (ingest_flow's 3 tasks called from one flow, no subflows)"),
                       ("flat-quiet", "flat flow with flow heartbeats off")):
        if kind in runs:
            fo = med(kind) - plain_med
            print(f"  {what}: {fo:+.2f} s = {100 * fo / plain_med:+.1f}% (wall medians); outside the steps "
                  f"{med(kind, lambda x: x['outside']) - out_plain:+.2f} s")
    print(f"Prefect's first-run start-up, not in the overhead: first flow run {first['seconds']:.2f} s, of which "
          f"{first['outside']:.2f} s outside the steps -> start-up ~{first['outside'] - out_pref:.1f} s")
    print(f"per call, after warm-up (medians of 5): empty flow run {1000 * costs['flow']:.0f} ms "
          f"({1000 * costs['flow_quiet']:.0f} ms with flow heartbeats off), subflow call "
          f"{1000 * costs['subflow']:.0f} ms, task call {1000 * costs['task']:.1f} ms "
          f"(a trivial task called {args.task_calls} times in a flow, minus as many plain calls, per call)")
    fixed = costs["flow_quiet"] + 3 * costs["task"]
    print(f"ingest_flow as `newsflow ingest` runs it = 1 flow run (heartbeats off: flows.ingest.one_off) + 3 task "
          f"calls + 1 artifact: ~{fixed:.2f} s from the per-call costs (with heartbeats on, a flow run waits "
          f"0-1 s more for its heartbeat thread's 1-second sleep)")


if __name__ == "__main__":
    sys.exit(main())
