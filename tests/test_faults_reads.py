"""What a user types into the read commands, through the real `newsflow` entry point, on a small
real warehouse (15 articles, search-indexed, two crawl runs; its snapshot holds the first 12).

- `newsflow sql` is read-only for real: COPY TO the warehouse used to truncate it; now no
  statement writes a file, and files outside the working directory (and --read-dir) are not
  read. DuckDB's settings do it (external access off, allowed folders, the configuration
  locked); a statement check refuses COPY, EXPORT, ATTACH ... before they run.
- While a load holds the warehouse every read command reads the snapshot and says so; with
  no snapshot it fails with a clear message (exit 4).
- Bad values: a number out of range is a usage error (exit 2), an unknown --source/--topic an
  error (exit 1) in every command that takes it, never a traceback or an empty result.
"""
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import warehouse
from faults.helpers import NEWSFLOW, env, record, run
from schemas import CrawlStats
from test_warehouse import UTC, art

BOTH = "东盟国家与我国共同推进碳中和目标，加强绿色低碳合作。"
CARBON = "我省发布碳中和行动方案，推动能源结构调整。"
ASEAN = "东盟博览会在南宁开幕，各国客商踊跃参会。"
NEITHER = "全省森林覆盖率继续提高，生态环境持续改善。"
# the snapshot: 3 articles with both words, 4 with 碳中和 only, 2 with 东盟 only, 3 with neither;
# loaded after it (not in the snapshot): 3 more with both
FIRST = [BOTH] * 3 + [CARBON] * 4 + [ASEAN] * 2 + [NEITHER] * 3
LATER = [BOTH] * 3


def _runs(con, *run_ids):
    now = dt.datetime(2025, 1, 1, tzinfo=UTC)
    warehouse.record_crawl_runs(con, [CrawlStats(run_id=r, source="gxzf", started_at=now, finished_at=now,
                                                 status="ok", pages_fetched=1) for r in run_ids])


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    from flows.search.index import index_new
    tmp = tmp_path_factory.mktemp("reads")
    work = tmp / "work"
    (work / "data").mkdir(parents=True)
    db = work / "data" / "newsflow.duckdb"
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(i, text) for i, text in enumerate(FIRST)])
        _runs(con, "r1")
    index_new(db)
    snap = warehouse.publish_snapshot(db)
    with warehouse.connect(db) as con:
        warehouse.load_articles(con, [art(100 + i, text) for i, text in enumerate(LATER)])
        _runs(con, "r2")
    index_new(db)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (work / "etc-link").symlink_to("/etc")
    return dict(tmp=tmp, work=work, db=db, snap=snap, elsewhere=elsewhere)


def nf(wh, *args, **kw):
    """`newsflow --db data/newsflow.duckdb ...` run in the work folder, as an analyst would."""
    return run("--db", "data/newsflow.duckdb", *args, tmp_path=wh["tmp"], cwd=wh["work"], **kw)


