"""Article revisions in DuckDB (migration 11): versions, events, re-check state.

- `record_versions` runs inside a load transaction, before the articles upsert: every record
  whose title, text, 来源 or author differ (whitespace folded) from the article's latest version
  and that was fetched after it becomes a new version and an `edited` event. An article never
  edited costs one small row (its text stays in `articles`); on its first edit version 1 gets its
  full text (zlib) and each later version is a delta from the one before (zlib of JSON
  operations over characters). `version_text` replays them.
- `recheck_candidates`, `check_state`, `apply_checks`: what a re-check starts from (the articles
  with their validators and last check) and what it writes (article_checks, article_events,
  articles.removed_at / restored_at / delisted_at). Deciding is the flows' job
  (flows/revisions/); this module stores.
- `history`, `changes`: what `newsflow history` and `newsflow changes` read.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import re
import zlib
from contextlib import contextmanager
from typing import Iterable, Sequence

import duckdb

from schemas import Article
from warehouse.times import UTC, utc
from warehouse.transactions import transaction as in_transaction

_SPACE = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
EVENT_KINDS = ("edited", "removed", "restored", "delisted")


def fold(value: str | None) -> str:
    """A field with every run of whitespace removed: a change of spacing or line breaks is no edit
    (Chinese text has no spaces between words, so removing them loses nothing)."""
    return _SPACE.sub("", value or "")


def version_hash(title: str | None, text: str | None, original_source: str | None, author: str | None) -> str:
    """What makes a version distinct: title, text, 来源 and author, whitespace folded."""
    h = hashlib.sha1()
    for part in (title, text, original_source, author):
        h.update(fold(part).encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:20]


# ----------------------------------------------------------------------------- deltas

def make_delta(old: str, new: str) -> list:
    """Edit operations turning `old` into `new`: [[start, end, replacement], ...] over characters.
    Paragraphs are matched first, then characters inside each changed paragraph (a character
    diff of whole articles costs ~5 ms each; this, a tenth of that)."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = [0]
    for line in a:
        starts.append(starts[-1] + len(line))
    ops = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        sa, sb, base = "".join(a[i1:i2]), "".join(b[j1:j2]), starts[i1]
        if tag == "replace" and len(sa) + len(sb) < 20000:
            ops += [[base + k1, base + k2, sb[l1:l2]] for t, k1, k2, l1, l2 in
                    difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes() if t != "equal"]
        else:
            ops.append([base, base + len(sa), sb])
    return ops


def apply_delta(old: str, ops: list) -> str:
    out, pos = [], 0
    for i1, i2, rep in ops:
        out.append(old[pos:i1])
        out.append(rep)
        pos = i2
    out.append(old[pos:])
    return "".join(out)


def _z(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 9)


def _unz(blob: bytes) -> str:
    return zlib.decompress(bytes(blob)).decode("utf-8")


def version_texts(rows: Sequence[tuple], current_text: str | None) -> list[str]:
    """Full texts of an article's versions, oldest first, from (version, text_z, is_delta) rows:
    version 1 full (or NULL: the article's current text), each later one a delta."""
    texts: list[str] = []
    for _, blob, is_delta in rows:
        if blob is None:
            texts.append(texts[-1] if texts else (current_text or ""))
        elif is_delta:
            texts.append(apply_delta(texts[-1] if texts else "", json.loads(_unz(blob))))
        else:
            texts.append(_unz(blob))
    return texts


def _latest_texts(con, ids: list[str]) -> dict[str, str]:
    """The latest version's full text of each of these articles (two queries for all of them)."""
    if not ids:
        return {}
    chains: dict[str, list] = {}
    with _ids(con, ids):
        for aid, version, blob, is_delta in con.execute(
                "SELECT article_id, version, text_z, is_delta FROM article_versions "
                "WHERE article_id IN (SELECT id FROM _vids) ORDER BY article_id, version").fetchall():
            chains.setdefault(aid, []).append((version, blob, is_delta))
        current = dict(con.execute("SELECT id, text FROM articles WHERE id IN (SELECT id FROM _vids)").fetchall())
    out = {}
    for aid in ids:
        texts = version_texts(chains.get(aid, []), current.get(aid) or "")
        out[aid] = texts[-1] if texts else (current.get(aid) or "")
    return out


