"""Where a flow run's warehouse and archive are, when its parameters leave them out.

The CLI reads --db/--warehouse/--archive/--spool and their NEWSFLOW_* variables (flows/cli/app.py)
and passes what it found to the flows. A deployment's run on a worker has no command line: its
parameters come from prefect.yaml or `run_deployment`, and the scale-out setup (README, "Scaling
out") sets NEWSFLOW_WAREHOUSE and NEWSFLOW_ARCHIVE on every machine. So a flow parameter left
out (None) is read here from the same variables, with the CLI's precedence and defaults:
the lake URL over the file, `spool/` next to the file for an S3 archive, else `archive/` there.
A parameter given is never overridden.
"""
from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = "data/newsflow.duckdb"


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def warehouse_of(db: str | None) -> str:
    """The warehouse: `db` if given, else $NEWSFLOW_WAREHOUSE, else $NEWSFLOW_DB, else the default file."""
    return db or _env("NEWSFLOW_WAREHOUSE") or _env("NEWSFLOW_DB") or DEFAULT_DB


def _local_base(db: str | None) -> Path:
    """The folder the local archive or spool defaults sit in: beside the DuckDB file (for a lake,
    beside $NEWSFLOW_DB or the default file, as the CLI's --db places them)."""
    from warehouse.lake import is_lake
    file_db = db if db and not is_lake(db) else (_env("NEWSFLOW_DB") or DEFAULT_DB)
    return Path(file_db).parent


def archive_of(db: str | None, archive_dir: str | None, archive_url: str | None) -> tuple[str, str | None]:
    """(archive_dir, archive_url): the local archive folder, or an S3 archive's spool and its URL.

    archive_url given: archive_dir is its spool (default $NEWSFLOW_SPOOL, else `spool/` by the db).
    archive_dir given alone: a local archive. Neither: $NEWSFLOW_ARCHIVE as the CLI reads it."""
    base = _local_base(db)
    if archive_url is None and archive_dir is None:
        setting = _env("NEWSFLOW_ARCHIVE")
        if setting and setting.startswith("s3://"):
            archive_url = setting
        elif setting:
            return setting, None
    if archive_url:
        return archive_dir or _env("NEWSFLOW_SPOOL") or str(base / "spool"), archive_url
    return archive_dir or str(base / "archive"), None


def resolve(db: str | None, archive_dir: str | None = None,
            archive_url: str | None = None) -> tuple[str, str, str | None]:
    """(warehouse, archive_dir, archive_url) for a flow run: see the module docstring."""
    archive_dir, archive_url = archive_of(db, archive_dir, archive_url)
    return warehouse_of(db), archive_dir, archive_url
