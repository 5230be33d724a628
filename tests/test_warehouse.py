import datetime as dt
from dataclasses import replace

import duckdb
import pytest

import warehouse
from flows.extract.dates import SHANGHAI
from schemas import Article, CrawlStats, Rejected
from schemas.ddl import MIGRATIONS

UTC = dt.timezone.utc


def art(i: int, text: str = "正文", **over) -> Article:
    a = Article(id=f"id{i:05d}", url=f"http://www.gxzf.gov.cn/gxyw/t{i}.shtml", source="gxzf",
                title=f"标题{i}", published_at=dt.datetime(2024, 11, 8, 9, 5, tzinfo=SHANGHAI),
                original_source="广西日报", author="韦夏妮", editor=None, text=f"{text}{i}",
                language="zh", content_hash=f"h{i}-{text}", extractor_version="t",
                fetched_at=dt.datetime(2025, 1, 1, tzinfo=UTC), provenance=(("title", "h1"),))
    return replace(a, **over)


def count(db, sql="select count(*) from articles"):
    with warehouse.connect(db, read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def test_migrations_recorded_once(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        pass
    with warehouse.connect(db) as con:
        versions = [r[0] for r in con.execute("select version from schema_migrations order by 1").fetchall()]
    assert versions == sorted(v for v, _, _ in MIGRATIONS)


def test_load_twice_adds_nothing(tmp_path):
    db = tmp_path / "w.duckdb"
    batch = [art(i) for i in range(50)]
    with warehouse.connect(db) as con:
        first = warehouse.load_articles(con, batch)
        second = warehouse.load_articles(con, batch)
    assert (first.new, first.updated) == (50, 0)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 50)
    assert count(db) == 50


def test_changed_content_updates_in_place_and_keeps_first_seen(tmp_path):
    db = tmp_path / "w.duckdb"
    t1 = dt.datetime(2025, 1, 1, tzinfo=UTC)
    t2 = dt.datetime(2025, 2, 1, tzinfo=UTC)
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(1), art(2)], now=t1)
        res = warehouse.load_articles(con, [art(1, text="改过的正文"), art(2)], now=t2)
        row = con.execute("select text, first_seen, last_seen from articles where id='id00001'").fetchone()
    assert (res.new, res.updated, res.unchanged) == (0, 1, 1)
    assert row[0] == "改过的正文1"
    assert row[1] == t1 and row[2] == t2
    assert count(db) == 2


def test_duplicates_inside_one_batch_keep_latest_fetch(tmp_path):
    db = tmp_path / "w.duckdb"
    old = art(1, text="旧")
    new = art(1, text="新", fetched_at=dt.datetime(2025, 3, 1, tzinfo=UTC))
    with warehouse.connect(db) as con:
        res = warehouse.load_articles(con, [new, old])
    assert res.new == 1
    assert count(db, "select text from articles") == "新1"


def test_published_at_reads_back_as_shanghai_time(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(1)])
    cols, rows = warehouse.query(db, "select strftime(published_at, '%Y-%m-%d %H:%M') from articles")
    assert rows == [("2024-11-08 09:05",)]


def test_failed_load_leaves_nothing_half_written(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(1)])
        bad = [art(i) for i in range(2, 10)] + [art(10, published_at=dt.datetime(2025, 1, 1))]  # naive: rejected
        with pytest.raises(ValueError):
            warehouse.load_articles(con, bad)
    assert count(db) == 1


def test_rejected_and_crawl_runs_idempotent(tmp_path):
    db = tmp_path / "w.duckdb"
    now = dt.datetime.now(UTC)
    rej = [Rejected(url="http://x/1", source="gxzf", reason="http_error", detail="HTTP 404", fetched_at=now)]
    stats = CrawlStats(run_id="r1", source="gxzf", started_at=now, finished_at=now, status="ok",
                       pages_fetched=3, errors_by_kind=(("http_404", 1),))
    with warehouse.connect(db) as con:
        assert warehouse.load_rejected(con, rej) == 1
        assert warehouse.load_rejected(con, rej) == 0
        warehouse.record_crawl_runs(con, [stats])
        warehouse.record_crawl_runs(con, [stats])
        warehouse.add_run_counts(con, {("r1", "gxzf"): (3, 1, 2)})      # two load chunks
        warehouse.add_run_counts(con, {("r1", "gxzf"): (2, 0, 0)})
        warehouse.mark_processed(con, [("r1", "gxzf")])
        # history from here on: a later pass, or the run recorded again, changes nothing
        warehouse.add_run_counts(con, {("r1", "gxzf"): (7, 7, 7)})
        warehouse.mark_processed(con, [("r1", "gxzf")])
        warehouse.record_crawl_runs(con, [stats])
    assert count(db, "select count(*) from rejected") == 1
    assert count(db, "select count(*) from crawl_runs") == 1
    assert warehouse.query(db, "select articles_new, articles_updated, articles_rejected, processed_at is not null "
                               "from crawl_runs")[1] == [(5, 1, 2, True)]


def test_query_is_read_only_and_errors_are_named(tmp_path):
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(1)])
    with pytest.raises(warehouse.QueryError):
        warehouse.query(db, "delete from articles")
    with pytest.raises(warehouse.QueryError, match="nope"):
        warehouse.query(db, "select * from nope")
    with pytest.raises(warehouse.WarehouseError, match="no warehouse"):
        warehouse.query(tmp_path / "missing.duckdb", "select 1")
    assert count(db) == 1


def test_writer_waits_then_reports_busy(tmp_path):
    import subprocess
    import sys
    import textwrap
    db = tmp_path / "w.duckdb"
    with warehouse.connect(db):
        pass
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(db)!r})
        print("held", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(warehouse.WarehouseBusy):
            with warehouse.connect(db, wait=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()
    with warehouse.connect(db, wait=5):
        pass


def test_analyst_views(tmp_path):
    from flows.steps import process_archives
    from test_reextract import archive_some
    db = tmp_path / "w.duckdb"
    archive_some(tmp_path / "a.warc.gz", n_per_source=3)
    process_archives(db, [tmp_path / "a.warc.gz"])
    with warehouse.connect(db) as con:
        con.execute("SET TimeZone = 'UTC'")           # the views' days stay Shanghai days
        n = con.execute("select count(*) from articles").fetchone()[0]
        assert con.execute("select sum(articles) from daily_source_counts").fetchone()[0] == n
        assert con.execute("select count(*) from daily_topic_counts").fetchone()[0] > 0
        health = con.execute("select source, articles, with_date from source_health order by 1").fetchall()
        assert sum(h[1] for h in health) == n and all(h[2] is not None for h in health)
        rows = con.execute("select topics, places from articles_tagged where topics is not null").fetchall()
        assert rows and all(isinstance(r[0], list) for r in rows)
        day = con.execute("select day from daily_source_counts, articles a "
                          "where a.source = daily_source_counts.source limit 1").fetchone()
        assert day is not None