# ----------------------------------------------------------------------------- versions

@contextmanager
def _ids(con, ids: Sequence[str]):
    """The ids as a registered Arrow table `_vids(id)`: a Python list bound as a parameter costs
    DuckDB a type probe per element (~0.1 ms each: seconds per load chunk)."""
    import pyarrow as pa
    con.register("_vids", pa.table({"id": pa.array(list(ids), pa.string())}))
    try:
        yield
    finally:
        con.unregister("_vids")


_VCOLS = ("article_id", "version", "fetched_at", "content_hash", "title", "original_source", "author",
          "text_z", "is_delta", "text_chars", "extractor_version", "run_id", "warc_path", "warc_offset",
          "recorded_at")


def _seed_missing(con, ids: list[str], now: dt.datetime) -> None:
    """Articles stored before versions existed (or loaded by a path that recorded none) get their
    version 1 from the articles row. `ids`: articles of the batch that have no version."""
    if not ids:
        return
    with _ids(con, ids):
        rows = con.execute(
            "SELECT id, coalesce(fetched_at, first_seen), title, text, original_source, author, extractor_version, "
            "run_id, warc_path, warc_offset FROM articles WHERE id IN (SELECT id FROM _vids)").fetchall()
    _insert_versions(con, [[r[0], 1, utc(r[1]), None, r[2], r[4], r[5], None, False,
                            len(r[3] or ""), r[6], r[7], r[8], r[9], now] for r in rows])


def _insert_versions(con, rows: list[list]) -> None:
    """Insert version rows in one statement (an Arrow table: thousands of new articles a chunk)."""
    if not rows:
        return
    import pyarrow as pa
    from warehouse.times import TS
    types = [pa.string(), pa.int32(), TS, pa.string(), pa.string(), pa.string(), pa.string(), pa.binary(),
             pa.bool_(), pa.int32(), pa.string(), pa.string(), pa.string(), pa.int64(), TS]
    table = pa.table([pa.array([r[i] for r in rows], t) for i, t in enumerate(types)], names=list(_VCOLS))
    con.register("_versions", table)
    try:
        con.execute(f"INSERT INTO article_versions ({', '.join(_VCOLS)}) SELECT {', '.join(_VCOLS)} FROM _versions")
    finally:
        con.unregister("_versions")


def record_batch_versions(con: duckdb.DuckDBPyConnection, articles: list[Article], now: dt.datetime,
                          stored: int | None = None) -> list:
    """`record_versions` for a load batch registered as `_batch` (warehouse/store.py, with its
    `text_chars`): new articles get their version 1 in one SQL statement; only the records that
    may be a new version (an article stored with another content_hash and fetched earlier, or
    an id more than once in the batch) go through Python. `stored`: how many of the batch's
    ids the warehouse holds, when the caller knows; 0 (a first load) skips both look-ups."""
    seen: dict[str, int] = {}
    for a in articles:
        seen[a.id] = seen.get(a.id, 0) + 1
    multi = [i for i, n in seen.items() if n > 1]
    with _ids(con, multi):
        if stored == 0:
            maybe, where = set(multi), "WHERE b.id NOT IN (SELECT id FROM _vids)" if multi else ""
        else:
            maybe = {r[0] for r in con.execute(
                "SELECT b.id FROM _batch b JOIN articles a ON a.id = b.id WHERE a.content_hash <> b.content_hash "
                "AND (a.fetched_at IS NULL OR b.fetched_at > a.fetched_at) UNION SELECT id FROM _vids").fetchall()}
            where = ("WHERE b.id NOT IN (SELECT id FROM _vids) "
                     "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = b.id)")
        con.execute("INSERT INTO article_versions (article_id, version, fetched_at, title, original_source, author, "
                    "is_delta, text_chars, extractor_version, run_id, warc_path, warc_offset, recorded_at) "
                    "SELECT b.id, 1, b.fetched_at, b.title, b.original_source, b.author, false, b.text_chars, "
                    f"b.extractor_version, b.run_id, b.warc_path, b.warc_offset, ? FROM _batch b {where}",
                    [utc(now)])
    return record_versions(con, [a for a in articles if a.id in maybe], now) if maybe else []


