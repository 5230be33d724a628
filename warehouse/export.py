"""Exports of articles to Parquet (optionally partitioned by month), CSV or JSON lines, from a
read-only connection: CSV and JSON lines by DuckDB's COPY, Parquet by pyarrow from DuckDB's
Arrow batches (below); no row goes through Python objects.

Every export carries each article's tags (topics, places, partners, keywords, best first),
`url_original`, images and attachments: lists in Parquet and JSON lines, `;`-joined in CSV
(image and attachment URLs only; their captions and names are in the other two formats).

Times are Asia/Shanghai with the offset, the same instant in every format: CSV and JSON lines
write ISO 8601 text (`2025-01-06T00:00:00+08:00`), Parquet a UTC-adjusted timestamp whose Arrow
schema says Asia/Shanghai (pyarrow reads it as +08:00, and so pandas through pyarrow; DuckDB
shows it in its session zone). `year`/`month` are the Asia/Shanghai calendar month, as are the partitions.

Row order: CSV and JSON lines come sorted by publication time (then id), for people who read
them top to bottom. Parquet comes in the warehouse's storage order (the order articles were
loaded; month by month when partitioned): sorting costs more than it gives, Parquet's readers
sort as they read (`ORDER BY published_at`).

Parquet is written by pyarrow from DuckDB's Arrow batches, not by DuckDB's COPY: a warehouse of
up to ~123k articles is one DuckDB row group, which COPY reads, encodes and compresses on one
thread. Here DuckDB makes the next batch on one thread while pyarrow compresses the last one on
the other (zstd level 3, sizes within 3% of COPY's). bench_export, 100k articles with 11 tags
each on this 2-core machine: COPY 36k rows/s, one thread for both 54k, the two threads 66k;
partitioned, pyarrow's dataset writer 59k against COPY's 41k. The session zone (Asia/Shanghai)
is in the batches' timestamp type, which pyarrow stores as the file's Arrow schema.

Where the output goes is warehouse/paths.py's business: never over the warehouse or the
archive, an existing file only with `overwrite`, a folder only over an earlier export, written
under a temporary name and renamed into place.
"""
from __future__ import annotations

import datetime as dt
import queue
import threading
from pathlib import Path
from typing import Iterable

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from warehouse import paths
from warehouse.errors import OutputError, WarehouseError
from warehouse.reader import reader

FORMATS = ("parquet", "csv", "jsonl")
TZ = "Asia/Shanghai"
PARTITION_ROWS = 100_000      # above this, Parquet exports are partitioned by month
TAG_KINDS = (("topics", "topic"), ("places", "place"), ("partners", "partner"), ("keywords", "keyword"))
TIMES = ("published_at", "first_seen", "last_seen")
# (column, fallback for a warehouse from before the migration that added it)
_ARTICLE_COLUMNS = (
    ("id", None), ("url", None), ("url_original", "NULL::VARCHAR"), ("source", None), ("title", None),
    ("published_at", None), ("original_source", None), ("author", None), ("editor", None),
    ("language", None), ("script", "NULL::VARCHAR"), ("column_name", "NULL::VARCHAR"),
    ("quality", "NULL::DOUBLE"))
_AFTER_TAGS = (("images", "[]::STRUCT(src VARCHAR, caption VARCHAR)[]"),
               ("attachments", "[]::STRUCT(url VARCHAR, name VARCHAR)[]"),
               ("text", None), ("first_seen", None), ("last_seen", None))
COLUMNS = tuple(c for c, _ in _ARTICLE_COLUMNS) + tuple(c for c, _ in TAG_KINDS) + \
    tuple(c for c, _ in _AFTER_TAGS) + ("year", "month")


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _iso(col: str) -> str:
    """ISO 8601 text with the offset, in the session's TimeZone (export sets Asia/Shanghai);
    microseconds only when there are some, as Python's isoformat. strftime's %z gives `+08`
    for whole hours (`+08:05:43` for the zone's 1900 local mean time): `:00` completes it.
    (Converting with timezone() and computing the offset by hand costs 3x as much.)"""
    text = (f"CASE WHEN microsecond({col}) % 1000000 = 0 THEN strftime({col}, '%Y-%m-%dT%H:%M:%S%z') "
            f"ELSE strftime({col}, '%Y-%m-%dT%H:%M:%S.%f%z') END")
    return f"CASE WHEN substr({text}, -3, 1) IN ('+', '-') THEN {text} || ':00' ELSE {text} END"


