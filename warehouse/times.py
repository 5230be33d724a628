"""Times in and out of DuckDB: stored as TIMESTAMPTZ in UTC, handed over as Arrow microseconds.

Records carry aware times (published_at in Asia/Shanghai, fetched_at in UTC); a naive time is
a bug upstream and is refused rather than guessed at."""
from __future__ import annotations

import datetime as dt
from typing import Sequence

import pyarrow as pa

UTC = dt.timezone.utc
TS = pa.timestamp("us", tz="UTC")


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: records carry aware times")
    return value.astimezone(UTC)


def ts_array(values: Sequence[dt.datetime | None]) -> pa.Array:
    # python datetime -> arrow is slow per object; epoch microseconds as ints is ~10x faster
    # (an aware time's timestamp() is the same float as its UTC copy's: no astimezone per value)
    ints = [None if v is None else int((v if v.tzinfo is not None else utc(v)).timestamp() * 1_000_000)
            for v in values]
    return pa.array(ints, pa.int64()).cast(TS)