def record_versions(con: duckdb.DuckDBPyConnection, articles: Iterable[Article],
                    now: dt.datetime | None = None) -> list[tuple[str, int]]:
    """Record the new versions among these records (call in the load's transaction, before the
    articles upsert); returns (article_id, version) of the edits found (version >= 2).

    Cheap on the common paths: a new article's version 1 is a metadata row (its hash is worked
    out when a second version comes, from the text in `articles`); a page fetched again that
    extracts to the stored content_hash is not hashed at all."""
    recs = sorted(articles, key=lambda a: utc(a.fetched_at))
    if not recs:
        return []
    now = utc(now or dt.datetime.now(UTC))
    latest = _latest(con, sorted({a.id for a in recs}), now)
    changing = sorted({a.id for a in recs if a.id in latest and utc(a.fetched_at) > latest[a.id][2]
                       and a.content_hash != latest[a.id][3]})
    texts = _latest_texts(con, changing)     # the latest text of each article that may change
    rows, edits, first = [], [], []
    for a in recs:
        cur = latest.get(a.id)
        if cur is not None and (utc(a.fetched_at) <= cur[2] or a.content_hash == cur[3]):
            continue            # an older fetch processed again, or the same extraction again
        if cur is None:
            rows.append(_row(a, 1, None, None, False, now))
            latest[a.id] = [1, None, utc(a.fetched_at), a.content_hash, a.title, a.original_source, a.author]
            texts[a.id] = a.text
            continue
        prev = texts[a.id]
        if cur[1] is None:
            cur[1] = version_hash(cur[4], prev, cur[5], cur[6])
        h = version_hash(a.title, a.text, a.original_source, a.author)
        if h == cur[1]:
            continue            # the same version (whitespace or fields outside a version changed)
        if cur[0] == 1:         # version 1 kept its text in `articles`: give it its own now
            first.append((a.id, _z(prev), cur[1]))
            for r in rows:      # ... or, if it was inserted in this batch, before inserting it
                if r[0] == a.id and r[1] == 1 and r[7] is None:
                    r[3], r[7] = cur[1], _z(prev)
        version = cur[0] + 1
        rows.append(_row(a, version, h, _z(json.dumps(make_delta(prev, a.text), ensure_ascii=False,
                                                      separators=(",", ":"))), True, now))
        latest[a.id] = [version, h, utc(a.fetched_at), a.content_hash, a.title, a.original_source, a.author]
        texts[a.id] = a.text
        edits.append((a, version))
    _materialise_first(con, first)
    _insert_versions(con, rows)
    _insert_edits(con, edits)
    return [(a.id, v) for a, v in edits]


def _latest(con, ids: list[str], now: dt.datetime) -> dict[str, list]:
    """Per article of the batch that has versions: [latest version, its hash (None: not worked out
    yet), its fetch time, the stored article's content_hash, its title, 来源, author]. Articles
    stored before versions existed get their version 1 first."""
    sql = ("SELECT v.article_id, max(v.version), arg_max(v.content_hash, v.version), arg_max(v.fetched_at, v.version), "
           "any_value(a.content_hash), arg_max(v.title, v.version), arg_max(v.original_source, v.version), "
           "arg_max(v.author, v.version) FROM article_versions v LEFT JOIN articles a ON a.id = v.article_id "
           "WHERE v.article_id IN (SELECT id FROM _vids) GROUP BY 1")
    with _ids(con, ids):
        latest = {r[0]: [r[1], r[2], utc(r[3]), *r[4:]] for r in con.execute(sql).fetchall()}
    missing = sorted(set(ids) - set(latest))
    _seed_missing(con, missing, now)
    if missing:
        with _ids(con, missing):
            latest.update({r[0]: [r[1], r[2], utc(r[3]), *r[4:]] for r in con.execute(sql).fetchall()})
    return latest


