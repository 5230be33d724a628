"""Many writers: N concurrent loader processes x M generated articles into one warehouse, each
loader's ids overlapping the next one's by a quarter, then lost / duplicated counts and rows/s
per loader. Against a DuckLake (PostgreSQL catalog + S3 data path) the loaders run at once;
against a DuckDB file too, each chunk transaction waiting for the file lock (one writer at a time).

Each loader loads as the pipeline does (flows.steps.load_records: CHUNK records per
transaction, with the chunk's run counts; tags and postings with --derive), so on the lake every
chunk transaction takes the guard row and a commit lost to another loader is retried whole.

    python -m bench.bench_lake --warehouse 'ducklake:postgres:...?data_path=s3://b/p/' [--loaders 4] [--rows 5000]
    python -m bench.bench_lake --local          # start a throwaway PostgreSQL + moto S3 on 127.0.0.1 first
    python -m bench.bench_lake loader WAREHOUSE START COUNT   # one loader (used by the above and the tests)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

UTC = dt.timezone.utc
WORDS = ("生态环境 绿色发展 碳达峰 碳中和 东盟 合作 论坛 气候变化 生物多样性 污染防治 "
         "广西 海南 贵州 山东 清洁能源 国际 交流 伙伴关系 可持续 发展").split()


def article(i: int):
    """Article number i: the same record whichever loader makes it (its own seeded generator)."""
    from flows.extract.dates import SHANGHAI
    from flows.extract.normalise import article_id, content_hash
    from schemas import Article
    rnd = random.Random(i)
    text = "".join(rnd.choice(WORDS) for _ in range(400))[:1000]      # ~3 KB UTF-8
    url = f"http://www.example.gov.cn/news/t{i:08d}.shtml"
    title = f"第{i}号 " + "".join(rnd.choice(WORDS) for _ in range(4))
    pub = dt.datetime(2024, 1, 1, tzinfo=SHANGHAI) + dt.timedelta(minutes=i)
    return Article(id=article_id(url), url=url, source=f"src{i % 7}", title=title, published_at=pub,
                   original_source="广西日报", author="张三", editor=None, text=text, language="zh",
                   content_hash=content_hash(title, pub, text), extractor_version="bench",
                   fetched_at=dt.datetime(2025, 1, 1, tzinfo=UTC))


def ranges(loaders: int, rows: int) -> list[tuple[int, int]]:
    """(start, count) per loader: each overlaps the next by a quarter of `rows`."""
    step = rows - rows // 4
    return [(k * step, rows) for k in range(loaders)]


def loader(db: str, start: int, count: int, derive: bool = False) -> dict:
    from flows import steps
    t0 = time.perf_counter()
    recs = [article(i) for i in range(start, start + count)]
    t1 = time.perf_counter()
    counts = steps.load_records(db, recs, tag=derive, index=derive)
    secs = time.perf_counter() - t1
    return {"start": start, "count": count, "new": sum(c.new for c in counts.values()),
            "updated": sum(c.updated for c in counts.values()),
            "unchanged": sum(c.unchanged for c in counts.values()),
            "generate_s": round(t1 - t0, 2), "load_s": round(secs, 2), "rows_per_s": round(count / secs, 1)}


def spawn(db: str, start: int, count: int, derive: bool, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench.bench_lake", "loader", db, str(start), str(count)] + (["--derive"] if derive else [])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])


def run_loaders(db: str, loaders: int, rows: int, derive: bool, concurrent: bool, env: dict | None = None) -> dict:
    """Start the loaders (all at once, or one after another), wait, count what is stored."""
    import warehouse
    t0 = time.perf_counter()
    results = []
    if concurrent:
        procs = [spawn(db, s, n, derive, env) for s, n in ranges(loaders, rows)]
        outs = [p.communicate() for p in procs]
        codes = [p.returncode for p in procs]
    else:
        outs, codes = [], []
        for s, n in ranges(loaders, rows):
            p = spawn(db, s, n, derive, env)
            outs.append(p.communicate())
            codes.append(p.returncode)
    wall = time.perf_counter() - t0
    for (out, err), code in zip(outs, codes):
        if code:
            raise SystemExit(f"a loader failed ({code}): {err.strip()[-1500:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    expected = set()
    for s, n in ranges(loaders, rows):
        expected |= set(range(s, s + n))
    _, rows_ = warehouse.query(db, "SELECT count(*), count(DISTINCT id) FROM articles")
    stored, distinct = rows_[0]
    return {"loaders": results, "wall_s": round(wall, 1), "expected": len(expected), "stored": stored,
            "distinct": distinct, "lost": len(expected) - distinct, "duplicated": stored - distinct,
            "new_total": sum(r["new"] for r in results)}


def _print(label: str, r: dict) -> None:
    per = ", ".join(f"{x['rows_per_s']:,.0f}" for x in r["loaders"])
    print(f"{label}: {len(r['loaders'])} loaders, wall {r['wall_s']} s; expected {r['expected']:,} ids, "
          f"stored {r['stored']:,} rows ({r['distinct']:,} distinct): lost {r['lost']}, duplicated "
          f"{r['duplicated']}; new counted {r['new_total']:,}; rows/s per loader: {per}")


def _local_lake(tmp: Path):
    """A throwaway PostgreSQL + moto S3 on 127.0.0.1 for --local (the tests' fixtures)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from moto.server import ThreadedMotoServer
    from tests.lake_fixtures import AWS, BUCKET, lake_url, start_postgres
    pg = start_postgres()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    os.environ.update({**AWS, "AWS_ENDPOINT_URL": "http://127.0.0.1:%d" % server.get_host_and_port()[1]})
    import boto3
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return pg, server, lake_url(pg, "bench")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["loader"]:
        ap = argparse.ArgumentParser(prog="bench_lake loader")
        ap.add_argument("db"), ap.add_argument("start", type=int), ap.add_argument("count", type=int)
        ap.add_argument("--derive", action="store_true")
        a = ap.parse_args(argv[1:])
        print(json.dumps(loader(a.db, a.start, a.count, a.derive)), flush=True)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--warehouse", help="the lake URL (default with --local: a throwaway one)")
    ap.add_argument("--local", action="store_true", help="start PostgreSQL and moto S3 on 127.0.0.1 for the run")
    ap.add_argument("--loaders", type=int, default=4)
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--derive", action="store_true", help="also tags and search postings per chunk")
    args = ap.parse_args(argv)
    pg = server = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.warehouse
        if args.local:
            pg, server, url = _local_lake(Path(tmp))
        if not url:
            raise SystemExit("give --warehouse URL or --local")
        try:
            print(f"{args.loaders} loaders x {args.rows:,} articles, a quarter overlapping; "
                  f"{os.cpu_count()} cores", flush=True)
            import warehouse
            with warehouse.connect(url):      # migrated once, so the loaders measure loading
                pass
            _print("DuckLake, concurrent", run_loaders(url, args.loaders, args.rows, args.derive, True))
            fdb = str(Path(tmp) / "bench.duckdb")
            _print("DuckDB file, concurrent (each chunk waits for the file lock)",
                   run_loaders(fdb, args.loaders, args.rows, args.derive, True))
        finally:
            if server is not None:
                server.stop()
            if pg is not None:
                pg.stop("immediate")


if __name__ == "__main__":
    main()
