"""Every DuckDB statement about tags: `article_tags`, `article_tag_state`, `taxonomy_versions`.

Loads follow warehouse/store.py: the batch goes in as Arrow tables and set-based statements,
never row by row. Idempotent: an article already tagged with this taxonomy version and its
current content hash is left alone, so re-tagging the same articles adds nothing; an article
whose version or content changed gets all its tags replaced (old rows deleted, new inserted)
in the same transaction.

Tags arrive as any objects with `article_id, kind, tag, score, evidence` attributes
(schemas.Tag); this module does not import flows.
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import duckdb
import pyarrow as pa

from schemas.records import TAG_KINDS as KINDS
from warehouse.transactions import transaction as in_transaction

TAG_SCHEMA = pa.schema([("article_id", pa.string()), ("kind", pa.string()), ("tag", pa.string()),
                        ("score", pa.float64()), ("evidence", pa.string())])
TAGGING_FIELDS = ("id", "source", "title", "title_simplified", "text", "text_simplified", "script",
                  "content_hash")


@dataclass
class TagLoadResult:
    articles_written: int = 0      # articles whose tags were inserted or replaced
    articles_unchanged: int = 0    # already tagged with this version and content: skipped
    articles_missing: int = 0      # ids not in `articles`: their tags were not stored
    tags_inserted: int = 0
    tags_deleted: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _tag_table(tags: Iterable[Any]) -> pa.Table:
    rows: dict[tuple[str, str, str], Any] = {}
    for t in tags:
        if t.kind not in KINDS:
            raise ValueError(f"unknown tag kind {t.kind!r} (article {t.article_id}); kinds: {', '.join(KINDS)}")
        rows[(t.article_id, t.kind, t.tag)] = t        # one row per (article, kind, tag): last wins
    vals = list(rows.values())
    return pa.table({"article_id": [t.article_id for t in vals], "kind": [t.kind for t in vals],
                     "tag": [t.tag for t in vals],
                     "score": pa.array([None if t.score is None else float(t.score) for t in vals], pa.float64()),
                     "evidence": [getattr(t, "evidence", None) or None for t in vals]}, schema=TAG_SCHEMA)


def ensure_version(con: duckdb.DuckDBPyConnection, version: str, info: Mapping | None = None) -> None:
    """Record a taxonomy version (no-op when it is already there)."""
    info = dict(info or {})
    # WHERE NOT EXISTS, not ON CONFLICT: a DuckLake warehouse has no keys (warehouse/lake.py)
    con.execute("INSERT INTO taxonomy_versions (version, tagger_version, files, topics, terms, places, partners, "
                "first_used) SELECT ?, ?, ?, ?, ?, ?, ?, now() "
                "WHERE NOT EXISTS (SELECT 1 FROM taxonomy_versions WHERE version = ?)",
                [version, info.get("tagger_version", ""), json.dumps(info.get("files", {}), sort_keys=True),
                 info.get("topics"), info.get("terms"), info.get("places"), info.get("partners"), version])


def load_tags(con: duckdb.DuckDBPyConnection, tags: Iterable[Any], taxonomy_version: str,
              version_info: Mapping | None = None, transaction: bool = True, force: bool = False,
              article_ids: Sequence[str] | None = None) -> TagLoadResult:
    """Store the tags of a batch of articles (all tags of each article in the batch).

    Articles are the ids in `tags` (plus `article_ids`, for articles that came out with no tags
    at all). Those already tagged with `taxonomy_version` and their current content hash are
    skipped unless `force`; the others get their old tags deleted and these inserted. Ids not in
    `articles` are counted as missing and stored nowhere. `transaction=False` runs inside the
    caller's transaction (e.g. a warehouse.LoadSession that just loaded the articles)."""
    table = _tag_table(tags)
    ids = sorted(set(table.column("article_id").to_pylist()) | set(article_ids or ()))
    result = TagLoadResult()
    if not ids:
        return result
    with (in_transaction(con) if transaction else contextlib.nullcontext()):
        ensure_version(con, taxonomy_version, version_info)
        con.register("_tag_ids", pa.table({"article_id": pa.array(ids, pa.string())}))
        con.register("_tags", table)
        try:
            con.execute("""
                CREATE OR REPLACE TEMP TABLE _tag_todo AS
                SELECT a.id AS article_id, a.content_hash
                FROM _tag_ids i JOIN articles a ON a.id = i.article_id
                LEFT JOIN article_tag_state s ON s.article_id = a.id
                WHERE $force OR s.article_id IS NULL OR s.taxonomy_version <> $version
                      OR s.content_hash <> a.content_hash""", {"force": force, "version": taxonomy_version})
            present = con.execute("SELECT count(*) FROM _tag_ids i SEMI JOIN articles a ON a.id = i.article_id"
                                  ).fetchone()[0]
            todo = con.execute("SELECT count(*) FROM _tag_todo").fetchone()[0]
            result.articles_missing = len(ids) - present
            result.articles_unchanged = present - todo
            result.articles_written = todo
            if todo:
                result.tags_deleted = con.execute(
                    "DELETE FROM article_tags WHERE article_id IN (SELECT article_id FROM _tag_todo)").fetchone()[0]
                result.tags_inserted = con.execute(
                    "INSERT INTO article_tags (article_id, kind, tag, score, evidence, taxonomy_version) "
                    "SELECT t.article_id, t.kind, t.tag, t.score, t.evidence, $version FROM _tags t "
                    "SEMI JOIN _tag_todo d ON d.article_id = t.article_id",
                    {"version": taxonomy_version}).fetchone()[0]
                con.execute("DELETE FROM article_tag_state WHERE article_id IN (SELECT article_id FROM _tag_todo)")
                con.execute("INSERT INTO article_tag_state SELECT article_id, $version, content_hash, now() "
                            "FROM _tag_todo", {"version": taxonomy_version})
                result.by_kind = dict(con.execute(
                    "SELECT t.kind, count(*) FROM _tags t SEMI JOIN _tag_todo d ON d.article_id = t.article_id "
                    "GROUP BY 1").fetchall())
            con.execute("DROP TABLE _tag_todo")
        finally:
            con.unregister("_tags")
            con.unregister("_tag_ids")
    return result


