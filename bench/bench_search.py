"""Search and export over 100k generated articles, on one core.

Articles are generated from a Zipf vocabulary of real domain words plus filler (token lists
go straight into the index, since segmenting 100k texts with jieba alone takes ~7 minutes);
jieba's own throughput is measured separately on the mirror's real articles.
Prints: index build rate, search latency p50/p95 over a query mix (target p50 < 200 ms),
Parquet export rows/s (target >= 50k rows/s), and segmentation docs/s.

    python -m bench.bench_search [--rows 100000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import warehouse
from bench.bench_load import make
from warehouse import search as wsearch
from warehouse.export import export

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ("生态环境 绿色 发展 碳达峰 碳中和 东盟 合作 论坛 气候变化 生物多样性 污染 防治 广西 海南 "
          "贵州 山东 清洁能源 国际 交流 伙伴关系 可持续 上合组织 欧盟 太平洋 岛国 联合国 海洋 森林 "
          "湿地 治理 绿色金融 一带一路 零碳 湄公河 红树林 新能源 塑料 大气 水质 土壤").split()
QUERIES = ["碳中和 东盟", "气候变化 太平洋 岛国", "湿地", "上合组织 合作", "生物多样性 海南",
           "绿色金融", "一带一路 新能源", "红树林 广西 保护"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    rnd = random.Random(7)
    vocab = DOMAIN + [f"词{i}" for i in range(30_000)]
    weights = [1 / (i + 1) ** 0.9 for i in range(len(vocab))]
    arts = make(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        with warehouse.connect(db) as con, warehouse.LoadSession(con) as session:
            for i in range(0, len(arts), 20_000):
                session.articles(arts[i:i + 20_000])
        t = time.perf_counter()
        with warehouse.connect(db) as con:
            con.execute("SET threads = 1")
            for start in range(0, len(arts), 20_000):
                docs = []
                for a in arts[start:start + 20_000]:
                    body = rnd.choices(vocab, weights, k=400) + rnd.sample(DOMAIN, 3)
                    docs.append((a.id, rnd.sample(DOMAIN, 3), body))
                wsearch.index_documents(con, docs)
        build = time.perf_counter() - t
        print(f"index: {len(arts):,} articles (~400 tokens each) in {build:.1f}s = {len(arts) / build:,.0f} docs/s "
              f"(includes generating the token lists)")
        with warehouse.connect(db, read_only=True) as con:
            con.execute("SET threads = 1")
            from flows.search.segment import query_tokens
            for any_term, mode in ((False, "every word (the default)"), (True, "any word (--any)")):
                lat, totals = [], []
                for _ in range(5):
                    for q in QUERIES:
                        terms = query_tokens(q)
                        t = time.perf_counter()
                        hits, total = wsearch.search(con, terms, limit=20, any_term=any_term)
                        lat.append(time.perf_counter() - t)
                        totals.append(total)
                        assert len(hits) == min(total, 20) and (hits or not any_term)
                lat.sort()
                print(f"search, {mode}: {len(lat)} queries over {len(arts):,} articles, one thread: "
                      f"p50 {statistics.median(lat) * 1000:.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1] * 1000:.1f} ms "
                      f"(target p50 < 200 ms); matches per query: median {statistics.median(totals):,.0f}")
        for label, partition in (("single file", False), ("partitioned by month", True)):
            out = Path(tmp) / ("export" if partition else "export.parquet")
            t = time.perf_counter()
            n = export(db, "parquet", out, partition=partition)
            secs = time.perf_counter() - t
            print(f"export parquet ({label}): {n:,} rows in {secs:.2f}s = {n / secs:,.0f} rows/s (target >= 50,000)")
    from flows.search.segment import tokens
    texts = []
    expected = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
    from flows.extract import extract
    for e in expected:
        try:
            texts.append(extract((ROOT / "mirror" / "sites" / e["path"]).read_bytes(), e["url"]).text)
        except Exception:
            pass
    tokens("预热")
    t = time.perf_counter()
    chars = sum(len(tokens(x)) and len(x) for x in texts)
    secs = time.perf_counter() - t
    print(f"segmentation (jieba, HMM off): {len(texts)} mirror articles, {chars / len(texts):,.0f} chars avg: "
          f"{len(texts) / secs:,.0f} docs/s, {chars / secs / 1000:,.0f}k chars/s")


if __name__ == "__main__":
    main()