def tree(folder) -> dict:
    """Every file under `folder` with its content hash (symlinks not followed)."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            p = Path(root, name)
            if not p.is_symlink():
                out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def one_line_error(proc, code=1):
    assert proc.returncode == code, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr


WRITES = {
    "copy-over-the-warehouse": "COPY (SELECT 1) TO 'data/newsflow.duckdb'",
    "copy-over-the-snapshot": "COPY articles TO 'data/newsflow.snapshot.duckdb' (FORMAT csv)",
    "copy-into-the-working-directory": "COPY articles TO 'articles.csv'",
    "export-database": "EXPORT DATABASE 'dump'",
    "attach-a-new-file": "ATTACH 'new.duckdb' AS n",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "turn-external-access-back-on": "SET enable_external_access = true",
    "unlock-the-configuration": "RESET lock_configuration",
    "explain-analyze-copy": "EXPLAIN ANALYZE COPY articles TO 'explained.csv'",
    "copy-after-a-select": "SELECT 1; COPY articles TO 'second.csv'",
    "prepared-copy": "PREPARE p AS COPY articles TO 'prepared.csv'",
    "drop-table": "DROP TABLE articles",
}


@pytest.mark.parametrize("sql", list(WRITES.values()), ids=list(WRITES))
def test_analyst_sql_writes_no_file(wh, sql, request):
    before = tree(wh["work"])
    proc = nf(wh, "sql", sql)
    one_line_error(proc)
    assert "read-only" in proc.stderr or "locked" in proc.stderr, proc.stderr
    assert tree(wh["work"]) == before                   # warehouse, snapshot, folder: untouched
    n = warehouse.query(wh["db"], "select count(*) from articles").rows[0][0]
    assert n == len(FIRST) + len(LATER)
    record(request, lost=len(FIRST) + len(LATER) - n, files_changed=0)


READS_REFUSED = {
    "etc-shadow": "SELECT * FROM read_text('/etc/shadow')",
    "etc-passwd-as-csv": "SELECT * FROM read_csv('/etc/passwd', sep = ':')",
    "glob-etc": "SELECT * FROM glob('/etc/*')",
    "climb-out-relative": "SELECT * FROM read_csv('../elsewhere/x.csv')",
    "climb-out-absolute": "SELECT * FROM read_text('{work}/../../../../etc/passwd')",
    "symlink-at-the-top": "SELECT * FROM read_text('etc-link/passwd')",
    "outside-without-read-dir": "SELECT * FROM read_csv('{elsewhere}/x.csv')",
}


@pytest.mark.parametrize("sql", list(READS_REFUSED.values()), ids=list(READS_REFUSED))
def test_analyst_sql_reads_no_file_outside_the_allowed_folders(wh, sql, request):
    proc = nf(wh, "sql", sql.format(work=wh["work"], elsewhere=wh["elsewhere"]))
    one_line_error(proc)
    assert "cannot read" in proc.stderr and "--read-dir" in proc.stderr
    assert "root:" not in proc.stdout
    record(request, files_read=0)


def test_analyst_sql_reads_the_files_it_names_under_the_working_directory_and_read_dirs(wh, request):
    n = len(FIRST) + len(LATER)
    nf(wh, "export", "--format", "parquet", "--output", "out/articles.parquet", check=0)
    nf(wh, "export", "--format", "csv", "--output", "out/articles.csv", check=0)
    for q in ("select count(*) from read_parquet('out/articles.parquet')",
              "select count(*) from 'out/articles.csv'",
              "select count(*) from read_parquet('out/*.parquet')",
              f"select count(*) from read_parquet('{wh['work']}/out/articles.parquet')",
              "select count(*) from articles a join read_parquet('out/articles.parquet') p using (id)"):
        out = nf(wh, "sql", "--format", "json", q, check=0).stdout
        assert list(json.loads(out)[0].values()) == [n], (q, out)
    outside = f"select a + b as s from read_csv('{wh['elsewhere']}/x.csv')"
    proc = nf(wh, "sql", "--format", "json", "--read-dir", str(wh["elsewhere"]), outside, check=0)
    assert json.loads(proc.stdout) == [{"s": 3}]
    record(request, files_read=6)


HOLDER = """
    import sys, time, warehouse
    with warehouse.connect(sys.argv[1]), warehouse.connect(sys.argv[2]):
        print("held", flush=True)
        time.sleep(90)
