"""The explorer's reads (`newsflow web`): a query's matching set, its facets, a page of results
(per story or per article), attention over time, a story's copies, an article with everything
known about it, per-source health. Fixed SQL with bound parameters only: nothing a page sends
becomes SQL text.

Every read goes through `explorer`: a private DuckDB instance with the warehouse attached
read-only, `enable_external_access = false`, no file readable, no extension loadable and the
configuration locked (reader.py's locked-down reader with no folder), and the snapshot while a
load holds the warehouse.

`match` builds the current query's matching set once per request as a temporary table `_m`
(id, score, matched terms, published_at, source, story, 来源, script): facets, results and
attention then aggregate that table. A broad query (or none: every article) is paged, and
each read returns at most a few hundred rows.
"""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import duckdb
import pyarrow as pa

from warehouse.reader import ReadableFiles, Reader, reader
from warehouse.search import B, K1, SCORED_CTES

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
TAG_FACETS = ("topic", "partner", "place", "keyword")
UNITS = ("day", "week", "month")
PAGE_MAX = 100              # results per page, at most
DOWNLOAD_MAX = 200_000      # rows one download may carry (`newsflow export` has no limit)
NO_FILES = ReadableFiles(folders=(), cwd=Path("/nonexistent-newsflow-web"))


@dataclass(frozen=True)
class Filters:
    """A query's state as the warehouse sees it: tokens (already segmented) and facet values.
    Within one facet the values are alternatives (OR); facets combine with AND."""
    terms: tuple[str, ...] = ()
    any_term: bool = False
    sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    outlets: tuple[str, ...] = ()           # 来源 (original_source)
    scripts: tuple[str, ...] = ()
    date_from: dt.date | None = None        # Asia/Shanghai days, both inclusive
    date_to: dt.date | None = None


@contextmanager
def explorer(db: str | Path, wait: float = 1.0, say: Callable[[str], None] | None = None) -> Iterator[Reader]:
    """A locked-down read-only connection to `db` (its snapshot while a load holds it)."""
    with reader(db, wait=wait, files=NO_FILES, say=say) as rd:
        yield rd


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary",
                            [name]).fetchone()[0]
                or con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT temporary",
                               [name]).fetchone()[0])


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                                      [table]).fetchall()}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)


def _where(f: Filters, params: dict, tags: bool) -> list[str]:
    where = ["TRUE"]
    for col, values, name in (("a.source", f.sources, "sources"), ("a.original_source", f.outlets, "outlets"),
                              ("a.script", f.scripts, "scripts")):
        if values:
            where.append(f"{col} IN (SELECT unnest(${name}::VARCHAR[]))")
            params[name] = list(values)
    for kind, values in (("topic", f.topics), ("partner", f.partners), ("place", f.places)):
        if values:
            if not tags:
                where.append("FALSE")
                continue
            where.append(f"a.id IN (SELECT article_id FROM article_tags WHERE kind = '{kind}' "
                         f"AND tag IN (SELECT unnest(${kind}s::VARCHAR[])))")
            params[f"{kind}s"] = list(values)
    if f.date_from:
        where.append("a.published_at >= $date_from")
        params["date_from"] = _midnight(f.date_from)
    if f.date_to:
        where.append("a.published_at < $date_to")
        params["date_to"] = _midnight(f.date_to + dt.timedelta(days=1))
    return where


