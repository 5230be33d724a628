"""Extraction throughput, measured in one run on the same pages:

- trafilatura 2.x with defaults and metadata (`bare_extraction(with_metadata=True)`), the
  reference the issue names;
- our extractor on the generic path (no preset: density-based body, our metadata rules);
- our extractor on the preset fast path (the registry source's CMS body selector).

Pages: the labelled corpora (../shared/corpus/dev and dev2, generic path and trafilatura) and the
bundled mirror's article pages (all three paths). Prints pages per CPU second per path and
the ratio to trafilatura. Target: generic >= 1.5x trafilatura; the preset path well above that.

    python -m bench.bench_extract [--rounds 3] [--processes]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.corpus import corpus

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("dev", "dev2")


def load_pages():
    dev = [(p.read_bytes(), None, None) for name in CORPORA for p in sorted((corpus(name) / "pages").glob("*.html"))]
    from crawlers.registry import load_registry
    reg = load_registry()
    expected = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
    mirror = []
    for e in expected:
        body = (ROOT / "mirror" / "sites" / e["path"]).read_bytes()
        mirror.append((body, e["url"], reg.get(e["source"])))
    return dev, mirror


def rate(fn, pages, rounds):
    """Pages per CPU second (process time: the machine is shared, and other processes
    stretch wall time, not CPU time), median of `rounds`."""
    fn(*pages[0])                                     # warm-up (imports, caches)
    times = []
    for _ in range(rounds):
        t = time.process_time()
        for p in pages:
            fn(*p)
        times.append(time.process_time() - t)
    return len(pages) / statistics.median(times)


# one process per engine: start-up, imports and every page, as a user's run pays them
PROCESS = """
import sys, pathlib
paths = [pathlib.Path(p) for p in sys.argv[1:]]
if {engine!r} == "trafilatura":
    import trafilatura
    for p in paths:
        trafilatura.bare_extraction(p.read_bytes(), with_metadata=True)
else:
    from flows.extract import ExtractError, extract
    for p in paths:
        try:
            extract(p.read_bytes())
        except ExtractError:
            pass
"""


def whole_processes(rounds: int) -> None:
    """Pages per CPU second of a whole process (children's user + system time)."""
    import resource
    import subprocess
    import sys
    paths = [str(p) for name in CORPORA for p in sorted((corpus(name) / "pages").glob("*.html"))]
    rates = {}
    for engine in ("trafilatura", "newsflow"):
        cpu = []
        for _ in range(rounds):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-c", PROCESS.format(engine=engine), *paths], check=True, cwd=ROOT)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        rates[engine] = len(paths) / statistics.median(cpu)
    print(f"whole processes over {len(paths)} dev+dev2 pages (start-up and imports included), median of {rounds}:")
    for engine, r in rates.items():
        print(f"  {engine:<12} {r:7.1f} pages/CPU s  {r / rates['trafilatura']:5.2f}x trafilatura")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--processes", action="store_true",
                    help="also time each engine as a whole process over the corpus pages")
    args = ap.parse_args(argv)
    if args.processes:
        whole_processes(args.rounds)
    import trafilatura

    from flows.extract import ExtractError, extract

    def traf(body, url, preset):
        trafilatura.bare_extraction(body, url=url, with_metadata=True)

    def ours_generic(body, url, preset):
        try:
            extract(body, url)
        except ExtractError:
            pass

    def ours_preset(body, url, preset):
        try:
            extract(body, url, preset=preset, encoding_hint=preset.encoding if preset else None)
        except ExtractError:
            pass

    dev, mirror = load_pages()
    print(f"pages: {len(dev)} dev+dev2 corpus, {len(mirror)} mirror articles; median of {args.rounds} rounds, one core")
    rows = []
    for name, pages in (("dev+dev2", dev), ("mirror", mirror)):
        if not pages:
            print(f"{name}: no pages (../shared/corpus/dev, dev2 missing?)")
            continue
        t = rate(traf, pages, args.rounds)
        g = rate(ours_generic, pages, args.rounds)
        rows.append((name, "trafilatura defaults + metadata", t, 1.0))
        rows.append((name, "newsflow generic path", g, g / t))
        if name == "mirror":
            f = rate(ours_preset, pages, args.rounds)
            rows.append((name, "newsflow preset fast path", f, f / t))
    w = max(len(r[1]) for r in rows)
    for name, label, r, ratio in rows:
        print(f"{name:<11} {label:<{w}}  {r:7.1f} pages/CPU s  {ratio:5.2f}x trafilatura")


if __name__ == "__main__":
    main()
