"""The explorer's fixture warehouse, built once per test module: the mirror's pages (10 per
source) archived in one WARC file, a few of them republished by another outlet (so stories
have several copies), one hostile page (script, markup in its title, an image on another
host), all extracted, tagged, indexed and deduplicated by process_archives; plus two crawl
runs. Served by the explorer on 127.0.0.1, port 0."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import warehouse
from crawlers.archive import ArchiveWriter
from flows.steps import process_archives
from flows.web import Explorer, serve

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = json.loads((ROOT / "mirror" / "expected.json").read_text(encoding="utf-8"))
HOSTILE_TITLE = '<script>alert("x")</script>生态环境<b>保护</b>'
HOSTILE_URL = "http://www.gxzf.gov.cn/gxyw/t99999.shtml"
# what the hostile page's script would do, and where its image would come from: neither may happen
HOSTILE_MARK = "SCRIPT-RAN"
OUTSIDE = "http://198.51.100.7/track.gif"
HOSTILE_PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>{HOSTILE_TITLE}</title>
<script>document.title = "{HOSTILE_MARK}"; document.body && document.body.setAttribute("data-ran", "1");
new Image().src = "{OUTSIDE}?js";</script></head><body>
<div class="article"><h1>&lt;script&gt;alert("x")&lt;/script&gt;生态环境&lt;b&gt;保护&lt;/b&gt;</h1>
<div class="info">发布时间：2025-09-01 08:00 来源：'; DROP TABLE articles; --</div>
<div class="content"><p>广西壮族自治区生态环境厅召开会议，部署红树林湿地保护和生态环境监测工作。</p>
<p>会议要求各地加强生态保护修复，推进碳达峰碳中和，落实污染防治攻坚任务。</p>
<p>会议强调，要持续改善生态环境质量，加强与东盟国家在生态环境领域的交流合作。</p>
<img src="{OUTSIDE}"></div></div></body></html>""".encode("utf-8")


@dataclass
class Fixture:
    db: Path
    archive: Path
    warc: Path
    bodies: dict[str, bytes]        # url -> the bytes archived for it
    url: str = ""


def _write(w: ArchiveWriter, url: str, source: str, body: bytes, list_date: str | None = None) -> None:
    w.write(url=url, final_url=url, fetch_url=url, status=200, headers=[("Content-Type", "text/html; charset=utf-8")],
            body=body, fetched_at=dt.datetime(2025, 9, 2, tzinfo=dt.timezone.utc), source=source,
            page_kind="article", list_date=list_date, run_id="r1")


def build(folder: Path, per_source: int = 10) -> Fixture:
    archive = folder / "archive"
    warc = archive / "gxzf" / "r1.warc.gz"
    w = ArchiveWriter(warc)
    bodies: dict[str, bytes] = {}
    picked: dict[str, list] = {}
    for e in EXPECTED:
        if len(picked.setdefault(e["source"], [])) < per_source:
            picked[e["source"]].append(e)
            body = (ROOT / "mirror" / "sites" / e["path"]).read_bytes()
            _write(w, e["url"], e["source"], body, e["list_date"])
            bodies[e["url"]] = body
    # gxzf's first three pages, republished word for word by the same site under other URLs
    for i, e in enumerate(picked["gxzf"][:3]):
        url = e["url"].replace(".shtml", f"_copy{i}.shtml")
        _write(w, url, "gxzf", bodies[e["url"]], e["list_date"])
        bodies[url] = bodies[e["url"]]
    _write(w, HOSTILE_URL, "gxzf", HOSTILE_PAGE)
    bodies[HOSTILE_URL] = HOSTILE_PAGE
    w.close()
    db = folder / "w.duckdb"
    process_archives(db, [warc], archive=archive)
    with warehouse.connect(db) as con:
        con.execute("INSERT INTO crawl_runs (run_id, source, started_at, finished_at, status, pages_fetched, errors, "
                    "articles_new, processed_at) VALUES "
                    "('r1', 'gxzf', TIMESTAMPTZ '2025-09-02 08:00:00+08', TIMESTAMPTZ '2025-09-02 08:05:00+08', 'ok', 14, 1, 14, now()), "
                    "('r1', 'hainan', TIMESTAMPTZ '2025-09-02 08:00:00+08', TIMESTAMPTZ '2025-09-02 08:01:00+08', 'failed', 0, 3, 0, now())")
    return Fixture(db, archive, warc, bodies)


def start(fx: Fixture, engine: str = "auto"):
    """Serve the fixture; with engine "auto", through its Tantivy derivative (built here)."""
    if engine == "auto":
        from flows.search.derived import build as build_derived
        build_derived(fx.db)
    server = serve(Explorer(fx.db, fx.archive, engine=engine))
    fx.url = server.url
    return server
