"""The archive on object storage (crawlers/storage.py) against moto's S3 server on 127.0.0.1:
a crawl of the mirror with `--archive s3://...` uploads its WARC files, `process` and
`reextract` read them back from there (ranged GETs for a few records), the same articles as a
local archive, a re-run duplicates nothing, and an upload to a store that is down is a named
error that keeps the local file for the next run."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import warehouse

pytestmark = pytest.mark.slow
SOURCES = ["gxzf", "zj-sthjt"]
BUCKET = "news"


def _moto():
    from moto.server import ThreadedMotoServer
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1"
    return server, f"http://127.0.0.1:{port}"


AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3():
    """One moto S3 server for the module, its bucket, and the environment that points at it."""
    server, endpoint = _moto()
    env = {**AWS, "AWS_ENDPOINT_URL": endpoint}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)          # for the in-process reads below (boto3 reads the environment)
    import boto3
    client = boto3.client("s3")
    client.create_bucket(Bucket=BUCKET)
    try:
        yield {"endpoint": endpoint, "env": {**os.environ, **env}, "client": client}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def nf(exe, env, db, *args, archive=None, timeout=300):
    cmd = [exe, "--db", str(db)] + (["--archive", archive] if archive else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def keys(client, prefix):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", ()))


ARTICLES = ("select url, source, title, published_at, original_source, author, editor, text, content_hash, "
            "quality from articles order by url")


@pytest.fixture(scope="module")
def runs(s3, tmp_path_factory, newsflow_exe):
    """The mirror crawled and processed twice through an S3 archive, and once locally."""
    tmp = tmp_path_factory.mktemp("s3")
    url = f"s3://{BUCKET}/warc"
    sdb, ldb = tmp / "s3" / "nf.duckdb", tmp / "local" / "nf.duckdb"
    out = {"db": sdb, "local_db": ldb, "url": url, "tmp": tmp}
    out["crawl1"] = nf(newsflow_exe, s3["env"], sdb, "crawl", "--mirror", *SOURCES, archive=url)
    out["keys1"] = keys(s3["client"], "warc/")
    out["spooled1"] = sorted(p.name for p in (sdb.parent / "spool").rglob("*.warc.gz"))
    out["process1"] = nf(newsflow_exe, s3["env"], sdb, "process", archive=url)
    out["counts1"] = warehouse.query(sdb, "select count(*), count(distinct url) from articles")[1][0]
    out["crawl2"] = nf(newsflow_exe, s3["env"], sdb, "crawl", "--mirror", *SOURCES, archive=url)
    out["process2"] = nf(newsflow_exe, s3["env"], sdb, "process", archive=url)
    for args in (("crawl", "--mirror", *SOURCES), ("process",)):
        out["local_" + args[0]] = nf(newsflow_exe, s3["env"], ldb, *args)
    return out


def test_crawl_uploads_the_warc_files_and_keeps_none_locally(runs):
    assert runs["crawl1"].returncode == 0, runs["crawl1"].stderr[-2000:]
    assert len(runs["keys1"]) == 2 and all(k.endswith(".warc.gz") for k in runs["keys1"])
    assert {k.split("/")[1] for k in runs["keys1"]} == set(SOURCES)      # s3://bucket/prefix/<source>/<run>.warc.gz
    assert runs["spooled1"] == []                                       # uploaded, then removed from the spool
    assert "uploaded gxzf/" in runs["crawl1"].stderr


def test_process_from_s3_gives_the_same_articles_as_a_local_archive(runs):
    assert runs["process1"].returncode == 0, runs["process1"].stderr[-2000:]
    assert runs["local_process"].returncode == 0, runs["local_process"].stderr[-2000:]
    s3_rows = warehouse.query(runs["db"], ARTICLES)[1]
    local_rows = warehouse.query(runs["local_db"], ARTICLES)[1]
    assert len(s3_rows) == 20 and s3_rows == local_rows
    _, locs = warehouse.query(runs["db"], "select distinct warc_path from articles order by 1")
    assert [r[0] for r in locs] == [k.removeprefix("warc/") for k in runs["keys1"]]


def test_a_rerun_through_s3_duplicates_nothing(runs, s3):
    assert runs["crawl2"].returncode == 0 and runs["process2"].returncode == 0, runs["process2"].stderr[-2000:]
    assert runs["counts1"] == (20, 20)
    assert warehouse.query(runs["db"], "select count(*), count(distinct url) from articles")[1][0] == (20, 20)
    _, rows = warehouse.query(runs["db"], "select sum(articles_new), count(*) filter (where processed_at is null) "
                                          "from crawl_runs")
    assert rows[0] == (20, 0)                  # the second run's counts: nothing new; every run processed
    assert len(keys(s3["client"], "warc/")) >= 2


def test_reextract_reads_records_back_with_ranged_gets(runs, s3, monkeypatch):
    """In-process, with the range threshold lowered so every record is its own ranged GET: the
    same pages as one GET per file, and the spoiled titles are put right."""
    from crawlers import storage
    from flows.reextract import reextract
    db = runs["db"]
    store = storage.open_store(runs["url"], spool=db.parent / "spool")
    loc = warehouse.query(db, "select warc_path from articles where source = 'gxzf' limit 1")[1][0][0]
    from crawlers.archive import read_store
    whole = list(read_store(store, loc))
    offsets = {p.warc_offset for p in whole if p.page_kind == "article"}
    monkeypatch.setattr(storage, "RANGE_COST_BYTES", 1)
    assert store.ranged(loc, len(offsets))
    ranged = list(read_store(store, loc, offsets=offsets))
    assert [(p.warc_offset, p.body) for p in ranged] == [(p.warc_offset, p.body) for p in whole
                                                         if p.warc_offset in offsets]
    with warehouse.connect(db) as con:
        con.execute("update articles set title = '旧标题' where source = 'gxzf'")
    report = reextract(db, store=store, archive=db.parent / "spool", source="gxzf")
    assert (report.scanned, report.changed, report.missing_page) == (10, 10, 0), report
    assert warehouse.query(db, "select count(*) from articles where title = '旧标题'")[1][0][0] == 0


def test_an_upload_to_a_store_that_is_down_keeps_the_file_and_the_next_process_uploads_it(
        s3, tmp_path, newsflow_exe):
    server, endpoint = _moto()
    server.stop()                                   # a store that is down: connection refused
    db, url = tmp_path / "nf.duckdb", f"s3://{BUCKET}/retry"
    down = {**s3["env"], "AWS_ENDPOINT_URL": endpoint}
    crawl = nf(newsflow_exe, down, db, "crawl", "--mirror", "gxzf", archive=url)
    assert crawl.returncode == 1, crawl.stderr[-2000:]
    err = crawl.stderr.strip().splitlines()[-1]
    assert err.startswith("error: cannot upload ") and "the local copy is kept" in err, err
    assert "Traceback" not in crawl.stderr
    kept = list((tmp_path / "spool").rglob("*.warc.gz"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0
    assert warehouse.query(db, "select count(*) from crawl_runs")[1][0][0] == 1     # the run was recorded
    # the store is back (the module's server): the next process uploads the file, then loads it
    proc = nf(newsflow_exe, s3["env"], db, "process", archive=url)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "uploaded gxzf/" in proc.stderr
    assert not list((tmp_path / "spool").rglob("*.warc.gz"))
    assert len(keys(s3["client"], "retry/")) == 1
    assert warehouse.query(db, "select count(*), count(distinct url) from articles")[1][0] == (10, 10)
    assert warehouse.query(db, "select count(*) from crawl_runs where processed_at is null")[1][0][0] == 0


def test_a_bad_archive_url_is_one_line(tmp_path, newsflow_exe, s3):
    proc = nf(newsflow_exe, s3["env"], tmp_path / "nf.duckdb", "process", archive="s3://")
    assert proc.returncode == 1 and proc.stderr.strip().startswith("error: ") and "bucket" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_recheck_through_s3_reads_its_answers_and_uploads_its_warc(runs, s3, newsflow_exe):
    """A re-check with an S3 archive: the crawl writes to the spool, the answers are judged from
    there, and the re-check's WARC file (the evidence its events name) is uploaded after it."""
    db = runs["db"]
    before = set(keys(s3["client"], "warc/"))
    r = nf(newsflow_exe, s3["env"], db, "recheck", "--mirror", "--all", "gxzf", archive=runs["url"])
    assert r.returncode == 0, r.stderr[-2000:]
    assert warehouse.query(db, "select count(*), count(distinct article_id), count(*) filter "
                               "(where last_outcome in ('not_modified', 'live')) from article_checks")[1][0] == (10, 10, 10)
    new = set(keys(s3["client"], "warc/")) - before
    assert len(new) == 1 and next(iter(new)).startswith("warc/gxzf/"), new
    assert sorted(p.name for p in (db.parent / "spool").rglob("*.warc.gz")) == []
    _, rows = warehouse.query(db, "select count(*) - count(distinct id) from articles")
    assert rows[0][0] == 0


def test_the_recheck_flow_uploads_its_warc_to_s3(runs, s3, prefect_home, tmp_path):
    """The `recheck` deployment's flow with `archive_url`: its spool's WARC file goes to S3."""
    import shutil

    from flows.ingest import recheck_flow
    db = tmp_path / "copy.duckdb"
    shutil.copy(runs["db"], db)
    before = set(keys(s3["client"], "warc/"))
    counts = recheck_flow(sources=["zj-sthjt"], db=str(db), archive_dir=str(tmp_path / "spool"), mirror=True,
                          force=True, archive_url=runs["url"])
    assert counts["zj-sthjt"]["asked"] == 10 and counts["zj-sthjt"]["removed"] == 0
    new = set(keys(s3["client"], "warc/")) - before
    assert len(new) == 1 and next(iter(new)).startswith("warc/zj-sthjt/"), new
    assert list((tmp_path / "spool").rglob("*.warc.gz")) == []
