"""Load throughput: 100k generated articles (~3 KB text) into a fresh DuckDB file, then the
same batch again (the idempotent re-run path), printing rows/s for each, as the pipeline loads:
one transaction per load, Arrow batches of --chunk rows. Target: >= 50k rows/s. The time
includes the Record -> Arrow conversion, the commit and closing the file.

In the same run, the floor: a bare `INSERT INTO articles ... SELECT` of the same rows from a
ready Arrow table (built before the clock starts) into a fresh file of the same DDL, in one
transaction, commit and close included. Target: first load >= 0.8x that. Every load starts
from fresh copies of the records (Python caches a string's UTF-8 form once Arrow has asked
for it, which would flatter a second pass: see fresh()) and a file already migrated; wall and
CPU seconds (all DuckDB threads) are printed, the CPU ratio being the one a shared machine
hardly moves.

    python -m bench.bench_load [--rows 100000] [--chunk 20000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import warehouse
from flows.extract.dates import SHANGHAI
from flows.extract.normalise import article_id, content_hash
from schemas import Article
from warehouse.store import ARTICLE_SCHEMA, articles_to_arrow

UTC = dt.timezone.utc
WORDS = ("生态环境 绿色发展 碳达峰 碳中和 东盟 合作 论坛 气候变化 生物多样性 污染防治 "
         "广西 海南 贵州 山东 清洁能源 国际 交流 伙伴关系 可持续 发展").split()


def make(n: int, seed: int = 0) -> list[Article]:
    rnd = random.Random(seed)
    fetched = dt.datetime(2025, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        text = "".join(rnd.choice(WORDS) for _ in range(400))[:1000]   # ~3 KB UTF-8
        url = f"http://www.example.gov.cn/news/t{i:08d}.shtml"
        title = f"第{i}号 " + "".join(rnd.choice(WORDS) for _ in range(4))
        pub = dt.datetime(2024, 1, 1, tzinfo=SHANGHAI) + dt.timedelta(minutes=i)
        out.append(Article(id=article_id(url), url=url, source=f"src{i % 7}", title=title,
                           published_at=pub, original_source="广西日报", author="张三", editor=None,
                           text=text, language="zh", content_hash=content_hash(title, pub, text),
                           extractor_version="bench", fetched_at=fetched))
    return out


def fresh(arts: list[Article]) -> list[Article]:
    """The same records with new title and text objects: Python caches a str's UTF-8 form the
    first time Arrow reads it, and a load of records straight from extraction has none."""
    return [dataclasses.replace(a, title=(a.title + " ")[:-1], text=(a.text + " ")[:-1]) for a in arts]


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def bare_insert(db: Path, table) -> int:
    """The floor: one INSERT ... SELECT of a ready Arrow table, committed, the file closed."""
    cols = ", ".join(ARTICLE_SCHEMA.names)
    now = dt.datetime.now(UTC)
    with warehouse.connect(db) as con:
        con.execute("BEGIN")
        con.register("_ready", table)
        n = con.execute(f"INSERT INTO articles ({cols}, first_seen, last_seen) "
                        f"SELECT {cols}, $now, $now FROM _ready", {"now": now}).fetchone()[0]
        con.execute("COMMIT")
    return n


def load(db: Path, arts, chunk: int) -> int:
    new = 0
    with warehouse.connect(db) as con, warehouse.LoadSession(con) as session:
        for i in range(0, len(arts), chunk):
            new += session.articles(arts[i:i + chunk]).new
    return new


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    # (the pipeline loads flows.steps.CHUNK = 2,000 records per transaction, with their tags and
    # search postings, for bounded memory: see docs/reliability.md; this measures the load alone)
    ap.add_argument("--chunk", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    arts = make(args.rows)
    print(f"generated {len(arts):,} articles in {time.perf_counter() - t:.1f}s")
    n = len(arts)
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "first": [], "second": []}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            bare_db, db = Path(tmp) / f"bare{rep}.duckdb", Path(tmp) / f"bench{rep}.duckdb"
            for path in (bare_db, db):
                with warehouse.connect(path):       # migrated before the clock starts
                    pass
            table = articles_to_arrow(fresh(arts))
            wall, cpu, new = _timed(lambda: bare_insert(bare_db, table))
            times["bare"].append((wall, cpu))
            print(f"  run {rep + 1} bare INSERT ... SELECT of a ready Arrow table: {n:,} rows in {wall:.2f}s "
                  f"({cpu:.2f} CPU s) = {n / wall:,.0f} rows/s ({new:,} new)")
            del table
            batch = None
            for key, label in (("first", "first load (all new)"), ("second", "second load (all unchanged)")):
                batch = None
                batch = fresh(arts)
                wall, cpu, new = _timed(lambda: load(db, batch, args.chunk))
                times[key].append((wall, cpu))
                print(f"  run {rep + 1} {label}: {n:,} rows in {wall:.2f}s ({cpu:.2f} CPU s) = "
                      f"{n / wall:,.0f} rows/s ({new:,} new)")
            bare, first = times["bare"][-1], times["first"][-1]
            print(f"  run {rep + 1} first load / bare: {bare[0] / first[0]:.2f}x wall, {bare[1] / first[1]:.2f}x CPU")
            size = db.stat().st_size
    for key, label in (("first", "first load (all new)"), ("second", "second load (all unchanged)"),
                       ("bare", "bare INSERT ... SELECT")):
        walls = [w for w, _ in times[key]]
        med = statistics.median(walls)
        print(f"{label}: median {n / med:,.0f} rows/s, best {n / min(walls):,.0f} rows/s "
              f"over {len(walls)} runs (target >= 50,000 rows/s)")
    ratios = [(b[0] / f[0], b[1] / f[1]) for b, f in zip(times["bare"], times["first"])]
    print(f"first load / bare INSERT: median {statistics.median(r[0] for r in ratios):.2f}x wall, "
          f"{statistics.median(r[1] for r in ratios):.2f}x CPU (target >= 0.8x)")
    print(f"chunks of {args.chunk:,} rows; file size {size / 1e6:.0f} MB; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
