"""Times in and out of DuckDB: stored as TIMESTAMPTZ in UTC, handed over as Arrow microseconds.

Records carry aware times (published_at in Asia/Shanghai, fetched_at in UTC); a naive time is
a bug upstream and is refused rather than guessed at."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import pyarrow as pa
import pyarrow.compute as pc

UTC = dt.timezone.utc
TS = pa.timestamp("us", tz="UTC")


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: records carry aware times")
    return value.astimezone(UTC)


def ts_array(values: Sequence[dt.datetime | None]) -> pa.Array:
    """Aware times as a UTC microsecond Arrow array; a naive one is refused (ValueError)."""
    for v in values:
        if v is not None and v.tzinfo is None:
            utc(v)      # raises
    try:
        exact = pa.array(values, TS)    # pyarrow applies each value's utcoffset(): exact microseconds
    except (pa.ArrowException, TypeError, ValueError):
        return _ts_array_slow(values)
    # the figure stored since the first load, int(v.timestamp() * 1e6): float seconds (Python's
    # int / int division and IEEE division round alike), scaled and truncated, off by a microsecond
    # from `exact` now and then; kept so that a reload compares equal. 3x cheaper than a
    # timestamp() per value (zoneinfo's utcoffset from Python)
    secs = pc.divide(exact.cast(pa.int64()).cast(pa.float64()), 1_000_000.0)
    return pc.trunc(pc.multiply(secs, 1_000_000.0)).cast(pa.int64()).cast(TS)


def _ts_array_slow(values: Sequence[dt.datetime | None]) -> pa.Array:
    # python datetime -> arrow per object is slow; epoch microseconds as ints is ~10x faster
    ints = [None if v is None else int(utc(v).timestamp() * 1_000_000) for v in values]
    return pa.array(ints, pa.int64()).cast(TS)
