"""`newsflow web` over HTTP (the stdlib client against the explorer on 127.0.0.1, port 0), on a
real small warehouse (tests/webfixture.py: the mirror's pages extracted, tagged, indexed and
deduplicated): search and its facets against the warehouse's own numbers, the URL as the whole
state, stories and articles, the archived page under its sandbox policy, downloads through the
export code, escaping, errors, and that it never writes nor holds the warehouse."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from html import unescape
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pyarrow.parquet as pq
import pytest

import warehouse
import webfixture
from flows.search.index import search as cli_search
from flows.web.state import PAGE_SIZE, State

Q = "生态"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return webfixture.build(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="module", params=["auto", "duckdb"], ids=["tantivy", "duckdb"])
def fx(built, request):
    """Every test twice: answered through the Tantivy derivative, and by DuckDB alone."""
    import dataclasses
    fx = dataclasses.replace(built)
    server = webfixture.start(fx, request.param)
    fx.engine = request.param
    try:
        yield fx
    finally:
        server.close()


def get(fx, path: str, method: str = "GET"):
    req = urllib.request.Request(fx.url + path, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def page(fx, path: str) -> str:
    status, headers, body = get(fx, path)
    assert status == 200, (path, body[:500])
    return body.decode("utf-8")


def sql(fx, query: str, params=None):
    return warehouse.query(fx.db, query, params)[1]


def hits(html: str) -> list[str]:
    return re.findall(r'<li class="hit">\s*<a class="title" href="([^"]+)"', html)


def facet(html: str, name: str) -> dict[str, int]:
    block = html[html.index(f'id="facet-{name}"'):]
    block = block[:block.index("</section>")]
    return {unescape(v): int(n.replace(",", "")) for v, n in
            re.findall(r'data-value="([^"]*)">[^<]*</a> <span class="n">([\d,]+)</span>', block)}


def test_search_counts_what_newsflow_search_counts(fx):
    html = page(fx, "/?" + urlencode({"q": Q}))
    want = cli_search(fx.db, Q, limit=1).total
    assert want > PAGE_SIZE
    assert f'<b id="n-articles">{want}</b>' in html
    stories = sql(fx, "select count(distinct coalesce(d.cluster_id, a.id)) from articles a left join dedupe_docs d "
                      "on d.article_id = a.id where a.id in (select article_id from search_postings where term = ?)", [Q])
    assert f'<b id="n-stories">{stories[0][0]}</b>' in html
    assert len(hits(html)) == PAGE_SIZE and all(h.startswith("/story/") for h in hits(html))
    assert "<mark>生态</mark>" in html
    # traditional script finds the same articles
    assert f'<b id="n-articles">{want}</b>' in page(fx, "/?" + urlencode({"q": "生態"}))


def test_facets_count_and_filter(fx):
    html = page(fx, "/?" + urlencode({"q": Q}))
    sources = facet(html, "source")
    want = dict(sql(fx, "select source, count(*) from articles where id in "
                        "(select article_id from search_postings where term = ?) group by 1", [Q]))
    assert sources == want
    topics = facet(html, "topic")
    assert topics and all(n > 0 for n in topics.values())
    # a province is the sum of its sources
    provinces = facet(html, "province")
    assert provinces["广西"] == sum(n for s, n in want.items() if s in ("gxzf", "gx-sthjt"))
    # choosing a facet value: the URL holds it, every row is from that source, the count is the facet's
    source, n = max(want.items(), key=lambda kv: kv[1])
    link = re.search(rf'<a href="([^"]+)" class="fv" aria-pressed="false" data-value="{source}">', html).group(1)
    link = unescape(link)
    assert dict(parse_qsl(urlsplit(link).query)) == {"q": Q, "source": source}
    filtered = page(fx, link + "&view=article")
    assert f'<b id="n-articles">{n}</b>' in filtered
    for href in hits(filtered):
        aid = href.split("/")[-1]
        assert sql(fx, "select source from articles where id = ?", [aid]) == [(source,)]
    assert 'aria-pressed="true"' in filtered and "✕" in filtered          # shown as selected, removable
    topic, tn = next(iter(topics.items()))
    both = page(fx, "/?" + urlencode({"q": Q, "topic": topic}))
    want_t = sql(fx, "select count(*) from article_tags where kind = 'topic' and tag = ? and article_id in "
                     "(select article_id from search_postings where term = ?)", [topic, Q])[0][0]
    assert f'<b id="n-articles">{want_t}</b>' in both and want_t == tn


def test_url_is_the_whole_state(fx):
    st = State.parse(urlencode([("q", Q), ("source", "gxzf"), ("source", "hainan"), ("from", "2024-01-01"),
                                ("view", "article"), ("sort", "newest"), ("page", "2"), ("by", "topic")]))
    again = State.parse(urlsplit(st.url()).query)
    assert again == st
    assert st.url(view="story").count("page=") == 0                    # any other change: back to page 1
    one, two = page(fx, st.url()), page(fx, st.url(page=1))
    assert set(hits(one)).isdisjoint(hits(two))                         # paging, not the same rows


def test_date_range_and_script(fx):
    html = page(fx, "/?" + urlencode({"q": Q, "from": "2025-01-01", "to": "2025-12-31", "view": "article"}))
    want = sql(fx, "select count(*) from articles where id in (select article_id from search_postings where term = ?) "
                   "and published_at >= timestamptz '2025-01-01 00:00:00+08' "
                   "and published_at < timestamptz '2026-01-01 00:00:00+08'", [Q])[0][0]
    assert f'<b id="n-articles">{want}</b>' in html
    scripts = facet(page(fx, "/"), "script")
    assert scripts == dict(sql(fx, "select script, count(*) from articles group by 1"))


def test_broad_query_is_paged(fx):
    html = page(fx, "/")                                                 # no query: every article
    assert f'<b id="n-articles">{sql(fx, "select count(*) from articles")[0][0]}</b>' in html
    assert len(hits(html)) == PAGE_SIZE and 'rel="next"' in html
    assert get(fx, "/?page=501")[0] == 400                              # deeper than anyone reads: download


def test_attention_chart_table_and_csv(fx):
    q = urlencode({"q": Q, "unit": "month"})
    html = page(fx, "/?" + q)
    assert 'id="attention-chart"' in html and "<svg" in html
    status, headers, body = get(fx, "/attention.csv?" + q)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["month", "source", "articles"]
    dated = sql(fx, "select count(*) from articles where published_at is not null and id in "
                    "(select article_id from search_postings where term = ?)", [Q])[0][0]
    assert sum(int(r[2]) for r in rows[1:]) == dated
    assert all(r[0].endswith("-01") for r in rows[1:])
    by_topic = list(csv.reader(io.StringIO(get(fx, "/attention.csv?" + q + "&by=topic")[2].decode())))
    assert by_topic[0] == ["month", "topic", "articles"] and len(by_topic) > 1
    # top words and partners of the query
    assert 'id="top-words"' in html and "<h3>Keywords</h3>" in html


def test_story_page_lists_every_copy(fx):
    cluster, n = sql(fx, "select cluster_id, articles from stories where articles > 1 order by cluster_id limit 1")[0]
    html = page(fx, f"/story/{quote(cluster)}")
    copies = sql(fx, "select article_id, is_canonical from article_clusters where cluster_id = ?", [cluster])
    assert len(copies) == n
    for aid, canonical in copies:
        assert f'href="/article/{aid}"' in html
    assert html.count('class="badge"') == 1                              # the canonical one marked
    canonical = next(a for a, c in copies if c)
    row = html[html.index('<tr class="canonical">'):]
    assert f'/article/{canonical}' in row[:row.index("</tr>")]
    assert re.search(r"<td>(exact|near|founder|excerpt)</td>", html)
    assert get(fx, "/story/nope")[0] == 404


def test_article_page_fields_provenance_tags(fx):
    aid, title, prov = sql(fx, "select id, title, provenance from articles where url <> ? order by id limit 1",
                           [webfixture.HOSTILE_URL])[0]
    html = page(fx, f"/article/{aid}")
    assert f"<h1>{title}</h1>" in html
    for rule in json.loads(prov).values():
        assert str(rule).replace("'", "&#39;").replace('"', "&#34;") in html or str(rule) in unescape(html)
    tags = sql(fx, "select count(*) from article_tags where article_id = ?", [aid])[0][0]
    section = html[html.index('id="tags"'):]
    assert section[:section.index("</section>")].count("<tr>") - 1 == tags
    versions = sql(fx, "select count(*) from article_versions where article_id = ?", [aid])[0][0]
    section = html[html.index('id="versions"'):]
    assert versions >= 1 and section[:section.index("</section>")].count("<tr>") - 1 == versions
    assert f'src="/raw/{aid}"' in html and 'sandbox=""' in html


def test_versions_section_only_when_the_table_exists(fx, tmp_path):
    """A version's row is listed and its raw page replayed; a warehouse from before the revisions
    migration (read-only commands do not migrate) has no such section."""
    db = tmp_path / "v.duckdb"
    shutil.copy(fx.db, db)
    aid = sql(fx, "select id from articles order by id limit 1")[0][0]
    with warehouse.connect(db) as con:
        loc = con.execute("select warc_path, warc_offset from articles where id = ?", [aid]).fetchone()
        con.execute("INSERT INTO article_versions (article_id, version, fetched_at, title, text_z, warc_path, "
                    "warc_offset, recorded_at) VALUES (?, 99, now(), '旧的标题<i>', ?, ?, ?, now())",
                    [aid, b"x\x9c", *loc])
    old = tmp_path / "old.duckdb"
    shutil.copy(db, old)
    with warehouse.connect(old) as con:
        for view in con.execute("select view_name from duckdb_views() where not internal").fetchall():
            if "article_events" in con.execute("select sql from duckdb_views() where view_name = ?",
                                               [view[0]]).fetchone()[0]:
                con.execute(f'DROP VIEW "{view[0]}"')
        con.execute("DROP TABLE article_versions")
        con.execute("DROP TABLE article_events")
    from flows.web import Explorer, serve
    pages = {}
    for name, path in (("new", db), ("old", old)):
        server = serve(Explorer(path, fx.archive))
        try:
            with urllib.request.urlopen(f"{server.url}/article/{aid}") as r:
                pages[name] = r.read().decode()
            if name == "new":
                with urllib.request.urlopen(f"{server.url}/raw/{aid}?version=99") as r:
                    raw = r.read()
                    assert r.headers["Content-Security-Policy"].startswith("sandbox;")
        finally:
            server.close()
    html = pages["new"]
    assert 'id="versions"' in html and "旧的标题&lt;i&gt;" in html and 'id="events"' in html
    assert "text_z (bytes)" in html and f'href="/raw/{aid}?version=99"' in html
    url = sql(fx, "select url from articles where id = ?", [aid])[0][0]
    assert raw == fx.bodies[url]
    assert 'id="versions"' not in pages["old"] and 'id="events"' not in pages["old"]


def test_archived_page_replayed_under_a_sandbox(fx):
    aid = sql(fx, "select id from articles where url = ?", [webfixture.HOSTILE_URL])[0][0]
    status, headers, body = get(fx, f"/raw/{aid}")
    assert status == 200 and body == webfixture.HOSTILE_PAGE               # the bytes as fetched
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "script-src" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    other = sql(fx, "select id, url from articles where source = 'hainan' order by id limit 1")[0]
    assert get(fx, f"/raw/{other[0]}")[2] == fx.bodies[other[1]]


def test_everything_is_escaped(fx):
    html = page(fx, "/?" + urlencode({"q": "生态环境 保护", "view": "article"}))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    aid = sql(fx, "select id from articles where url = ?", [webfixture.HOSTILE_URL])[0][0]
    art = page(fx, f"/article/{aid}")
    assert "<script>alert" not in art and "&lt;script&gt;" in art
    evil = page_or_error(fx, "/?" + urlencode({"q": '"><script>x</script>', "source": "<img src=x>"}))
    assert "<script>x" not in evil and "<img src=x>" not in evil
    assert all(re.match(r"(/|#|https?://)", h) for h in re.findall(r'href="([^"]*)"', art)), "only safe links"


def page_or_error(fx, path):
    return get(fx, path)[2].decode()


def test_downloads_carry_the_current_result(fx):
    q = {"q": Q, "source": "gxzf"}
    want = {r[0] for r in sql(fx, "select id from articles where source = 'gxzf' and id in "
                                  "(select article_id from search_postings where term = ?)", [Q])}
    status, headers, body = get(fx, "/download.csv?" + urlencode(q))
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert {r["id"] for r in rows} == want and rows[0]["published_at"].endswith("+08:00")
    status, headers, body = get(fx, "/download.parquet?" + urlencode(q))
    table = pq.read_table(io.BytesIO(body))
    assert set(table.column("id").to_pylist()) == want and "topics" in table.column_names
    status, headers, body = get(fx, "/download.jsonl?" + urlencode(q))
    assert {json.loads(line)["id"] for line in body.decode().splitlines()} == want


def test_sources_page(fx):
    html = page(fx, "/sources")
    for s in sql(fx, "select distinct source from articles"):
        assert f">{s[0]}</a></th>" in html
    assert '<tr class="status-failed">' in html and 'id="yield"' in html


def test_errors_and_methods(fx):
    assert get(fx, "/?page=0")[0] == 400
    assert get(fx, "/?view=everything")[0] == 400
    assert get(fx, "/?from=yesterday")[0] == 400
    assert get(fx, "/?q=%20%2C%2C")[0] in (200, 400)
    assert get(fx, "/nothing-here")[0] == 404
    assert get(fx, "/static/..%2Fapp.py")[0] == 404
    assert get(fx, "/article/nope")[0] == 404
    assert get(fx, "/", method="POST")[0] == 405
    status, headers, _ = get(fx, "/static/app.css")
    assert status == 200 and headers["Content-Type"].startswith("text/css")


def test_page_headers_forbid_outside_resources(fx):
    status, headers, body = get(fx, "/")
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert float(headers["Server-Timing"].split("dur=")[1]) > 0
    html = body.decode()
    assert not re.search(r'(src|href)="(https?:)?//', html)                # nothing from a CDN


def test_read_only_and_never_holds_the_warehouse(fx):
    before = hashlib.sha256(fx.db.read_bytes()).hexdigest()
    page(fx, "/?" + urlencode({"q": Q}))
    assert hashlib.sha256(fx.db.read_bytes()).hexdigest() == before
    # between requests a writer opens the file at once (the explorer's connections are per request)
    with warehouse.connect(fx.db, wait=0.5) as con:
        con.execute("select 1")
    from warehouse.explore import explorer
    with explorer(fx.db) as rd:
        with pytest.raises(Exception, match="(?i)permission|disabled|external"):
            rd.con.execute("select * from read_text('/etc/hostname')").fetchall()


def test_cli_help_and_host_warning(fx, newsflow_exe, tmp_path):
    out = subprocess.run([newsflow_exe, "web", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Example:" in out.stdout and "--port" in out.stdout
    missing = subprocess.run([newsflow_exe, "--db", str(tmp_path / "none.duckdb"), "web", "--port", "0"],
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "no warehouse" in missing.stderr
    proc = subprocess.Popen([newsflow_exe, "--db", str(fx.db), "--archive", str(fx.archive), "web", "--port", "0",
                             "--host", "0.0.0.0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        port = re.search(r":(\d+)/", line).group(1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sources", timeout=30) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "warning: binding 0.0.0.0" in proc.stderr.read()
    taken = subprocess.run([newsflow_exe, "--db", str(fx.db), "web", "--port", urlsplit(fx.url).port.__str__()],
                           capture_output=True, text=True, timeout=60)
    assert taken.returncode == 1 and "cannot listen" in taken.stderr, taken.stderr
    assert sys.executable


def test_a_stale_search_index_is_not_used_and_is_rebuilt(built, tmp_path):
    """After a change the derivative no longer matches: DuckDB answers (the new article is
    found at once), the derivative is rebuilt in the background, then used again."""
    import time
    from dataclasses import replace as dc_replace

    from flows.search import index_new
    from flows.search.derived import Derived, build, folder_for
    from test_warehouse import art
    db = tmp_path / "s.duckdb"
    shutil.copy(built.db, db)
    build(db)
    from flows.web import Explorer, serve
    app = Explorer(db, built.archive)
    server = serve(app)
    try:
        def count(q):
            with urllib.request.urlopen(f"{server.url}/?" + urlencode({"q": q})) as r:
                return int(re.search(r'<b id="n-articles">([\d,]+)</b>', r.read().decode()).group(1))
        before = count("独一无二")
        assert before == 0 and app.pages._derived_ok
        with warehouse.connect(db) as con:
            warehouse.load_articles(con, [dc_replace(art(424242), title="独一无二的标题", text="独一无二")])
        index_new(db)
        warehouse.publish_snapshot(db)                                     # as every load does
        assert count("独一无二") == 1                                       # DuckDB, at once
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (app.pages._building or not Derived.open(folder_for(db))
                                               or Derived.open(folder_for(db)).stamp["articles"] == 85 - 1):
            time.sleep(0.2)
        assert count("独一无二") == 1 and app.pages._derived_ok              # the rebuilt derivative
    finally:
        server.close()


def test_any_word_ranks_articles_with_more_of_the_words_first(fx):
    words = ["红树林", "东盟"]
    html = page(fx, "/?" + urlencode({"q": " ".join(words), "any": "1", "view": "article"}))
    n_any = int(re.search(r'<b id="n-articles">([\d,]+)</b>', html).group(1))
    n_all = int(re.search(r'<b id="n-articles">([\d,]+)</b>',
                          page(fx, "/?" + urlencode({"q": " ".join(words)}))).group(1))
    want_any = sql(fx, "select count(distinct article_id) from search_postings where term in (?, ?)", words)[0][0]
    assert n_any == want_any > n_all > 0
    shown = [h.split("/")[-1] for h in hits(html)]
    both = {r[0] for r in sql(fx, "select article_id from search_postings where term in (?, ?) "
                                  "group by 1 having count(*) = 2", words)}
    k = min(len(both), len(shown))
    assert set(shown[:k]) <= both                                       # every-word matches first


def test_year_facet_counts_and_sets_the_date_range(fx):
    html = page(fx, "/?" + urlencode({"q": Q}))
    years = facet(html, "year")
    want = dict(sql(fx, "select year(timezone('Asia/Shanghai', published_at))::VARCHAR, count(*) from articles "
                        "where published_at is not null and id in (select article_id from search_postings where term = ?) "
                        "group by 1", [Q]))
    assert years == {k: v for k, v in want.items()} and len(years) > 1
    y, n = max(years.items())
    link = unescape(re.search(rf'<a href="([^"]+)" class="fv" aria-pressed="false" data-value="{y}">', html).group(1))
    assert dict(parse_qsl(urlsplit(link).query)) == {"q": Q, "from": f"{y}-01-01", "to": f"{y}-12-31"}
    assert f'<b id="n-articles">{n}</b>' in page(fx, link)


def _walk(fx, params: dict) -> list[str]:
    """The ids (or story ids) of every hit, page after page."""
    out, n = [], 1
    while True:
        html = page(fx, "/?" + urlencode({**params, "page": n}))
        out += [unquote(h.split("/")[-1]) for h in hits(html)]
        if 'rel="next"' not in html:
            return out
        n += 1


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_articles_tied_on_time_come_in_duckdbs_order(fx, sort):
    """Hits tied on the publish time are ordered by id, nulls last, by both engines: the
    pages, walked to the end, are exactly the warehouse's order."""
    ties = sql(fx, "select count(*) from (select published_at from articles where published_at is not null "
                   "group by 1 having count(*) > 1)")[0][0]
    assert ties > 0                                     # else this test could not fail
    want = [r[0] for r in sql(fx, "select id from articles order by published_at "
                                  f"{'DESC' if sort == 'newest' else 'ASC'} NULLS LAST, id")]
    assert _walk(fx, {"view": "article", "sort": sort}) == want