def match(con: duckdb.DuckDBPyConnection, f: Filters) -> int:
    """Build `_m`, the matching set of `f` (every article when it has no terms); its size."""
    con.execute("DROP TABLE IF EXISTS _m")
    params: dict = {}
    where = " AND ".join(_where(f, params, has_table(con, "article_tags")))
    have = _columns(con, "articles")
    script = "a.script" if "script" in have else "NULL::VARCHAR"
    story, join = ("coalesce(dd.cluster_id, a.id)", "LEFT JOIN dedupe_docs dd ON dd.article_id = a.id") \
        if has_table(con, "dedupe_docs") else ("a.id", "")
    cols = (f"a.id, a.published_at, a.source, {story} AS story, a.original_source, {script} AS script")
    terms = [t for t in dict.fromkeys(f.terms) if t.strip()]
    if terms and has_table(con, "search_postings"):
        params.update(terms=terms, k1=K1, b=B, need=1 if f.any_term else len(terms))
        sql = (f"CREATE TEMP TABLE _m AS WITH {SCORED_CTES} SELECT {cols}, s.score, s.matched "
               f"FROM scored s JOIN articles a ON a.id = s.article_id {join} WHERE {where}")
    elif terms:             # a warehouse never indexed: nothing matches a query
        sql = f"CREATE TEMP TABLE _m AS SELECT {cols}, 0.0 AS score, 0 AS matched FROM articles a {join} WHERE FALSE"
    else:
        sql = (f"CREATE TEMP TABLE _m AS SELECT {cols}, NULL::DOUBLE AS score, 0 AS matched "
               f"FROM articles a {join} WHERE {where}")
    con.execute(sql, params)
    return con.execute("SELECT count(*) FROM _m").fetchone()[0]


def totals(con) -> dict:
    """Articles and stories in the matching set, and its publish-time span (Shanghai days)."""
    n, stories, dated, first, last = con.execute(
        "SELECT count(*), count(DISTINCT story), count(published_at), min(published_at), max(published_at) "
        "FROM _m").fetchone()
    day = (lambda v: v.astimezone(SHANGHAI).date() if v else None)
    return {"articles": n, "stories": stories, "dated": dated, "first": day(first), "last": day(last)}


def facets(con, limit: int = 12) -> dict[str, list[tuple[str, int]]]:
    """Counts of the matching set per facet value, most first: source (all), 来源, script and
    the tag kinds (topic, partner, place, keyword: the top `limit` each)."""
    out: dict[str, list] = {"source": [], "outlet": [], "script": []}
    # one pass over _m for the three columns (sources all; 来源 and script: the top `limit`)
    for facet, value, n in con.execute("""
            SELECT facet, value, n FROM (
                SELECT CASE WHEN GROUPING(source) = 0 THEN 'source' WHEN GROUPING(original_source) = 0
                            THEN 'outlet' ELSE 'script' END AS facet,
                       coalesce(source, original_source, script) AS value, count(*) AS n
                FROM _m GROUP BY GROUPING SETS ((source), (original_source), (script)))
            WHERE value IS NOT NULL
            QUALIFY facet = 'source' OR row_number() OVER (PARTITION BY facet ORDER BY n DESC, value) <= ?
            ORDER BY facet, n DESC, value""", [limit]).fetchall():
        out[facet].append((value, n))
    out["year"] = con.execute("SELECT year(timezone('Asia/Shanghai', published_at)) AS y, count(*) FROM _m "
                              "WHERE published_at IS NOT NULL GROUP BY y ORDER BY y DESC").fetchall()
    for kind in TAG_FACETS:
        out[kind] = []
    if has_table(con, "article_tags"):
        rows = con.execute("""
            SELECT kind, tag, n FROM (
                SELECT t.kind, t.tag, count(*) AS n,
                       row_number() OVER (PARTITION BY t.kind ORDER BY count(*) DESC, t.tag) AS r
                FROM article_tags t JOIN _m ON _m.id = t.article_id
                WHERE t.kind IN ('topic', 'partner', 'place', 'keyword') GROUP BY t.kind, t.tag)
            WHERE r <= ? ORDER BY kind, n DESC, tag""", [limit]).fetchall()
        for kind, tag, n in rows:
            out[kind].append((tag, n))
    return out


_ORDER = {"relevance": "matched DESC, score DESC NULLS LAST, published_at DESC NULLS LAST, id",
          "newest": "published_at DESC NULLS LAST, id", "oldest": "published_at ASC NULLS LAST, id"}


