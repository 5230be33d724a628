"""Dedupe's entry points: the stored articles not yet deduped, records given directly, a reset.

Each batch is deduped inside one transaction (flows/dedupe/batch.py), `chunk` articles at a
time, so an interrupted run keeps whole chunks and a re-run skips what is done.
"""
from __future__ import annotations

import datetime as dt
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from flows.dedupe.batch import dedupe_batch
from flows.dedupe.minhash import MinHasher
from flows.dedupe.model import UTC, DedupeConfig, DedupeDoc, DedupeParamsChanged, DedupeReport
from warehouse.transactions import transaction



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
                "`newsflow dedupe --rebuild` re-signs everything")
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
    from warehouse.lake import retrying

    def params(con) -> None:
        with transaction(con):
            check_params(con, config, now)

    def one(con, part: list[str], first: bool):
        # on a DuckLake another process may have deduped some of these meanwhile (a commit
        # lost to it is retried): what is still pending is asked again inside the retry
        docs = W.fetch_articles(con, part if first else W.pending_article_ids(con, part))
        with transaction(con):
            return dedupe_batch(con, docs, config, outlets, now, hasher)

    with _connection(db_or_con) as con:
        retrying(lambda: params(con))
        ids = W.pending_article_ids(con, article_ids, run_id)
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            tries = iter(range(10 ** 9))
            r = retrying(lambda: one(con, part, next(tries) == 0))
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
        with transaction(con):
            check_params(con, config, now)
            r = dedupe_batch(con, docs, config, outlets, now)
    return r


def reset_dedupe(db_or_con, now: dt.datetime | None = None) -> None:
    """Forget signatures, bands and clusters (articles untouched, edges kept as superseded) so
    the next dedupe_new re-signs everything, e.g. after changing the shingle size."""
    from warehouse import clusters as W
    with _connection(db_or_con) as con:
        with transaction(con):
            W.reset(con, now or dt.datetime.now(UTC))


def summary(db_or_con) -> dict:
    """Counts for the CLI: articles deduped, stories, stories seen on more than one page, edges."""
    from warehouse import clusters as W
    with _connection(db_or_con) as con:
        return W.counts(con)

