"""Regenerate docs/reliability.md: the fault table, every row a test that has just run.

    .venv/bin/python -m bench.reliability [--output docs/reliability.md] [--soak soak.json] [--no-run]

Reads the registry of faults (tests/faults/catalog.py), checks that every test a row names
exists and that every test in tests/test_faults_*.py belongs to some row, runs those tests with
pytest (the fault suite plus the older tests a row names; ~2.5 min, most of it two real
overlapping `newsflow ingest` runs), and writes the table: each fault, what the system did, the
check, what the tests measured (articles lost, duplicated, crashes: tests/faults/helpers.record)
and the result. `--soak FILE` adds the load figures `python -m bench.bench_soak --json FILE`
wrote (and `--soak-note TEXT` a paragraph about them). `--no-run` only checks the registry against the tests (no table is written).
Exit 1 when a named test is missing, a fault test is in no row, or a test failed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from faults.catalog import FAULTS  # noqa: E402

PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
# As `make test` runs the suite: a file per worker, so a fixture shared by a file is built once.
PARALLEL = ["-n", "auto", "--maxprocesses", "4", "--dist", "loadfile"]


def _files() -> list[str]:
    own = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_faults_*.py"))
    named = sorted({t.split("::")[0] for f in FAULTS for t in f.tests})
    return sorted(set(own) | set(named))


def collect(files: list[str]) -> list[str]:
    out = subprocess.run([*PYTEST, "--collect-only", "-q", *files], capture_output=True, text=True, cwd=ROOT)
    ids = [ln.strip() for ln in out.stdout.splitlines() if "::" in ln and not ln.startswith(" ")]
    if out.returncode != 0 or not ids:
        sys.exit(f"collection failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return ids


def _matches(name: str, nodeid: str) -> bool:
    """A row's test names one node id, or (without a [parameter]) every parametrization."""
    return nodeid == name or ("[" not in name and nodeid.startswith(name + "["))


def check(ids: list[str]) -> list[str]:
    problems = []
    for f in FAULTS:
        for t in f.tests:
            if not any(_matches(t, i) for i in ids):
                problems.append(f"row {f.fault!r}: no test {t}")
    named = [t for f in FAULTS for t in f.tests]
    for i in ids:
        if "/test_faults_" in i and not any(_matches(t, i) for t in named):
            problems.append(f"{i} is in no row of tests/faults/catalog.py")
    return problems


def run(ids: list[str]) -> tuple[dict[str, str], dict[str, list[dict]], float, str]:
    named = sorted({t for f in FAULTS for t in f.tests} | {i for i in ids if "/test_faults_" in i})
    with tempfile.TemporaryDirectory() as tmp:
        xml, ledger = Path(tmp) / "junit.xml", Path(tmp) / "ledger.jsonl"
        t = time.monotonic()
        proc = subprocess.run([*PYTEST, "-q", "-rfEs", *PARALLEL, f"--junitxml={xml}", *named], cwd=ROOT, text=True,
                              capture_output=True, env={**os.environ, "NEWSFLOW_FAULT_LEDGER": str(ledger)})
        took = time.monotonic() - t
        if proc.returncode != 0:
            print(proc.stdout[-6000:], file=sys.stderr)
        outcomes: dict[str, str] = {}
        for case in ET.parse(xml).iter("testcase"):
            path = case.get("classname", "").replace(".", "/") + ".py"
            nodeid = f"{path}::{case.get('name')}"
            kinds = {child.tag for child in case}
            outcomes[nodeid] = ("failed" if kinds & {"failure", "error"} else "skipped" if "skipped" in kinds
                                else "passed")
        figures: dict[str, list[dict]] = defaultdict(list)
        if ledger.exists():
            for line in ledger.read_text(encoding="utf-8").splitlines():
                rec = json.loads(line)
                figures[rec.pop("test")].append(rec)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return outcomes, figures, took, summary


def _sum(figs: list[dict], key: str) -> str:
    vals = [f[key] for f in figs if key in f]
    return str(sum(vals)) if vals else "–"


def _rows(outcomes, figures) -> tuple[list[str], list[str], dict]:
    """The table's rows, the list of bugs fixed, and the suite's totals (lost, duplicated, crashes)."""
    rows, fixed = [], []
    totals = defaultdict(int)
    for n, f in enumerate(FAULTS, 1):
        nodes = [i for i in outcomes if any(_matches(t, i) for t in f.tests)]
        figs = [x for i in nodes for x in figures.get(i, [])]
        res = [outcomes[i] for i in nodes]
        result = ("FAILED" if "failed" in res else "skipped" if res and all(r == "skipped" for r in res)
                  else f"pass ({res.count('passed')})")
        for k in ("lost", "duplicated", "crashes"):
            totals[k] += sum(x[k] for x in figs if k in x)
        tests = "<br>".join(f"`{t.split('::')[0].removeprefix('tests/')}::{t.split('::')[1]}`" for t in f.tests)
        mark = f" (bug fixed, {len(fixed) + 1})" if f.fixed else ""
        rows.append(f"| {n} | {f.area} | {f.fault}{mark} | {f.did} | {f.check} | {_sum(figs, 'lost')} | "
                    f"{_sum(figs, 'duplicated')} | {_sum(figs, 'crashes')} | {tests} | {result} |")
        if f.fixed:
            fixed.append(f"{len(fixed) + 1}. **{f.fault}** (row {n}). Before: {f.fixed}.")
    return rows, fixed, totals


