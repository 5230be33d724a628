"""Re-check benchmark: what a re-check of N known articles costs next to N plain 304 answers,
and what a version costs to store.

    .venv/bin/python -m bench.bench_recheck [--articles 10000] [--changed 0.05]

Generates a gxzf-like mirror of N articles (`mirror.build --large N`), serves it from its own
process on 127.0.0.1, ingests it once (crawl, load, tags, index, dedupe: setup), then:
- baseline: the crawl process asking every article again with If-None-Match (all unchanged:
  N 304s; the column's first list pages too, as a re-check reads them), nothing else; run
  before and again after the re-check (a shared machine's load drifts), wall and CPU time;
- re-check: `share` of the article files get one sentence changed, then the whole re-check
  step (flows/revisions/recheck.py: plan from DuckDB, the same crawl, judge every answer, load
  the changed pages with their new versions, tags, index, dedupe, snapshot);
and prints both times and their ratio (target: at most 1.2x), then the bytes per version of a
one-sentence edit of a ~3 KB article (warehouse/revisions.py: delta vs a full copy).
Figures only, no assertions.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _registry(tmp: Path) -> Path:
    from crawlers.registry import DEFAULT_REGISTRY
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8").replace("max_requests = 500", "max_requests = 1000000")
    path = tmp / "sources.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _ingest(db: Path, archive: Path, mapping: dict, registry: Path) -> float:
    from flows import steps
    t = time.perf_counter()
    res = steps.crawl_sources(db, ["gxzf"], archive, "setup", mapping=mapping, max_pages=100000, registry=str(registry))
    steps.record_crawl(db, res["stats"], archive)
    steps.process_archives(db, steps.archive_paths_for(res["stats"]), archive=archive)
    return time.perf_counter() - t


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (the crawl processes)."""
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _baseline(db: Path, archive: Path, mapping: dict, registry: Path, run_id: str) -> tuple[float, float, int]:
    """The crawl alone, every known article asked conditionally (all unchanged)."""
    import datetime as dt

    from crawlers.registry import load_registry
    from flows import crawl as crawl_step
    from flows import steps
    from flows.revisions.recheck import plan
    source = load_registry(registry).get("gxzf")
    rows, _ = plan(db, [source], dt.datetime.now(dt.timezone.utc), force=True)
    asks = {"gxzf": [{"url": r["url"], "etag": r["etag"], "last_modified": r["last_modified"]} for r in rows["gxzf"]]}
    state = steps.crawl_state(db, ["gxzf"])
    t, cpu = time.perf_counter(), _cpu()
    stats = crawl_step.crawl(["gxzf"], archive_dir=archive, run_id=run_id, mapping=mapping, registry=str(registry),
                             state=state, recheck=asks, resume=False)
    return time.perf_counter() - t, _cpu() - cpu, stats[0].not_modified


def _edit(sites: Path, urls: list[str], share: float) -> int:
    step = max(1, round(1 / share)) if share else 0
    n = 0
    for i, url in enumerate(urls):
        if step and i % step == 0:
            f = sites / url.split("//", 1)[1]
            text = f.read_text(encoding="utf-8")
            f.write_text(text.replace("</p>", "（本文有更正：一句话改动。）</p>", 1), encoding="utf-8")
            n += 1
    return n


