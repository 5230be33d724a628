"""The CLI through its real entry point (the installed `newsflow` console script)."""
import json
import subprocess

import pytest

COMMANDS = ["sources", "crawl", "process", "ingest", "extract", "sql", "runs", "reextract", "search",
            "export", "report", "retag", "dedupe", "serve", "recheck", "history", "changes", "web",
            "ingest-all", "maintain"]


def run(exe, *args, input=None, check=False):
    proc = subprocess.run([exe, *args], capture_output=True, text=True, input=input, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(newsflow_exe, command):
    out = run(newsflow_exe, command, "--help", check=True).stdout
    assert "Example" in out and f"newsflow {command}" in out


def test_the_list_above_is_every_command():
    from flows.cli import main
    assert sorted(main.commands) == sorted(COMMANDS)


def test_dedupe_groups_what_is_pending_and_rebuild_groups_everything_again(newsflow_exe, tmp_path):
    from faults.helpers import small_warehouse
    db = tmp_path / "w.duckdb"
    n = len(small_warehouse(db)["articles"])
    first = run(newsflow_exe, "--db", str(db), "dedupe", check=True).stdout
    assert first.startswith(f"dedupe: {n} articles ({n} new to dedupe"), first
    again = run(newsflow_exe, "--db", str(db), "dedupe", check=True).stdout
    assert again.startswith("dedupe: 0 articles"), again
    rebuilt = run(newsflow_exe, "--db", str(db), "dedupe", "--rebuild", check=True).stdout
    assert rebuilt.startswith(f"dedupe: {n} articles ({n} new to dedupe"), rebuilt
    proc = run(newsflow_exe, "--db", str(db), "sql", "--format", "csv",
               "select count(*) from dedupe_docs")
    assert proc.stdout.splitlines()[-1] == str(n)


def test_top_level_help(newsflow_exe):
    out = run(newsflow_exe, "--help", check=True).stdout
    for c in COMMANDS:
        assert c in out


def test_sources_lists_the_registry(newsflow_exe):
    out = run(newsflow_exe, "sources", "--format", "json", check=True).stdout
    names = {s["name"] for s in json.loads(out)}
    assert {"gxzf", "gx-sthjt", "tanpaifang", "gzwhw", "hainan", "sd-sthj", "gz-sthj"} <= names


def test_bad_registry_is_one_line_error(newsflow_exe, tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[presets.generic]\n[[sources]]\nname = "x"\ntitel = "typo"\n', encoding="utf-8")
    proc = run(newsflow_exe, "--registry", str(bad), "sources")
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: ") and "titel" in proc.stderr and str(bad) in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_source_is_one_line_error(newsflow_exe, tmp_path):
    proc = run(newsflow_exe, "--db", str(tmp_path / "x.duckdb"), "crawl", "nosuchsource")
    assert proc.returncode == 1 and "unknown source 'nosuchsource'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sql_errors_and_missing_db(newsflow_exe, tmp_path):
    proc = run(newsflow_exe, "--db", str(tmp_path / "none.duckdb"), "sql", "select 1")
    assert proc.returncode == 1 and "no warehouse" in proc.stderr and "Traceback" not in proc.stderr
    db = tmp_path / "w.duckdb"
    import warehouse
    with warehouse.connect(db):
        pass
    proc = run(newsflow_exe, "--db", str(db), "sql", "select * from nope")
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "nope" in proc.stderr
    proc = run(newsflow_exe, "--db", str(db), "sql", "drop table articles")
    assert proc.returncode == 1 and "read-only" in proc.stderr.lower()


def test_sql_formats_and_stdin(newsflow_exe, tmp_path):
    db = tmp_path / "w.duckdb"
    import warehouse
    with warehouse.connect(db):
        pass
    q = "select '广西日报' as 来源, 3 as n"
    table = run(newsflow_exe, "--db", str(db), "sql", q, check=True).stdout
    assert "广西日报" in table and "(1 row)" in table
    assert json.loads(run(newsflow_exe, "--db", str(db), "sql", "--format", "json", q, check=True).stdout) == [{"来源": "广西日报", "n": 3}]
    assert run(newsflow_exe, "--db", str(db), "sql", "--format", "csv", q, check=True).stdout.splitlines() == ["来源,n", "广西日报,3"]
    assert "| 来源 | n |" in run(newsflow_exe, "--db", str(db), "sql", "--format", "markdown", q, check=True).stdout
    assert "广西日报" in run(newsflow_exe, "--db", str(db), "sql", input=q, check=True).stdout


def test_extract_json_in_order_with_errors_recorded(newsflow_exe, tmp_path):
    good = tmp_path / "a.html"
    good.write_text("<html><head><title>一篇新闻_某网站</title></head><body><h1>一篇新闻</h1>"
                    "<div>发布时间：2025-07-06 08:35 来源：人民日报 作者：张三</div>"
                    "<div><p>" + "正文内容足够长，可以作为文章主体。" * 6 + "</p></div>"
                    "<div>京ICP备2024055651号-1</div></body></html>", encoding="utf-8")
    empty = tmp_path / "b.html"
    empty.write_bytes(b"")
    gbk = tmp_path / "c.html"
    gbk.write_bytes(("<html><head><meta charset='gb2312'><title>贵州新闻</title></head><body><h1>贵州新闻</h1>"
                     "<p>发表于:2025-07-06 08:35:57 来源:人民日报 作者: 点击: 评论:0</p><p>"
                     + "生态文明贵阳国际论坛在贵阳举办，镕。" * 5 + "</p></body></html>").encode("gbk"))
    out = run(newsflow_exe, "extract", "--json", str(good), str(empty), str(gbk)).stdout.splitlines()
    recs = [json.loads(x) for x in out]
    assert [r["file"] for r in recs] == [str(good), str(empty), str(gbk)]
    a, b, c = recs
    assert a["title"] == "一篇新闻" and a["published_at"].startswith("2025-07-06T08:35:00+08:00")
    assert a["source"] == "人民日报" and a["author"] == "张三"
    assert "ICP" not in a["text"] and "正文内容足够长" in a["text"]
    assert b["error"] == "empty"
    assert c["source"] == "人民日报" and not c["author"] and c["encoding"] == "gbk"
    assert "镕" in c["text"]


@pytest.mark.parametrize("args", [["sources"], ["sql", "select 1"], ["runs"], ["extract", "--help"], ["process", "--help"]])
def test_light_commands_import_neither_prefect_nor_scrapy(tmp_path, args):
    import sys
    db = tmp_path / "w.duckdb"
    import warehouse
    with warehouse.connect(db):
        pass
    code = ("import sys; from flows.cli import main\n"
            "try:\n    main([*sys.argv[1:]], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'scrapy', 'twisted'))\n"
            "print('HEAVY', heavy)")
    proc = subprocess.run([sys.executable, "-c", code, "--db", str(db), *args], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in proc.stdout, proc.stdout[-500:] + proc.stderr[-500:]


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory):
    from flows.steps import process_archives
    from test_reextract import archive_some
    tmp = tmp_path_factory.mktemp("clidb")
    db = tmp / "w.duckdb"
    archive_some(tmp / "a.warc.gz", n_per_source=4)
    process_archives(db, [tmp / "a.warc.gz"])
    return db


def test_search_export_report_reextract_retag_through_the_cli(newsflow_exe, loaded_db, tmp_path):
    db = str(loaded_db)
    out = run(newsflow_exe, "--db", db, "search", "东盟 合作", check=True).stdout
    assert "【" in out and "http://" in out
    hits = json.loads(run(newsflow_exe, "--db", db, "search", "东盟", "--format", "json", check=True).stdout)
    assert hits and all("东盟" in (h["title"] + h["snippet"]) or h["matched"] for h in hits)
    out = run(newsflow_exe, "--db", db, "search", "合作", "--source", "hainan", "--format", "json", check=True).stdout
    assert {h["source"] for h in json.loads(out)} == {"hainan"}
    topics = run(newsflow_exe, "--db", db, "sql", "--format", "json",
                 "select tag, count(*) n from article_tags where kind='topic' group by 1 order by 2 desc", check=True).stdout
    top_topic = json.loads(topics)[0]["tag"]
    for fmt, name in (("parquet", "a.parquet"), ("csv", "a.csv"), ("jsonl", "a.jsonl")):
        out = run(newsflow_exe, "--db", db, "export", "--format", fmt, "--output", str(tmp_path / name),
                  "--topic", top_topic, check=True).stdout
        assert (tmp_path / name).exists() and " articles written" in out
    lines = (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert lines and all(json.loads(x)["id"] for x in lines)
    part = tmp_path / "parts"
    run(newsflow_exe, "--db", db, "export", "--format", "parquet", "--output", str(part), "--partition", check=True)
    assert list(part.glob("year=*/month=*/*.parquet"))
    run(newsflow_exe, "--db", db, "report", "--output", str(tmp_path / "r.html"), check=True)
    assert "<svg" in (tmp_path / "r.html").read_text(encoding="utf-8")
    out = run(newsflow_exe, "--db", db, "reextract", "--dry-run", check=True).stdout
    assert "0 changed" in out and "dry run" in out
    out = run(newsflow_exe, "--db", db, "retag", "--dry-run", check=True).stdout
    assert json.loads(out)


def test_export_rejects_unknown_topic_store_gracefully(newsflow_exe, tmp_path):
    import warehouse
    db = tmp_path / "empty.duckdb"
    with warehouse.connect(db):
        pass
    proc = run(newsflow_exe, "--db", str(db), "export", "--format", "csv", "--output", str(tmp_path / "x.csv"))
    assert proc.returncode == 0 and "0 articles written" in proc.stdout