def _soak_section(soak: dict | None, note: str) -> list[str]:
    if not soak:
        return ["Run `python -m bench.bench_soak --json soak.json`, then this script with `--soak soak.json`.", ""]
    runs = soak["runs"]
    out = [
        f"`python -m bench.bench_soak` ({soak['articles']:,} articles, {soak['list_pages']:,} list pages, "
        f"generated and served on 127.0.0.1; `newsflow ingest` twice in a row, each in its own process):",
        "",
        "| run | seconds | pages fetched | article requests | new | updated | rejected | in warehouse | "
        "distinct URLs | lost | duplicated | peak RSS, largest process (MB) | peak RSS by process (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[f"| {i} | {r['seconds']:.0f} | {r['pages_fetched']:,} | {r['article_requests']:,} | {r['articles_new']:,} | "
          f"{r['articles_updated']:,} | {r['articles_rejected']:,} | {r['articles']:,} | {r['distinct_urls']:,} | "
          f"{r['lost']} | {r['duplicated']} | {r['peak_rss_mb']:.0f} | "
          + "; ".join(f"{k} {v:.0f}" for k, v in r["peak_rss_by_process_mb"].items()) + " |"
          for i, r in enumerate(runs, 1)],
        "",
        f"Counts exact: {'yes' if soak['exact'] else 'NO'} (every generated article once after each run, "
        "nothing fetched or added the second time). Peak RSS is each process's high-water mark (VmHWM); "
        + soak.get("note", ""),
        "",
    ]
    return out + ([note, ""] if note else [])


def render(outcomes, figures, took, summary, soak: dict | None, note: str = "") -> str:
    rows, fixed, totals = _rows(outcomes, figures)
    passed = sum(1 for v in outcomes.values() if v == "passed")
    skipped = sum(1 for v in outcomes.values() if v == "skipped")
    failed = sum(1 for v in outcomes.values() if v == "failed")
    out = [
        "# Reliability: faults and bad input",
        "",
        "Generated by `.venv/bin/python -m bench.reliability` from the registry of faults",
        "(`tests/faults/catalog.py`); do not edit by hand. Every row is a test, run for this table:",
        f"{len(FAULTS)} faults, {len(outcomes)} test cases: {passed} passed, {skipped} skipped, {failed} failed "
        f"({took:.0f} s; {dt.date.today().isoformat()}).",
        "",
        f"**Across the suite: articles lost {totals['lost']}, duplicated {totals['duplicated']}, "
        f"crashes {totals['crashes']}.** \"Lost\", \"Dup.\" and \"Crashes\" are what the row's tests measured "
        "(`tests/faults/helpers.record`); – where a test checks something else (a reason, a message, a file).",
        "",
        "Everything runs on 127.0.0.1: the bundled mirror, generated sites (`mirror.build.build_large`) and a "
        "deliberately badly behaved server (`tests/faults/netserver.py`); real processes for crawls, the CLI and "
        "kills. A full disk is simulated without privileges by `RLIMIT_FSIZE` (writes fail with EFBIG), and with a "
        "real tmpfs where `mount` is allowed.",
        "",
        "| # | Area | Fault | What the system does | The check | Lost | Dup. | Crashes | Tests | Result |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "## Bugs the faults found (fixed)",
        "",
        *fixed,
        "",
        "## Load",
        "",
    ]
    out += _soak_section(soak, note)
    out += ["## Not covered", "",
            "- Power loss. The archive issues one `write()` per record, so a kill tears a record only when it lands "
            "inside that write; the torn-tail path (detected, reported, skipped, cut off before a resume) is "
            "tested by tearing one by hand after the kill.",
            "- Only the flow's parent process killed: its crawl process then finishes the run alone; a crawl started "
            "meanwhile refuses (row 32's lock), the next one records and loads the finished run. Not run as a test.",
            "- A full disk while only the snapshot is being published (the copy then fails with a clear error and the "
            "previous snapshot stays); in the tests the checkpoint before it fails first.",
            "- A list page with an unusable charset archived before a kill and read back on resume (that path "
            "decodes with w3lib directly).",
            "- Kept as designed: a page whose header vouches for UTF-8 keeps U+FFFD for pasted GBK bytes (flagged "
            "`lost_bytes`, row 10); a URL rejected once keeps its `rejected` row after a later fetch loads it; "
            "a site without robots.txt counts its 404 among the run's errors (`http_404`).",
            f"- pytest: {summary}", ""]
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", default=str(ROOT / "docs" / "reliability.md"))
    ap.add_argument("--soak", help="JSON written by `python -m bench.bench_soak --json FILE`")
    ap.add_argument("--soak-note", default="", help="a paragraph to print under the load figures")
    ap.add_argument("--no-run", action="store_true", help="only check the registry against the tests")
    args = ap.parse_args(argv)
    ids = collect(_files())
    problems = check(ids)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{len(FAULTS)} faults, {len(ids)} collected test cases: the registry matches the tests")
    if args.no_run:
        return 0
    outcomes, figures, took, summary = run(ids)
    soak = json.loads(Path(args.soak).read_text(encoding="utf-8")) if args.soak else None
    Path(args.output).write_text(render(outcomes, figures, took, summary, soak, args.soak_note), encoding="utf-8")
    print(f"wrote {args.output}: {summary}")
    return 1 if any(v == "failed" for v in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
