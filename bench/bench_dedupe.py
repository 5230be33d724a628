"""Dedupe benchmark: quality on the labelled set, signature speed, and scale.

    .venv/bin/python -m bench.bench_dedupe                 # labelled set + speed + 100k and 1M
    .venv/bin/python -m bench.bench_dedupe --quick         # labelled set + speed + 20k and 100k
    .venv/bin/python -m bench.bench_dedupe --sweep         # the parameter measurement in docs/dedupe.md
    .venv/bin/python -m bench.bench_dedupe --scale 100000 1000000 --workers 2

1. Quality: the labelled set (tests/data/dedupe) goes through the real load (LoadSession)
   and `dedupe_new`; every pair of its articles is scored (same predicted story vs same
   labelled story): precision, recall, per kind, and the canonical article of each story.
2. Speed: signatures + LSH keys of 1,800-character texts, docs/s on one core, next to the
   naive loop (one SHA-1 and one numpy permutation vector per shingle, as datasketch's
   MinHash.update does).
3. Scale: N generated articles (see Generator: 10% exact copies, 10% edited, 3% traditional
   script, 2% heavily edited) arrive in runs of 100k: each run is loaded (LoadSession), then
   `dedupe_new` dedupes it (its default chunks); dedupe time per run, docs/s, RSS, and the
   growth from 100k to 1M.
"""
from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LABELLED = ROOT / "tests" / "data" / "dedupe"
UTC = dt.timezone.utc


# --- the labelled set -------------------------------------------------------------------------

