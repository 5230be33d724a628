"""Dedupe and syndication: one story, one cluster, across URLs, outlets and scripts.

    report = dedupe_new("data/newsflow.duckdb")                  # everything not yet deduped
    report = dedupe_new(con, run_id="20250715T080000-abc123")      # one crawl run's articles
    report = dedupe_new(con, article_ids=[...], outlets=registry_outlets(registry))

An article joins a story (cluster) when one of three rules links it to a member:

- exact:   the same folded simplified text (`text_hash`), at least `min_chars` long;
- near:    MinHash + LSH candidates whose Jaccard similarity of character shingles is at
           least `threshold` (the estimate decides when it is clearly above or below; within
           `verify_margin` of the threshold the exact Jaccard of the two texts decides);
- excerpt: the same folded headline (at least `title_min_chars`, held by at most
           `max_title_group` articles, so generic headlines never link) and the shorter text
           at least `excerpt_containment` contained in the longer (exact containment).

Links are transitive (union-find). Stories only grow: an article never leaves its cluster;
when an article links two clusters they merge, the older one (lower founder seq) survives
and the other's row stays with `merged_into`. Re-running a batch changes nothing: articles
whose content hash is unchanged are skipped; a changed article is re-signed in place.

Each touched cluster gets its canonical article (the credited original outlet when some
member's 来源 names the outlet of another member, else the earliest published; then first
seen, then signing order) and one syndication edge per other member: republished from the
member of the outlet its 来源 credits when there is one, else from the canonical.

The decision logic is here; every SQL statement is in warehouse/clusters.py.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np
import pyarrow as pa

from flows.minhash import (MinHasher, MinHashParams, batch_candidate_pairs, fold, fold_many,
                           fold_str, jaccard_estimate, pair_estimates, text_hash)

UTC = dt.timezone.utc


class DedupeParamsChanged(RuntimeError):
    """The stored signatures were made with other shingle/permutation/band parameters."""


@dataclass(frozen=True)
class DedupeConfig:
    """Matching rules. Signature-shaping values live in `params` (see docs/dedupe.md)."""

    params: MinHashParams = field(default_factory=MinHashParams)
    verify_margin: float = 0.10        # |estimate - threshold| below this: exact Jaccard decides
    max_checks: int = 3                # exact checks of stored candidates per article
    excerpt_containment: float = 0.9   # excerpt rule: shorter text contained in the longer
    title_min_chars: int = 8           # excerpt rule: folded headline at least this long
    max_title_group: int = 50          # excerpt rule: headline held by at most this many articles

    def meta(self) -> dict[str, str]:
        return {"signature_key": self.params.signature_key, "lsh_key": self.params.lsh_key,
                "threshold": str(self.params.threshold), "min_chars": str(self.params.min_chars),
                "excerpt_containment": str(self.excerpt_containment)}


@dataclass(frozen=True)
class DedupeDoc:
    """What dedupe needs of an article."""

    id: str
    text: str                          # the simplified body (text_simplified, else text)
    title: str | None = None           # the simplified headline
    source: str = ""
    published_at: dt.datetime | None = None
    original_source: str | None = None
    content_hash: str | None = None    # articles.content_hash: unchanged means nothing to do
    first_seen: dt.datetime | None = None

    @classmethod
    def from_article(cls, a) -> "DedupeDoc":
        """From a schemas.Article (or anything with its fields)."""
        return cls(id=a.id, text=a.text_simplified or a.text or "", title=a.title_simplified or a.title,
                   source=a.source, published_at=a.published_at, original_source=a.original_source,
                   content_hash=a.content_hash, first_seen=getattr(a, "first_seen", None))

    def fingerprint(self) -> str:
        if self.content_hash:
            return self.content_hash
        h = hashlib.sha1()
        for v in (self.text, self.title, self.source, self.published_at, self.original_source):
            h.update(b"\x1f" + str(v if v is not None else "").encode("utf-8"))
        return "dd:" + h.hexdigest()


@dataclass
class DedupeReport:
    articles: int = 0          # considered
    unchanged: int = 0         # already deduped with the same content: skipped
    signed: int = 0            # new to dedupe
    resigned: int = 0          # content changed since: signed again
    founders: int = 0          # started a new story
    exact: int = 0             # joined by rule
    near: int = 0
    excerpt: int = 0
    short: int = 0             # shorter than min_chars: a story of its own
    joined_existing: int = 0   # articles that joined a story from an earlier batch
    new_clusters: int = 0
    merges: int = 0
    edges_new: int = 0
    clusters_touched: int = 0
    candidates: int = 0        # LSH candidate pairs checked
    verified_exactly: int = 0  # borderline pairs decided on the exact Jaccard
    seconds: float = 0.0

    def add(self, other: "DedupeReport") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(d["seconds"], 3)
        return d

    def __str__(self) -> str:
        return (f"{self.articles} articles ({self.signed} new to dedupe, {self.resigned} changed, "
                f"{self.unchanged} unchanged): {self.exact} exact, {self.near} near and {self.excerpt} "
                f"excerpt copies, {self.new_clusters} new stories, {self.joined_existing} joined earlier "
                f"stories, {self.merges} merges, {self.edges_new} new syndication edges "
                f"({self.seconds:.1f} s)")


# --- outlets ------------------------------------------------------------------------------

_NAME_SPLIT = re.compile(r"[、,，/|；;]+|\s{2,}")


@functools.lru_cache(maxsize=4096)
def name_key(name: str | None) -> str:
    """Outlet names compared folded and simplified: 海報新聞 == 海报新闻 == '海报 新闻'."""
    if not name:
        return ""
    from flows.extract.script import to_simplified
    return fold_str(to_simplified(name))


def credited_keys(original_source: str | None) -> set[str]:
    if not original_source:
        return set()
    return {k for k in (name_key(p) for p in _NAME_SPLIT.split(original_source)) if k}


def registry_outlets(registry, field_name: str = "outlet_names") -> dict[str, tuple[str, ...]]:
    """source name -> the outlet names it publishes as: its registry `title`, plus the optional
    per-source `outlet_names` list (e.g. ["人民日报", "人民网"] for a people.com.cn source)."""
    out = {}
    for s in registry.sources:
        names = [s.title] + list(getattr(s, field_name, ()) or ())
        out[s.name] = tuple(n for n in names if n)
    return out


# --- union-find ---------------------------------------------------------------------------

class _UF:
    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        p = self.parent.setdefault(x, x)
        if p != x:
            root = self.find(p)
            self.parent[x] = root
            return root
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


# --- exact similarity of borderline pairs --------------------------------------------------

class _Shingles:
    """Unique shingle hashes per text, computed once per text."""

    def __init__(self, hasher: MinHasher):
        self.hasher = hasher
        self.cache: dict[str, np.ndarray] = {}

    def get(self, key: str, folded) -> np.ndarray:
        """`folded`: the folded text, or a function returning it (called only when needed)."""
        s = self.cache.get(key)
        if s is None:
            h, _ = self.hasher.shingle_hashes([folded() if callable(folded) else folded])
            s = self.cache[key] = np.unique(h)
        return s

    @staticmethod
    def jaccard_containment(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        if a.size == 0 or b.size == 0:
            return 0.0, 0.0
        inter = np.intersect1d(a, b, assume_unique=True).size
        return inter / (a.size + b.size - inter), inter / min(a.size, b.size)


# --- the batch step -----------------------------------------------------------------------

@dataclass
class _Link:
    kind: str           # exact | near | excerpt
    sim: float
    other: tuple        # ("b", batch row) or ("d", article_id, cluster_id, seq)


_RANK = {"exact": 0, "near": 1, "excerpt": 2}
SIGN_CHUNK = 10000      # texts folded and signed at once: ~150 MB of arrays for 1,800-character texts


@dataclass
class _Batch:
    """The batch as columns (one list per field), one row per distinct article id."""

    ids: list
    texts: list
    titles: list
    sources: list
    published: list
    credited: list
    fingerprints: list
    first_seen: list

    @classmethod
    def from_docs(cls, docs: Iterable[DedupeDoc]) -> "_Batch":
        by_id: dict[str, DedupeDoc] = {}
        for d in docs:
            by_id[d.id] = d                 # the last record of an id wins
        ds = list(by_id.values())
        return cls([d.id for d in ds], [d.text or "" for d in ds], [d.title for d in ds],
                   [d.source for d in ds], [d.published_at for d in ds], [d.original_source for d in ds],
                   [d.fingerprint() for d in ds], [d.first_seen for d in ds])

    @classmethod
    def from_arrow(cls, t: pa.Table) -> "_Batch":
        """From warehouse.clusters.fetch_articles (ids are unique there)."""
        c = {name: t.column(name).to_pylist() for name in t.column_names}
        return cls(c["id"], [x or "" for x in c["text"]], c["title"], c["source"], c["published_at"],
                   c["original_source"], c["content_hash"], c["first_seen"])

    def take(self, rows: Sequence[int]) -> "_Batch":
        return _Batch(*([getattr(self, f)[i] for i in rows] for f in self.__dataclass_fields__))

    def __len__(self) -> int:
        return len(self.ids)


def dedupe_batch(con, docs: Iterable[DedupeDoc] | pa.Table, config: DedupeConfig | None = None,
                 outlets: Mapping[str, Sequence[str]] | None = None,
                 now: dt.datetime | None = None, hasher: MinHasher | None = None) -> DedupeReport:
    """Dedupe one batch against everything stored, inside the caller's transaction.

    `docs`: DedupeDoc records, or the Arrow table of warehouse.clusters.fetch_articles.
    Idempotent: articles already deduped with the same content hash are skipped."""
    from warehouse import clusters as W

    t0 = time.perf_counter()
    config = config or DedupeConfig()
    p = config.params
    hasher = hasher or MinHasher(p)
    now = (now or dt.datetime.now(UTC)).astimezone(UTC)
    report = DedupeReport()
    b = _Batch.from_arrow(docs) if isinstance(docs, pa.Table) else _Batch.from_docs(docs)
    report.articles = len(b)
    if not len(b):
        return report

    state = W.existing_docs(con, b.ids)
    rows, resigned_state = [], {}
    for k, (aid, fp) in enumerate(zip(b.ids, b.fingerprints)):
        st = state.get(aid)
        if st is not None and st[2] == fp:
            report.unchanged += 1
            continue
        if st is not None:
            resigned_state[len(rows)] = st        # keyed by row in the filtered batch
        rows.append(k)
    if len(rows) < len(b):
        b = b.take(rows)
    n = len(b)
    if n == 0:
        report.seconds = time.perf_counter() - t0
        return report
    report.resigned = len(resigned_state)
    report.signed = n - report.resigned
    ids = b.ids

    # -- sign, SIGN_CHUNK texts at a time (bounded memory; the folded texts are not kept) -------
    lengths = np.zeros(n, dtype=np.int64)
    hashes: list[str] = [""] * n
    sigs = np.zeros((n, p.num_perm), dtype=np.uint32)
    for a in range(0, n, SIGN_CHUNK):
        codes, lens = fold_many(b.texts[a:a + SIGN_CHUNK])
        starts = (np.cumsum(lens) - lens).tolist()
        for j, (st, m) in enumerate(zip(starts, lens.tolist())):
            hashes[a + j] = text_hash(codes[st:st + m])
        lengths[a:a + len(lens)] = lens
        long = lens >= p.min_chars
        if long.any():
            sigs[a + np.flatnonzero(long)] = hasher.sign_concat(codes[np.repeat(long, lens)], lens[long])
        del codes

    def folded(i: int) -> np.ndarray:           # for the few exact checks: folded again
        return fold(b.texts[i])
    tcodes, tlens = fold_many(b.titles)
    tst = (np.cumsum(tlens) - tlens).tolist()
    title_hashes = [text_hash(tcodes[a:a + m]) if m >= config.title_min_chars else None
                    for a, m in zip(tst, tlens.tolist())]
    long_enough = lengths >= p.min_chars
    signed_rows = np.flatnonzero(long_enough)
    shingles = _Shingles(hasher)
    links: dict[int, list[_Link]] = {}

    def link(i: int, kind: str, sim: float, other: tuple) -> None:
        links.setdefault(i, []).append(_Link(kind, sim, other))

    # -- exact: stored holders of the same text, and the batch's own repeats --------------------
    stored_exact = W.exact_matches(con, [hashes[i] for i in signed_rows], ids, p.min_chars)
    first_in_batch: dict[str, int] = {}
    needs_lsh = []
    for i in signed_rows.tolist():
        h = hashes[i]
        if h in stored_exact:
            aid, cid, seq = stored_exact[h]
            link(i, "exact", 1.0, ("d", aid, cid, seq))
        elif h in first_in_batch:
            link(i, "exact", 1.0, ("b", first_in_batch[h]))
        else:
            first_in_batch[h] = i
            needs_lsh.append(i)
    needs_lsh = np.array(needs_lsh, dtype=np.int64)
    keys = hasher.band_keys(sigs[needs_lsh]) if needs_lsh.size else np.zeros((0, p.bands), np.int64)

    # -- near: LSH candidates, decided on the estimate or, when borderline, the exact Jaccard ---
    lo, hi = p.threshold - config.verify_margin, p.threshold + config.verify_margin
    borderline_db: list[tuple[int, str, str, int, float]] = []
    cand = W.lsh_candidates(con, needs_lsh, keys, ids)
    if cand.num_rows:
        crow = cand.column("row").to_numpy()
        est = pair_estimates(sigs, crow, W.signature_matrix(cand.column("signature"), p.num_perm),
                             np.arange(len(crow)))
        report.candidates += len(crow)
        keep = np.flatnonzero(est >= lo)
        if keep.size:
            keep = keep[np.argsort(-est[keep], kind="stable")]     # best first
            aids = cand.column("article_id").take(pa.array(keep)).to_pylist()
            cids = cand.column("cluster_id").take(pa.array(keep)).to_pylist()
            seqs = cand.column("seq").take(pa.array(keep)).to_pylist()
            settled: set[tuple[int, str]] = set()       # (row, cluster) linked or already queued
            for k, i, e in zip(range(keep.size), crow[keep].tolist(), est[keep].tolist()):
                if e >= hi:
                    link(i, "near", e, ("d", aids[k], cids[k], seqs[k]))
                    settled.add((i, cids[k]))
                elif (i, cids[k]) not in settled:      # one exact check per row and cluster
                    borderline_db.append((i, aids[k], cids[k], seqs[k], e))
                    settled.add((i, cids[k]))
    pairs = batch_candidate_pairs(keys) if needs_lsh.size > 1 else np.zeros((0, 2), np.int64)
    if len(pairs):
        pa_, pb_ = needs_lsh[pairs[:, 0]], needs_lsh[pairs[:, 1]]
        est = pair_estimates(sigs, pa_, sigs, pb_)
        report.candidates += len(pairs)
        sel = np.flatnonzero(est >= lo)
        for i, j, e in zip(pa_[sel].tolist(), pb_[sel].tolist(), est[sel].tolist()):
            if e >= hi:
                link(j, "near", e, ("b", i))
            else:
                report.verified_exactly += 1
                jac, _ = shingles.jaccard_containment(shingles.get(ids[i], lambda i=i: folded(i)),
                                                      shingles.get(ids[j], lambda j=j: folded(j)))
                if jac >= p.threshold:
                    link(j, "near", jac, ("b", i))

    # -- excerpt: same headline, the shorter text contained in the longer ------------------------
    # (an exact copy's twin already went through this rule)
    title_rows = [i for i in signed_rows.tolist() if title_hashes[i] is not None
                  and not any(ln.kind == "exact" for ln in links.get(i, ()))]
    stored_titles = W.title_candidates(con, [title_hashes[i] for i in title_rows], ids,
                                       config.max_title_group)
    by_title: dict[str, list] = {}
    for th, aid, cid, seq, nch in stored_titles:
        if nch >= p.min_chars:
            by_title.setdefault(th, []).append((aid, cid, seq))
    excerpt_db = [(i, aid, cid, seq) for i in title_rows for aid, cid, seq in by_title.get(title_hashes[i], ())
                  if not any(ln.other[0] == "d" and ln.other[2] == cid for ln in links.get(i, ()))]
    # Borderline stored candidates (the best one per story, best first, at most `max_checks`)
    # are checked exactly only for an article with no confident link: an article already in
    # a story does not pull a borderline story into it.
    by_row: dict[int, list] = {}
    for x in borderline_db:
        if x[0] not in links:
            by_row.setdefault(x[0], []).append(x)
    checks = [cands[:config.max_checks] for cands in by_row.values()]   # already best first
    need_text = {x[1] for cands in checks for x in cands} | {x[1] for x in excerpt_db}
    texts = W.article_texts(con, sorted(need_text))
    for cands in checks:
        for i, aid, cid, seq, e in cands:
            if aid not in texts:            # no article row (direct use): the estimate decides
                if e >= p.threshold:
                    link(i, "near", e, ("d", aid, cid, seq))
                continue
            report.verified_exactly += 1
            jac, _ = shingles.jaccard_containment(shingles.get(ids[i], lambda i=i: folded(i)),
                                                  shingles.get(aid, lambda aid=aid: fold(texts[aid])))
            if jac >= p.threshold:
                link(i, "near", jac, ("d", aid, cid, seq))
    for i, aid, cid, seq in excerpt_db:
        if aid in texts:
            _, cont = shingles.jaccard_containment(shingles.get(ids[i], lambda i=i: folded(i)),
                                                   shingles.get(aid, lambda aid=aid: fold(texts[aid])))
            if cont >= config.excerpt_containment:
                link(i, "excerpt", cont, ("d", aid, cid, seq))
    batch_titles: dict[str, list[int]] = {}
    for i in title_rows:
        batch_titles.setdefault(title_hashes[i], []).append(i)
    for members in batch_titles.values():
        if 1 < len(members) <= config.max_title_group:
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    i, j = members[x], members[y]
                    _, cont = shingles.jaccard_containment(shingles.get(ids[i], lambda i=i: folded(i)),
                                                           shingles.get(ids[j], lambda j=j: folded(j)))
                    if cont >= config.excerpt_containment:
                        link(j, "excerpt", cont, ("b", i))

    # -- components: batch rows and the stored clusters they reach -------------------------------
    uf = _UF()
    for i, st in resigned_state.items():            # sticky: a re-signed article keeps its story
        uf.union(("b", i), ("c", st[1]))
    for i, lns in links.items():
        for ln in lns:
            uf.union(("b", i), ("b", ln.other[1]) if ln.other[0] == "b" else ("c", ln.other[2]))
    comps: dict = {}
    for node in list(uf.parent):
        comps.setdefault(uf.find(node), []).append(node)
    existing = sorted({node[1] for members in comps.values() for node in members if node[0] == "c"})
    founders = W.cluster_founders(con, existing)

    seq_of = np.empty(n, dtype=np.int64)
    is_new = np.ones(n, dtype=bool)
    for i, st in resigned_state.items():
        seq_of[i] = st[0]
        is_new[i] = False
    seq_of[is_new] = W.next_seq(con) + np.arange(int(is_new.sum()))

    cluster_of = ["c" + aid for aid in ids]         # singletons found their own story
    in_comp = np.zeros(n, dtype=bool)
    merges: list[tuple[str, str, str | None]] = []
    touched: set[str] = set()
    for members in comps.values():
        rows_in = sorted(m[1] for m in members if m[0] == "b")
        olds = sorted({m[1] for m in members if m[0] == "c"}, key=lambda c: (founders.get(c, 1 << 62), c))
        if olds:
            survivor = olds[0]
            merges += [(loser, survivor, ids[rows_in[0]]) for loser in olds[1:]]
            touched.update(olds)
        else:
            survivor = "c" + ids[min(rows_in, key=lambda r: seq_of[r])]
        for r in rows_in:
            cluster_of[r] = survivor
            in_comp[r] = True
        touched.add(survivor)
    fresh = set(cluster_of) - set(existing)
    report.new_clusters = len(fresh)
    report.merges = len(merges)

    # -- how each article joined -----------------------------------------------------------------
    reverse: dict[int, list[_Link]] = {}            # links that later batch rows made to row i
    for j, lns in links.items():
        for ln in lns:
            if ln.other[0] == "b":
                reverse.setdefault(ln.other[1], []).append(_Link(ln.kind, ln.sim, ("b", j)))
    kinds: list[str] = ["founder"] * n
    matched: list[str | None] = [None] * n
    sims: list[float | None] = [None] * n
    for i in range(n):
        if not long_enough[i]:
            kinds[i] = "short"
            report.short += 1
            continue
        # its own links to earlier articles; else, unless it founded a new story, the links
        # later rows of the batch made to it
        own = links.get(i) or ([] if cluster_of[i] == "c" + ids[i] else reverse.get(i, []))
        if not own:
            report.founders += 1
            continue
        ln = min(own, key=lambda x: (_RANK[x.kind], -x.sim))
        kinds[i] = ln.kind
        matched[i] = ids[ln.other[1]] if ln.other[0] == "b" else ln.other[1]
        sims[i] = round(float(ln.sim), 4)
        setattr(report, ln.kind, getattr(report, ln.kind) + 1)
        if cluster_of[i] in existing:
            report.joined_existing += 1

    # -- write ---------------------------------------------------------------------------------
    doc_table = pa.Table.from_arrays([
        pa.array(ids, pa.string()), pa.array(seq_of), pa.array(cluster_of, pa.string()),
        pa.array(b.fingerprints, pa.string()), pa.array(hashes, pa.string()),
        pa.array(title_hashes, pa.string()), pa.array(lengths.astype(np.int32)),
        W.signature_array([sigs[i] if long_enough[i] else None for i in range(n)]),
        pa.array(b.sources, pa.string()), W.ts_array(b.published), pa.array(b.credited, pa.string()),
        W.ts_array(b.first_seen), pa.array(kinds, pa.string()), pa.array(matched, pa.string()),
        pa.array(sims, pa.float64()),
    ], schema=W.DOC_SCHEMA)
    W.apply_merges(con, merges, now)
    W.insert_docs(con, doc_table.filter(pa.array(is_new)), now)
    W.update_docs(con, doc_table.filter(pa.array(~is_new)), now)
    W.write_bands(con, seq_of[needs_lsh], keys,
                  replace=np.array([st[0] for st in resigned_state.values()], dtype=np.int64))

    # -- canonical and edges: new singletons directly, the other touched clusters from storage --
    singles = [i for i in range(n) if not in_comp[i] and is_new[i]]
    summaries = singleton_clusters(ids, seq_of, b.published, singles)
    if touched:
        multi, edges = summarise_clusters(W.cluster_members(con, sorted(touched)), outlets)
        summaries = pa.concat_tables([summaries, multi])
    else:
        edges = _empty_edges()
    report.clusters_touched = len(touched) + len(singles)
    W.upsert_clusters(con, summaries, fresh, now)
    losers = {m[0] for m in merges}
    report.edges_new = W.write_edges(con, sorted(touched | losers), edges, now) if touched else 0
    report.seconds = time.perf_counter() - t0
    return report


# --- canonical article and syndication edges ------------------------------------------------

_FAR = dt.datetime.max.replace(tzinfo=UTC)


def _rank_key(m: dict, tier0: bool):
    pub, seen = m["published_at"], m["first_seen"]
    return (0 if tier0 else 1, pub is None, pub or _FAR, seen is None, seen or _FAR, m["seq"])


def choose_canonical(members: list[dict], outlets: Mapping[str, Sequence[str]] | None = None) -> tuple[int, set[int]]:
    """Index of the canonical member, and the members whose outlet some member's 来源 credits.

    members: dicts with source, published_at, original_source, first_seen, seq."""
    outlets = outlets or {}
    credited = set()
    for m in members:
        credited |= credited_keys(m["original_source"])
    tier0 = set()
    if credited:
        for k, m in enumerate(members):
            if {name_key(x) for x in outlets.get(m["source"], ())} & credited:
                tier0.add(k)
    best = min(range(len(members)), key=lambda k: _rank_key(members[k], k in tier0))
    return best, tier0


def _empty_edges() -> pa.Table:
    from warehouse import clusters as W
    return W.EDGE_SCHEMA.empty_table()


def singleton_clusters(ids: list, seqs: np.ndarray, published: list, rows: list[int]) -> pa.Table:
    """Cluster rows of articles that are a story of their own."""
    from warehouse import clusters as W
    pubs = [published[i] for i in rows]
    return pa.Table.from_arrays([
        pa.array(["c" + ids[i] for i in rows], pa.string()), pa.array([ids[i] for i in rows], pa.string()),
        pa.array(np.ones(len(rows), dtype=np.int32)), pa.array(np.ones(len(rows), dtype=np.int32)),
        W.ts_array(pubs), W.ts_array(pubs), pa.array(seqs[rows] if rows else np.zeros(0, np.int64))],
        schema=W.CLUSTER_SCHEMA)


def summarise_clusters(members: pa.Table, outlets: Mapping[str, Sequence[str]] | None = None
                       ) -> tuple[pa.Table, pa.Table]:
    """Cluster rows (canonical, size, outlets, dates) and the current syndication edges of the
    clusters in `members` (warehouse.clusters.cluster_members: sorted by cluster, seq)."""
    from warehouse import clusters as W

    cols = {name: members.column(name).to_pylist() for name in
            ("cluster_id", "article_id", "seq", "text_hash", "source", "published_at",
             "original_source", "first_seen", "signature")}
    crow: dict[str, list] = {k: [] for k in W.CLUSTER_SCHEMA.names}
    erow: dict[str, list] = {k: [] for k in W.EDGE_SCHEMA.names}
    outlets = outlets or {}
    cid_col = cols["cluster_id"]
    total = len(cid_col)
    start = 0
    while start < total:
        cid = cid_col[start]
        end = start + 1
        while end < total and cid_col[end] == cid:
            end += 1
        if end - start == 1:                    # a story of one article
            pub = cols["published_at"][start]
            for k, v in (("cluster_id", cid), ("canonical_id", cols["article_id"][start]), ("size", 1),
                         ("outlets", 1), ("first_published", pub), ("last_published", pub),
                         ("founder_seq", cols["seq"][start])):
                crow[k].append(v)
            start = end
            continue
        ms = [{k: cols[k][x] for k in cols} for x in range(start, end)]
        canon, _ = choose_canonical(ms, outlets)
        pubs = [m["published_at"] for m in ms if m["published_at"] is not None]
        for k, v in (("cluster_id", cid), ("canonical_id", ms[canon]["article_id"]), ("size", len(ms)),
                     ("outlets", len({m["source"] for m in ms})),
                     ("first_published", min(pubs) if pubs else None),
                     ("last_published", max(pubs) if pubs else None),
                     ("founder_seq", min(m["seq"] for m in ms))):
            crow[k].append(v)
        # outlet key -> earliest member publishing as it (who a copy's 来源 points at)
        by_outlet: dict[str, int] = {}
        for k in sorted(range(len(ms)), key=lambda k: _rank_key(ms[k], False)):
            for nm in outlets.get(ms[k]["source"], ()):
                by_outlet.setdefault(name_key(nm), k)
        for k, m in enumerate(ms):
            if k == canon:
                continue
            orig = canon
            for key in sorted(credited_keys(m["original_source"])):
                o = by_outlet.get(key)
                if o is not None and o != k:
                    orig = o
                    break
            o = ms[orig]
            if m["text_hash"] == o["text_hash"]:
                kind, sim = "exact", 1.0
            elif m["signature"] is not None and o["signature"] is not None:
                kind = "near"
                sim = round(float(jaccard_estimate(np.frombuffer(m["signature"], "<u4"),
                                                   np.frombuffer(o["signature"], "<u4"))), 4)
            else:
                kind, sim = "near", None
            lag = ((m["published_at"] - o["published_at"]).total_seconds() / 3600.0
                   if m["published_at"] is not None and o["published_at"] is not None else None)
            for key, v in (("cluster_id", cid), ("original_id", o["article_id"]), ("copy_id", m["article_id"]),
                           ("credited", m["original_source"]), ("original_published", o["published_at"]),
                           ("copy_published", m["published_at"]),
                           ("lag_hours", None if lag is None else round(lag, 3)),
                           ("match_kind", kind), ("similarity", sim)):
                erow[key].append(v)
        start = end
    clusters = pa.Table.from_arrays([
        pa.array(crow["cluster_id"], pa.string()), pa.array(crow["canonical_id"], pa.string()),
        pa.array(crow["size"], pa.int32()), pa.array(crow["outlets"], pa.int32()),
        W.ts_array(crow["first_published"]), W.ts_array(crow["last_published"]),
        pa.array(crow["founder_seq"], pa.int64())], schema=W.CLUSTER_SCHEMA)
    edges = pa.Table.from_arrays([
        pa.array(erow["cluster_id"], pa.string()), pa.array(erow["original_id"], pa.string()),
        pa.array(erow["copy_id"], pa.string()), pa.array(erow["credited"], pa.string()),
        W.ts_array(erow["original_published"]), W.ts_array(erow["copy_published"]),
        pa.array(erow["lag_hours"], pa.float64()), pa.array(erow["match_kind"], pa.string()),
        pa.array(erow["similarity"], pa.float64())], schema=W.EDGE_SCHEMA)
    return clusters, edges


# --- entry points -------------------------------------------------------------------------

@contextmanager
def _connection(db_or_con) -> Iterator:
    if isinstance(db_or_con, (str, Path)):
        import warehouse
        with warehouse.connect(db_or_con) as con:
            yield con
    else:
        yield db_or_con


def check_params(con, config: DedupeConfig, now: dt.datetime | None = None) -> None:
    """Record the parameters on first use; refuse signatures made with other ones."""
    from warehouse import clusters as W
    meta = W.read_meta(con)
    for key in ("signature_key", "lsh_key"):
        if key in meta and meta[key] != config.meta()[key]:
            raise DedupeParamsChanged(
                f"stored dedupe signatures use {key} {meta[key]!r}, asked for {config.meta()[key]!r}: "
                "run flows.dedupe.reset_dedupe (newsflow dedupe --rebuild) to re-sign everything")
    W.write_meta(con, config.meta(), now or dt.datetime.now(UTC))


def dedupe_new(db_or_con, article_ids: Sequence[str] | None = None, run_id: str | None = None, *,
               config: DedupeConfig | None = None, outlets: Mapping[str, Sequence[str]] | None = None,
               chunk: int = 100000, now: dt.datetime | None = None, progress=None) -> DedupeReport:
    """Dedupe the stored articles that are new to dedupe or changed since (all of them, or only
    these ids, or only this crawl run's), in storage order, `chunk` per transaction.

    Safe to re-run and to interrupt: each chunk commits on its own and a re-run skips what is
    done. Raises DedupeParamsChanged when the stored signatures were made with other
    shingle/permutation/band parameters."""
    from warehouse import clusters as W

    config = config or DedupeConfig()
    report = DedupeReport()
    t0 = time.perf_counter()
    hasher = MinHasher(config.params)
    with _connection(db_or_con) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            check_params(con, config, now)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        ids = W.pending_article_ids(con, article_ids, run_id)
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            docs = W.fetch_articles(con, part)
            con.execute("BEGIN TRANSACTION")
            try:
                r = dedupe_batch(con, docs, config, outlets, now, hasher)
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            report.add(r)
            if progress:
                progress(f"deduped {min(start + chunk, len(ids))}/{len(ids)} articles")
    report.seconds = time.perf_counter() - t0
    return report


def dedupe_articles(db_or_con, articles: Iterable, *, config: DedupeConfig | None = None,
                    outlets: Mapping[str, Sequence[str]] | None = None,
                    now: dt.datetime | None = None) -> DedupeReport:
    """Dedupe records given directly (schemas.Article or DedupeDoc), in one transaction."""
    config = config or DedupeConfig()
    docs = [a if isinstance(a, DedupeDoc) else DedupeDoc.from_article(a) for a in articles]
    with _connection(db_or_con) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            check_params(con, config, now)
            r = dedupe_batch(con, docs, config, outlets, now)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return r


def reset_dedupe(db_or_con, now: dt.datetime | None = None) -> None:
    """Forget signatures, bands and clusters (articles untouched, edges kept as superseded) so
    the next dedupe_new re-signs everything, e.g. after changing the shingle size."""
    from warehouse import clusters as W
    with _connection(db_or_con) as con:
        con.execute("BEGIN TRANSACTION")
        try:
            W.reset(con, now or dt.datetime.now(UTC))
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def summary(db_or_con) -> dict:
    """Counts for the CLI: articles deduped, stories, stories seen on more than one page, edges."""
    from warehouse import clusters as W
    with _connection(db_or_con) as con:
        return W.counts(con)


__all__ = ["DedupeConfig", "DedupeDoc", "DedupeParamsChanged", "DedupeReport", "MinHashParams",
           "choose_canonical", "dedupe_articles", "dedupe_batch", "dedupe_new", "registry_outlets",
           "reset_dedupe", "summary"]
