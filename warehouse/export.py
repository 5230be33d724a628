"""Exports of articles to Parquet (optionally partitioned by month), CSV or JSON lines,
written by DuckDB's COPY straight from a read-only connection (no rows through Python)."""
from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from warehouse.errors import WarehouseError
from warehouse.reader import reader

FORMATS = ("parquet", "csv", "jsonl")
COLUMNS = ("id, url, source, title, published_at, original_source, author, editor, language, "
           "script, column_name, quality, text, first_seen, last_seen")
PARTITION_ROWS = 100_000      # above this, Parquet exports are partitioned by month


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def export(db: str | Path, fmt: str, output: str | Path, since: dt.date | None = None,
           source: str | None = None, topic: str | None = None,
           partition: bool | None = None, say=None) -> int:
    """Write the selected articles; returns the row count. `partition=None` partitions Parquet
    by month (year=YYYY/month=MM/*.parquet under `output`) when the export is large."""
    if fmt not in FORMATS:
        raise WarehouseError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    output = Path(output)
    where = ["TRUE"]
    if since:
        where.append(f"published_at >= DATE {_lit(since.isoformat())}")
    if source:
        where.append(f"source = {_lit(source)}")
    if topic:
        where.append(f"id IN (SELECT article_id FROM article_tags WHERE kind = 'topic' AND tag = {_lit(topic)})")
    select = (f"SELECT {COLUMNS}, year(published_at) AS year, month(published_at) AS month "
              f"FROM articles WHERE {' AND '.join(where)} ORDER BY published_at NULLS LAST, id")
    with reader(db, say=say) as wh:     # the snapshot while a load holds the warehouse
        con = wh.con
        if topic and not con.execute("SELECT count(*) FROM information_schema.tables "
                                     "WHERE table_name = 'article_tags'").fetchone()[0]:
            raise WarehouseError("no topic tags in this warehouse yet (run an ingest or `newsflow retag`)")
        n = con.execute(f"SELECT count(*) FROM ({select})").fetchone()[0]
        if partition is None:
            partition = fmt == "parquet" and n > PARTITION_ROWS
        output.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet" and partition:
            if output.exists():
                shutil.rmtree(output) if output.is_dir() else output.unlink()
            con.execute(f"COPY ({select}) TO {_lit(str(output))} "
                        "(FORMAT parquet, PARTITION_BY (year, month), COMPRESSION zstd)")
        elif fmt == "parquet":
            con.execute(f"COPY ({select}) TO {_lit(str(output))} (FORMAT parquet, COMPRESSION zstd)")
        elif fmt == "csv":
            con.execute(f"COPY ({select}) TO {_lit(str(output))} (FORMAT csv, HEADER)")
        else:
            con.execute(f"COPY ({select}) TO {_lit(str(output))} (FORMAT json)")
    return n
