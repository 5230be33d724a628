"""The numbers behind `newsflow report`: plain lists and dicts, computed in SQL.

Days are Asia/Shanghai (as in the daily_*_counts views): `prepare` sets the session's
TimeZone itself, so a plain CAST to DATE gives the Shanghai day (5x cheaper than timezone()).
Each function copes with a warehouse that lacks the optional tables (tags, clusters, crawl
runs) by returning an empty result, so a report can be made at any stage. `prepare` scans
articles and tags once into temporary tables; the rest aggregates those and returns at most a
few thousand rows (bench/bench_report.py measures 100k articles).
"""
from __future__ import annotations

import datetime as dt

import duckdb



def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])


def has_clusters(con) -> bool:
    return _has(con, "dedupe_docs") and con.execute("SELECT count(*) > 0 FROM dedupe_docs").fetchone()[0]


def prepare(con) -> None:
    """Two temporary tables every other query here reads (once per connection; temporary
    tables work on a read-only connection and vanish with it), so articles and tags are
    scanned once however many totals the report shows:
    _report_m: one row per article with its story (its dedupe cluster where dedupe ran,
    itself when not yet deduplicated; the same simplified title when dedupe never ran);
    _report_t: topic, place and partner tags with the article's source and publish day."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '_report_m'").fetchone()[0]:
        return
    con.execute("SET TimeZone = 'Asia/Shanghai'")
    if has_clusters(con):
        # dedupe_docs.cluster_id always names the surviving cluster (merges rewrite it)
        story, join = "coalesce(d.cluster_id, a.id)", "LEFT JOIN dedupe_docs d ON d.article_id = a.id"
    else:
        story, join = "coalesce(a.title_simplified, a.title, a.id)", ""
    con.execute(
        f"CREATE TEMP TABLE _report_m AS SELECT a.id, a.source, a.published_at, a.first_seen, "
        f"CAST(a.published_at AS DATE) AS day, {story} AS story FROM articles a {join}")
    tags = ("SELECT t.kind, t.tag, m.source, m.day, m.published_at FROM article_tags t "
            "JOIN _report_m m ON m.id = t.article_id WHERE t.kind IN ('topic', 'place', 'partner')"
            if _has(con, "article_tags") else
            "SELECT NULL::VARCHAR AS kind, NULL::VARCHAR AS tag, NULL::VARCHAR AS source, "
            "NULL::DATE AS day, NULL::TIMESTAMPTZ AS published_at WHERE false")
    con.execute(f"CREATE TEMP TABLE _report_t AS {tags}")
    con.execute(
        "CREATE TEMP TABLE _report_s AS SELECT story, count(*) AS copies, count(DISTINCT source) AS sources, "
        "min(published_at) AS first_published, max(published_at) AS last_published, "
        "arg_min(id, coalesce(published_at, first_seen)) AS earliest FROM _report_m GROUP BY story")


def overview(con) -> dict:
    """Counts for the report's header: articles, sources, stories, published span, last crawl."""
    prepare(con)
    n, sources, dated, first, last, seen_first, seen_last = con.execute(
        "SELECT count(*), count(DISTINCT source), count(published_at), min(published_at), max(published_at), "
        "min(first_seen), max(first_seen) FROM _report_m").fetchone()
    stories, multi = con.execute("SELECT count(*), count(*) FILTER (WHERE sources > 1) FROM _report_s").fetchone()
    last_run = con.execute("SELECT max(finished_at) FROM crawl_runs").fetchone()[0] if _has(con, "crawl_runs") else None
    return {"articles": n, "sources": sources, "dated": dated, "first": first, "last": last,
            "first_seen": seen_first, "last_seen": seen_last, "stories": stories,
            "multi_source_stories": multi, "clustered": has_clusters(con), "last_run": last_run}


def daily_by_source(con) -> list[tuple[dt.date, str, int]]:
    """Articles per publish day and source (the daily_source_counts view's numbers)."""
    prepare(con)
    return con.execute("SELECT day, source, count(*) FROM _report_m WHERE day IS NOT NULL "
                       "GROUP BY ALL ORDER BY day, source").fetchall()


