"""The crawl side of the CLI through the installed `newsflow` script: `crawl` twice with the
warehouse's state, `runs` (table and JSON), `sources check`."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))


def run(exe, *args, timeout=180):
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def two_crawls(tmp_path_factory, newsflow_exe):
    db = tmp_path_factory.mktemp("cli") / "nf.duckdb"
    procs = [run(newsflow_exe, "--db", str(db), "crawl", "--mirror", "gxzf", "zj-sthjt") for _ in range(2)]
    return db, procs


def test_crawl_twice_second_run_fetches_nothing(two_crawls):
    db, (first, second) = two_crawls
    assert first.returncode == 0, first.stderr[-2000:]
    assert second.returncode == 0, second.stderr[-2000:]
    assert "nothing_new" in second.stdout and "nothing_new" not in first.stdout


def test_runs_json_newest_first_with_the_report_fields(two_crawls, newsflow_exe):
    db, _ = two_crawls
    proc = run(newsflow_exe, "--db", str(db), "runs", "--json")
    assert proc.returncode == 0, proc.stderr
    runs = json.loads(proc.stdout)
    assert len(runs) == 4 and len({r["run_id"] for r in runs}) == 2
    newest, oldest = runs[:2], runs[2:]
    assert all(a["started_at"] >= b["started_at"] for a, b in zip(runs, runs[1:]))
    for r in runs:
        for key in ("source", "pages_fetched", "article_requests", "articles_new", "not_modified", "errors",
                    "blocked", "retries", "bytes", "duration_s", "errors_by_kind", "status_counts", "flags"):
            assert key in r, key
    assert {r["source"] for r in newest} == {"gxzf", "zj-sthjt"}
    assert all(r["article_requests"] == 0 and r["not_modified"] >= 1 and r["status"] == "ok"
               and "nothing_new" in r["flags"] and r["status_counts"].get("304") for r in newest)
    assert all(r["article_requests"] == 10 and r["articles_archived"] == 10 and r["errors"] == 0 for r in oldest)
    assert all(r["articles_new"] is None for r in runs)        # `crawl` alone does not load articles
    one = json.loads(run(newsflow_exe, "--db", str(db), "runs", "--json", "--source", "gxzf", "--limit", "1").stdout)
    assert [r["source"] for r in one] == ["gxzf"] and one[0]["run_id"] == newest[0]["run_id"]


def test_runs_table(two_crawls, newsflow_exe):
    db, _ = two_crawls
    proc = run(newsflow_exe, "--db", str(db), "runs")
    assert proc.returncode == 0 and "nothing_new" in proc.stdout and "(4 rows)" in proc.stdout
    for col in ("source", "pages", "304", "requests", "new", "retries", "errors", "blocked", "bytes", "secs"):
        assert col in proc.stdout.splitlines()[0]


def test_sources_check_shows_each_rule(newsflow_exe):
    proc = run(newsflow_exe, "sources", "check", "zj-sthjt", "--mirror", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = json.loads(proc.stdout)
    lst, art = rep["list"], rep["article"]
    assert rep["problems"] == [] and rep["robots"]["allows_start"]
    assert lst["rule"] == "datastore" and lst["article_links"] == 2 and lst["dated"] == 2
    assert lst["dataproxy"]["records"] == 2 and lst["dataproxy"]["status"] == 200
    first = next(e for e in EXPECTED if e["source"] == "zj-sthjt")
    assert art["url"] == first["url"] and art["extracted"]["title"] == first["title"]
    assert art["extracted"]["provenance"]["title"]
    text = run(newsflow_exe, "sources", "check", "gxzf", "--mirror").stdout
    assert "createPageHTML" not in text and "page count 5" in text and "ok:" in text


def test_sources_check_names_the_rule_that_found_nothing(newsflow_exe, tmp_path):
    text = (ROOT / "crawlers" / "sources.toml").read_text(encoding="utf-8")
    bad = tmp_path / "r.toml"
    bad.write_text(text.replace("article_pattern = '^/gxyw/t\\d+\\.shtml$'", "article_pattern = '^/gxyw/a\\d+\\.html$'"),
                   encoding="utf-8")
    proc = run(newsflow_exe, "--registry", str(bad), "sources", "check", "gxzf", "--mirror")
    assert proc.returncode == 1
    assert "no link on the list page matches article_pattern" in proc.stdout


@pytest.mark.parametrize("args", [["runs", "--help"], ["sources", "check", "--help"]])
def test_new_commands_have_help_with_an_example(newsflow_exe, args):
    out = run(newsflow_exe, *args).stdout
    assert "Example" in out and f"newsflow {args[0]}" in out
