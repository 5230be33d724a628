"""The DuckLake warehouse (warehouse/lake.py) on real parts: PostgreSQL 15 as the catalog and
moto's S3 server as the data path, both on 127.0.0.1, driven through the real CLI.

The bundled mirror ingested into the lake by two `newsflow ingest` processes at once (half the
sources each, as two workers would) equals, row for row, one ingest of all sources into a
DuckDB file: articles, rejections, stories, tags, search postings. A re-run into the lake
duplicates nothing; search, sql, export, report and runs read the lake; a bad warehouse URL
and a PostgreSQL that is down are one-line errors with an exit code."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import warehouse
from faults.helpers import seeded_home
from tests.lake_fixtures import free_port, lake_url, pg, s3  # noqa: F401  (module fixtures)

pytestmark = pytest.mark.slow
HALF_A = ["gxzf", "gx-sthjt", "tanpaifang", "gzwhw"]
HALF_B = ["hainan", "sd-sthj", "gz-sthj", "zj-sthjt"]

COMPARED = {
    "articles": "select id, url, url_original, source, title, published_at, date_missing, original_source, author, "
                "editor, text, language, encoding, content_hash, extractor_version, title_simplified, "
                "text_simplified, script, quality, quality_flags, column_name, images, attachments "
                "from articles order by id",
    "rejected": "select url, source, reason, detail from rejected order by all",
    "stories": "select list(article_id order by article_id) as members from dedupe_docs "
               "group by cluster_id order by members",
    "canonical": "select c.canonical_id, c.size, c.outlets, c.first_published, c.last_published "
                 "from dedupe_clusters c where c.merged_into is null order by all",
    "edges": "select original_id, copy_id, credited, match_kind from syndication_edges "
             "where superseded_at is null order by all",
    "tags": "select article_id, kind, tag, score, evidence, taxonomy_version from article_tags order by all",
    "postings": "select term, article_id, tf from search_postings order by all",
    "search_docs": "select article_id, len, content_hash from search_docs order by all",
}


def nf(exe, env, *args, timeout=600, home=None):
    env = dict(env)
    if home is not None:
        env["PREFECT_HOME"] = seeded_home(home)
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, env=env)


def snapshot(db) -> dict:
    return {k: warehouse.query(db, q)[1] for k, q in COMPARED.items()}


@pytest.fixture(scope="module")
def runs(pg, s3, tmp_path_factory, newsflow_exe, prefect_home):  # noqa: F811
    tmp = tmp_path_factory.mktemp("lake")
    url = lake_url(pg, "mirror")
    env = s3["env"]
    out = {"url": url, "tmp": tmp, "env": env}
    fdb = tmp / "file" / "nf.duckdb"
    out["file_db"] = fdb

    def start(args, home):
        return subprocess.Popen([newsflow_exe, *args], env={**env, "PREFECT_HOME": seeded_home(home)},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the single-machine ingest into a file, and beside it two workers (their own folders: their
    # own archive, as on two machines) at once into the lake: three ingests in one wait
    single = start(["--db", str(fdb), "ingest", "--mirror"], tmp / "ph0")
    procs = [start(["--db", str(tmp / f"w{i}" / "nf.duckdb"), "--warehouse", url, "ingest", "--mirror", *half],
                   tmp / f"ph{i + 1}") for i, half in enumerate((HALF_A, HALF_B))]
    out["workers"] = [(p.communicate(timeout=900), p.returncode) for p in procs]
    (stdout, stderr) = single.communicate(timeout=900)
    out["file"] = subprocess.CompletedProcess(single.args, single.returncode, stdout, stderr)
    out["lake"] = snapshot(url)
    out["rerun"] = nf(newsflow_exe, env, "--db", str(tmp / "w0" / "nf.duckdb"), "--warehouse", url,
                      "ingest", "--mirror", home=tmp / "ph1")
    return out


def test_two_workers_into_the_lake_equal_one_ingest_into_a_file(runs):
    assert runs["file"].returncode == 0, runs["file"].stderr[-2000:]
    for (stdout, stderr), code in runs["workers"]:
        assert code == 0, stderr[-3000:]
    file_rows, lake_rows = snapshot(runs["file_db"]), runs["lake"]
    assert len(file_rows["articles"]) == 80 and len(file_rows["postings"]) > 1000
    for table in COMPARED:
        assert lake_rows[table] == file_rows[table], table


def test_a_rerun_into_the_lake_duplicates_nothing(runs):
    assert runs["rerun"].returncode == 0, runs["rerun"].stderr[-2000:]
    url = runs["url"]
    assert snapshot(url) == runs["lake"]
    checks = {
        "articles": "select count(*) - count(distinct id) from articles",
        "rejected": "select count(*) - count(distinct (url, reason)) from rejected",
        "runs": "select count(*) - count(distinct (run_id, source)) from crawl_runs",
        "tags": "select count(*) - count(distinct (article_id, kind, tag)) from article_tags",
        "docs": "select count(*) - count(distinct article_id) from search_docs",
        "dedupe": "select count(*) - count(distinct article_id) from dedupe_docs",
        "migrations": "select count(*) - count(distinct version) from schema_migrations",
    }
    for what, q in checks.items():
        assert warehouse.query(url, q)[1][0][0] == 0, what
    _, rows = warehouse.query(url, "select sum(articles_new), count(*), count(*) filter (where processed_at is null) "
                                   "from crawl_runs")
    assert rows[0] == (80, 16, 0)      # 8 sources x 2 runs; the second run found nothing new


def test_reads_search_export_report_and_runs_on_the_lake(runs, newsflow_exe):
    url, env, tmp = runs["url"], runs["env"], runs["tmp"]
    base = [newsflow_exe, "--db", str(tmp / "reader" / "nf.duckdb"), "--warehouse", url]
    run = lambda *a: subprocess.run([*base, *a], capture_output=True, text=True, timeout=300, env=env)  # noqa: E731
    filerun = lambda *a: subprocess.run([newsflow_exe, "--db", str(runs["file_db"]), *a], capture_output=True,  # noqa: E731
                                        text=True, timeout=300, env=env)
    r = run("sql", "--format", "csv", "select source, count(*) n from articles group by 1 order by 1")
    assert r.returncode == 0, r.stderr
    assert r.stdout == filerun("sql", "--format", "csv",
                               "select source, count(*) n from articles group by 1 order by 1").stdout
    lake_search, file_search = run("search", "生态"), filerun("search", "生态")
    assert lake_search.returncode == 0, lake_search.stderr
    assert "article(s) match" in lake_search.stderr and lake_search.stderr == file_search.stderr
    assert lake_search.stdout == file_search.stdout and "score" in lake_search.stdout
    out = tmp / "export.parquet"
    r = run("export", "--format", "parquet", "--output", str(out))
    assert r.returncode == 0, r.stderr
    lake_ids = sorted(pq.read_table(out).column("id").to_pylist())
    assert lake_ids == sorted(x[0] for x in warehouse.query(runs["file_db"], "select id from articles")[1])
    rep = tmp / "report.html"
    r = run("report", "--output", str(rep))
    assert r.returncode == 0, r.stderr
    assert "ducklake:postgres:" in rep.read_text(encoding="utf-8")
    r = run("runs")
    assert r.returncode == 0 and "gxzf" in r.stdout, r.stderr


def test_retag_recheck_history_and_reextract_on_the_lake(runs, newsflow_exe):
    url, env, tmp = runs["url"], runs["env"], runs["tmp"]
    base = [newsflow_exe, "--db", str(tmp / "w0" / "nf.duckdb"), "--warehouse", url]   # gxzf's archive is w0's
    run = lambda *a: subprocess.run([*base, *a], capture_output=True, text=True, timeout=600,  # noqa: E731
                                    env={**env, "PREFECT_HOME": str(tmp / "ph1")})
    before = snapshot(url)
    r = run("retag", "--force")
    assert r.returncode == 0, r.stderr[-2000:]
    r = run("reextract", "--source", "gxzf")
    assert r.returncode == 0 and "10 pages re-extracted, 0 changed" in r.stdout + r.stderr, r.stdout + r.stderr[-2000:]
    r = run("recheck", "--mirror", "--all", "gxzf")
    assert r.returncode == 0, r.stderr[-2000:]
    assert warehouse.query(url, "select count(*), count(distinct article_id) from article_checks")[1][0] == (10, 10)
    gxzf = warehouse.query(url, "select url from articles where source = 'gxzf' order by id limit 1")[1][0][0]
    r = run("history", gxzf)
    assert r.returncode == 0 and "1 version(s)" in r.stdout, r.stdout + r.stderr
    after = snapshot(url)
    # (not the tags: `retag` scores keywords over the whole corpus, a load over its chunk)
    for table in ("articles", "stories", "postings"):
        assert after[table] == before[table], table


def test_analysts_sql_on_the_lake_stays_locked_down(runs, newsflow_exe):
    url, env, tmp = runs["url"], runs["env"], runs["tmp"]
    base = [newsflow_exe, "--db", str(tmp / "reader" / "nf.duckdb"), "--warehouse", url, "sql"]
    run = lambda q: subprocess.run([*base, q], capture_output=True, text=True, timeout=300, env=env)  # noqa: E731
    assert run("select count(*) from stories").returncode == 0
    for q, says in (("select * from read_csv('/etc/passwd')", "reads files only under"),
                    ("select * from read_csv('s3://lake/elsewhere.csv')", "reads files only under"),
                    ("delete from articles", "read-only"),
                    ("attach 'x.duckdb'", "read-only"),
                    ("load httpfs", "read-only")):
        r = run(q)
        assert r.returncode == 1 and says in r.stderr and len(r.stderr.strip().splitlines()) == 1, (q, r.stderr)
    assert warehouse.query(url, "select count(*) from articles")[1][0][0] == 80


def test_a_bad_lake_url_and_a_catalog_that_is_down_are_one_line_errors(s3, tmp_path, newsflow_exe):  # noqa: F811
    env = s3["env"]
    db = str(tmp_path / "nf.duckdb")
    r = nf(newsflow_exe, env, "--db", db, "--warehouse", "ducklake:postgres:host=127.0.0.1 dbname=x", "runs")
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [r.stderr.strip()]
    assert "data_path" in r.stderr
    r = nf(newsflow_exe, env, "--db", db, "--warehouse", "ducklake:sqlite:x?data_path=s3://lake/x/", "runs")
    assert r.returncode == 1 and "ducklake:postgres:" in r.stderr
    down = f"ducklake:postgres:host=127.0.0.1 port={free_port()} dbname=x user=postgres password=hush" \
           f"?data_path=s3://lake/down/"
    for args in (("runs",), ("sql", "select 1"), ("crawl", "--mirror", "gxzf")):
        r = nf(newsflow_exe, env, "--db", db, "--warehouse", down, *args, home=tmp_path / "ph")
        assert r.returncode == 1, (args, r.stderr[-2000:])
        lines = r.stderr.strip().splitlines()
        # crawl says which run it starts before it records into the lake
        assert (len(lines) == 1 or args[0] == "crawl") and lines[-1].startswith("error: cannot open the lake"), (args, r.stderr[-2000:])
        assert "hush" not in r.stderr and "password=***" in r.stderr
    assert not Path(db).exists()
