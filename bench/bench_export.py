"""`newsflow export` throughput with tags, in every format, on 100k generated articles.

Each article gets 11 tags (3 topics, 2 places, 6 keywords) so the export carries them as a
real warehouse does (bench_search's export figure has none). Prints rows/s of wall time and of
CPU time (all DuckDB threads), and the output size, per format; the CPU figure is the one a
loaded machine hardly moves.

    python -m bench.bench_export [--rows 100000]
"""
from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import warehouse
from bench.bench_load import make
from warehouse.export import export


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    arts = make(args.rows)
    rnd = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        with warehouse.connect(db) as con, warehouse.LoadSession(con) as session:
            for i in range(0, len(arts), 20_000):
                session.articles(arts[i:i + 20_000])
        ids, kinds, tags = [], [], []
        for a in arts:
            for kind, n in (("topic", 3), ("place", 2), ("keyword", 6)):
                for j in range(n):
                    ids.append(a.id)
                    kinds.append(kind)
                    tags.append(f"{kind}{rnd.randrange(50)}_{j}")
        with warehouse.connect(db) as con:
            con.register("_t", pa.table({"article_id": ids, "kind": kinds, "tag": tags}))
            con.execute("INSERT INTO article_tags SELECT article_id, kind, tag, random(), NULL, 'bench' FROM _t")
        print(f"{len(arts):,} articles, {len(tags):,} tags")
        for fmt, partition in (("parquet", False), ("parquet", True), ("csv", False), ("jsonl", False)):
            out = Path(tmp) / f"out.{fmt}"
            cpu, wall = time.process_time(), time.perf_counter()
            n = export(db, fmt, out, partition=partition)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            label = fmt + (" partitioned by month" if partition else "")
            print(f"export {label}: {n:,} rows in {wall:.1f}s = {n / wall:,.0f} rows/s wall, "
                  f"{n / cpu:,.0f} rows per CPU-second; {_size(out) / 1e6:,.0f} MB")
            shutil.rmtree(out) if out.is_dir() else out.unlink()


if __name__ == "__main__":
    main()