def version_cost() -> dict:
    """Bytes per version for a one-sentence edit of a ~3 KB article, stored as a delta."""
    import datetime as dt
    import zlib

    import warehouse
    from schemas import Article
    from warehouse.revisions import version_bytes
    from mirror.seedtext import SIMPLIFIED, paragraph_pool
    pool, paras = paragraph_pool(SIMPLIFIED), []
    while len("\n".join(paras).encode("utf-8")) < 3000:        # a ~3 KB article of real seed paragraphs
        paras.append(pool[len(paras) % len(pool)])
    text = "\n".join(paras)
    first = paras[len(paras) // 2].split("。")[0]
    edited = text.replace(first, "自治区生态环境厅补充说明，评估报告已于当日下午更新", 1)      # one sentence changed
    now = dt.datetime(2025, 7, 1, tzinfo=dt.timezone.utc)

    def art(t, when):
        return Article(id="a", url="http://www.gxzf.gov.cn/gxyw/t1.shtml", source="gxzf", title="标题",
                       published_at=None, original_source="广西日报", author=None, editor=None, text=t,
                       language="zh", content_hash=str(hash(t)), extractor_version="b", fetched_at=when)
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "v.duckdb"
        with warehouse.connect(db) as con:
            warehouse.load_articles(con, [art(text, now)])
            warehouse.load_articles(con, [art(edited, now + dt.timedelta(days=1))])
            v1, v2 = version_bytes(con, "a", 1), version_bytes(con, "a", 2)
    return {"article_bytes": len(text.encode("utf-8")), "v1_bytes": v1, "v2_bytes": v2,
            "full_copy_zlib": len(zlib.compress(edited.encode("utf-8"), 9))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=10000)
    ap.add_argument("--changed", type=float, default=0.05, help="share of articles edited before the re-check")
    ap.add_argument("--profile", default=None, metavar="FILE",
                    help="write a cProfile of the re-check step (this process: planning, judging, loading) to FILE")
    args = ap.parse_args(argv)
    from flows.revisions.recheck import recheck
    from mirror.build import build_large
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        info = build_large(tmp / "mirror", args.articles)
        sites = tmp / "mirror" / "sites"
        registry = _registry(tmp)
        server = subprocess.Popen([sys.executable, "-m", "mirror.server", "--sites", str(sites), "--json"],
                                  stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            mapping = json.loads(server.stdout.readline())
            db, archive = tmp / "w.duckdb", tmp / "archive"
            setup = _ingest(db, archive, mapping, registry)
            base1, cpu1, n304 = _baseline(db, archive, mapping, registry, "baseline1")
            edited = _edit(sites, info["urls"], args.changed)
            t, cpu = time.perf_counter(), _cpu()
            marks = []
            prof = None
            if args.profile:
                import cProfile
                prof = cProfile.Profile()
                prof.enable()
            result = recheck(db, ["gxzf"], archive, "recheck", registry=str(registry), mapping=mapping, force=True,
                             progress=lambda m: marks.append((time.perf_counter() - t, m[:60])))
            full, full_cpu = time.perf_counter() - t, _cpu() - cpu
            if prof is not None:
                prof.disable()
                prof.dump_stats(args.profile)
            # the same plain 304s again after (the machine's load drifts: compare with both)
            base2, cpu2, _ = _baseline(db, archive, mapping, registry, "baseline2")
        finally:
            server.terminate()
            server.wait()
    c = result["counts"]["gxzf"]
    print(f"setup: ingest of {info['articles']} articles in {setup:.1f} s")
    base, base_cpu = (base1 + base2) / 2, (cpu1 + cpu2) / 2
    print(f"baseline: {info['articles']} conditional GETs, {n304} answered 304 (crawl process only): "
          f"{base1:.2f} s before, {base2:.2f} s after ({cpu1:.1f} / {cpu2:.1f} CPU s)")
    print(f"re-check: {c.asked} asked, {edited} pages edited -> {c.not_modified} x 304, {c.live} changed, "
          f"{c.edited} new versions, {c.removed} removed (whole step): {full:.2f} s ({full_cpu:.1f} CPU s)")
    for when, m in marks:
        print(f"  {when:6.2f} s  {m}")
    print(f"ratio re-check / baseline (mean of before and after): wall {full / base:.2f}x, "
          f"CPU {full_cpu / base_cpu:.2f}x (target <= 1.2x)")
    v = version_cost()
    print(f"version storage, one-sentence edit of a {v['article_bytes']} B article: version 2 costs {v['v2_bytes']} B "
          f"(a zlib copy would be {v['full_copy_zlib']} B); version 1 gets its full text on the first edit: "
          f"{v['v1_bytes']} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