def _insert_edits(con, edits: list[tuple[Article, int]]) -> None:
    """One `edited` event per new version, in one statement."""
    if not edits:
        return
    import pyarrow as pa
    from warehouse.times import TS
    con.register("_edits", pa.table({
        "article_id": pa.array([a.id for a, _ in edits], pa.string()),
        "source": pa.array([a.source for a, _ in edits], pa.string()),
        "happened_at": pa.array([utc(a.fetched_at) for a, _ in edits], TS),
        "version": pa.array([v for _, v in edits], pa.int32()),
        "final_url": pa.array([a.url_original or a.url for a, _ in edits], pa.string()),
        "run_id": pa.array([a.run_id for a, _ in edits], pa.string()),
        "warc_path": pa.array([a.warc_path for a, _ in edits], pa.string()),
        "warc_offset": pa.array([a.warc_offset for a, _ in edits], pa.int64())}))
    try:
        con.execute("INSERT INTO article_events (article_id, source, kind, happened_at, version, http_status, "
                    "final_url, run_id, warc_path, warc_offset) SELECT article_id, source, 'edited', happened_at, "
                    "version, 200, final_url, run_id, warc_path, warc_offset FROM _edits")
    finally:
        con.unregister("_edits")


def _materialise_first(con, rows: list[tuple[str, bytes, str]]) -> None:
    """Version 1 of these articles gets its full text (it was the article's, in `articles`) and its hash."""
    if not rows:
        return
    import pyarrow as pa
    con.register("_first", pa.table({"article_id": pa.array([p[0] for p in rows], pa.string()),
                                     "z": pa.array([p[1] for p in rows], pa.binary()),
                                     "h": pa.array([p[2] for p in rows], pa.string())}))
    try:
        con.execute("UPDATE article_versions SET text_z = f.z, content_hash = f.h FROM _first f "
                    "WHERE article_versions.article_id = f.article_id AND article_versions.version = 1 "
                    "AND article_versions.text_z IS NULL")
    finally:
        con.unregister("_first")


def _row(a: Article, version: int, h: str, blob: bytes | None, is_delta: bool, now: dt.datetime) -> list:
    return [a.id, version, utc(a.fetched_at), h, a.title, a.original_source, a.author, blob, is_delta,
            len(a.text or ""), a.extractor_version, a.run_id, a.warc_path, a.warc_offset, now]


def version_bytes(con: duckdb.DuckDBPyConnection, article_id: str, version: int) -> int:
    """Bytes one version costs in article_versions (its text blob and its short fields)."""
    r = con.execute("SELECT coalesce(octet_length(text_z), 0) + strlen(coalesce(title, '')) "
                    "+ strlen(coalesce(original_source, '')) + strlen(coalesce(author, '')) + 64 "
                    "FROM article_versions WHERE article_id = ? AND version = ?", [article_id, version]).fetchone()
    return int(r[0]) if r else 0


# ----------------------------------------------------------------------------- re-checks

def recheck_candidates(con: duckdb.DuckDBPyConnection, source: str) -> list[dict]:
    """Every stored article of a source with what a re-check needs: the URL to ask, its age,
    its last check and validators (the last check's, else its last fetch's); for a delisted
    article, the column it dropped out of (its delisted event's final_url: the column's first
    list page; None for a delisting recorded before columns were)."""
    cols = ["id", "url", "source", "published_at", "first_seen", "fetched_at", "last_checked_at",
            "etag", "last_modified", "failures", "first_failure_at", "removed", "delisted", "text_chars",
            "extractor_version", "warc_path", "warc_offset", "delisted_from"]
    rows = con.execute("""
        WITH d AS (SELECT article_id, arg_max(final_url, happened_at) AS col FROM article_events
                   WHERE source = $s AND kind = 'delisted' GROUP BY article_id),
        v AS (SELECT url, arg_max(etag, fetched_at) AS etag, arg_max(last_modified, fetched_at) AS lm
                   FROM crawl_urls WHERE source = $s AND kind = 'article' AND status BETWEEN 200 AND 299
                   GROUP BY url)
        SELECT a.id, coalesce(a.url_original, a.url), a.source, a.published_at, a.first_seen, a.fetched_at,
               c.last_checked_at, coalesce(c.etag, v1.etag, v2.etag), coalesce(c.last_modified, v1.lm, v2.lm),
               coalesce(c.failures, 0), c.first_failure_at,
               a.removed_at IS NOT NULL AND (a.restored_at IS NULL OR a.restored_at < a.removed_at),
               a.delisted_at IS NOT NULL, length(a.text), a.extractor_version, a.warc_path, a.warc_offset,
               CASE WHEN a.delisted_at IS NOT NULL THEN d.col END
        FROM articles a
        LEFT JOIN article_checks c ON c.article_id = a.id
        LEFT JOIN d ON d.article_id = a.id
        LEFT JOIN v v1 ON v1.url = a.url_original
        LEFT JOIN v v2 ON v2.url = a.url
        WHERE a.source = $s ORDER BY a.id""", {"s": source}).fetchall()
    return [dict(zip(cols, r)) for r in rows]


