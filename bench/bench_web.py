"""`newsflow web` speed, and our search index side by side with Tantivy and DuckDB's fts in one run.

Warehouse: bench_report's 100k generated articles (two years, the registry's sources, tags,
stories, crawl runs), indexed with bench_search's Zipf token lists (the same lists are fed to
all three engines: our postings, a Tantivy index with a whitespace tokenizer, DuckDB's fts with
stemming, stop words, accents and lower-casing off; title tokens count 3 times in all three).

Prints:
  * engine side by side: the query mix (every word), top 20 + the total, p50/p95 per engine;
  * the explorer's pages over HTTP on 127.0.0.1 (server time from Server-Timing, and wall):
    search (story and article views, a facet, no query), attention CSV, story, article,
    sources; p50/p95 per page and p95 over all;
  * attention over time for a common term over --big (1,000,000) synthetic articles (articles,
    postings for three terms, topic tags; written in SQL), through the explorer's code.

    python -m bench.bench_web [--rows 100000] [--big 1000000] [--repeat 5] [--db keep.duckdb]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlencode

import warehouse
import warehouse.explore
from bench.bench_search import DOMAIN, QUERIES
from warehouse import search as wsearch

CHUNK = 10_000


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p * len(s))) - 1))]


def fmt(values: list[float]) -> str:
    return f"p50 {statistics.median(values) * 1000:6.1f} ms, p95 {pct(values, 0.95) * 1000:6.1f} ms (n={len(values)})"


def token_lists(ids: list[str], chunk: int):
    """(id, title tokens, text tokens) for one chunk, the same on every call (seeded by chunk)."""
    rnd = random.Random(1000 + chunk)
    vocab = DOMAIN + [f"词{i}" for i in range(30_000)]
    weights = [1 / (i + 1) ** 0.9 for i in range(len(vocab))]
    for aid in ids:
        yield aid, rnd.sample(DOMAIN, 3), rnd.choices(vocab, weights, k=400) + rnd.sample(DOMAIN, 3)


def build(db: Path, rows: int) -> list[str]:
    from bench.bench_report import build as build_report
    if not db.exists():
        t = time.perf_counter()
        build_report(db, rows)
        with warehouse.connect(db) as con:
            ids = [r[0] for r in con.execute("SELECT id FROM articles ORDER BY id").fetchall()]
            for c in range(0, len(ids), CHUNK):
                wsearch.index_documents(con, token_lists(ids[c:c + CHUNK], c))
        print(f"built {rows:,} articles (tags, stories, runs, search index) in {time.perf_counter() - t:.0f}s")
    with warehouse.connect(db, read_only=True) as con:
        return [r[0] for r in con.execute("SELECT id FROM articles ORDER BY id").fetchall()]


def engines(db: Path, ids: list[str], tmp: Path, repeat: int) -> dict[str, list[float]]:
    """Our postings, Tantivy and DuckDB fts over the same token lists: every-word queries."""
    import duckdb
    import tantivy

    from flows.search.segment import query_tokens
    queries = [query_tokens(q) for q in QUERIES]
    # Tantivy
    t = time.perf_counter()
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    schema = sb.build()
    (tmp / "tantivy").mkdir()
    index = tantivy.Index(schema, path=str(tmp / "tantivy"))
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    fts_rows: list[tuple[str, str]] = []
    for c in range(0, len(ids), CHUNK):
        for aid, title, text in token_lists(ids[c:c + CHUNK], c):
            body = " ".join(text + title * 3)
            writer.add_document(tantivy.Document(id=aid, body=body))
            fts_rows.append((aid, body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    print(f"  tantivy index built in {time.perf_counter() - t:.1f}s")
    # DuckDB fts (a separate file: the index is a derivative, rebuilt from scratch)
    t = time.perf_counter()
    from bench.bench_web import fts_extension
    fcon = duckdb.connect(str(tmp / "fts.duckdb"))
    fcon.execute(f"LOAD '{fts_extension()}'")
    fcon.execute("CREATE TABLE docs (id VARCHAR, body VARCHAR)")
    import pyarrow as pa
    fcon.register("_d", pa.table({"id": [a for a, _ in fts_rows], "body": [b for _, b in fts_rows]}))
    fcon.execute("INSERT INTO docs SELECT * FROM _d")
    del fts_rows
    fcon.execute("PRAGMA create_fts_index('docs', 'id', 'body', stemmer='none', stopwords='none', "
                 "ignore='\\s+', strip_accents=0, lower=0)")
    print(f"  duckdb fts index built in {time.perf_counter() - t:.1f}s")
    out: dict[str, list[float]] = {"ours (postings in DuckDB)": [], "tantivy": [], "duckdb fts": []}
    totals: dict[str, list[int]] = {k: [] for k in out}
    searcher = index.searcher()
    with warehouse.connect(db, read_only=True) as con:
        for _ in range(repeat):
            for terms in queries:
                t = time.perf_counter()
                _, total = wsearch.search(con, terms, limit=20)
                out["ours (postings in DuckDB)"].append(time.perf_counter() - t)
                totals["ours (postings in DuckDB)"].append(total)
                t = time.perf_counter()
                q = tantivy.Query.boolean_query([(tantivy.Occur.Must, tantivy.Query.term_query(schema, "body", w))
                                                 for w in terms])
                res = searcher.search(q, limit=20, count=True)
                [searcher.doc(a)["id"][0] for _, a in res.hits]
                out["tantivy"].append(time.perf_counter() - t)
                totals["tantivy"].append(res.count)
                t = time.perf_counter()
                rows = fcon.execute(
                    "WITH s AS (SELECT id, fts_main_docs.match_bm25(id, ?, conjunctive := 1) AS score FROM docs) "
                    "SELECT id, score, count(*) OVER () FROM s WHERE score IS NOT NULL ORDER BY score DESC LIMIT 20",
                    [" ".join(terms)]).fetchall()
                out["duckdb fts"].append(time.perf_counter() - t)
                totals["duckdb fts"].append(rows[0][2] if rows else 0)
    fcon.close()
    assert totals["ours (postings in DuckDB)"] == totals["tantivy"], (totals["ours (postings in DuckDB)"][:8],
                                                                      totals["tantivy"][:8])
    if totals["duckdb fts"] != totals["tantivy"]:
        print(f"  note: duckdb fts totals differ: {totals['duckdb fts'][:8]} vs {totals['tantivy'][:8]}")
    return out


def fts_extension() -> str:
    from warehouse.extensions import path
    return path("fts")


def timed_get(url: str) -> tuple[float, float]:
    t = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as r:
        r.read()
        server = float(r.headers["Server-Timing"].split("dur=")[1]) / 1000
    return server, time.perf_counter() - t


def pages(db: Path, repeat: int, engine: str) -> dict[str, list[float]]:
    from flows.web import Explorer, serve
    if engine == "auto":
        from flows.search.derived import Derived, build as build_derived, folder_for
        with warehouse.explore.explorer(db) as rd:
            stamp = warehouse.explore.search_stamp(rd.con)
        d = Derived.open(folder_for(db))
        if d is None or not d.current(stamp):
            t = time.perf_counter()
            build_derived(db)
            print(f"  tantivy derivative built in {time.perf_counter() - t:.0f}s")
    server = serve(Explorer(db, db.parent / "archive", engine=engine))
    base = server.url
    with warehouse.connect(db, read_only=True) as con:
        stories = [r[0] for r in con.execute("SELECT cluster_id FROM stories ORDER BY articles DESC, cluster_id "
                                             "LIMIT 5").fetchall()]
        arts = [r[0] for r in con.execute("SELECT id FROM articles ORDER BY id LIMIT 5").fetchall()]
        source = con.execute("SELECT source FROM articles LIMIT 1").fetchone()[0]
    kinds = {
        "search (stories)": [f"/?{urlencode({'q': q})}" for q in QUERIES],
        "search (articles)": [f"/?{urlencode({'q': q, 'view': 'article'})}" for q in QUERIES],
        "search + facet": [f"/?{urlencode({'q': q, 'source': source})}" for q in QUERIES],
        "browse (no query)": ["/", "/?view=article", f"/?source={source}", "/?page=3"],
        "attention CSV": [f"/attention.csv?{urlencode({'q': q, 'by': 'topic'})}" for q in QUERIES[:4]],
        "story": [f"/story/{quote(s)}" for s in stories],
        "article": [f"/article/{a}" for a in arts],
        "sources": ["/sources"],
    }
    out: dict[str, list[float]] = {}
    walls: dict[str, list[float]] = {}
    try:
        timed_get(base + kinds["search (stories)"][0])          # jieba's dictionary, first import
        for _ in range(repeat):
            for kind, paths in kinds.items():
                for p in paths:
                    s, w = timed_get(base + p)
                    out.setdefault(kind, []).append(s)
                    walls.setdefault(kind, []).append(w)
    finally:
        server.close()
    for kind in kinds:
        print(f"  {kind:<20} server {fmt(out[kind])}; wall p50 {statistics.median(walls[kind]) * 1000:.1f} ms")
    return out


def big_attention(tmp: Path, n: int, repeat: int) -> None:
    """Attention over time for a common term (in 30% of articles) over `n` synthetic articles."""
    from warehouse import explore
    db = tmp / "big.duckdb"
    t = time.perf_counter()
    with warehouse.connect(db) as con:
        con.execute(f"""INSERT INTO articles (id, url, source, title, published_at, text, content_hash,
                        extractor_version, first_seen, last_seen, original_source, script)
            SELECT 'a' || i, 'http://x/' || i, 'src' || (i % 12), '标题' || i,
                   TIMESTAMPTZ '2016-01-01 00:00:00+08' + INTERVAL (i * 5) MINUTE, '正文', 'h' || i, 'bench',
                   now(), now(), '来源' || (i % 30), 'simplified' FROM range({n}) t(i)""")
        con.execute(f"INSERT INTO search_docs SELECT 'a' || i, 400, now(), 'h' || i FROM range({n}) t(i)")
        for term, every in (("常见", 3), ("中等", 20), ("少见", 500)):
            con.execute(f"INSERT INTO search_postings SELECT ?, 'a' || i, 1 + i % 3 FROM range({n}) t(i) "
                        f"WHERE hash(i || ?) % {every} = 0 ORDER BY 1", [term, term])
        con.execute(f"INSERT INTO article_tags SELECT 'a' || i, 'topic', 't' || (i % 9), 1.0, '', 'bench' "
                    f"FROM range({n}) t(i) WHERE i % 3 <> 0")
    print(f"  {n:,} synthetic articles written in {time.perf_counter() - t:.0f}s")
    from flows.search.derived import Derived, Match, build as build_derived, folder_for
    from flows.web.pages import window
    t = time.perf_counter()
    build_derived(db)
    derived = Derived.open(folder_for(db))
    print(f"  tantivy derivative of {n:,} articles built in {time.perf_counter() - t:.0f}s")
    f = explore.Filters(terms=("常见",))
    for by in ("source", "topic"):
        for engine in ("tantivy", "duckdb"):
            lat = []
            for _ in range(repeat):
                t = time.perf_counter()
                with explore.explorer(db) as rd:          # what a request does: open, answer, close
                    if engine == "tantivy":
                        m = Match(derived, f)
                        tot = m.span()
                        count = m.s.search(m.q, limit=1, count=True).count
                        win = window(tot["first"], tot["last"], "auto")
                        m.attention(by, win["unit"])
                    else:                                   # the matching set, its span, the chart
                        count = explore.match(rd.con, f)
                        tot = explore.totals(rd.con)
                        win = window(tot["first"], tot["last"], "auto")
                        explore.attention(rd.con, by, win["unit"])
                lat.append(time.perf_counter() - t)
            print(f"  attention by {by}, {engine:<7}, a term in {count:,} of {n:,} articles ({win['unit']}ly; "
                  f"what /attention.csv does): {fmt(lat)} (target <= 300 ms)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", type=Path, help="keep (and reuse) the 100k warehouse here")
    ap.add_argument("--skip", nargs="*", default=(), choices=("engines", "pages", "big"))
    ap.add_argument("--skip-engine", nargs="*", default=(), choices=("auto", "duckdb"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        db = args.db or tmp / "web.duckdb"
        ids = build(db, args.rows)
        if "engines" not in args.skip:
            print(f"search engines, every word, {len(ids):,} articles, top 20 + total:")
            for name, lat in engines(db, ids, tmp, args.repeat).items():
                print(f"  {name:<26} {fmt(lat)}")
        if "pages" not in args.skip:
            for engine, label in (("auto", "the Tantivy derivative"), ("duckdb", "DuckDB alone")):
                if engine in args.skip_engine:
                    continue
                print(f"explorer pages over HTTP, {len(ids):,} articles, search through {label}:")
                times = pages(db, args.repeat, engine)
                everything = [x for v in times.values() for x in v]
                print(f"  all pages: server {fmt(everything)} (target p95 <= 300 ms; search p50 <= 150, p95 <= 400)")
        if "big" not in args.skip:
            print("attention over time, synthetic warehouse:")
            big_attention(tmp, args.big, args.repeat)


if __name__ == "__main__":
    main()