def articles_page(con, order: str, limit: int, offset: int) -> list[dict]:
    """One page of the matching set, one row per article, with its text for the snippet."""
    by = _ORDER[order]
    rows = con.execute(f"""
        SELECT t.id, t.story, t.score, t.matched, a.source, a.title, a.url, a.published_at,
               a.original_source, a.text
        FROM (SELECT *, row_number() OVER (ORDER BY {by}) AS rank FROM _m ORDER BY {by} LIMIT ? OFFSET ?) t
        JOIN articles a ON a.id = t.id ORDER BY t.rank""",
                       [min(limit, PAGE_MAX), offset]).fetchall()
    keys = ("id", "story", "score", "matched", "source", "title", "url", "published_at", "original_source", "text")
    return [dict(zip(keys, r)) for r in rows]


def stories_page(con, order: str, limit: int, offset: int) -> list[dict]:
    """One page of the matching set, one row per story: its best-matching copy (title, text
    for the snippet), how many copies matched and the outlets that carry them."""
    by = {"relevance": "matched DESC, score DESC NULLS LAST, published_at DESC NULLS LAST, story",
          "newest": "published_at DESC NULLS LAST, story", "oldest": "first_published ASC NULLS LAST, story"}[order]
    rows = con.execute(f"""
        WITH g AS (
            SELECT story, count(*) AS copies, max(matched) AS matched, max(score) AS score,
                   max(published_at) AS published_at, min(published_at) AS first_published,
                   arg_max(id, matched * 1e9 + coalesce(score, 0) * 1e3
                           - coalesce(epoch(published_at), 0) / 1e7) AS best,
                   list(DISTINCT source ORDER BY source) AS outlets
            FROM _m GROUP BY story),
        top AS (SELECT *, row_number() OVER (ORDER BY {by}) AS rank FROM g ORDER BY {by} LIMIT ? OFFSET ?)
        SELECT top.story, top.best, top.copies, top.matched, top.score, top.outlets, top.first_published,
               a.source, a.title, a.url, a.published_at, a.original_source, a.text
        FROM top JOIN articles a ON a.id = top.best ORDER BY top.rank""",
                       [min(limit, PAGE_MAX), offset]).fetchall()
    keys = ("story", "id", "copies", "matched", "score", "outlets", "first_published", "source", "title", "url",
            "published_at", "original_source", "text")
    return [dict(zip(keys, r)) for r in rows]


def attention(con, by: str, unit: str, series: int = 8) -> tuple[list[str], list[tuple[dt.date, str, int]]]:
    """Articles of the matching set per `unit` (day, week from Monday, month; Shanghai days) per
    source or per topic: the `series` largest keys (the rest summed as `other`) and
    (bin, key, count) rows."""
    if unit not in UNITS or by not in ("source", "topic"):
        raise ValueError(f"attention by {by!r} per {unit!r}")
    if by == "topic":
        if not has_table(con, "article_tags"):
            return [], []
        base = ("SELECT _m.published_at, t.tag AS key FROM _m JOIN article_tags t ON t.article_id = _m.id "
                "AND t.kind = 'topic' WHERE _m.published_at IS NOT NULL")
    else:
        base = "SELECT published_at, source AS key FROM _m WHERE published_at IS NOT NULL"
    per = con.execute(f"""
        SELECT CAST(date_trunc('{unit}', CAST(timezone('Asia/Shanghai', published_at) AS DATE)) AS DATE) AS bin,
               key, count(*) FROM ({base}) GROUP BY ALL ORDER BY 1, 2""").fetchall()
    return top_series(per, series)


def top_series(per, series: int) -> tuple[list[str], list[tuple]]:
    """(bin, key, count) rows -> the `series` keys with the most articles, the rest summed as
    "other": the chart's series whichever engine counted them."""
    totals: dict[str, int] = {}
    for _, k, n in per:
        totals[k] = totals.get(k, 0) + n
    keys = sorted(totals, key=lambda k: (-totals[k], k))[:series]
    kept = set(keys)
    rows: dict[tuple, int] = {}
    for b, k, n in per:
        key = (b, k if k in kept else "other")
        rows[key] = rows.get(key, 0) + n
    if len(totals) > len(keys):
        keys.append("other")
    return keys, [(b, k, n) for (b, k), n in sorted(rows.items())]


