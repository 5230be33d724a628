"""Many writers into one DuckLake (warehouse/lake.py), on PostgreSQL 15 + moto S3 on 127.0.0.1.

Four loader processes at once, each loading articles whose ids overlap the next loader's, as
the pipeline loads (flows.steps.load_records: chunk transactions with tags and search
postings): nothing lost, nothing duplicated, every id counted new exactly once; then the
serialised dedupe over all of them. A loader killed with SIGKILL mid-run, run again, leaves
exact counts. Without the guard row the same concurrent loads would duplicate ids (the
control: DuckLake lets two transactions insert into one table without a conflict)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import warehouse
from bench.bench_lake import ranges, spawn
from tests.lake_fixtures import lake_url, pg, s3  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
LOADERS, ROWS = 4, 240


def counts(url) -> dict:
    q = {"articles": "select count(*), count(distinct id) from articles",
         "search_docs": "select count(*), count(distinct article_id) from search_docs",
         "postings": "select count(*), count(distinct (term, article_id)) from search_postings",
         "tags": "select count(*), count(distinct (article_id, kind, tag)) from article_tags",
         "tag_state": "select count(*), count(distinct article_id) from article_tag_state",
         "versions": "select count(*), count(distinct (article_id, version)) from article_versions"}
    return {k: tuple(warehouse.query(url, v)[1][0]) for k, v in q.items()}


def expected_ids() -> int:
    ids = set()
    for s, n in ranges(LOADERS, ROWS):
        ids |= set(range(s, s + n))
    return len(ids)


@pytest.fixture(scope="module")
def loaded(pg, s3):  # noqa: F811
    url = lake_url(pg, "writers")
    with warehouse.connect(url):        # migrated once before the race (a race on it is retried too)
        pass
    procs = [spawn(url, s, n, True, s3["env"]) for s, n in ranges(LOADERS, ROWS)]
    outs = [(p.communicate(timeout=900), p.returncode) for p in procs]
    return {"url": url, "outs": outs, "env": s3["env"]}


def test_four_concurrent_loaders_lose_and_duplicate_nothing(loaded):
    import json
    results = []
    for (out, err), code in loaded["outs"]:
        assert code == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    n = expected_ids()
    c = counts(loaded["url"])
    assert c["articles"] == (n, n)
    assert sum(r["new"] for r in results) == n              # each id new to exactly one loader
    assert sum(r["new"] + r["unchanged"] for r in results) == LOADERS * ROWS
    for k in ("search_docs", "tag_state"):
        assert c[k] == (n, n), k
    for k in ("postings", "tags"):
        assert c[k][0] == c[k][1] > 0, (k, c[k])
    assert c["versions"][0] == c["versions"][1], c["versions"]


def test_dedupe_after_the_loads_groups_every_article_once(loaded):
    from flows.steps import dedupe_articles
    dedupe_articles(loaded["url"], None)
    n = expected_ids()
    _, rows = warehouse.query(loaded["url"], "select count(*), count(distinct article_id) from dedupe_docs")
    assert rows[0] == (n, n)
    _, rows = warehouse.query(loaded["url"], "select count(*) from dedupe_meta group by key having count(*) > 1")
    assert rows == []


def test_without_the_guard_concurrent_upserts_duplicate(pg, s3, monkeypatch):  # noqa: F811
    """The control: two connections inserting the same new id at once, without the guard row,
    both commit (DuckLake sees no conflict); with it, the second loses and its retry inserts
    nothing."""
    import duckdb
    from warehouse import lake
    url = lake_url(pg, "control")
    a, b = lake.open_lake(url), lake.open_lake(url)
    try:
        a.execute("CREATE TABLE t (id VARCHAR)")
        b.execute("SELECT 1")
        for con in (a, b):
            con.execute("BEGIN")
            con.execute("INSERT INTO t SELECT 'x' WHERE NOT EXISTS (SELECT 1 FROM t WHERE id = 'x')")
        a.execute("COMMIT")
        b.execute("COMMIT")
        assert a.execute("SELECT count(*) FROM t").fetchone()[0] == 2      # duplicated
        lake._bootstrap(a)
        from warehouse.transactions import mark_lake, transaction, unmark_lake
        for con in (a, b):
            mark_lake(con)
        try:
            ta, tb = transaction(a), transaction(b)
            ta.__enter__(), tb.__enter__()
            for con in (a, b):
                con.execute("INSERT INTO t SELECT 'y' WHERE NOT EXISTS (SELECT 1 FROM t WHERE id = 'y')")
            ta.__exit__(None, None, None)
            with pytest.raises(duckdb.TransactionException, match="onflict"):
                tb.__exit__(None, None, None)

            def retry():
                with transaction(b):
                    b.execute("INSERT INTO t SELECT 'y' WHERE NOT EXISTS (SELECT 1 FROM t WHERE id = 'y')")
            lake.retrying(retry)
        finally:
            for con in (a, b):
                unmark_lake(con)
        assert a.execute("SELECT count(*) FROM t WHERE id = 'y'").fetchone()[0] == 1
    finally:
        a.close()
        b.close()


def test_a_loader_killed_mid_run_then_run_again_leaves_exact_counts(pg, s3, tmp_path):  # noqa: F811
    url = lake_url(pg, "killed")
    with warehouse.connect(url):
        pass
    total = 5000       # three chunk transactions (flows.steps.CHUNK = 2,000)
    p = spawn(url, 0, total, False, s3["env"])
    deadline = time.monotonic() + 600
    stored = 0
    while time.monotonic() < deadline and p.poll() is None:      # kill once the first chunk committed
        stored = warehouse.query(url, "select count(*) from articles")[1][0][0]
        if stored:
            break
        time.sleep(0.3)
    assert p.poll() is None, "the loader finished before it could be killed"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL
    after_kill = warehouse.query(url, "select count(*), count(distinct id) from articles")[1][0]
    assert after_kill[0] == after_kill[1] and after_kill[0] % 2000 == 0 and after_kill[0] < total  # whole chunks
    p = spawn(url, 0, total, False, s3["env"])
    out, err = p.communicate(timeout=900)
    assert p.returncode == 0, err[-3000:]
    assert warehouse.query(url, "select count(*), count(distinct id) from articles")[1][0] == (total, total)
