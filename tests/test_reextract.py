"""Re-extraction over stored raw pages: no refetch, only changed rows updated, nothing lost."""
import datetime as dt
import json
from pathlib import Path

import warehouse
from crawlers.archive import ArchiveWriter
from flows.extract import EXTRACTOR_VERSION
from flows.reextract import reextract
from flows.steps import process_archives

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))


def archive_some(path, n_per_source=2):
    w = ArchiveWriter(path)
    picked = {}
    for e in EXPECTED:
        if len(picked.setdefault(e["source"], [])) < n_per_source:
            picked[e["source"]].append(e)
            w.write(url=e["url"], final_url=e["url"], fetch_url=e["url"], status=200,
                    headers=[("Content-Type", "text/html")],
                    body=(ROOT / "mirror" / "sites" / e["path"]).read_bytes(),
                    fetched_at=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc), source=e["source"],
                    page_kind="article", list_date=e["list_date"], run_id="r1")
    w.close()
    return sum(len(v) for v in picked.values())


def test_reextract_updates_only_what_changed(tmp_path):
    db = tmp_path / "w.duckdb"
    warc = tmp_path / "a.warc.gz"
    n = archive_some(warc)
    counts = process_archives(db, [warc])
    assert sum(c.new for c in counts.values()) == n
    # pretend two rows came from an older, worse extractor
    with warehouse.connect(db) as con:
        ids = [r[0] for r in con.execute("select id from articles order by id limit 2").fetchall()]
        con.execute("update articles set title = '旧标题', extractor_version = '0.0.1' where id = ?", [ids[0]])
        con.execute("update articles set author = '错误作者', text = text || '【打印本页】', "
                    "extractor_version = '0.0.1' where id = ?", [ids[1]])
        before = con.execute("select id, first_seen, last_seen from articles order by id").fetchall()

    dry = reextract(db, dry_run=True)
    assert dry.changed == 2 and dry.fields == {"title": 1, "author": 1, "text": 1}
    cols, rows = warehouse.query(db, "select count(*) from articles where title = '旧标题'")
    assert rows == [(1,)]                                       # a dry run writes nothing

    report = reextract(db)
    assert (report.scanned, report.changed, report.unchanged) == (n, 2, n - 2)
    assert report.fields == {"title": 1, "author": 1, "text": 1}
    cols, rows = warehouse.query(db, "select count(*), count(distinct id), "
                                     "count(*) filter (where extractor_version = ?), "
                                     "count(*) filter (where title = '旧标题' or author = '错误作者') from articles",
                                 [EXTRACTOR_VERSION])
    assert rows == [(n, n, n, 0)]
    cols, after = warehouse.query(db, "select id, first_seen, last_seen from articles order by id")
    assert after == before                                      # not a new sighting of the page

    again = reextract(db)
    assert again.changed == 0 and again.unchanged == n


def test_reextract_filters_and_missing_archive(tmp_path):
    db = tmp_path / "w.duckdb"
    warc = tmp_path / "a.warc.gz"
    archive_some(warc, 1)
    process_archives(db, [warc])
    only = reextract(db, source="hainan", dry_run=True)
    assert only.scanned == 1
    future = reextract(db, since=dt.date(2100, 1, 1), dry_run=True)
    assert future.scanned == 0
    warc.unlink()
    gone = reextract(db)
    assert gone.scanned == 0 and gone.missing_page > 0 and "missing" in gone.problems[0]
    cols, rows = warehouse.query(db, "select count(*) from articles")
    assert rows[0][0] > 0                                       # nothing deleted