def test_stories_pages_cover_every_story_once_in_order(fx):
    """Story view, newest first: every story exactly once over all the pages, ordered by its
    newest copy, ties by story id, as DuckDB orders them."""
    want = [r[0] for r in sql(fx, """
        select coalesce(dd.cluster_id, a.id) as story from articles a
        left join dedupe_docs dd on dd.article_id = a.id
        group by 1 order by max(a.published_at) desc nulls last, story""")]
    assert len(want) > PAGE_SIZE
    assert _walk(fx, {"sort": "newest"}) == want


def test_relevance_ties_by_time_then_id(built):
    """The Tantivy side alone, from the first chunk of one hit: hits of equal score (copies
    of one text score alike) come newest first, then by id, and no hit is lost or repeated
    however the chunks fall."""
    from flows.search.derived import Derived, Match, build
    from warehouse.explore import Filters
    d = Derived.open(build(built.db))
    m = Match(d, Filters(terms=(Q,)))
    rows = list(m.ranked("relevance", chunk=1))
    assert len({r["id"] for r in rows}) == len(rows) == len(list(m.ranked("relevance", chunk=4096)))
    key = [(-r["score"], r["_ts"] is None, -(r["_ts"] or 0), r["id"]) for r in rows]
    assert key == sorted(key)
    assert len(key) > len({k[0] for k in key})          # some scores are tied
    assert [r["id"] for r in m.ranked("relevance", skip=7, chunk=2)] == [r["id"] for r in rows][7:]