def daily_by_topic(con) -> list[tuple[dt.date, str, int]]:
    """Articles per publish day and topic tag (daily_topic_counts); empty when nothing is tagged."""
    prepare(con)
    return con.execute("SELECT day, tag, count(*) FROM _report_t WHERE kind = 'topic' AND day IS NOT NULL "
                       "GROUP BY ALL ORDER BY day, tag").fetchall()


def by_source(con) -> list[dict]:
    """Per source: articles, dated span, articles in stories other sources also carry, top topics."""
    prepare(con)
    rows = con.execute("""
        WITH s AS (SELECT m.source, count(*) AS articles, count(m.published_at) AS dated,
                          min(m.published_at) AS first, max(m.published_at) AS last,
                          count(*) FILTER (WHERE s.sources > 1) AS shared
                   FROM _report_m m JOIN _report_s s ON s.story = m.story GROUP BY m.source),
        t AS (SELECT source, list(tag ORDER BY n DESC, tag)[1:2] AS top
              FROM (SELECT source, tag, count(*) AS n FROM _report_t WHERE kind = 'topic' GROUP BY ALL)
              GROUP BY source)
        SELECT s.source, s.articles, s.dated, s.first, s.last, s.shared, t.top
        FROM s LEFT JOIN t ON t.source = s.source ORDER BY s.articles DESC, s.source""").fetchall()
    keys = ("source", "articles", "dated", "first", "last", "shared", "top_topics")
    return [dict(zip(keys, r)) for r in rows]


def tag_totals(con, kind: str, limit: int | None = None) -> list[dict]:
    """Articles per tag of one kind (topic, partner or place), most first, with how many
    sources carry it and its newest article's publish time."""
    prepare(con)
    rows = con.execute(
        "SELECT tag, count(*) AS n, count(DISTINCT source), max(published_at) FROM _report_t WHERE kind = ? "
        "GROUP BY tag ORDER BY n DESC, tag LIMIT ?", [kind, limit or 1_000_000]).fetchall()
    return [dict(zip(("tag", "articles", "sources", "last"), r)) for r in rows]


def tag_counts(con) -> dict[str, int]:
    """Distinct tags per kind (topic, partner, place)."""
    prepare(con)
    return dict(con.execute("SELECT kind, count(DISTINCT tag) FROM _report_t GROUP BY kind").fetchall())


def stories(con, order: str, limit: int = 15, outlets_per_story: int = 12) -> list[dict]:
    """Stories with their copies: order 'newest' (latest first publication) or 'syndicated'
    (most sources, then most copies; only stories seen more than once). The story's title
    and link are its canonical article's (dedupe's choice), else its earliest. Each story
    lists the sources that carried it, earliest first (at most `outlets_per_story`), each with
    its earliest copy's URL and time and its number of copies, and every 来源 its copies credit."""
    prepare(con)
    where, order_by = {
        "newest": ("first_published IS NOT NULL", "first_published DESC, copies DESC"),
        "syndicated": ("copies > 1", "sources DESC, copies DESC, first_published DESC NULLS LAST"),
    }[order]
    canonical = ("LEFT JOIN dedupe_clusters c ON c.cluster_id = top.story AND c.merged_into IS NULL"
                 if has_clusters(con) else "LEFT JOIN (SELECT NULL::VARCHAR AS canonical_id) c ON false")
    rows = con.execute(f"""
        WITH picked AS (SELECT * FROM _report_s WHERE {where} ORDER BY {order_by}, story LIMIT ?),
        top AS (SELECT *, row_number() OVER (ORDER BY {order_by}, story) AS rank FROM picked)
        SELECT top.story, top.copies, top.sources, top.first_published, top.last_published,
               a.title, a.url, a.source, a.original_source
        FROM top {canonical} JOIN articles a ON a.id = coalesce(c.canonical_id, top.earliest)
        ORDER BY top.rank""", [limit]).fetchall()
    keys = ("story", "copies", "sources", "first_published", "last_published", "title", "url", "source",
            "original_source")
    out = [dict(zip(keys, r), outlets=[], credited=[]) for r in rows]
    if out:
        by_key = {s["story"]: s for s in out}
        outlets = con.execute("""
            SELECT story, source, url, copies, published_at, credited FROM (
                SELECT m.story, a.source, arg_min(a.url, coalesce(a.published_at, a.first_seen)) AS url,
                       count(*) AS copies, min(a.published_at) AS published_at,
                       list(DISTINCT a.original_source) FILTER (WHERE a.original_source IS NOT NULL) AS credited,
                       row_number() OVER (PARTITION BY m.story ORDER BY min(a.published_at) NULLS LAST, a.source) AS i
                FROM _report_m m JOIN articles a ON a.id = m.id
                WHERE m.story IN (SELECT unnest(?::VARCHAR[])) GROUP BY m.story, a.source)
            ORDER BY story, i""", [list(by_key)]).fetchall()
        for story, source, url, copies, published, credited in outlets:
            s = by_key[story]
            for c in credited or ():
                if c not in s["credited"]:
                    s["credited"].append(c)
            if len(s["outlets"]) < outlets_per_story:
                s["outlets"].append({"source": source, "url": url, "copies": copies, "published_at": published})
    return out