def apply_checks(con: duckdb.DuckDBPyConnection, checks: Sequence[dict], events: Sequence[dict],
                 delisted_cleared: Sequence[str] = ()) -> None:
    """Write one re-check's results in one transaction: the new check state of each article
    asked, the events (removed, restored, delisted) with their evidence, and the articles'
    removed_at / restored_at / delisted_at."""
    import pyarrow as pa
    from warehouse.times import TS
    table = pa.table({
        "article_id": pa.array([c["article_id"] for c in checks], pa.string()),
        "last_checked_at": pa.array([utc(c["checked_at"]) for c in checks], TS),
        "last_status": pa.array([c.get("status") for c in checks], pa.int32()),
        "last_outcome": pa.array([c["outcome"] for c in checks], pa.string()),
        "etag": pa.array([c.get("etag") for c in checks], pa.string()),
        "last_modified": pa.array([c.get("last_modified") for c in checks], pa.string()),
        "failures": pa.array([int(c.get("failures") or 0) for c in checks], pa.int32()),
        "first_failure_at": pa.array([utc(c["first_failure_at"]) if c.get("first_failure_at") else None
                                      for c in checks], TS)})
    with in_transaction(con):
        if checks:      # one statement for thousands of checks (executemany costs ~1 ms a row)
            con.register("_checks", table)
            try:
                con.execute("DELETE FROM article_checks WHERE article_id IN (SELECT article_id FROM _checks)")
                con.execute("INSERT INTO article_checks SELECT * FROM _checks")
            finally:
                con.unregister("_checks")
        for e in events:
            con.execute("INSERT INTO article_events (article_id, source, kind, happened_at, reason, http_status, final_url, "
                        "run_id, warc_path, warc_offset, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [e["article_id"], e["source"], e["kind"], utc(e["at"]), e.get("reason"), e.get("status"),
                         e.get("final_url"), e.get("run_id"), e.get("warc_path"), e.get("warc_offset"),
                         e.get("detail")])
            column = {"removed": "removed_at", "restored": "restored_at", "delisted": "delisted_at"}.get(e["kind"])
            if column:
                con.execute(f"UPDATE articles SET {column} = ? WHERE id = ?", [utc(e["at"]), e["article_id"]])
        if delisted_cleared:
            con.execute("UPDATE articles SET delisted_at = NULL WHERE id IN (SELECT unnest(?))",
                        [list(delisted_cleared)])


# ----------------------------------------------------------------------------- reading

def _require(con) -> None:
    """Readers do not migrate: a warehouse from before revisions says so in one line."""
    if not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'article_events'").fetchone()[0]:
        from warehouse.errors import WarehouseError
        raise WarehouseError("this warehouse has no revisions yet (written before them): any writing command, "
                             "e.g. `newsflow recheck`, migrates it")


def find_article(con: duckdb.DuckDBPyConnection, key: str) -> dict | None:
    """An article by id, URL or URL as fetched."""
    _require(con)
    cols = ["id", "url", "source", "title", "published_at", "first_seen", "last_seen", "removed_at",
            "restored_at", "delisted_at", "text"]
    r = con.execute(f"SELECT {', '.join(cols)} FROM articles WHERE id = $k OR url = $k OR url_original = $k "
                    "LIMIT 1", {"k": key}).fetchone()
    return dict(zip(cols, r)) if r else None


