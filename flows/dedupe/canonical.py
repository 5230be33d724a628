"""Each touched story's canonical article and syndication edges.

The canonical article is the credited original outlet's when some member's 来源 names the outlet
of another member, else the earliest published (then first seen, then signing order). Every
other member gets one edge: republished from the member of the outlet its 来源 credits when
there is one, else from the canonical.
"""
from __future__ import annotations

import datetime as dt
from typing import Mapping, Sequence

import numpy as np
import pyarrow as pa

from flows.dedupe.minhash import jaccard_estimate
from flows.dedupe.model import UTC
from flows.dedupe.outlets import credited_keys, name_key

_FAR = dt.datetime.max.replace(tzinfo=UTC)
_MEMBER_COLUMNS = ("cluster_id", "article_id", "seq", "text_hash", "source", "published_at",
                   "original_source", "first_seen", "signature")


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


def empty_edges() -> pa.Table:
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

    cols = {name: members.column(name).to_pylist() for name in _MEMBER_COLUMNS}
    crow: dict[str, list] = {k: [] for k in W.CLUSTER_SCHEMA.names}
    erow: dict[str, list] = {k: [] for k in W.EDGE_SCHEMA.names}
    cid_col = cols["cluster_id"]
    total, start = len(cid_col), 0
    while start < total:
        end = start + 1
        while end < total and cid_col[end] == cid_col[start]:
            end += 1
        ms = [{k: cols[k][x] for k in cols} for x in range(start, end)]
        _summarise_one(ms, outlets or {}, crow, erow)
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


def _summarise_one(ms: list[dict], outlets: Mapping[str, Sequence[str]], crow: dict, erow: dict) -> None:
    """Append one story's cluster row to `crow` and its edges to `erow`."""
    cid = ms[0]["cluster_id"]
    canon = choose_canonical(ms, outlets)[0] if len(ms) > 1 else 0
    pubs = [m["published_at"] for m in ms if m["published_at"] is not None]
    for k, v in (("cluster_id", cid), ("canonical_id", ms[canon]["article_id"]), ("size", len(ms)),
                 ("outlets", len({m["source"] for m in ms})),
                 ("first_published", min(pubs) if pubs else None),
                 ("last_published", max(pubs) if pubs else None),
                 ("founder_seq", min(m["seq"] for m in ms))):
        crow[k].append(v)
    if len(ms) == 1:
        return
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
        _edge(cid, ms[orig], m, erow)


def _edge(cid: str, o: dict, m: dict, erow: dict) -> None:
    """The edge from original `o` to copy `m`: how they matched, the lag."""
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