def source_health(con) -> list[dict]:
    """Per source, from the `source_health` view (schemas/ddl.py): last run and last success,
    runs, new articles in the last run and per processed run, error rate, field completeness
    and the newest article's arrival. A warehouse from before migration 10 (read-only commands
    do not migrate) has no new_last_run."""
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'source_health'").fetchall()}
    if not have:
        return []
    last_run_new = "new_last_run" if "new_last_run" in have else "NULL::INTEGER"
    rows = con.execute(f"""
        SELECT source, last_status, last_success, last_run, runs, articles, last_new_article,
               {last_run_new}, yield_per_run, error_rate, with_date, with_source, with_author, quality
        FROM source_health ORDER BY 1""").fetchall()
    keys = ("source", "last_status", "last_ok", "last_run", "runs", "articles", "last_new", "new_last_run",
            "new_per_run", "error_rate", "with_date", "with_source", "with_author", "quality")
    return [dict(zip(keys, r)) for r in rows]


def changes(con, limit: int = 30) -> dict:
    """Edits, takedowns, restores and delistings: per source and kind, and the newest events
    (empty on a warehouse from before revisions)."""
    if not _has(con, "article_events"):
        return {"by_source": [], "recent": []}
    by_source = [dict(zip(("source", "kind", "events", "first", "last"), r)) for r in con.execute(
        "SELECT source, kind, count(*), min(happened_at), max(happened_at) FROM article_events "
        "GROUP BY ALL ORDER BY source, kind").fetchall()]
    recent = [dict(zip(("at", "source", "kind", "reason", "status", "title", "url", "version"), r)) for r in con.execute(
        "SELECT e.happened_at, e.source, e.kind, e.reason, e.http_status, a.title, a.url, e.version "
        "FROM article_events e LEFT JOIN articles a ON a.id = e.article_id "
        "ORDER BY e.happened_at DESC, e.source, a.url LIMIT ?", [limit]).fetchall()]
    return {"by_source": by_source, "recent": recent}


def collect(con, top_tags: int = 25) -> dict:
    """Everything the report shows, from one open connection."""
    prepare(con)
    how = ("near-duplicate detection (dedupe clusters)" if has_clusters(con)
           else "identical titles (dedupe has not run yet)")
    return {"overview": overview(con), "by_source": by_source(con),
            "topics": tag_totals(con, "topic"), "partners": tag_totals(con, "partner", top_tags),
            "places": tag_totals(con, "place", top_tags), "tag_counts": tag_counts(con),
            "daily_source": daily_by_source(con), "daily_topic": daily_by_topic(con),
            "stories_by": how, "newest": stories(con, "newest"), "syndicated": stories(con, "syndicated"),
            "health": source_health(con), "changes": changes(con)}