def history(con: duckdb.DuckDBPyConnection, key: str) -> dict | None:
    """One article, its versions (oldest first, with their full texts) and its events."""
    art = find_article(con, key)
    if art is None:
        return None
    cols = ["version", "fetched_at", "content_hash", "title", "original_source", "author", "text_z", "is_delta",
            "text_chars", "extractor_version", "run_id", "warc_path", "warc_offset"]
    rows = [dict(zip(cols, r)) for r in con.execute(
        f"SELECT {', '.join(cols)} FROM article_versions WHERE article_id = ? ORDER BY version", [art["id"]]).fetchall()]
    texts = version_texts([(r["version"], r["text_z"], r["is_delta"]) for r in rows], art["text"])
    for r, t in zip(rows, texts):
        r["bytes"] = len(r.pop("text_z") or b"")
        r["text"] = t
    ecols = ["kind", "happened_at AS at", "version", "reason", "http_status", "final_url", "run_id", "warc_path", "warc_offset",
             "detail"]
    events = [dict(zip([c.split(" AS ")[-1] for c in ecols], r)) for r in con.execute(
        f"SELECT {', '.join(ecols)} FROM article_events WHERE article_id = ? ORDER BY happened_at, kind", [art["id"]]).fetchall()]
    return {"article": art, "versions": rows, "events": events}


def changes(con: duckdb.DuckDBPyConnection, since: dt.date | None = None, source: str | None = None,
            kind: str | None = None, limit: int | None = None) -> list[dict]:
    """Events newest first, with their article's title and URL."""
    _require(con)
    where, params = ["true"], []
    if since:
        where.append("CAST(timezone('Asia/Shanghai', e.happened_at) AS DATE) >= ?")
        params.append(since)
    if source:
        where.append("e.source = ?")
        params.append(source)
    if kind:
        where.append("e.kind = ?")
        params.append(kind)
    cols = ["at", "source", "kind", "article_id", "url", "title", "version", "reason", "http_status", "final_url",
            "run_id", "warc_path", "warc_offset"]
    sql = (f"SELECT e.happened_at, e.source, e.kind, e.article_id, a.url, a.title, e.version, e.reason, e.http_status, "
           f"e.final_url, e.run_id, e.warc_path, e.warc_offset FROM article_events e "
           f"LEFT JOIN articles a ON a.id = e.article_id WHERE {' AND '.join(where)} "
           f"ORDER BY e.happened_at DESC, e.source, e.kind, a.url" + (f" LIMIT {int(limit)}" if limit else ""))
    return [dict(zip(cols, r)) for r in con.execute(sql, params).fetchall()]


def takedowns_since_ingest(con: duckdb.DuckDBPyConnection, sources: Sequence[str], run_id: str) -> list[dict]:
    """Takedowns (`removed` events) of these sources recorded since the previous ingest began (by
    re-checks in between, or during this run), oldest first: what an ingest's summary lists.
    The previous ingest: the latest crawl run of these sources before `run_id` that was no re-check;
    none: every takedown."""
    _require(con)
    (prev,) = con.execute(
        "SELECT max(started_at) FROM crawl_runs WHERE source IN (SELECT unnest($s)) AND run_id <> $r "
        "AND coalesce(mode, '') <> 'recheck' AND started_at < coalesce((SELECT min(started_at) FROM crawl_runs "
        "WHERE run_id = $r), now())", {"s": list(sources), "r": run_id}).fetchone()
    cols = ["at", "source", "article_id", "url", "title", "reason", "http_status", "final_url", "run_id"]
    rows = con.execute(
        "SELECT e.happened_at, e.source, e.article_id, a.url, a.title, e.reason, e.http_status, e.final_url, e.run_id "
        "FROM article_events e LEFT JOIN articles a ON a.id = e.article_id WHERE e.kind = 'removed' "
        "AND e.source IN (SELECT unnest($s)) AND ($p IS NULL OR e.happened_at >= $p) "
        "ORDER BY e.happened_at, e.source, a.url", {"s": list(sources), "p": prev}).fetchall()
    return [dict(zip(cols, r)) for r in rows]
