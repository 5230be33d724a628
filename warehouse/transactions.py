"""One way to run statements in a transaction: commit on a clean exit, roll back on any error.

On a writable DuckLake connection (warehouse/lake.py) every transaction also bumps the lake's
guard row first, so two write transactions that overlap conflict at COMMIT instead of both
inserting the same "new" rows; the loser retries its unit of work (lake.retrying)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import duckdb

_LAKE: set[int] = set()      # id() of the open writable lake connections


def mark_lake(con: duckdb.DuckDBPyConnection) -> None:
    _LAKE.add(id(con))


def unmark_lake(con: duckdb.DuckDBPyConnection) -> None:
    _LAKE.discard(id(con))


def is_lake_con(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` writes a DuckLake (and so needs the guard and the conflict retries)."""
    return id(con) in _LAKE


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        if id(con) in _LAKE:
            con.execute("UPDATE lake_guards SET n = n + 1 WHERE name = 'writes'")
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