def articles_to_tag(con: duckdb.DuckDBPyConnection, taxonomy_version: str, source: str | None = None,
                    force: bool = False) -> list[str]:
    """Ids of stored articles whose tags are missing, from another taxonomy version, or for
    content that has changed since (all of them with `force`), in id order."""
    where = ["($force OR s.article_id IS NULL OR s.taxonomy_version <> $version "
             "OR s.content_hash <> a.content_hash)"]
    params: dict = {"force": force, "version": taxonomy_version}
    if source:
        where.append("a.source = $source")
        params["source"] = source
    return [r[0] for r in con.execute(
        "SELECT a.id FROM articles a LEFT JOIN article_tag_state s ON s.article_id = a.id "
        f"WHERE {' AND '.join(where)} ORDER BY a.id", params).fetchall()]


def articles_for_tagging(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> list[dict]:
    """The stored fields tagging reads (TAGGING_FIELDS) for these ids."""
    if not ids:
        return []
    con.register("_want", pa.table({"id": pa.array(list(ids), pa.string())}))
    try:
        cols = ", ".join(f"a.{c}" for c in TAGGING_FIELDS)
        cur = con.execute(f"SELECT {cols} FROM articles a SEMI JOIN _want w ON w.id = a.id ORDER BY a.id")
        return [dict(zip(TAGGING_FIELDS, row)) for row in cur.fetchall()]
    finally:
        con.unregister("_want")


def stored_keywords(con: duckdb.DuckDBPyConnection, ids: Sequence[str]) -> dict[str, list[tuple]]:
    """Keyword tags (tag, score, evidence) of these articles, for those whose stored tags were
    computed from their current content (tag state hash = articles.content_hash): keywords do not
    depend on the taxonomy, so re-tagging can keep them instead of running jieba again."""
    if not ids:
        return {}
    con.register("_want", pa.table({"id": pa.array(list(ids), pa.string())}))
    try:
        rows = con.execute(
            "SELECT t.article_id, t.tag, t.score, t.evidence FROM article_tags t "
            "JOIN _want w ON w.id = t.article_id "
            "JOIN article_tag_state s ON s.article_id = t.article_id "
            "JOIN articles a ON a.id = t.article_id AND a.content_hash = s.content_hash "
            "WHERE t.kind = 'keyword' ORDER BY t.article_id, t.score DESC, t.tag").fetchall()
    finally:
        con.unregister("_want")
    out: dict[str, list[tuple]] = {}
    for aid, tag, sc, ev in rows:
        out.setdefault(aid, []).append((tag, sc, ev))
    return out


def prune_orphans(con: duckdb.DuckDBPyConnection) -> int:
    """Delete tags (and tag state) of articles that no longer exist; returns tag rows deleted."""
    with in_transaction(con):
        n = con.execute("DELETE FROM article_tags WHERE article_id NOT IN (SELECT id FROM articles)").fetchone()[0]
        con.execute("DELETE FROM article_tag_state WHERE article_id NOT IN (SELECT id FROM articles)")
    return n


def version_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Taxonomy version -> articles currently tagged with it."""
    return dict(con.execute("SELECT taxonomy_version, count(*) FROM article_tag_state GROUP BY 1 ORDER BY 1"
                            ).fetchall())


def tag_counts(con: duckdb.DuckDBPyConnection, kind: str | None = None) -> list[tuple[str, str, int]]:
    """(kind, tag, articles) for every tag in use, most used first."""
    sql = "SELECT kind, tag, count(*) AS n FROM article_tags"
    params: list = []
    if kind:
        sql += " WHERE kind = ?"
        params.append(kind)
    return [tuple(r) for r in con.execute(sql + " GROUP BY 1, 2 ORDER BY n DESC, 1, 2", params).fetchall()]


def versions(con: duckdb.DuckDBPyConnection) -> list[dict]:
    cur = con.execute("SELECT v.*, coalesce(n.articles, 0) AS articles FROM taxonomy_versions v "
                      "LEFT JOIN (SELECT taxonomy_version, count(*) AS articles FROM article_tag_state GROUP BY 1) n "
                      "ON n.taxonomy_version = v.version ORDER BY v.first_used")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


__all__ = ["KINDS", "TAGGING_FIELDS", "TagLoadResult", "articles_for_tagging", "articles_to_tag",
           "ensure_version", "load_tags", "prune_orphans", "stored_keywords", "tag_counts", "version_counts",
           "versions"]
