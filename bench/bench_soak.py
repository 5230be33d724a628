"""Soak: a 20,000-page mirror ingested twice in a row, memory bounded, counts exact.

    .venv/bin/python -m bench.bench_soak [--articles 20000] [--json FILE] [--keep DIR]

Generates a gxzf-like site of N articles (20 to a TRS list page: N/20 list pages) in a temp
dir (`mirror.build.build_large`), then runs the real `newsflow ingest --mirror gxzf` twice, each
in its own process tree, against a fresh warehouse: the Prefect flow, the Scrapy crawl in its
own process, extraction, load, tags, search index, dedupe, snapshot. The only difference from
`make demo` is which mirror is served (the generated one, not the bundled one). For each run
it prints the wall time, the summary's counts, the warehouse's counts (every generated URL
exactly once?) and the peak RSS of each process of the run (VmHWM, polled) and of the largest
one (getrusage of the finished tree). Not part of the test suite: figures only; exit 1 when the
counts are not exact.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the CLI, with the mirror's sites folder swapped for the generated one
CHILD = ("import sys; from pathlib import Path; import mirror.server as m; m.DEFAULT_SITES = Path(sys.argv[1]); "
         "from flows.cli import main; sys.argv = ['newsflow'] + sys.argv[2:]; main()")


def _hwm(pid: int) -> tuple[str, int] | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    kb = next((int(ln.split()[1]) for ln in status.splitlines() if ln.startswith("VmHWM:")), 0)
    kind = ("crawl (Scrapy)" if "crawlers.run" in cmd else "newsflow ingest (flow, extract, load)"
            if "flows.cli" in cmd else "Prefect server" if "prefect" in cmd else cmd[:40])
    return kind, kb


def _tree(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        todo += [int(c) for c in children]
    return out


def measure(cmd: list[str], env: dict) -> tuple[subprocess.CompletedProcess, dict[str, float], float, float]:
    """Run cmd; returns (result, peak MB per process kind, overall peak MB, seconds)."""
    peaks: dict[int, tuple[str, int]] = {}
    t = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    done = threading.Event()

    def poll():
        while not done.is_set():
            try:
                for pid in _tree(proc.pid):
                    got = _hwm(pid)
                    if got:
                        peaks[pid] = got
            except (OSError, ValueError):     # a process that exited mid-read: poll again
                pass
            done.wait(0.25)
    th = threading.Thread(target=poll, daemon=True)
    th.start()
    out, err = proc.communicate()
    secs = time.monotonic() - t
    done.set()
    th.join()
    by_kind: dict[str, float] = {}
    for kind, kb in peaks.values():
        if kb:
            by_kind[kind] = max(by_kind.get(kind, 0), kb / 1024)
    # the largest process of every run so far (exact: the kernel's maxrss of the finished tree)
    overall = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), by_kind, overall, secs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=20000)
    ap.add_argument("--json", help="also write the figures here (for `python -m bench.reliability --soak`)")
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temp dir, removed)")
    args = ap.parse_args(argv)
    from mirror.build import build_large

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nf-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.monotonic()
        info = build_large(work / "mirror", args.articles)
        expected = set(info["urls"])
        print(f"generated {info['articles']:,} articles and {info['list_pages']:,} list pages "
              f"({info['article_bytes'] / 1e6:.0f} MB of article HTML) in {time.monotonic() - t:.1f} s -> {work}")
        db = work / "data" / "nf.duckdb"
        env = {**os.environ, "PREFECT_HOME": str(work / "prefect-home"), "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-c", CHILD, str(work / "mirror" / "sites"), "--db", str(db), "ingest", "--mirror",
               "gxzf", "--max-pages", str(info["list_pages"] + 10), "--json"]
        runs, exact = [], True
        import warehouse
        for i in (1, 2):
            res, by_kind, overall, secs = measure(cmd, env)
            if res.returncode != 0:
                print(res.stderr[-3000:], file=sys.stderr)
                return 1
            out = res.stdout
            start = 0 if out.startswith("{") else out.index("\n{") + 1      # (anything printed before the summary)
            if start:
                print(f"       (before the summary, stdout had: {out[:start].strip()[:300]!r})")
            s = json.loads(out[start:])
            n, distinct = warehouse.query(db, "select count(*), count(distinct url) from articles")[1][0]
            urls = {r[0] for r in warehouse.query(db, "select url from articles")[1]}
            ok = n == distinct == len(expected) and urls == expected and (i == 1 or s["articles_new"] == 0)
            exact &= ok
            run = {"seconds": round(secs, 1), "pages_fetched": s["pages_fetched"], "article_requests": s["article_requests"],
                   "articles_new": s["articles_new"], "articles_updated": s["articles_updated"],
                   "articles_rejected": s["articles_rejected"], "articles": n, "distinct_urls": distinct,
                   "lost": len(expected - urls), "duplicated": n - distinct,
                   # polling can miss a process's last high-water mark (it was seen missing the ingest
                   # process of run 1 under load); after the first run getrusage is exactly that run's
                   # largest process, later it is the largest of all runs so far
                   "peak_rss_mb": round(max(max(by_kind.values(), default=0), overall if i == 1 else 0), 1),
                   "peak_rss_by_process_mb": {k: round(v, 1) for k, v in sorted(by_kind.items())}}
            runs.append(run)
            print(f"run {i}: {secs:.1f} s; pages fetched {s['pages_fetched']:,} ({s['not_modified']} not modified), "
                  f"article requests {s['article_requests']:,}; new {s['articles_new']:,}, updated "
                  f"{s['articles_updated']:,}, rejected {s['articles_rejected']:,}; warehouse {n:,} articles, "
                  f"{distinct:,} distinct URLs, lost {run['lost']}, duplicated {run['duplicated']} -> "
                  f"{'exact' if ok else 'NOT EXACT'}")
            print("       peak RSS (VmHWM): " + "; ".join(f"{k} {v:.0f} MB" for k, v in sorted(by_kind.items()))
                  + f"; largest process of the runs so far (getrusage) {overall:.0f} MB")
        result = {"articles": info["articles"], "list_pages": info["list_pages"], "runs": runs, "exact": exact,
                  "peak_rss_mb_getrusage": round(overall, 1),
                  "cpus": os.cpu_count(),
                  "note": f"measured on this {os.cpu_count()}-CPU machine (`python -m bench.bench_soak`)."}
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0 if exact else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
