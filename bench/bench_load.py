"""Load throughput: 100k generated articles (~3 KB text) into a fresh DuckDB file, then the
same batch again (the idempotent re-run path), printing rows/s for each, as the pipeline loads:
one transaction per load, Arrow batches of --chunk rows. Target: >= 50k rows/s. The time
includes the Record -> Arrow conversion, the commit and closing the file.

    python -m bench.bench_load [--rows 100000] [--chunk 5000]
"""
from __future__ import annotations

import argparse
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
    firsts, seconds = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            db = Path(tmp) / f"bench{rep}.duckdb"
            for label, times in (("first load (all new)", firsts), ("second load (all unchanged)", seconds)):
                t = time.perf_counter()
                new = 0
                with warehouse.connect(db) as con, warehouse.LoadSession(con) as session:
                    for i in range(0, len(arts), args.chunk):
                        new += session.articles(arts[i:i + args.chunk]).new
                secs = time.perf_counter() - t   # includes commit and close
                times.append(secs)
                print(f"  run {rep + 1} {label}: {len(arts):,} rows in {secs:.2f}s = "
                      f"{len(arts) / secs:,.0f} rows/s ({new:,} new)")
            size = db.stat().st_size
    for label, times in (("first load (all new)", firsts), ("second load (all unchanged)", seconds)):
        med = statistics.median(times)
        print(f"{label}: median {len(arts) / med:,.0f} rows/s, best {len(arts) / min(times):,.0f} rows/s "
              f"over {len(times)} runs (target >= 50,000 rows/s)")
    print(f"chunks of {args.chunk:,} rows; file size {size / 1e6:.0f} MB; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
