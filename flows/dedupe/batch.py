"""One dedupe batch against everything stored: sign, link by the three rules, group, write.

`dedupe_batch` runs these steps in order inside the caller's transaction; each step is a
method of `_BatchRun`, which holds the batch's arrays between them:

1. skip articles already deduped with the same content hash;
2. sign: fold the texts, MinHash signatures, exact text hashes, headline hashes;
3. exact links (stored holders of the same text, the batch's own repeats);
4. near links (LSH candidates decided on the estimate; borderline pairs on the exact Jaccard);
5. excerpt links (same headline, the shorter text contained in the longer);
6. components (union-find over batch rows and the stored clusters they reach), merges;
7. how each article joined (its best link);
8. write documents, bands, clusters (canonical, edges).
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from flows.dedupe.canonical import empty_edges, singleton_clusters, summarise_clusters
from flows.dedupe.minhash import (MinHasher, batch_candidate_pairs, fold, fold_many, pair_estimates,
                                  text_hash)
from flows.dedupe.model import UTC, DedupeConfig, DedupeDoc, DedupeReport

_RANK = {"exact": 0, "near": 1, "excerpt": 2}
SIGN_CHUNK = 10000      # texts folded and signed at once: ~150 MB of arrays for 1,800-character texts


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


@dataclass
class _Link:
    kind: str           # exact | near | excerpt
    sim: float
    other: tuple        # ("b", batch row) or ("d", article_id, cluster_id, seq)


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
    t0 = time.perf_counter()
    b = _Batch.from_arrow(docs) if isinstance(docs, pa.Table) else _Batch.from_docs(docs)
    run = _BatchRun(con, config or DedupeConfig(), outlets, now, hasher)
    run.report.articles = len(b)
    if len(b) and run.skip_unchanged(b):
        run.sign()
        run.link_exact()
        run.link_near()
        run.link_excerpts()
        run.components()
        run.join_kinds()
        run.write()
    run.report.seconds = time.perf_counter() - t0
    return run.report


class _BatchRun:
    """The state of one dedupe_batch call, shared by its steps."""

    def __init__(self, con, config: DedupeConfig, outlets, now, hasher):
        from warehouse import clusters as W
        self.W, self.con, self.config, self.p = W, con, config, config.params
        self.outlets = outlets
        self.hasher = hasher or MinHasher(self.p)
        self.now = (now or dt.datetime.now(UTC)).astimezone(UTC)
        self.report = DedupeReport()
        self.links: dict[int, list[_Link]] = {}
        self.shingles = _Shingles(self.hasher)

    def link(self, i: int, kind: str, sim: float, other: tuple) -> None:
        self.links.setdefault(i, []).append(_Link(kind, sim, other))

    def folded(self, i: int) -> np.ndarray:
        """Batch row i's folded text, for the few exact checks (folded again, not kept)."""
        return fold(self.b.texts[i])

    def shingles_of_row(self, i: int) -> np.ndarray:
        return self.shingles.get(self.ids[i], lambda: self.folded(i))

    def shingles_of_stored(self, aid: str, texts: dict) -> np.ndarray:
        return self.shingles.get(aid, lambda: fold(texts[aid]))

    # -- 1. what is new or changed --------------------------------------------------------------
    def skip_unchanged(self, b: _Batch) -> bool:
        """Keep the rows new to dedupe or changed since; False when nothing is left."""
        state = self.W.existing_docs(self.con, b.ids)
        rows, self.resigned_state = [], {}
        for k, (aid, fp) in enumerate(zip(b.ids, b.fingerprints)):
            st = state.get(aid)
            if st is not None and st[2] == fp:
                self.report.unchanged += 1
                continue
            if st is not None:
                self.resigned_state[len(rows)] = st        # keyed by row in the filtered batch
            rows.append(k)
        self.b = b.take(rows) if len(rows) < len(b) else b
        self.ids, self.n = self.b.ids, len(self.b)
        self.report.resigned = len(self.resigned_state)
        self.report.signed = self.n - self.report.resigned
        return self.n > 0

    # -- 2. signatures, SIGN_CHUNK texts at a time (bounded memory) ------------------------------
    def sign(self) -> None:
        n, p, b = self.n, self.p, self.b
        self.lengths = np.zeros(n, dtype=np.int64)
        self.hashes: list[str] = [""] * n
        self.sigs = np.zeros((n, p.num_perm), dtype=np.uint32)
        for a in range(0, n, SIGN_CHUNK):
            codes, lens = fold_many(b.texts[a:a + SIGN_CHUNK])
            starts = (np.cumsum(lens) - lens).tolist()
            for j, (st, m) in enumerate(zip(starts, lens.tolist())):
                self.hashes[a + j] = text_hash(codes[st:st + m])
            self.lengths[a:a + len(lens)] = lens
            long = lens >= p.min_chars
            if long.any():
                self.sigs[a + np.flatnonzero(long)] = self.hasher.sign_concat(codes[np.repeat(long, lens)],
                                                                              lens[long])
            del codes
        tcodes, tlens = fold_many(b.titles)
        tst = (np.cumsum(tlens) - tlens).tolist()
        self.title_hashes = [text_hash(tcodes[a:a + m]) if m >= self.config.title_min_chars else None
                             for a, m in zip(tst, tlens.tolist())]
        self.long_enough = self.lengths >= p.min_chars
        self.signed_rows = np.flatnonzero(self.long_enough)

    # -- 3. exact: stored holders of the same text, and the batch's own repeats ------------------
    def link_exact(self) -> None:
        stored = self.W.exact_matches(self.con, [self.hashes[i] for i in self.signed_rows], self.ids,
                                      self.p.min_chars)
        first_in_batch: dict[str, int] = {}
        needs_lsh = []
        for i in self.signed_rows.tolist():
            h = self.hashes[i]
            if h in stored:
                aid, cid, seq = stored[h]
                self.link(i, "exact", 1.0, ("d", aid, cid, seq))
            elif h in first_in_batch:
                self.link(i, "exact", 1.0, ("b", first_in_batch[h]))
            else:
                first_in_batch[h] = i
                needs_lsh.append(i)
        self.needs_lsh = np.array(needs_lsh, dtype=np.int64)
        self.keys = (self.hasher.band_keys(self.sigs[self.needs_lsh]) if self.needs_lsh.size
                     else np.zeros((0, self.p.bands), np.int64))

    # -- 4. near: LSH candidates, decided on the estimate or, when borderline, the exact Jaccard -
    def link_near(self) -> None:
        lo = self.p.threshold - self.config.verify_margin
        self.hi = self.p.threshold + self.config.verify_margin
        self.borderline_db: list[tuple[int, str, str, int, float]] = []
        cand = self.W.lsh_candidates(self.con, self.needs_lsh, self.keys, self.ids)
        if cand.num_rows:
            self._near_stored(cand, lo)
        pairs = (batch_candidate_pairs(self.keys) if self.needs_lsh.size > 1
                 else np.zeros((0, 2), np.int64))
        if len(pairs):
            self._near_in_batch(pairs, lo)

    def _near_stored(self, cand: pa.Table, lo: float) -> None:
        crow = cand.column("row").to_numpy()
        est = pair_estimates(self.sigs, crow, self.W.signature_matrix(cand.column("signature"), self.p.num_perm),
                             np.arange(len(crow)))
        self.report.candidates += len(crow)
        keep = np.flatnonzero(est >= lo)
        if not keep.size:
            return
        keep = keep[np.argsort(-est[keep], kind="stable")]     # best first
        aids, cids, seqs = (cand.column(c).take(pa.array(keep)).to_pylist()
                            for c in ("article_id", "cluster_id", "seq"))
        settled: set[tuple[int, str]] = set()       # (row, cluster) linked or already queued
        for k, i, e in zip(range(keep.size), crow[keep].tolist(), est[keep].tolist()):
            if e >= self.hi:
                self.link(i, "near", e, ("d", aids[k], cids[k], seqs[k]))
                settled.add((i, cids[k]))
            elif (i, cids[k]) not in settled:      # one exact check per row and cluster
                self.borderline_db.append((i, aids[k], cids[k], seqs[k], e))
                settled.add((i, cids[k]))

    def _near_in_batch(self, pairs: np.ndarray, lo: float) -> None:
        pa_, pb_ = self.needs_lsh[pairs[:, 0]], self.needs_lsh[pairs[:, 1]]
        est = pair_estimates(self.sigs, pa_, self.sigs, pb_)
        self.report.candidates += len(pairs)
        sel = np.flatnonzero(est >= lo)
        for i, j, e in zip(pa_[sel].tolist(), pb_[sel].tolist(), est[sel].tolist()):
            if e >= self.hi:
                self.link(j, "near", e, ("b", i))
                continue
            self.report.verified_exactly += 1
            jac, _ = _Shingles.jaccard_containment(self.shingles_of_row(i), self.shingles_of_row(j))
            if jac >= self.p.threshold:
                self.link(j, "near", jac, ("b", i))

    # -- 5. excerpt: same headline, the shorter text contained in the longer ---------------------
    def link_excerpts(self) -> None:
        # (an exact copy's twin already went through this rule)
        title_rows = [i for i in self.signed_rows.tolist() if self.title_hashes[i] is not None
                      and not any(ln.kind == "exact" for ln in self.links.get(i, ()))]
        stored_titles = self.W.title_candidates(self.con, [self.title_hashes[i] for i in title_rows], self.ids,
                                                self.config.max_title_group)
        by_title: dict[str, list] = {}
        for th, aid, cid, seq, nch in stored_titles:
            if nch >= self.p.min_chars:
                by_title.setdefault(th, []).append((aid, cid, seq))
        excerpt_db = [(i, aid, cid, seq) for i in title_rows
                      for aid, cid, seq in by_title.get(self.title_hashes[i], ())
                      if not any(ln.other[0] == "d" and ln.other[2] == cid for ln in self.links.get(i, ()))]
        checks = self._borderline_checks()
        need_text = {x[1] for cands in checks for x in cands} | {x[1] for x in excerpt_db}
        texts = self.W.article_texts(self.con, sorted(need_text))
        self._check_borderline(checks, texts)
        for i, aid, cid, seq in excerpt_db:
            if aid in texts:
                _, cont = _Shingles.jaccard_containment(self.shingles_of_row(i), self.shingles_of_stored(aid, texts))
                if cont >= self.config.excerpt_containment:
                    self.link(i, "excerpt", cont, ("d", aid, cid, seq))
        self._excerpts_in_batch(title_rows)

    def _borderline_checks(self) -> list[list]:
        """Borderline stored candidates (the best one per story, best first, at most
        `max_checks`) are checked exactly only for an article with no confident link: an article
        already in a story does not pull a borderline story into it."""
        by_row: dict[int, list] = {}
        for x in self.borderline_db:
            if x[0] not in self.links:
                by_row.setdefault(x[0], []).append(x)
        return [cands[:self.config.max_checks] for cands in by_row.values()]   # already best first

    def _check_borderline(self, checks: list[list], texts: dict) -> None:
        for cands in checks:
            for i, aid, cid, seq, e in cands:
                if aid not in texts:            # no article row (direct use): the estimate decides
                    if e >= self.p.threshold:
                        self.link(i, "near", e, ("d", aid, cid, seq))
                    continue
                self.report.verified_exactly += 1
                jac, _ = _Shingles.jaccard_containment(self.shingles_of_row(i), self.shingles_of_stored(aid, texts))
                if jac >= self.p.threshold:
                    self.link(i, "near", jac, ("d", aid, cid, seq))

    def _excerpts_in_batch(self, title_rows: list[int]) -> None:
        batch_titles: dict[str, list[int]] = {}
        for i in title_rows:
            batch_titles.setdefault(self.title_hashes[i], []).append(i)
        for members in batch_titles.values():
            if not 1 < len(members) <= self.config.max_title_group:
                continue
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    i, j = members[x], members[y]
                    _, cont = _Shingles.jaccard_containment(self.shingles_of_row(i), self.shingles_of_row(j))
                    if cont >= self.config.excerpt_containment:
                        self.link(j, "excerpt", cont, ("b", i))

    # -- 6. components: batch rows and the stored clusters they reach ----------------------------
    def components(self) -> None:
        uf = _UF()
        for i, st in self.resigned_state.items():            # sticky: a re-signed article keeps its story
            uf.union(("b", i), ("c", st[1]))
        for i, lns in self.links.items():
            for ln in lns:
                uf.union(("b", i), ("b", ln.other[1]) if ln.other[0] == "b" else ("c", ln.other[2]))
        comps: dict = {}
        for node in list(uf.parent):
            comps.setdefault(uf.find(node), []).append(node)
        self.existing = sorted({node[1] for members in comps.values() for node in members if node[0] == "c"})
        founders = self.W.cluster_founders(self.con, self.existing)
        self._sequence_numbers()
        ids = self.ids
        self.cluster_of = ["c" + aid for aid in ids]         # singletons found their own story
        self.in_comp = np.zeros(self.n, dtype=bool)
        self.merges: list[tuple[str, str, str | None]] = []
        self.touched: set[str] = set()
        for members in comps.values():
            rows_in = sorted(m[1] for m in members if m[0] == "b")
            olds = sorted({m[1] for m in members if m[0] == "c"}, key=lambda c: (founders.get(c, 1 << 62), c))
            if olds:
                survivor = olds[0]
                self.merges += [(loser, survivor, ids[rows_in[0]]) for loser in olds[1:]]
                self.touched.update(olds)
            else:
                survivor = "c" + ids[min(rows_in, key=lambda r: self.seq_of[r])]
            for r in rows_in:
                self.cluster_of[r] = survivor
                self.in_comp[r] = True
            self.touched.add(survivor)
        self.fresh = set(self.cluster_of) - set(self.existing)
        self.report.new_clusters = len(self.fresh)
        self.report.merges = len(self.merges)

    def _sequence_numbers(self) -> None:
        self.seq_of = np.empty(self.n, dtype=np.int64)
        self.is_new = np.ones(self.n, dtype=bool)
        for i, st in self.resigned_state.items():
            self.seq_of[i] = st[0]
            self.is_new[i] = False
        self.seq_of[self.is_new] = self.W.next_seq(self.con) + np.arange(int(self.is_new.sum()))

    # -- 7. how each article joined --------------------------------------------------------------
    def join_kinds(self) -> None:
        n, ids, report = self.n, self.ids, self.report
        reverse: dict[int, list[_Link]] = {}            # links that later batch rows made to row i
        for j, lns in self.links.items():
            for ln in lns:
                if ln.other[0] == "b":
                    reverse.setdefault(ln.other[1], []).append(_Link(ln.kind, ln.sim, ("b", j)))
        self.kinds: list[str] = ["founder"] * n
        self.matched: list[str | None] = [None] * n
        self.sims: list[float | None] = [None] * n
        for i in range(n):
            if not self.long_enough[i]:
                self.kinds[i] = "short"
                report.short += 1
                continue
            # its own links to earlier articles; else, unless it founded a new story, the links
            # later rows of the batch made to it
            own = self.links.get(i) or ([] if self.cluster_of[i] == "c" + ids[i] else reverse.get(i, []))
            if not own:
                report.founders += 1
                continue
            ln = min(own, key=lambda x: (_RANK[x.kind], -x.sim))
            self.kinds[i] = ln.kind
            self.matched[i] = ids[ln.other[1]] if ln.other[0] == "b" else ln.other[1]
            self.sims[i] = round(float(ln.sim), 4)
            setattr(report, ln.kind, getattr(report, ln.kind) + 1)
            if self.cluster_of[i] in self.existing:
                report.joined_existing += 1

    # -- 8. write documents, bands, then canonical and edges -------------------------------------
    def write(self) -> None:
        W, con, now, b, n = self.W, self.con, self.now, self.b, self.n
        doc_table = pa.Table.from_arrays([
            pa.array(self.ids, pa.string()), pa.array(self.seq_of), pa.array(self.cluster_of, pa.string()),
            pa.array(b.fingerprints, pa.string()), pa.array(self.hashes, pa.string()),
            pa.array(self.title_hashes, pa.string()), pa.array(self.lengths.astype(np.int32)),
            W.signature_array([self.sigs[i] if self.long_enough[i] else None for i in range(n)]),
            pa.array(b.sources, pa.string()), W.ts_array(b.published), pa.array(b.credited, pa.string()),
            W.ts_array(b.first_seen), pa.array(self.kinds, pa.string()), pa.array(self.matched, pa.string()),
            pa.array(self.sims, pa.float64()),
        ], schema=W.DOC_SCHEMA)
        W.apply_merges(con, self.merges, now)
        W.insert_docs(con, doc_table.filter(pa.array(self.is_new)), now)
        W.update_docs(con, doc_table.filter(pa.array(~self.is_new)), now)
        W.write_bands(con, self.seq_of[self.needs_lsh], self.keys,
                      replace=np.array([st[0] for st in self.resigned_state.values()], dtype=np.int64))
        # new singletons directly, the other touched clusters from storage
        singles = [i for i in range(n) if not self.in_comp[i] and self.is_new[i]]
        summaries = singleton_clusters(self.ids, self.seq_of, b.published, singles)
        if self.touched:
            multi, edges = summarise_clusters(W.cluster_members(con, sorted(self.touched)), self.outlets)
            summaries = pa.concat_tables([summaries, multi])
        else:
            edges = empty_edges()
        self.report.clusters_touched = len(self.touched) + len(singles)
        W.upsert_clusters(con, summaries, self.fresh, now)
        losers = {m[0] for m in self.merges}
        self.report.edges_new = W.write_edges(con, sorted(self.touched | losers), edges, now) if self.touched else 0