"""


def test_every_read_command_reads_the_snapshot_while_a_load_holds_the_warehouse(wh, request):
    work, tmp = wh["work"], wh["tmp"]
    bare = tmp / "bare.duckdb"                          # a warehouse with no snapshot yet
    with warehouse.connect(bare):
        pass
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(wh["db"]), str(bare)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp))
    try:
        assert holder.stdout.readline().strip() == "held", holder.stderr.read()
        base = [NEWSFLOW, "--db", "data/newsflow.duckdb"]
        cmds = {
            "sql": base + ["sql", "--format", "json", "select count(*) as n from articles"],
            "search": base + ["search", "碳中和 东盟", "--format", "json"],
            "runs": base + ["runs", "--json"],
            "export": base + ["export", "--format", "csv", "--output", "out/held.csv"],
            "report": base + ["report", "--output", "out/held.html"],
            "bare": [NEWSFLOW, "--db", str(bare), "sql", "select 1"],
        }
        procs = {k: subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp),
                                     cwd=work) for k, c in cmds.items()}
        outs = {k: p.communicate(timeout=120) for k, p in procs.items()}
    finally:
        holder.kill()
        holder.wait()
    for k in ("sql", "search", "runs", "export", "report"):
        assert procs[k].returncode == 0, (k, outs[k][1][-1500:])
        assert "read its snapshot data/newsflow.snapshot.duckdb" in outs[k][1], (k, outs[k][1])
    assert json.loads(outs["sql"][0]) == [{"n": len(FIRST)}]               # the snapshot's rows
    assert len(json.loads(outs["search"][0])) == 3 and "3 article(s) match" in outs["search"][1]
    assert [r["run_id"] for r in json.loads(outs["runs"][0])] == ["r1"]
    assert len((work / "out/held.csv").read_text(encoding="utf-8").splitlines()) == len(FIRST) + 1
    page = (work / "out/held.html").read_text(encoding="utf-8")
    assert "data/newsflow.snapshot.duckdb (the snapshot published" in page   # the header names the file read
    bare_proc = procs["bare"]
    assert bare_proc.returncode == 4 and "no snapshot" in outs["bare"][1], outs["bare"]
    assert outs["bare"][1].startswith("error: ") and "Traceback" not in outs["bare"][1]
    record(request, commands_failed=0)


def test_search_means_every_word_and_counts_all_the_matches(wh, request):
    every = nf(wh, "search", "碳中和 东盟", "--limit", "2", "--format", "json", check=0)
    hits = json.loads(every.stdout)
    assert len(hits) == 2 and all(h["matched"] == 2 for h in hits)
    assert "(all of): 碳中和 东盟; 6 article(s) match, showing the best 2" in every.stderr
    any_ = nf(wh, "search", "碳中和 东盟", "--any", "--limit", "2", check=0)
    assert "(any of): 碳中和 东盟; 12 article(s) match, showing the best 2" in any_.stderr
    assert any_.stdout.count("http://") == 2
    record(request, wrong_totals=0)


BAD_NUMBERS = {
    "search-limit-negative": ["search", "碳中和", "--limit", "-5"],
    "search-limit-zero": ["search", "碳中和", "--limit", "0"],
    "runs-limit-zero": ["runs", "--limit", "0"],
    "crawl-max-pages-zero": ["crawl", "gxzf", "--mirror", "--max-pages", "0"],
    "ingest-max-pages-zero": ["ingest", "--mirror", "--max-pages", "0"],
    "sql-max-width-zero": ["sql", "--max-width", "0", "select 1"],
    "search-no-word": ["search", " ，。 "],
}


@pytest.mark.parametrize("args", list(BAD_NUMBERS.values()), ids=list(BAD_NUMBERS))
def test_a_value_out_of_range_is_a_usage_error(wh, args, request):
    before = tree(wh["work"])
    proc = nf(wh, *args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-1500:])
    assert "Traceback" not in proc.stderr and "Error" in proc.stderr
    assert tree(wh["work"]) == before                   # nothing crawled, nothing written
    record(request, crashes=int("Traceback" in proc.stderr))


UNKNOWN = {
    "search-source": ["search", "碳中和", "--source", "nosuch"],
    "search-topic": ["search", "碳中和", "--topic", "nosuch"],
    "export-source": ["export", "--format", "csv", "--output", "out/unknown.csv", "--source", "nosuch"],
    "export-topic": ["export", "--format", "csv", "--output", "out/unknown.csv", "--topic", "nosuch"],
    "runs-source": ["runs", "--source", "nosuch"],
    "retag-source": ["retag", "--source", "nosuch", "--dry-run"],
    "reextract-source": ["reextract", "--source", "nosuch", "--dry-run"],
    "crawl-source": ["crawl", "nosuch"],
    "ingest-source": ["ingest", "nosuch"],
}


@pytest.mark.parametrize("args", list(UNKNOWN.values()), ids=list(UNKNOWN))
def test_an_unknown_source_or_topic_is_an_error_in_every_command(wh, args, request):
    before = tree(wh["work"])
    proc = nf(wh, *args)
    one_line_error(proc)
    what = "topic" if "--topic" in args else "source"
    assert f"unknown {what} 'nosuch'; known: " in proc.stderr
    assert tree(wh["work"]) == before
    record(request, empty_results=0)


def test_extract_exits_the_same_with_and_without_json(wh, request):
    empty = wh["tmp"] / "empty.html"
    empty.write_bytes(b"")
    plain = nf(wh, "extract", str(empty))
    as_json = nf(wh, "extract", "--json", str(empty))
    assert plain.returncode == as_json.returncode == 1
    assert json.loads(as_json.stdout)["error"] == "empty"
    record(request, exit_codes_differ=0)
