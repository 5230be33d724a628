"""End-to-end throughput per stage on one core: crawl, extract, normalise, tag, load, index,
dedupe, and the whole ingest, over one generated mirror, so the slowest stage is visible.

    .venv/bin/python -m bench.bench_stages [--articles 1500] [--rounds 3] [--core 0]

Set-up: a gxzf-like mirror of N articles, 20 to a list page (`mirror.build.build_large`, as
bench_crawl), served by `python -m mirror.server` in its own process on the other cores. This
process pins itself to one core (`os.sched_setaffinity`, inherited by the crawl subprocess it
starts) and every DuckDB connection it opens gets `threads=1`.

1. Whole ingest, --rounds times, each on a fresh warehouse and archive, with plain calls (no
   Prefect: bench_prefect measures that) in the flow's order: `steps.crawl_state`,
   `flows.crawl.crawl` (Scrapy in its own process, politeness off as for any mirror),
   `unrecorded_runs` (+ `steps.unprocessed_runs` where it exists), `steps.record_crawl`,
   `steps.process_archives` (extract, normalise, segment, tag, load, index, dedupe, snapshot).
   The first round is the first in the process (it
   pays the one-off loads: jieba's dictionary, the taxonomy, OpenCC, imports); the median
   is over the rounds after it. The crawl stage's figures come from these rounds.
2. Each later stage alone, --rounds times, by calling its function directly on the pages of
   the last round's WARC file, read once (median seconds per stage):
   read WARC `crawlers.archive.read_pages`; extract `flows.extract.extract` with the arguments
   `to_record` passes; normalise `flows.process.to_record` with extract answered from the
   results just computed (the cleaning, canonical URL, quality, language, OpenCC, script and
   hash work); segment `flows.search.segment.tokens` (jieba) over title and text, once, as
   process_archives does; tag `flows.tags.tag_articles(keywords=False)` plus
   `keywords_from_tokens` over those tokens (or, in a tree without it, `tag_articles` with
   jieba's own TF-IDF keywords), and without keywords to show their share; load one `LoadSession`
   (`articles` + `rejected`) with `warehouse.tags.load_tags`, committed, into a fresh file;
   index `warehouse.search.index_documents`; dedupe `flows.dedupe.dedupe_new` of the loaded
   ids; snapshot `warehouse.publish_snapshot`. As a cross-check, `iter_records` (read +
   extract + normalise as process_archives runs them) is timed too.

Prints, per stage: items, median wall and CPU seconds, items/s of each (pages/s: crawl counts
every response, list pages too; the other stages count article pages), CPU ms per article and
share of the CPU time; then the whole ingest's pages/s and which stage is slowest. CPU time
(`time.process_time`; the crawl's from its reaped subprocess) is the figure to trust on a
shared machine: another process on the pinned core stretches wall time, not CPU time. The
crawl's wall time also waits on the mirror server (another process, not counted). Figures
only, no assertions.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCE = "gxzf"          # build_large writes a gxzf-like site
MAX_PAGES = 100_000      # follow every list page


# ------------------------------------------------------------------------------ one core

def duckdb_threads(n: int = 1) -> None:
    """Every duckdb.connect() of this process (warehouse.connect's too) gets threads=n."""
    import duckdb
    original = duckdb.connect

    def connect(database=":memory:", read_only=False, config=None, **kw):
        config = dict(config or {})
        config.setdefault("threads", n)
        return original(database, read_only=read_only, config=config, **kw)

    duckdb.connect = connect


def start_mirror(sites: Path, core: int) -> tuple[subprocess.Popen, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mirror.server", "--sites", str(sites), "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    others = set(os.sched_getaffinity(0)) - {core}
    if others:                       # the server is not the pipeline: keep it off the measured core
        os.sched_setaffinity(proc.pid, others)
    return proc, json.loads(proc.stdout.readline())


# ------------------------------------------------------------------------------ 1. whole ingest

def children_cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def whole_ingest(run_dir: Path, mapping: dict) -> dict:
    """crawl + record + process with plain calls, as ingest_flow's tasks run them."""
    from crawlers.registry import load_registry
    from flows import crawl as crawl_step
    from flows import steps
    from flows.process import run_id_now

    db, archive = run_dir / "newsflow.duckdb", run_dir / "archive"
    names = [SOURCE]
    w0, p0, c0 = time.perf_counter(), time.process_time(), children_cpu()
    state = steps.crawl_state(db, names)
    w1, c1 = time.perf_counter(), children_cpu()
    stats = crawl_step.crawl(names, archive_dir=archive, run_id=run_id_now(), mapping=mapping,
                             max_pages=MAX_PAGES, state=state)
    w2, c2 = time.perf_counter(), children_cpu()
    done = stats + crawl_step.unrecorded_runs(archive, names, state, exclude=stats)
    if hasattr(steps, "unprocessed_runs"):       # as crawl_task does (flows/ingest.py)
        done += steps.unprocessed_runs(db, names, exclude=done)
    steps.record_crawl(db, done)
    w3, p3 = time.perf_counter(), time.process_time()
    counts = steps.process_archives(db, steps.archive_paths_for(done), load_registry(None),
                                    runs_done=[(s.run_id, s.source) for s in done])
    w4, p4, c4 = time.perf_counter(), time.process_time(), children_cpu()
    s = stats[0]
    c = counts.get(SOURCE)
    return {"total": w4 - w0, "total_cpu": (p4 - p0) + (c4 - c0),
            "crawl": w2 - w1, "crawl_cpu": c2 - c1, "crawl_own": s.duration_s,
            "record": w3 - w2, "process": w4 - w3, "process_cpu": p4 - p3,
            "pages": s.pages_fetched, "status": s.status,
            "articles": c.new if c else 0, "rejected": c.rejected if c else 0, "warc": s.warc_path}


# ------------------------------------------------------------------------------ 2. stages alone

def extract_and_normalise(pages: list, by_name: dict, clock) -> tuple[dict, list]:
    """extract, timed over the article pages to_record would hand it; then normalise: to_record
    with extract answered from those results."""
    import flows.process as P
    from flows.extract import ExtractError, extract

    def extract_all():
        out = {}
        for p in pages:
            if p.page_kind != "article" or p.block_reason or not 200 <= p.status < 300:
                continue
            src = by_name.get(p.source)
            try:
                out[id(p.body)] = extract(p.body, p.final_url, content_type=p.header("content-type"), preset=src,
                                          encoding_hint=src.encoding if src else None, list_date=p.list_date)
            except ExtractError as exc:
                out[id(p.body)] = exc
        return out
    extracted = clock("extract", extract_all)

    def memo(body, *a, **kw):
        e = extracted.get(id(body))
        if e is None:                     # a page the filter above did not foresee: really extract it
            return extract(body, *a, **kw)
        if isinstance(e, Exception):
            raise e
        return e
    P.extract = memo
    try:
        recs = clock("normalise", lambda: [x for x in (P.to_record(p, by_name.get(p.source)) for p in pages)
                                           if x is not None])
    finally:
        P.extract = extract
    return extracted, recs


def tagger_for(T, taxonomy, provinces, articles, postings, t: dict):
    """tag_articles as flows.steps.process_archives calls it (keywords from the index's tokens)."""
    if hasattr(T, "keywords_from_tokens"):        # as flows.steps.process_archives tags since 49edef2
        def tag_all():
            tags = T.tag_articles(articles, taxonomy, provinces, keywords=False)
            for aid, title_tokens, text_tokens in postings:
                tags += T.keywords_from_tokens(aid, title_tokens + text_tokens)
            return tags
        t["_keywords"] = "from the index's tokens"
    else:                                         # before: jieba TF-IDF segments every text again
        def tag_all():
            return T.tag_articles(articles, taxonomy, provinces)
        t["_keywords"] = "jieba extract_tags (a second segmentation)"
    return tag_all


def stage_round(warc: str, work: Path, r: int) -> dict[str, float]:
    import flows.process as P
    import warehouse
    from crawlers.archive import ReadReport, read_pages
    from crawlers.registry import load_registry
    from flows.dedupe import dedupe_new
    from flows.search.segment import tokens
    from flows.steps import warehouse_dedupe
    import flows.tags as T
    from schemas import Article
    from warehouse.search import index_documents
    from warehouse.tags import load_tags

    registry = load_registry(None)
    by_name = {s.name: s for s in registry.sources}
    taxonomy, provinces = T.load_taxonomy(), T.province_map(registry)
    t: dict = {}

    def clock(name, fn, *a, **kw):
        gc.collect()                      # no collection of an earlier stage's garbage on this clock
        w, c = time.perf_counter(), time.process_time()
        out = fn(*a, **kw)
        t[name], t[name + "_cpu"] = time.perf_counter() - w, time.process_time() - c
        return out

    pages = clock("read", lambda: list(read_pages(warc, ReadReport(warc))))
    t["_records"] = len(pages)

    extracted, recs = extract_and_normalise(pages, by_name, clock)
    articles = [x for x in recs if isinstance(x, Article)]
    rejected = [x for x in recs if not isinstance(x, Article)]
    t["_articles"], t["_extracted"] = len(articles), len(extracted)

    # cross-check: read + extract + normalise the way process_archives runs them
    clock("iter_records", lambda: list(P.iter_records([warc], registry)))

    # segment once (jieba), for the index and, where flows.tags has it, for the keywords too
    postings = clock("segment", lambda: [(a.id, tokens(a.title_simplified or a.title),
                                          tokens(a.text_simplified or a.text)) for a in warehouse_dedupe(articles)])
    tag_all = tagger_for(T, taxonomy, provinces, articles, postings, t)
    tags = clock("tag", tag_all)
    clock("tag_no_keywords", T.tag_articles, articles, taxonomy, provinces, keywords=False)

    db = work / f"stages{r}.duckdb"
    ids = [a.id for a in articles]
    with warehouse.connect(db) as con:          # created and migrated before the clock starts
        t["_threads"] = con.execute("SELECT current_setting('threads')").fetchone()[0]
        def load():
            with warehouse.LoadSession(con) as session:
                session.articles(articles)
                session.rejected(rejected)
                t1 = time.process_time()
                load_tags(con, tags, taxonomy.version, taxonomy.info(), transaction=False, article_ids=ids)
                t["load_tags_cpu"] = time.process_time() - t1
        clock("load", load)
        clock("index", index_documents, con, postings)
        report = clock("dedupe", dedupe_new, con, article_ids=ids)
        t["_stories"] = report.new_clusters
    clock("snapshot", warehouse.publish_snapshot, db)
    return t


# ------------------------------------------------------------------------------ main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1500)
    ap.add_argument("--rounds", type=int, default=3, help="whole-ingest rounds, and rounds of each stage")
    ap.add_argument("--core", type=int, default=min(os.sched_getaffinity(0)), help="the CPU to pin to")
    args = ap.parse_args(argv)
    rounds = max(2, args.rounds)
    ingests, stage_runs = run_rounds(args, rounds)
    print_figures(args, rounds, ingests, stage_runs)
    return 0


def run_rounds(args, rounds: int) -> tuple[list[dict], list[dict]]:
    """Whole-ingest rounds on a generated mirror, then rounds of each stage on the last WARC."""
    with tempfile.TemporaryDirectory(prefix="nf-bench-stages-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        from mirror.build import build_large
        info = build_large(tmp / "mirror", args.articles)
        print(f"generated mirror: {info['articles']} articles, {info['list_pages']} list pages, "
              f"{info['article_bytes'] / 1e6:.1f} MB of article HTML ({time.perf_counter() - t0:.1f} s)", flush=True)
        server, mapping = start_mirror(tmp / "mirror" / "sites", args.core)
        try:
            os.sched_setaffinity(0, {args.core})
            duckdb_threads(1)
            print(f"pinned to CPU {args.core} of {os.cpu_count()} (the crawl subprocess too); DuckDB threads=1; "
                  f"mirror server on CPUs {sorted(os.sched_getaffinity(server.pid))}", flush=True)

            ingests = []
            for r in range(rounds):
                w = whole_ingest(tmp / f"ingest{r}", mapping)
                if w["status"] != "ok" or w["articles"] != args.articles:
                    raise SystemExit(f"ingest {r}: status {w['status']}, {w['articles']} articles "
                                     f"(expected {args.articles})")
                ingests.append(w)
                print(f"whole ingest {r + 1}{' (first in the process)' if r == 0 else ''}: {w['pages']} pages, "
                      f"{w['articles']} articles in {w['total']:.2f} s (crawl {w['crawl']:.2f}, record "
                      f"{w['record']:.2f}, process {w['process']:.2f})", flush=True)
                if r < rounds - 1:
                    shutil.rmtree(tmp / f"ingest{r}" / "archive")     # keep the temp dir small
            warc = ingests[-1]["warc"]

            stage_runs = []
            for r in range(rounds):
                stage_runs.append(stage_round(warc, tmp, r))
                x = stage_runs[-1]
                print(f"stages round {r + 1} (wall s): " + ", ".join(
                    f"{k} {v:.2f}" for k, v in x.items() if not k.startswith("_") and not k.endswith("_cpu")),
                    flush=True)
        finally:
            server.terminate()
            server.wait()

    return ingests, stage_runs


def print_figures(args, rounds: int, ingests: list[dict], stage_runs: list[dict]) -> None:
    warm = ingests[1:]

    def wmed(key):
        return statistics.median(w[key] for w in warm)

    def smed(key):
        return statistics.median(x[key] for x in stage_runs)

    pages, n_art = ingests[-1]["pages"], stage_runs[0]["_articles"]
    records = stage_runs[0]["_records"]
    rows = [   # name, what is timed, items, unit, wall s, CPU s
        ("crawl", "flows.crawl.crawl: Scrapy subprocess, WARC", pages, "pages", wmed("crawl"), wmed("crawl_cpu")),
        ("read WARC", "crawlers.archive.read_pages", records, "recs", smed("read"), smed("read_cpu")),
        ("extract", "flows.extract.extract", stage_runs[0]["_extracted"], "pages", smed("extract"),
         smed("extract_cpu")),
        ("normalise", "flows.process.to_record, extract memoised", n_art, "pages", smed("normalise"),
         smed("normalise_cpu")),
        ("segment", "flows.search.segment.tokens (jieba), title + text", n_art, "pages", smed("segment"),
         smed("segment_cpu")),
        ("tag", "flows.tags: tag_articles + keywords", n_art, "pages", smed("tag"), smed("tag_cpu")),
        ("load", "LoadSession + load_tags, committed", n_art, "pages", smed("load"), smed("load_cpu")),
        ("index", "warehouse.search.index_documents", n_art, "pages", smed("index"), smed("index_cpu")),
        ("dedupe", "flows.dedupe.dedupe_new", n_art, "pages", smed("dedupe"), smed("dedupe_cpu")),
        ("snapshot", "warehouse.publish_snapshot", n_art, "pages", smed("snapshot"), smed("snapshot_cpu")),
    ]
    sum_wall = sum(r[4] for r in rows)
    sum_cpu = sum(r[5] for r in rows)
    print()
    print(f"one core (CPU {args.core}), {n_art} articles in {pages} pages. Medians: crawl over whole-ingest rounds "
          f"2-{rounds}, the other stages over {rounds} rounds on the same WARC. CPU s = this process's CPU time "
          f"(the crawl's: its subprocess's); /s = items per second of wall / of CPU time.")
    print(f"{'stage':<10} {'what is timed':<43} {'items':>11} {'wall s':>7} {'CPU s':>6} {'/s wall':>8} "
          f"{'/s CPU':>7} {'CPU ms/art':>10} {'share':>5}")
    for name, what, n, unit, w, c in rows:
        print(f"{name:<10} {what:<43} {n:>5} {unit:<5} {w:>7.2f} {c:>6.2f} {n / w:>8.0f} {n / c:>7.0f} "
              f"{1000 * c / n_art:>10.2f} {100 * c / sum_cpu:>4.0f}%")
    kw = smed("tag_cpu") - smed("tag_no_keywords_cpu")
    print(f"{'':<10} of tag: keywords ({stage_runs[0]['_keywords']}) {kw:.2f} CPU s = "
          f"{100 * kw / smed('tag_cpu'):.0f}%; of load: load_tags {smed('load_tags_cpu'):.2f} CPU s")
    print(f"{'':<10} cross-check: iter_records (read + extract + normalise, as process_archives runs them) "
          f"{smed('iter_records_cpu'):.2f} CPU s vs the three rows' sum "
          f"{smed('read_cpu') + smed('extract_cpu') + smed('normalise_cpu'):.2f}")
    by_cpu = max(rows, key=lambda r: r[5] / n_art)
    by_wall = max(rows, key=lambda r: r[4] / n_art)
    print(f"\nslowest stage per article: by CPU {by_cpu[0]} ({by_cpu[2] / by_cpu[5]:.0f} {by_cpu[3]}/CPU s, "
          f"{100 * by_cpu[5] / sum_cpu:.0f}% of the CPU time); by wall {by_wall[0]} ({by_wall[2] / by_wall[4]:.0f} "
          f"{by_wall[3]}/s, {100 * by_wall[4] / sum_wall:.0f}% of the wall time)")
    tot, proc = wmed("total"), wmed("process")
    print(f"whole ingest (crawl + record + process_archives, plain calls, fresh warehouse), median of rounds "
          f"2-{rounds}: {pages} pages / {n_art} articles in {tot:.2f} s = {pages / tot:.0f} pages/s "
          f"({n_art / tot:.0f} articles/s); CPU {wmed('total_cpu'):.2f} s = {pages / wmed('total_cpu'):.0f} "
          f"pages per CPU s (this process + crawl subprocess; the mirror server not counted)")
    print(f"  crawl {wmed('crawl'):.2f} s (its own clock {wmed('crawl_own'):.2f} s), record {wmed('record'):.2f} s, "
          f"process_archives {proc:.2f} s / {wmed('process_cpu'):.2f} CPU s (its stages above, timed alone: "
          f"{sum_wall - rows[0][4]:.2f} s / {sum_cpu - rows[0][5]:.2f} CPU s)")
    first = ingests[0]
    print(f"  first ingest in the process: {first['total']:.2f} s; its process_archives {first['process_cpu']:.2f} "
          f"CPU s, {first['process_cpu'] - wmed('process_cpu'):+.2f} s vs later rounds: the one-off loads "
          f"(jieba's dictionary, taxonomy, OpenCC, imports)")
    print(f"DuckDB threads in the stage connections: {stage_runs[0]['_threads']}; {os.cpu_count()} CPUs, load "
          f"average at the end {os.getloadavg()[0]:.1f}; peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    sys.exit(main())