def _has(con: duckdb.DuckDBPyConnection, table: str, column: str | None = None) -> bool:
    sql = "SELECT count(*) FROM information_schema.columns WHERE table_name = ?"
    return con.execute(sql + (" AND column_name = ?" if column else ""),
                       [table, column] if column else [table]).fetchone()[0] > 0


def _select(con: duckdb.DuckDBPyConnection, fmt: str, where: list[str]) -> str:
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'articles'").fetchall()}
    tags = _has(con, "article_tags")

    def col(name: str, fallback: str | None) -> str:
        expr = f"a.{name}" if name in have or fallback is None else fallback
        if fmt != "parquet" and name in TIMES:
            expr = _iso(expr)
        elif fmt == "csv" and name == "images":
            expr = f"array_to_string(list_transform({expr}, lambda x: x.src), ';')"
        elif fmt == "csv" and name == "attachments":
            expr = f"array_to_string(list_transform({expr}, lambda x: x.url), ';')"
        return f"{expr} AS {name}"

    out = [col(n, f) for n, f in _ARTICLE_COLUMNS]
    for name, kind in TAG_KINDS:
        expr = f"coalesce(t.{name}, []::VARCHAR[])" if tags else "[]::VARCHAR[]"
        if fmt == "csv":
            expr = f"array_to_string({expr}, ';')"
        out.append(f"{expr} AS {name}")
    out += [col(n, f) for n, f in _AFTER_TAGS]
    out += [f"year(timezone('{TZ}', a.published_at)) AS year",
            f"month(timezone('{TZ}', a.published_at)) AS month"]
    join = ""
    if tags:
        # best first (score descending, no score last, then by tag): one list per article and
        # kind, sorted as (−score, tag) pairs, then one row per article. An ordered list()
        # aggregate with a FILTER per kind costs 3x the CPU (1.1M tags: 3.0 s against 1.0 s)
        kinds = ", ".join(f"'{kind}'" for _, kind in TAG_KINDS)
        per_kind = ("SELECT article_id, kind, list_transform(list_sort(list({'s': coalesce(-score, 'infinity'::DOUBLE), "
                    f"'t': tag}})), lambda x: x.t) AS l FROM article_tags WHERE kind IN ({kinds}) GROUP BY article_id, kind")
        pivot = ", ".join(f"any_value(l) FILTER (WHERE kind = '{kind}') AS {name}" for name, kind in TAG_KINDS)
        join = f"LEFT JOIN (SELECT article_id, {pivot} FROM ({per_kind}) GROUP BY article_id) t ON t.article_id = a.id"
    order = "" if fmt == "parquet" else " ORDER BY a.published_at NULLS LAST, a.id"    # see the docstring
    return f"SELECT {', '.join(out)} FROM articles a {join} WHERE {' AND '.join(where)}{order}"


BATCH_ROWS = 20_000         # one Parquet row group each: DuckDB reads a file of several in parallel
_ZSTD = {"compression": "zstd", "compression_level": 3}


def _batches(con: duckdb.DuckDBPyConnection, select: str) -> pa.RecordBatchReader:
    return con.execute(select).fetch_record_batch(BATCH_ROWS)


def _write_file(batches: pa.RecordBatchReader, path: Path) -> None:
    """One Parquet file, DuckDB making batches in a second thread while this one compresses
    (pyarrow releases the GIL there; two batches in flight bound the memory)."""
    ready: queue.Queue = queue.Queue(2)
    stop = threading.Event()
    failed: list[BaseException] = []

    def produce():
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ready.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as exc:      # handed to the writing thread, which raises it
            failed.append(exc)
        ready.put(None)

    producer = threading.Thread(target=produce, name="export-batches", daemon=True)
    producer.start()
    try:
        with pq.ParquetWriter(path, batches.schema, **_ZSTD) as writer:
            while (batch := ready.get()) is not None:
                writer.write_batch(batch)
    finally:
        stop.set()
        while producer.is_alive():       # let a producer blocked on a full queue see the stop
            try:
                ready.get(timeout=0.1)
            except queue.Empty:
                pass
        producer.join()
    if failed:
        raise failed[0]