def labelled_docs() -> list[dict]:
    with (LABELLED / "docs.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def labelled_pairs() -> list[tuple[str, str, int, str]]:
    rows = []
    with (LABELLED / "pairs.tsv").open(encoding="utf-8") as f:
        next(f)
        for line in f:
            a, b, label, kind = line.rstrip("\n").split("\t")
            rows.append((a, b, int(label), kind))
    return rows


def labelled_articles(docs: list[dict]):
    """The labelled docs as schemas.Article records, as the pipeline would load them."""
    from flows.extract.normalise import content_hash
    from schemas import Article
    out = []
    for d in docs:
        pub = dt.datetime.fromisoformat(d["published_at"]) if d["published_at"] else None
        out.append(Article(
            id=d["id"], url=d["url"], source=d["source"], title=d["title"], published_at=pub,
            original_source=d["original_source"], author=None, editor=None, text=d["text"],
            language="zh", content_hash=content_hash(d["title"], pub, d["original_source"], d["text"]),
            extractor_version="labelled", fetched_at=dt.datetime(2025, 7, 15, tzinfo=UTC),
            title_simplified=d["title_simplified"], text_simplified=d["text_simplified"], script=d["script"]))
    return out


def labelled_outlets() -> dict[str, tuple[str, ...]]:
    from crawlers.registry import load_registry
    from flows.dedupe import registry_outlets
    return registry_outlets(load_registry())


def evaluate(config=None, con=None, docs=None) -> dict:
    """Load the labelled set into a fresh warehouse, dedupe it, score every pair."""
    import duckdb
    from flows.dedupe import dedupe_new
    from warehouse.store import LoadSession, migrate

    docs = docs or labelled_docs()
    own = con is None
    if own:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'Asia/Shanghai'")
        migrate(con)
    with LoadSession(con) as s:
        s.articles(labelled_articles(docs))
    t = time.perf_counter()
    report = dedupe_new(con, config=config, outlets=labelled_outlets())
    seconds = time.perf_counter() - t
    cluster = dict(con.execute("SELECT article_id, cluster_id FROM dedupe_docs").fetchall())
    canonical = dict(con.execute("SELECT cluster_id, canonical_id FROM dedupe_clusters "
                                 "WHERE merged_into IS NULL").fetchall())
    if own:
        con.close()
    return score(docs, cluster, canonical) | {"report": report.as_dict(), "dedupe_seconds": seconds}


def score(docs: list[dict], cluster: dict[str, str], canonical: dict[str, str]) -> dict:
    story = {d["id"]: d["story"] for d in docs}
    tp = fp = fn = 0
    false_pos, false_neg = [], []
    for a, b in itertools.combinations(sorted(story), 2):
        same = story[a] == story[b]
        pred = cluster.get(a) is not None and cluster.get(a) == cluster.get(b)
        if pred and same:
            tp += 1
        elif pred:
            fp += 1
            false_pos.append((a, b))
        elif same:
            fn += 1
            false_neg.append((a, b))
    kinds = {(a, b): (label, kind) for a, b, label, kind in labelled_pairs()}
    kinds.update({(b, a): v for (a, b), v in list(kinds.items())})
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for (a, b), (label, kind) in kinds.items():
        if a < b:
            pred = cluster.get(a) is not None and cluster.get(a) == cluster.get(b)
            by_kind[f"{'+' if label else '-'}{kind}"]["predicted" if pred else "not"] += 1
    # canonical: the story's original (the member no other member was derived from)
    members = defaultdict(list)
    for d in docs:
        members[d["story"]].append(d)
    canon_ok = canon_all = 0
    canon_wrong = []
    for st, ms in members.items():
        if len(ms) < 2:
            continue
        want = [m["id"] for m in ms if m["base"] is None]
        cids = {cluster.get(m["id"]) for m in ms}
        canon_all += 1
        got = {canonical.get(c) for c in cids}
        if len(cids) == 1 and got == set(want):
            canon_ok += 1
        else:
            canon_wrong.append((st, want, sorted(g for g in got if g)))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return {"pairs": len(story) * (len(story) - 1) // 2, "positives": tp + fn, "tp": tp, "fp": fp,
            "fn": fn, "precision": precision, "recall": recall,
            "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
            "canonical_ok": canon_ok, "canonical_stories": canon_all, "canonical_wrong": canon_wrong,
            "false_positives": false_pos[:20], "false_negatives": false_neg[:20]}


def print_quality(res: dict, label: str = "") -> None:
    print(f"labelled set{label}: {res['pairs']} pairs, {res['positives']} positive; "
          f"precision {res['precision']:.4f}  recall {res['recall']:.4f}  (tp {res['tp']}, fp {res['fp']}, "
          f"fn {res['fn']}); canonical right for {res['canonical_ok']}/{res['canonical_stories']} stories")
    for k, v in res["by_kind"].items():
        print(f"    {k:28s} predicted same story {v.get('predicted', 0):4d} / {v.get('predicted', 0) + v.get('not', 0)}")


# --- speed of signatures + LSH ------------------------------------------------------------------

def speed_texts(n: int, length: int = 1800, seed: int = 1) -> list[str]:
    """Realistic 1,800-character bodies: windows over the labelled set's simplified texts."""
    corpus = "".join(d["text_simplified"].replace("\n", "") for d in labelled_docs())
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(corpus) - length, size=n)
    return [corpus[s:s + length] for s in starts]


def bench_speed(n: int = 4000, naive_n: int = 40, repeats: int = 3) -> dict:
    """docs/s of signatures + LSH keys on one core, from the process CPU time (this machine's
    two cores are shared, so wall time wanders), best of `repeats`; the naive loop likewise."""
    from flows.dedupe.minhash import MinHasher, naive_signature
    texts = speed_texts(n)
    hasher = MinHasher()
    hasher.sign(texts[:50])                      # build the fold table first
    fast = 0.0
    for _ in range(repeats):
        t = time.process_time()
        signed = hasher.sign(texts)
        hasher.band_keys(signed.signatures)
        fast = max(fast, n / (time.process_time() - t))
    naive = 0.0
    for _ in range(repeats):
        t = time.process_time()
        for x in texts[:naive_n]:
            naive_signature(x)
        naive = max(naive, naive_n / (time.process_time() - t))
    return {"texts": n, "chars": 1800, "fast_docs_per_s": fast, "naive_docs_per_s": naive,
            "speedup": fast / naive}


# --- scale --------------------------------------------------------------------------------------

