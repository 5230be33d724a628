"""The numbers behind `newsflow report`: plain lists and dicts, computed in SQL.

Each function copes with a warehouse that lacks the optional tables (tags, clusters) by
returning an empty result and saying so, so a report can be made at any stage.
"""
from __future__ import annotations

import datetime as dt

import duckdb


def _has(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [table]).fetchone()[0])


def daily_by_source(con, days: int = 730) -> list[tuple[dt.date, str, int]]:
    """Articles per publish day (Asia/Shanghai) and source, over the last `days` days."""
    return con.execute(
        "WITH d AS (SELECT CAST(published_at AS DATE) AS day, source FROM articles WHERE published_at IS NOT NULL), "
        "lim AS (SELECT max(day) - ?::INTEGER AS since FROM d) "
        "SELECT day, source, count(*) FROM d, lim WHERE day > lim.since GROUP BY ALL ORDER BY day, source",
        [days]).fetchall()


def topic_trends(con, weeks: int = 26) -> list[tuple[dt.date, str, int]] | None:
    """Articles per ISO week and topic; None when the warehouse has no tags."""
    if not _has(con, "article_tags"):
        return None
    return con.execute(
        "WITH t AS (SELECT date_trunc('week', a.published_at)::DATE AS week, g.tag "
        "           FROM article_tags g JOIN articles a ON a.id = g.article_id "
        "           WHERE g.kind = 'topic' AND a.published_at IS NOT NULL), "
        "lim AS (SELECT max(week) - INTERVAL (? * 7) DAY AS since FROM t) "
        "SELECT week, tag, count(*) FROM t, lim WHERE week > lim.since GROUP BY ALL ORDER BY week, tag",
        [weeks]).fetchall()


def most_syndicated(con, limit: int = 15) -> tuple[str, list[dict]]:
    """Stories seen in the most places: by dedupe cluster when clusters exist, else by
    identical simplified title across sources."""
    if _has(con, "stories") and con.execute("SELECT count(*) FROM stories WHERE articles > 1").fetchone()[0]:
        rows = con.execute(
            "SELECT s.cluster_id, s.title, s.articles, s.outlets, "
            "       (SELECT string_agg(DISTINCT coalesce(a.original_source, a.source), '、') "
            "        FROM article_clusters c JOIN articles a ON a.id = c.article_id "
            "        WHERE c.cluster_id = s.cluster_id), s.first_published "
            "FROM stories s WHERE s.articles > 1 ORDER BY s.articles DESC, s.first_published LIMIT ?",
            [limit]).fetchall()
        how = "dedupe clusters (near-duplicate detection)"
    else:
        rows = con.execute(
            "SELECT coalesce(title_simplified, title) AS k, any_value(title), count(*) AS copies, "
            "count(DISTINCT source), string_agg(DISTINCT coalesce(original_source, source), '、'), "
            "min(published_at) FROM articles GROUP BY k HAVING count(DISTINCT source) > 1 "
            "ORDER BY copies DESC, 6 LIMIT ?", [limit]).fetchall()
        how = "identical titles (no dedupe clusters yet)"
    keys = ("key", "title", "copies", "sources", "outlets", "first_seen")
    return how, [dict(zip(keys, r)) for r in rows]


def source_health(con) -> list[dict]:
    """Per source: last successful crawl, runs, yield, error rate, field completeness."""
    rows = con.execute("""
        WITH runs AS (
            SELECT source, count(*) AS runs,
                   max(finished_at) FILTER (WHERE status = 'ok') AS last_ok,
                   max(finished_at) AS last_run,
                   sum(coalesce(pages_fetched, 0)) AS pages, sum(coalesce(errors, 0)) AS errors,
                   avg(coalesce(articles_new, 0)) AS new_per_run,
                   arg_max(status, finished_at) AS last_status
            FROM crawl_runs GROUP BY source),
        arts AS (
            SELECT source, count(*) AS articles,
                   avg((published_at IS NOT NULL)::INT) AS with_date,
                   avg((original_source IS NOT NULL)::INT) AS with_source,
                   avg((author IS NOT NULL)::INT) AS with_author,
                   avg(quality) AS quality
            FROM articles GROUP BY source)
        SELECT coalesce(r.source, a.source) AS source, r.last_status, r.last_ok, r.last_run, r.runs,
               a.articles, r.new_per_run,
               CASE WHEN r.pages > 0 THEN r.errors / r.pages END AS error_rate,
               a.with_date, a.with_source, a.with_author, a.quality
        FROM runs r FULL OUTER JOIN arts a ON a.source = r.source ORDER BY 1""").fetchall()
    keys = ("source", "last_status", "last_ok", "last_run", "runs", "articles", "new_per_run",
            "error_rate", "with_date", "with_source", "with_author", "quality")
    return [dict(zip(keys, r)) for r in rows]


def totals(con) -> dict:
    n, sources, first, last = con.execute(
        "SELECT count(*), count(DISTINCT source), min(published_at), max(published_at) FROM articles").fetchone()
    return {"articles": n, "sources": sources, "first": first, "last": last}