def matching_ids(con, order: str = "relevance", limit: int = DOWNLOAD_MAX) -> pa.Table:
    """The ids of the matching set, best first (what a download carries), at most `limit`."""
    return con.execute(f"SELECT id FROM _m ORDER BY {_ORDER[order]} LIMIT ?", [limit]).fetch_arrow_table()


# ----------------------------------------------------------------------------- one story, one article

def _live_cluster(con, cluster_id: str) -> str | None:
    """The cluster a story id names now (a merged story points to the one that absorbed it)."""
    seen = set()
    while cluster_id not in seen:
        seen.add(cluster_id)
        row = con.execute("SELECT merged_into FROM dedupe_clusters WHERE cluster_id = ?", [cluster_id]).fetchone()
        if row is None:
            return None
        if row[0] is None:
            return cluster_id
        cluster_id = row[0]
    return cluster_id


def story(con, story_id: str) -> dict | None:
    """A story and every copy: outlet, time, lag behind the canonical copy, how it joined
    (match kind, similarity, the article it matched, the one it republished). An article that
    dedupe never grouped is a story of one."""
    cluster = _live_cluster(con, story_id) if has_table(con, "dedupe_clusters") else None
    cols = ("id", "source", "title", "url", "published_at", "original_source", "match_kind", "matched_id",
            "similarity", "republished_from", "edge_lag_hours", "canonical")
    if cluster is None:
        row = con.execute("SELECT id, source, title, url, published_at, original_source FROM articles "
                          "WHERE id = ?", [story_id]).fetchone()
        if row is None:
            return None
        copies = [dict(zip(cols, (*row, "founder", None, None, None, None, True)))]
        cluster = story_id
    else:
        copies = [dict(zip(cols, r)) for r in con.execute("""
            SELECT a.id, a.source, a.title, a.url, a.published_at, a.original_source, c.match_kind, c.matched_id,
                   c.similarity, c.republished_from, c.lag_hours, c.is_canonical
            FROM article_clusters c JOIN articles a ON a.id = c.article_id
            WHERE c.cluster_id = ? ORDER BY a.published_at NULLS LAST, a.id""", [cluster]).fetchall()]
    canonical = next((c for c in copies if c["canonical"]), copies[0] if copies else None)
    for c in copies:
        if canonical and c["published_at"] and canonical["published_at"]:
            c["lag_hours"] = (c["published_at"] - canonical["published_at"]).total_seconds() / 3600
        else:
            c["lag_hours"] = None
    return {"id": cluster, "asked": story_id, "copies": copies, "canonical": canonical,
            "outlets": sorted({c["source"] for c in copies})}


def article(con, article_id: str) -> dict | None:
    """Every stored field of one article, its provenance (parsed), tags, story, and its
    versions and events where the warehouse has those tables."""
    cur = con.execute("SELECT * FROM articles WHERE id = ?", [article_id])
    names = [d[0] for d in cur.description]
    row = cur.fetchone()
    if row is None:
        return None
    fields = dict(zip(names, row))
    try:
        provenance = json.loads(fields.get("provenance") or "{}")
    except ValueError:
        provenance = {"_raw": fields.get("provenance")}
    out = {"fields": fields, "provenance": provenance if isinstance(provenance, dict) else {"_raw": provenance},
           "tags": [], "story": None, "versions": None, "events": None}
    if has_table(con, "article_tags"):
        out["tags"] = [dict(zip(("kind", "tag", "score", "evidence", "taxonomy_version"), r)) for r in con.execute(
            "SELECT kind, tag, score, evidence, taxonomy_version FROM article_tags WHERE article_id = ? "
            "ORDER BY kind, score DESC NULLS LAST, tag", [article_id]).fetchall()]
    if has_table(con, "dedupe_docs"):
        r = con.execute("SELECT cluster_id FROM dedupe_docs WHERE article_id = ?", [article_id]).fetchone()
        out["story"] = r[0] if r else None
    for key, table in (("versions", "article_versions"), ("events", "article_events")):
        if has_table(con, table):
            out[key] = _rows_of(con, table, article_id)
    return out