class Generator:
    """Articles with Chinese-like text, fast enough for a million.

    A stream of Zipf-weighted phrases (2-6 characters, cut from the labelled set's text) and
    frequency-weighted single characters is cut into ~250k disjoint sentences of 20-60
    characters; an article is 15-45 sentences drawn at random, so unrelated articles share
    common words but almost no 5-character shingles, as real news does. Of every 100 articles
    (after the first few): 10 exact copies of an earlier one; 10 edited copies (a 来源 line and
    an editor line added, 60 characters cut: Jaccard ~0.9); 3 traditional-script copies
    (OpenCC's character table, s2t and back; 0.5% of characters left wrong, as the pipeline's
    t2s leaves a few: Jaccard ~0.95, the labelled set's traditional copies measure 0.95-1.0);
    2 heavily edited copies (10-25% of the text replaced: Jaccard 0.6-0.8, around the
    threshold, so the exact check of borderline pairs runs at scale too)."""

    def __init__(self, seed: int = 7, stream_chars: int = 10_000_000):
        from flows.dedupe.minhash import fold_str
        rng = np.random.default_rng(seed)
        corpus = fold_str("".join(d["text_simplified"] for d in labelled_docs()))
        chars, freq = np.unique(np.frombuffer(corpus.encode("utf-32-le"), "<u4"), return_counts=True)
        starts = rng.integers(0, len(corpus) - 6, size=20000)
        lens = rng.integers(2, 7, size=20000)
        phrases = np.array([corpus[a:a + k] for a, k in zip(starts, lens)], dtype=object)
        w = 1.0 / np.arange(1, len(phrases) + 1) ** 1.1
        n_tok = stream_chars // 5
        ph = phrases[rng.choice(len(phrases), size=n_tok, p=w / w.sum())]
        ch = np.array([chr(c) for c in chars], dtype=object)[rng.choice(len(chars), size=n_tok, p=freq / freq.sum())]
        tokens = np.empty(2 * n_tok, dtype=object)
        tokens[0::2], tokens[1::2] = ph, ch
        stream = "".join(tokens.tolist())
        cuts = np.cumsum(rng.integers(20, 61, size=len(stream) // 20))
        cuts = cuts[cuts < len(stream)]
        punct = rng.choice(np.array(["，", "。", "；", "。\n\n"], dtype=object), size=len(cuts), p=[0.5, 0.3, 0.05, 0.15])
        self.sentences = [stream[a:b] + p for a, b, p in zip(np.r_[0, cuts[:-1]], cuts, punct)]
        self.rng = rng
        self.s2t, self.t2s = self._char_tables()

    @staticmethod
    def _char_tables():
        """s2t and t2s character tables of the characters whose conversion is reversible."""
        import opencc
        folder = Path(opencc.__file__).with_name("dictionary")

        def table(name):
            out = {}
            for line in (folder / name).read_text(encoding="utf-8").splitlines():
                src, _, dst = line.partition("\t")
                if len(src) == 1 and dst:
                    out[ord(src)] = dst.split()[0]
            return out
        s2t, t2s = table("STCharacters.txt"), table("TSCharacters.txt")
        s2t = {k: v for k, v in s2t.items() if len(v) == 1 and t2s.get(ord(v)) == chr(k)}
        return s2t, {ord(v): chr(k) for k, v in s2t.items()}

    def text(self) -> str:
        idx = self.rng.integers(0, len(self.sentences), size=int(self.rng.integers(15, 46)))
        return "".join([self.sentences[i] for i in idx])

    def batch(self, start: int, n: int, originals: list):
        """Articles start..start+n-1; originals holds texts later articles may copy."""
        from flows.extract.normalise import article_id, content_hash
        from schemas import Article
        rng = self.rng
        out = []
        base_time = dt.datetime(2024, 1, 1, tzinfo=UTC)
        kinds = rng.random(n)
        for k, i in enumerate(range(start, start + n)):
            r = kinds[k]
            pub = base_time + dt.timedelta(minutes=i)
            text_s = None
            if originals and r < 0.25:
                o = originals[int(rng.integers(len(originals)))]
                if r < 0.10:
                    text = o
                elif r < 0.20:
                    cut = int(rng.integers(0, max(len(o) - 100, 1)))
                    text = "来源：本网综合\n\n" + o[:cut] + o[cut + 60:] + "\n\n（责任编辑：李华）"
                elif r < 0.23:
                    text = o.translate(self.s2t)
                    wrong = rng.integers(0, len(text), size=max(1, len(text) // 200))
                    chars = list(text.translate(self.t2s))
                    for w in wrong.tolist():
                        chars[w] = "乾"
                    text_s = "".join(chars)
                else:
                    share = rng.uniform(0.1, 0.25)
                    cut = int(rng.integers(0, max(int(len(o) * (1 - share)), 1)))
                    text = o[:cut] + self.text()[:int(len(o) * share)] + o[cut + int(len(o) * share):]
            else:
                text = self.text()
                if len(originals) < 50_000:
                    originals.append(text)
                else:
                    originals[int(rng.integers(len(originals)))] = text
            title = f"生成文章{i}号"
            url = f"http://gen{i % 50}.example.cn/a/{i}.html"
            out.append(Article(                         # ids are URL hashes, as the pipeline's
                id=article_id(url), url=url, source=f"gen{i % 50}",
                title=title, published_at=pub, original_source=None, author=None, editor=None,
                text=text, language="zh", content_hash=content_hash(title, text), extractor_version="bench",
                fetched_at=pub, title_simplified=title, text_simplified=text_s or text,
                script="traditional" if text_s else "simplified"))
        return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def bench_scale(n: int, chunk: int = 100_000, keep: bool = False, workdir: str | None = None) -> dict:
    """n generated articles in runs of `chunk`: load a run, dedupe it; time and memory."""
    import warehouse
    from flows.dedupe import dedupe_new
    from warehouse.store import LoadSession

    tmp = Path(workdir or tempfile.mkdtemp(prefix="bench_dedupe_"))
    db = tmp / f"dedupe_{n}.duckdb"
    if db.exists():
        db.unlink()
    gen = Generator()
    originals: list[str] = []
    t = time.perf_counter()
    per_chunk = []
    total_dedupe = total_cpu = 0.0
    rss_before = _current_rss_mb()
    with warehouse.connect(db) as con:
        con.execute("SET memory_limit = '4GB'")   # DuckDB's cache; Python's arrays come on top
        con.execute("SET enable_progress_bar = false")
        for start in range(0, n, chunk):
            size = min(chunk, n - start)
            tl = time.perf_counter()
            arts = gen.batch(start, size, originals)
            with LoadSession(con) as s:
                s.articles(arts)
            run_ids = [a.id for a in arts]
            del arts
            load_s = time.perf_counter() - tl
            td, tc = time.perf_counter(), time.process_time()
            r = dedupe_new(con, run_ids)                  # dedupe_new's default chunk
            dd, dc = time.perf_counter() - td, time.process_time() - tc
            total_dedupe += dd
            total_cpu += dc
            per_chunk.append({"articles": size, "load_s": round(load_s, 1), "dedupe_s": round(dd, 1),
                              "dedupe_cpu_s": round(dc, 1),
                              "docs_per_s": round(size / dd), "exact": r.exact, "near": r.near,
                              "candidates": r.candidates, "rss_mb": round(_current_rss_mb())})
            print(f"    {start + size:>9,} articles: load {load_s:6.1f}s, dedupe {dd:6.1f}s (CPU {dc:5.1f}s) "
                  f"({size / dd:,.0f} docs/s; exact {r.exact}, near {r.near}, candidates {r.candidates}; "
                  f"RSS {_current_rss_mb():,.0f} MB)", flush=True)
        stats = con.execute("SELECT count(*), count(DISTINCT cluster_id) FROM dedupe_docs").fetchone()
    size_mb = db.stat().st_size / 2**20
    if not keep:
        db.unlink()
        wal = db.with_suffix(".duckdb.wal")
        if wal.exists():
            wal.unlink()
    return {"n": n, "dedupe_s": total_dedupe, "dedupe_cpu_s": total_cpu, "total_s": time.perf_counter() - t,
            "docs_per_s": n / total_dedupe, "peak_rss_mb": _rss_mb(), "rss_before_mb": rss_before,
            "db_mb": size_mb, "deduped": stats[0], "stories": stats[1], "chunks": per_chunk}


# --- parameter sweep (docs/dedupe.md) ------------------------------------------------------------

def sweep() -> None:
    """The measurement behind the defaults (docs/dedupe.md): quality on the labelled set over
    shingle size x threshold x banding, then the excerpt containment."""
    from flows.dedupe import DedupeConfig
    from flows.dedupe.minhash import MinHashParams
    print("shingle  threshold  bands x rows  P(cand|thr)  precision  recall  fp  fn  canonical")
    for k in (3, 4, 5, 6, 8):
        for th in (0.55, 0.6, 0.65, 0.7, 0.75, 0.8):
            for b, r in ((32, 4), (25, 5), (21, 6)):
                params = MinHashParams(shingle=k, threshold=th, bands=b, rows=r)
                res = evaluate(DedupeConfig(params=params))
                print(f"{k:7d}  {th:9.2f}  {b:5d} x {r:<4d}  {params.candidate_probability(th):11.4f}  "
                      f"{res['precision']:9.4f}  {res['recall']:.4f}  {res['fp']:3d} {res['fn']:3d}  "
                      f"{res['canonical_ok']}/{res['canonical_stories']}", flush=True)
    for c in (0.7, 0.8, 0.85, 0.9, 0.95, 1.01):
        res = evaluate(DedupeConfig(excerpt_containment=c))
        print(f"defaults, excerpt containment {c:.2f}: precision {res['precision']:.4f} "
              f"recall {res['recall']:.4f} fp {res['fp']} fn {res['fn']}  "
              f"excerpt pairs found {res['by_kind']['+excerpt'].get('predicted', 0)}/"
              f"{sum(res['by_kind']['+excerpt'].values())}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="scale runs of 20k and 100k instead of 100k and 1M")
    ap.add_argument("--sweep", action="store_true", help="only the parameter sweep on the labelled set")
    ap.add_argument("--scale", type=int, nargs="*", help="scale sizes (default 100000 1000000)")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--workdir", default=None, help="where the scale warehouses go (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the scale warehouses")
    args = ap.parse_args(argv)
    if args.sweep:
        sweep()
        return 0

    res = evaluate()
    print_quality(res)
    if res["false_positives"] or res["false_negatives"]:
        print("    false positives:", res["false_positives"][:5], " false negatives:", res["false_negatives"][:5])

    sp = bench_speed()
    print(f"\nsignatures + LSH keys, 1,800-char texts, per core (CPU time): {sp['fast_docs_per_s']:,.0f} docs/s "
          f"(batch hashing, vectorised permutations)  vs  naive per-shingle loop {sp['naive_docs_per_s']:,.0f} docs/s "
          f"= {sp['speedup']:.0f}x  (target >= 2,000 docs/s)")

    if args.no_scale:
        return 0
    sizes = args.scale or ([20_000, 100_000] if args.quick else [100_000, 1_000_000])
    results = []
    for n in sizes:
        print(f"\nscale: {n:,} generated articles, in runs of 100k (load the run, then dedupe_new "
              "over its articles in its default chunks)")
        r = bench_scale(n, keep=args.keep, workdir=args.workdir)
        results.append(r)
        print(f"  dedupe {r['dedupe_s']:.1f}s wall, {r['dedupe_cpu_s']:.1f}s CPU = {r['docs_per_s']:,.0f} docs/s; "
              f"stories {r['stories']:,}; "
              f"peak RSS {r['peak_rss_mb']:,.0f} MB; warehouse {r['db_mb']:,.0f} MB; "
              f"wall incl. generate+load {r['total_s']:.0f}s")
    if len(results) >= 2:
        a, b = results[0], results[-1]
        print(f"\ngrowth: {b['n'] / a['n']:.0f}x the articles took {b['dedupe_s'] / a['dedupe_s']:.1f}x the dedupe "
              f"wall time, {b['dedupe_cpu_s'] / a['dedupe_cpu_s']:.1f}x the CPU time "
              f"(linear = {b['n'] / a['n']:.0f}x; target within 12x for 10x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
