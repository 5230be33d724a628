"""Bad configuration: a registry entry with a typo'd key, a bad regex, a missing or bad URL, or a
name that would climb out of the archive folder fails every command with one line naming the
file, the source and the field, before anything runs: no warehouse, no archive folder, no
crawl process, no Prefect. (tests/test_registry.py checks the messages of load_registry.)
"""
import re
import subprocess
import sys
import time

import pytest

from crawlers.registry import DEFAULT_REGISTRY
from faults.helpers import ROOT, record, run, seeded_home

BREAKAGES = {
    "typo'd key": ("article_pattern = '^/gxyw/t\\d+\\.shtml$'", "article_patern = '^/gxyw/t\\d+\\.shtml$'",
                   "article_patern", "unknown key"),
    "bad regex": ("article_pattern = '^/gxyw/t\\d+\\.shtml$'", "article_pattern = '^/gxyw/(t\\d+\\.shtml$'",
                  "article_pattern", "bad regex"),
    "missing URL": ('start_urls = ["/gxyw/index.shtml"]\n', "", "start_urls", "missing"),
    "bad URL": ('base_url = "http://www.gxzf.gov.cn"', 'base_url = "www.gxzf.gov.cn"', "base_url", "not an http"),
    "name leaving the archive": ('name = "gxzf"', 'name = "../../gxzf"', "name", "must be letters"),
}
COMMANDS = {
    "typo'd key": ["ingest", "--mirror"],
    "bad regex": ["crawl", "gxzf", "--mirror"],
    "missing URL": ["process"],
    "bad URL": ["sources"],
    "name leaving the archive": ["ingest", "--mirror"],
}


def broken(tmp_path, what):
    old, new, _, _ = BREAKAGES[what]
    text = DEFAULT_REGISTRY.read_text(encoding="utf-8")
    assert text.count(old) >= 1
    path = tmp_path / "conf" / "sources.toml"
    path.parent.mkdir()
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("what", list(BREAKAGES))
def test_bad_registry_fails_naming_file_source_and_field_before_anything_runs(tmp_path, what, request):
    path = broken(tmp_path, what)
    _, _, field, words = BREAKAGES[what]
    data = tmp_path / "data"
    if COMMANDS[what] == ["process"]:       # something to process, so the registry is the only problem
        from test_reextract import archive_some
        (data / "archive" / "gxzf").mkdir(parents=True)
        archive_some(data / "archive" / "gxzf" / "r1.warc.gz", n_per_source=1)
    seeded_home(tmp_path / "prefect-home")     # what run() gives the command as its Prefect home
    before = sorted(p for p in tmp_path.rglob("*"))
    t = time.monotonic()
    proc = run("--db", data / "nf.duckdb", "--registry", path, *COMMANDS[what], tmp_path=tmp_path)
    took = time.monotonic() - t
    assert proc.returncode == 1, (proc.stdout, proc.stderr[-2000:])
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith("starting")]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr      # one line, no traceback
    msg = lines[0]
    assert str(path) in msg and re.search(r"source '(gxzf|\.\./\.\./gxzf)'", msg), msg
    assert f"field {field!r}" in msg and words in msg, msg
    assert sorted(p for p in tmp_path.rglob("*")) == before, "something ran: files were written"
    assert took < 20, "Prefect or a crawl started before the registry was checked"
    record(request, crashes=0, ran_anything=0)


def test_the_crawl_process_refuses_a_bad_registry_too(tmp_path, request):
    path = broken(tmp_path, "bad regex")
    out = tmp_path / "archive"
    proc = subprocess.run([sys.executable, "-m", "crawlers.run", "--out", str(out), "--run-id", "r1",
                           "--registry", str(path)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    # the error table's code, as from the CLI (it was 2 here and 1 there)
    assert proc.returncode == 1 and str(path) in proc.stderr and "'article_pattern'" in proc.stderr
    assert not out.exists()
    record(request, crashes=0, ran_anything=0)
