"""Hostile content, crawled over HTTP, extracted and loaded like any page: script in titles is
escaped in the report, SQL in fields is stored (and queried) as data, and names from URLs or
headers never become paths outside the archive folder. (A registry name that would climb out
of it is refused: tests/test_faults_config.py; the report's escaping of every web string:
tests/test_report.py.)
"""
import os
import re

import pytest

import warehouse
from crawlers.registry import load_registry
from faults.helpers import REGISTRY, record, run
from faults.netserver import FaultServer
from faults.pages import PARAS, UTF8, article

BASE = "http://pages.faults.test"
SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
SQL = "'); DROP TABLE articles; --"
OTHER = ["海南省近日印发海洋生态保护修复工作方案，明确到二〇二七年完成一批重点海湾综合治理项目。",
         "方案提出，要加强红树林、珊瑚礁和海草床等典型生态系统保护，开展受损岸线整治修复，提升海岸带生态功能。",
         "有关部门将建立项目库，实行清单化管理，定期调度进展，并组织第三方机构开展成效评估，确保工作取得实效。"]
# the headline as the page shows it: escaped markup, so the text *is* markup; syndicated twice,
# so the report lists it among the stories
SCRIPT_PAGE = article(title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;生态环境通报", paras=OTHER,
                      head_extra="<meta name='ContentSource' content='&lt;img src=x onerror=alert(1)&gt;'>")
HOSTILE = {
    "/p/script.html": SCRIPT_PAGE,
    "/p/script-copy.html": SCRIPT_PAGE,
    "/p/sql.html": article(title="Robert'); DROP TABLE articles; -- 生态环境通报",
                           paras=[PARAS[0] + "1' OR '1'='1", PARAS[1], PARAS[2]]),
    "/p/..%2F..%2F..%2Fescape.html": article(title="路径穿越测试一"),
    "/p/%2e%2e%2f%2e%2e%2fescape2.html": article(title="路径穿越测试二"),
    "/p/" + "长" * 200 + ".html": article(title="超长文件名测试"),
}
DISPOSITION = [("Content-Type", UTF8), ("Content-Disposition", 'attachment; filename="../../../../tmp/owned.html"')]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from urllib.parse import quote

    from flows import steps
    from flows.crawl import crawl
    from flows.cli.report import make_report
    tmp = tmp_path_factory.mktemp("hostile")
    links = "".join(f"<li><a href='{p}'>x</a><span>2025-07-01</span></li>" for p in HOSTILE)
    routes = {"/list.html": {"body": f"<html><body><ul class='list'>{links}</ul></body></html>".encode()}}
    for path, html in HOSTILE.items():
        spec = {"body": html.encode(), "headers": DISPOSITION}
        routes[path] = routes[quote(path, safe="/%")] = spec
    work = tmp / "work"
    work.mkdir()
    before = set(tmp.parent.iterdir())
    with FaultServer(routes) as server:
        stats = crawl(["fault-pages"], archive_dir=work / "archive", run_id="r1", registry=REGISTRY,
                      mapping={BASE: server.base_url}, timeout=120)
        log = list(server.log)
    db = work / "w.duckdb"
    steps.record_crawl(db, stats)
    steps.process_archives(db, steps.archive_paths_for(stats), load_registry(REGISTRY))
    report = make_report(db, work / "report.html")
    return dict(tmp=tmp, work=work, db=db, stats=stats[0], log=log, report=report.read_text(encoding="utf-8"),
                before=before)


def test_script_in_a_title_is_stored_as_text_and_escaped_in_the_report(hostile, request):
    titles = [r[0] for r in warehouse.query(hostile["db"], "select title from articles")[1]]
    assert any(SCRIPT in t for t in titles), titles                       # kept as the page said it
    sources = [r[0] for r in warehouse.query(hostile["db"], "select original_source from articles")[1]]
    assert IMG in sources, sources
    page = hostile["report"]
    assert "<script" not in page.lower() and "<img" not in page.lower() and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    record(request, unescaped=0)


def test_sql_in_fields_is_data_and_sql_looking_arguments_are_harmless(hostile, request):
    db, tmp = hostile["db"], hostile["tmp"]
    n = warehouse.query(db, "select count(*) from articles")[1][0][0]
    title = warehouse.query(db, "select title from articles where url like '%/sql.html'")[1][0][0]
    assert title == "Robert'); DROP TABLE articles; -- 生态环境通报"
    assert warehouse.query(db, "select count(*) from articles where text like ?", ["%1' OR '1'='1%"])[1] == [(1,)]
    from flows.search.index import search
    from warehouse.export import export
    hits = search(db, "DROP TABLE articles").hits                        # what `newsflow search` runs
    assert any("DROP TABLE" in h["title"] for h in hits)
    search(db, SQL, source="x' OR '1'='1", topic=SQL)
    assert export(db, "csv", tmp / "out.csv", source="x' OR '1'='1") == 0   # `newsflow export`
    assert export(db, "jsonl", tmp / "o.jsonl", topic=SQL) == 0
    base = ["--db", db, "--registry", REGISTRY]
    drop = run(*base, "sql", "DROP TABLE articles", tmp_path=tmp)
    assert drop.returncode == 1 and drop.stderr.startswith("error: ") and "Traceback" not in drop.stderr
    assert warehouse.query(db, "select count(*) from articles")[1][0][0] == n        # nothing dropped
    record(request, tables_dropped=0)


def test_names_from_urls_and_headers_never_become_paths_outside_the_archive(hostile, request):
    work = hostile["work"]
    made = sorted(str(p.relative_to(work)) for p in work.rglob("*"))
    allowed = re.compile(r"^(archive|archive/fault-pages|archive/logs|archive/logs/r1\.log|"
                         r"archive/fault-pages/(r1\.(warc\.gz|state\.json|stats\.json)|\.crawl\.lock)|"
                         r"w\.duckdb(\.wal)?|w\.snapshot\.duckdb|report\.html)$")
    assert [m for m in made if not allowed.match(m)] == [], made
    assert set(hostile["tmp"].parent.iterdir()) == hostile["before"]     # nothing next to the test folder
    assert not os.path.exists("/tmp/owned.html")
    fetched = {r["path"] for r in hostile["log"] if r["path"].startswith("/p/")}
    assert len(fetched) == len(HOSTILE)                                   # each requested, as data
    urls = [r[0] for r in warehouse.query(hostile["db"], "select url from articles union all "
                                                         "select url from rejected")[1]]
    assert len(urls) == len(HOSTILE), urls                                # each accounted for once
    record(request, files_outside=0)