def _rows_of(con, table: str, article_id: str, limit: int = 200) -> dict:
    """Rows of a table keyed by article_id (a later migration's: its columns are not known
    here), oldest first; a BLOB column is shown as its size."""
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = ? ORDER BY ordinal_position", [table]).fetchall())
    if "article_id" not in types:
        return {"columns": [], "rows": [], "has_raw": False}
    cols = [f'octet_length("{c}") AS "{c} (bytes)"' if t == "BLOB" else f'"{c}"' for c, t in types.items()
            if c != "article_id"]
    order = next((c for c in ("version", "happened_at", "fetched_at") if c in types), "1")
    cur = con.execute(f'SELECT {", ".join(cols)} FROM "{table}" WHERE article_id = ? ORDER BY "{order}" LIMIT ?'
                      if order != "1" else f'SELECT {", ".join(cols)} FROM "{table}" WHERE article_id = ? LIMIT ?',
                      [article_id, limit])
    return {"columns": [d[0] for d in cur.description], "rows": cur.fetchall(),
            "has_raw": {"version", "warc_path", "warc_offset"} <= set(types)}


def raw_location(con, article_id: str, version: int | None = None) -> tuple[str, int] | None:
    """Where the article's raw page is: (warc_path as stored, offset); of one of its versions
    when `version` is given (article_versions, where the warehouse has it)."""
    if version is None:
        row = con.execute("SELECT warc_path, warc_offset FROM articles WHERE id = ?", [article_id]).fetchone()
    elif has_table(con, "article_versions") and {"warc_path", "warc_offset", "version"} <= _columns(con, "article_versions"):
        row = con.execute("SELECT warc_path, warc_offset FROM article_versions WHERE article_id = ? AND version = ?",
                          [article_id, version]).fetchone()
    else:
        row = None
    return (row[0], int(row[1])) if row and row[0] is not None and row[1] is not None else None


# ----------------------------------------------------------------------------- sources

@dataclass
class Health:
    sources: list[dict] = field(default_factory=list)      # the source_health view, one row per source
    runs: list[dict] = field(default_factory=list)         # the last runs, newest first
    yields: list[tuple[dt.date, str, int]] = field(default_factory=list)   # new articles per run day


def health(con, runs: int = 30) -> Health:
    """Per-source health (the `source_health` view), the last crawl runs, and new articles per
    processed run over time (per Shanghai day of the run's start, per source)."""
    from warehouse.report_data import source_health
    from warehouse.runs import recent_runs
    out = Health(sources=source_health(con))
    if has_table(con, "crawl_runs"):
        out.runs = recent_runs(con, limit=runs)
        out.yields = con.execute(
            "SELECT CAST(timezone('Asia/Shanghai', started_at) AS DATE) AS day, source, "
            "sum(coalesce(articles_new, 0))::BIGINT FROM crawl_runs WHERE started_at IS NOT NULL "
            "GROUP BY ALL ORDER BY day, source").fetchall()
    return out


