"""Queries never collide with loads: two real processes on one warehouse."""
import subprocess
import sys
import textwrap
import time

import warehouse
from warehouse.store import publish_snapshot
from test_warehouse import art


def spawn(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_long_analyst_session_on_snapshot_never_blocks_a_load(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(i) for i in range(10)])
    snap = publish_snapshot(db)
    analyst = spawn(f"""
        import duckdb, time
        con = duckdb.connect({str(snap)!r}, read_only=True)
        print(con.execute("select count(*) from articles").fetchone()[0], flush=True)
        time.sleep(4)                                   # a long session, still open during the load
        print(con.execute("select count(*) from articles").fetchone()[0], flush=True)
    """)
    assert analyst.stdout.readline().strip() == "10"
    t = time.monotonic()
    with warehouse.connect(db, wait=2) as con:          # the load does not wait for the analyst
        warehouse.load_articles(con, [art(i) for i in range(10, 25)])
    publish_snapshot(db, wait=2)
    assert time.monotonic() - t < 3
    out, err = analyst.communicate(timeout=30)
    assert analyst.returncode == 0, err
    assert out.strip() == "10"                          # the open session kept its consistent view
    cols, rows = warehouse.query(snap, "select count(*) from articles")
    assert rows == [(25,)]                              # a new session sees the new snapshot


def test_short_queries_and_a_load_interleave(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(i) for i in range(5)])
    reader = spawn(f"""
        import time, warehouse
        seen = []
        for _ in range(40):                               # an analyst's repeated `newsflow sql`
            seen.append(warehouse.query({str(db)!r}, "select count(*) from articles", wait=10)[1][0][0])
            time.sleep(0.05)
        print(min(seen), max(seen))
    """)
    for k in range(5):                                    # loads retry while a query holds the file
        with warehouse.connect(db, wait=20) as con:
            warehouse.load_articles(con, [art(i) for i in range(5 + 10 * k, 15 + 10 * k)])
        time.sleep(0.1)
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    lo, hi = map(int, out.split())
    assert 5 <= lo <= hi <= 55
    cols, rows = warehouse.query(db, "select count(*), count(distinct id) from articles")
    assert rows == [(55, 55)]


def test_query_falls_back_to_the_snapshot_while_a_load_holds_the_file(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(i) for i in range(3)])
    publish_snapshot(db)
    holder = spawn(f"""
        import duckdb, time
        con = duckdb.connect({str(db)!r})
        print("held", flush=True)
        time.sleep(20)
    """)
    try:
        assert holder.stdout.readline().strip() == "held"
        said = []
        result = warehouse.query(db, "select count(*) from articles", wait=0.5, snapshot_fallback=True, say=said.append)
        assert result.rows == [(3,)] and result.source.name.endswith(".snapshot.duckdb") and result.from_snapshot
        assert len(said) == 1 and "read its snapshot" in said[0]
    finally:
        holder.kill()
        holder.wait()