def _write_months(batches: pa.RecordBatchReader, folder: Path) -> None:
    """year=YYYY/month=M/data_0.parquet under `folder`, as DuckDB's PARTITION_BY lays it out
    (undated articles under year=NULL/month=NULL)."""
    keys = pa.schema([batches.schema.field("year"), batches.schema.field("month")])
    options = pads.ParquetFileFormat().make_write_options(**_ZSTD)
    pads.write_dataset(batches, folder, format="parquet", file_options=options,
                       partitioning=pads.HivePartitioning(keys, null_fallback="NULL"),
                       basename_template="data_{i}.parquet", existing_data_behavior="overwrite_or_ignore",
                       preserve_order=True)


def export(db: str | Path, fmt: str, output: str | Path, since: dt.date | None = None,
           source: str | None = None, topic: str | None = None, partition: bool | None = None,
           overwrite: bool = False, archive: str | Path | None = None,
           protect: Iterable[tuple[str | Path | None, str]] = (), say=None,
           ids: pa.Table | None = None) -> int:
    """Write the selected articles; returns the row count. `partition=None` partitions Parquet
    by month (year=YYYY/month=M/*.parquet under `output`) when the export is large.
    `archive` (default: `archive` next to `db`) and `protect` ((path, what) pairs) are refused
    as outputs along with the warehouse's own files; see warehouse/paths.py. `ids` (a table
    with an `id` column: the explorer's current result) keeps only those articles."""
    if fmt not in FORMATS:
        raise WarehouseError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    target = paths.refuse_protected(output, paths.protected_paths(db, archive, protect))
    paths.existing(target, output, overwrite)       # before any work: a folder not ours, a file without --overwrite
    where = ["TRUE"]
    if since:
        where.append(f"a.published_at >= timezone('{TZ}', TIMESTAMP {_lit(since.isoformat())})")
    if source:
        where.append(f"a.source = {_lit(source)}")
    with reader(db, say=say) as wh:     # the snapshot while a load holds the warehouse
        con = wh.con
        if ids is not None:
            con.register("_export_ids", ids.select(["id"]))
            where.append("a.id IN (SELECT id FROM _export_ids)")
        if topic:
            if not _has(con, "article_tags"):
                raise WarehouseError("no topic tags in this warehouse yet (run an ingest or `newsflow retag`)")
            where.append(f"a.id IN (SELECT article_id FROM article_tags WHERE kind = 'topic' AND tag = {_lit(topic)})")
        con.execute(f"SET TimeZone = '{TZ}'")       # what _iso renders in
        select = _select(con, fmt, where)
        n = con.execute(f"SELECT count(*) FROM articles a WHERE {' AND '.join(where)}").fetchone()[0]
        if partition is None:
            partition = fmt == "parquet" and n > PARTITION_ROWS
        partition = bool(partition) and fmt == "parquet"
        with paths.replacing(output, target, "folder" if partition else "file", overwrite) as tmp:
            try:
                if fmt == "parquet":
                    (_write_months if partition else _write_file)(_batches(con, select), tmp)
                else:
                    opts = "FORMAT csv, HEADER" if fmt == "csv" else "FORMAT json"
                    # ours is the temporary name already; DuckDB's own would be left behind on failure
                    con.execute(f"COPY ({select}) TO {_lit(str(tmp))} ({opts}, USE_TMP_FILE false)")
            except (duckdb.Error, OSError, pa.ArrowException) as exc:
                # the output's fault (read-only, full disk ...), not the warehouse's
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise OutputError(f"cannot write {output}: {getattr(exc, 'strerror', None) or first}") from exc
            if partition:
                try:
                    paths.mark(tmp, format="parquet", partitioned=True, rows=n,
                               filters={"since": since.isoformat() if since else None, "source": source,
                                        "topic": topic})
                except OSError as exc:
                    raise OutputError(f"cannot write {output}: {exc.strerror or exc}") from exc
    return n