def sources_present(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT source FROM articles ORDER BY 1").fetchall()]


__all__: Sequence[str] = ("Filters", "explorer", "match", "totals", "facets", "articles_page", "stories_page",
                          "attention", "matching_ids", "story", "article", "raw_location", "health", "Health",
                          "DOWNLOAD_MAX", "PAGE_MAX")


# ----------------------------------------------------------------------------- the search derivative

def search_stamp(con) -> dict:
    """What the search derivative (flows/search/derived.py) was built from: it is current while
    these are unchanged (articles, their index entries, tags, stories)."""
    def one(sql: str, table: str):
        return con.execute(sql).fetchone()[0] if has_table(con, table) else None
    return {"articles": one("SELECT count(*) FROM articles", "articles"),
            "indexed": one("SELECT count(*) FROM search_docs", "search_docs"),
            "indexed_at": str(one("SELECT max(indexed_at) FROM search_docs", "search_docs")),
            "tagged_at": str(one("SELECT max(tagged_at) FROM article_tag_state", "article_tag_state")),
            "tags": one("SELECT count(*) FROM article_tags", "article_tags"),
            "stories_at": str(one("SELECT max(updated_at) FROM dedupe_docs", "dedupe_docs")),
            "deduped": one("SELECT count(*) FROM dedupe_docs", "dedupe_docs")}


def derivative_rows(con, batch: int = 2000) -> Iterator[list[tuple]]:
    """Every article as the search derivative stores it, in batches: id, source, 来源,
    script, publish time (epoch seconds), Shanghai day (days since 1970-01-01), story, topics,
    partners, places, keywords, its index terms with their frequencies (the same tokens
    the postings hold; none for an article with no words), then what a results page shows
    (title, url, publish time, text)."""
    tags = ("SELECT article_id, " + ", ".join(
        f"list(tag ORDER BY tag) FILTER (WHERE kind = '{k}') AS {k}s" for k in ("topic", "partner", "place", "keyword"))
        + " FROM article_tags GROUP BY article_id") if has_table(con, "article_tags") else \
        "SELECT NULL::VARCHAR AS article_id, " + ", ".join(f"NULL::VARCHAR[] AS {k}s" for k in
                                                          ("topic", "partner", "place", "keyword")) + " WHERE false"
    story, join = ("coalesce(dd.cluster_id, a.id)", "LEFT JOIN dedupe_docs dd ON dd.article_id = a.id") \
        if has_table(con, "dedupe_docs") else ("a.id", "")
    script = "a.script" if "script" in _columns(con, "articles") else "NULL::VARCHAR"
    cur = con.execute(f"""
        WITH p AS (SELECT article_id, list(term) AS terms, list(tf) AS tfs FROM search_postings GROUP BY article_id),
        t AS ({tags})
        SELECT a.id, a.source, a.original_source, {script}, epoch(a.published_at)::BIGINT,
               datediff('day', DATE '1970-01-01', CAST(timezone('Asia/Shanghai', a.published_at) AS DATE)),
               {story}, t.topics, t.partners, t.places, t.keywords, p.terms, p.tfs,
               a.title, a.url, a.published_at, a.text
        FROM articles a LEFT JOIN p ON p.article_id = a.id LEFT JOIN t ON t.article_id = a.id {join}""")
    while True:
        rows = cur.fetchmany(batch)
        if not rows:
            return
        yield rows


def rows_for(con, ids: Sequence[str]) -> dict[str, dict]:
    """Display fields of these articles (a results page's), by id."""
    if not ids:
        return {}
    cur = con.execute("SELECT id, source, title, url, published_at, original_source, text FROM articles "
                      "WHERE id IN (SELECT unnest($ids::VARCHAR[]))", {"ids": list(ids)})
    keys = ("id", "source", "title", "url", "published_at", "original_source", "text")
    return {r[0]: dict(zip(keys, r)) for r in cur.fetchall()}


def story_outlets(con, stories: Sequence[str]) -> dict[str, list[str]]:
    """Every outlet that carries each story (all its copies)."""
    if not stories or not has_table(con, "dedupe_docs"):
        return {}
    return {s: list(o) for s, o in con.execute(
        "SELECT cluster_id, list(DISTINCT source ORDER BY source) FROM dedupe_docs "
        "WHERE cluster_id IN (SELECT unnest($s::VARCHAR[])) GROUP BY 1", {"s": list(stories)}).fetchall()}
