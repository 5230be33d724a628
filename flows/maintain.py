"""The warehouse's own upkeep as a Prefect flow: on a DuckLake, flush inlined rows, merge
adjacent small Parquet files, expire old snapshots and delete the files they no longer need
(warehouse/lake.py: maintain); on a DuckDB file, a CHECKPOINT.

Why a schedule: every load commit on a lake is a snapshot and a few small files (a chunk's
articles, tags, postings, the guard row); left alone, reads open more and more files. Expiring a
snapshot ends time travel to it; files are deleted only `cleanup_hours` after they were
scheduled for deletion, so a long analyst query still scanning them keeps working.

Deployment: `maintain` in prefect.yaml, daily at 04:50 Asia/Shanghai (after the 03:30 re-check).
"""
from __future__ import annotations

import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger  # noqa: E402


def maintain(db: str, expire_hours: float = 24.0, cleanup_hours: float = 24.0, lock_wait: float = 6 * 3600,
             on_wait=None) -> dict:
    """Run the upkeep on `db` (a DuckDB file or a lake URL); what each step returned. On a file
    it waits for the run lock first (a load in progress holds the file's only write handle);
    a lake takes it beside running loads."""
    import warehouse
    from flows.lock import run_lock
    from warehouse.lake import maintain as run
    from warehouse.transactions import is_lake_con
    with run_lock(db, wait=lock_wait, on_wait=on_wait), warehouse.connect(db) as con:
        m = run(con, is_lake_con(con), expire_older_than_h=expire_hours, cleanup_older_than_h=cleanup_hours)
    return {"backend": m.backend, "steps": dict(m.steps), "seconds": m.seconds, "warehouse": warehouse.label(db)}


@flow(name="maintain")
def maintain_flow(db: str | None = None, expire_hours: float = 24.0, cleanup_hours: float = 24.0) -> dict:
    """Lake upkeep (merge adjacent files, expire snapshots, clean up old files); CHECKPOINT on a file.
    `db` left out: $NEWSFLOW_WAREHOUSE, else $NEWSFLOW_DB, else the default file (flows/settings.py)."""
    from flows.settings import warehouse_of
    result = maintain(warehouse_of(db), expire_hours, cleanup_hours, on_wait=get_run_logger().warning)
    get_run_logger().info("maintenance of %s: %s in %.1f s", result["warehouse"],
                          ", ".join(f"{k} {v}" for k, v in result["steps"].items()), result["seconds"])
    return result
