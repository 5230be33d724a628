"""`newsflow report` over a generated warehouse of 100k articles: time to read the numbers
(warehouse.report_data, wall and CPU) and to render the page, median of --repeat runs, the
page size, and `newsflow report` end to end in a new process.

The articles are bench_load's generated ones, spread over two years and over the registry's
sources (uneven shares); tags (topics, places, partners, keywords), dedupe clusters (30% of
articles in stories of 3, plus one 40-copy story per 1,000 articles) and 300 crawl runs per
source are written directly in SQL: running the real tagger and dedupe over 100k articles
would take minutes and is measured by bench_tags and bench_dedupe.

    python -m bench.bench_report [--rows 100000] [--repeat 3] [--out bench/out] [--db keep.duckdb]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import warehouse
from bench.bench_load import make
from crawlers.registry import load_registry
from flows.cli import report      # (moved there by the redesign)
from flows.cli.report import choose_bins
from flows.extract.dates import SHANGHAI
from flows.tags import load_taxonomy


def build(db: Path, rows: int) -> None:
    names = load_registry().names()
    weights = [1 + 3 * (k % 3) for k in range(len(names))]            # some sources publish 4x more
    cycle = [n for n, w in zip(names, weights) for _ in range(w)]
    start = dt.datetime(2023, 9, 1, tzinfo=SHANGHAI)
    step = dt.timedelta(days=730) / rows
    arts = [dataclasses.replace(a, source=cycle[i % len(cycle)], published_at=start + i * step)
            for i, a in enumerate(make(rows))]
    tax = load_taxonomy()
    topics = [t.id for t in tax.topics]
    places = sorted({p.tag for p in tax.places})[:40]
    partners = [p.id for p in tax.partners[:60]]
    with warehouse.connect(db) as con, warehouse.LoadSession(con) as session:
        for i in range(0, len(arts), 20_000):
            session.articles(arts[i:i + 20_000])
    with warehouse.connect(db) as con:
        con.execute("CREATE TEMP TABLE n AS SELECT id, source, published_at, first_seen, original_source, "
                    "row_number() OVER (ORDER BY url) - 1 AS i FROM articles")
        for kind, tags, per in (("topic", topics, 3), ("place", places, 2), ("partner", partners, 3),
                                ("keyword", [f"词{k}" for k in range(500)], 8)):
            con.execute(
                "INSERT OR IGNORE INTO article_tags SELECT id, ?, list_element(?, 1 + (hash(id || k::VARCHAR) % ?)::INT), "
                "1.0, '', 'bench' FROM n, range(?) t(k) WHERE hash(k::VARCHAR || id) % 4 != 0",
                [kind, tags, len(tags), per])
        con.execute("CREATE TEMP TABLE c AS SELECT *, CASE WHEN i % 1000 < 40 THEN 'b' || (i // 1000) "
                    "WHEN i % 10 < 3 THEN 'c' || (i // 10) ELSE 'a' || i END AS cluster_id FROM n")
        con.execute(
            "INSERT INTO dedupe_docs SELECT id, i, cluster_id, NULL, NULL, NULL, 1000, NULL, source, published_at, "
            "original_source, first_seen, 'near', NULL, 0.9, now(), now() FROM c")
        con.execute(
            "INSERT INTO dedupe_clusters SELECT cluster_id, arg_min(id, published_at), count(*), "
            "count(DISTINCT source), min(published_at), max(published_at), min(i), now(), now(), NULL "
            "FROM c GROUP BY cluster_id")
        con.execute(
            "INSERT INTO crawl_runs (run_id, source, started_at, finished_at, status, pages_fetched, errors, "
            "articles_new) SELECT 'r' || r, s, TIMESTAMPTZ '2025-01-01' + r * INTERVAL 6 HOUR, "
            "TIMESTAMPTZ '2025-01-01' + r * INTERVAL 6 HOUR + INTERVAL 5 MINUTE, "
            "CASE WHEN r % 37 = 0 THEN 'failed' ELSE 'ok' END, 200, r % 5, r % 40 "
            "FROM range(300) t(r), unnest(?) u(s)", [names])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", help="also write the last report here (a folder)")
    ap.add_argument("--db", help="keep the generated warehouse in this file (reused when it exists)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.db or Path(tmp) / "bench.duckdb")
        if not db.exists():
            t = time.perf_counter()
            build(db, args.rows)
            print(f"generated warehouse: {args.rows:,} articles with tags, clusters and crawl runs in "
                  f"{time.perf_counter() - t:.1f}s ({db.stat().st_size / 1e6:.0f} MB)")
        reads, cpus, renders = [], [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            data = report.collect(db)
            t1, c1 = time.perf_counter(), time.process_time()
            page = report.render(data)
            renders.append(time.perf_counter() - t1)
            reads.append(t1 - t0)
            cpus.append(c1 - c0)
        out = Path(args.out or tmp) / "report-bench.html"
        t = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "flows.cli", "--db", str(db), "report", "--output", str(out)],
                             capture_output=True, text=True)
        end_to_end = time.perf_counter() - t
        assert cli.returncode == 0, cli.stderr
        med = statistics.median
        print(f"report over {args.rows:,} articles ({data['overview']['stories']:,} stories, "
              f"{len(data['by_source'])} sources, {choose_bins([d for d, _, _ in data['daily_source']])['unit']} bins): "
              f"read {med(reads):.2f}s wall ({med(cpus):.2f}s CPU, best {min(reads):.2f}s) + render "
              f"{med(renders) * 1000:.0f} ms, median of {args.repeat}; page {len(page.encode()) / 1024:.0f} KB")
        print(f"`newsflow report` end to end (new process, imports included): {end_to_end:.2f}s")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (this process)")
        if args.out:
            print(f"report written to {out}")


if __name__ == "__main__":
    main()
