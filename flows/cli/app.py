"""The `newsflow` group: global options and the one translation of errors into exit codes."""
from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_DB = "data/newsflow.duckdb"


class NewsflowGroup(click.Group):
    """The one place errors become messages: a NewsflowError is one line on stderr and its
    exit code (schemas/errors.py has the table); anything else is a bug and keeps its traceback."""

    def invoke(self, ctx):
        from schemas.errors import NewsflowError
        try:
            return super().invoke(ctx)
        except NewsflowError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=NewsflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", envvar="NEWSFLOW_DB", default=DEFAULT_DB, show_default=True,
              help="DuckDB warehouse file (env NEWSFLOW_DB).")
@click.option("--warehouse", "warehouse_url", envvar="NEWSFLOW_WAREHOUSE", default=None, metavar="URL",
              help="A DuckLake warehouse instead of the --db file: ducklake:postgres:<libpq key=value "
                   "...>?data_path=s3://bucket/prefix/ (PostgreSQL catalog, Parquet on S3-compatible storage; "
                   "S3 endpoint and credentials from the AWS_* environment). Many processes may load it at "
                   "once. --db then only places the local archive/spool (env NEWSFLOW_WAREHOUSE).")
@click.option("--archive", "archive", envvar="NEWSFLOW_ARCHIVE", default=None,
              help="WARC archive: a folder, or s3://bucket/prefix on S3-compatible object storage (endpoint "
                   "and credentials from the AWS_* environment) (env NEWSFLOW_ARCHIVE; default: 'archive' "
                   "next to the db).")
@click.option("--spool", "spool", envvar="NEWSFLOW_SPOOL", default=None,
              help="With an s3:// archive: the local folder crawls write into before their WARC files are "
                   "uploaded (env NEWSFLOW_SPOOL; default: 'spool' next to the db).")
@click.option("--registry", envvar="NEWSFLOW_REGISTRY", default=None,
              help="Source registry TOML (default: the bundled crawlers/sources.toml).")
@click.option("--wait", "wait", envvar="NEWSFLOW_WAIT", type=float, default=None, metavar="SECONDS",
              help="How long a writing command waits for a run in progress or a process holding the "
                   "warehouse before it gives up with exit 4 (env NEWSFLOW_WAIT; default: 6 h for a run, "
                   "30 s for the warehouse file).")
@click.pass_context
def main(ctx, db, warehouse_url, archive, spool, registry, wait):
    """newsflow: follow what Chinese provincial governments and media publish.

    \b
    Example:
      newsflow ingest --mirror        # crawl the bundled mirror, load data/newsflow.duckdb
      newsflow sql "select source, count(*) from articles group by 1"
      newsflow --archive s3://news/warc crawl --mirror gxzf   # WARC files on object storage
      newsflow --warehouse "ducklake:postgres:host=127.0.0.1 dbname=lake?data_path=s3://news/lake/" ingest --mirror
    """
    ctx.ensure_object(dict)
    if warehouse_url:
        from warehouse.lake import LakeURL
        LakeURL.parse(warehouse_url)        # a malformed URL: one line and exit 1, before any work
    # the warehouse every command opens: the lake URL, or the DuckDB file
    ctx.obj["db"] = warehouse_url or db
    # the archive the pipeline writes and reads locally: the archive folder, or an S3 archive's
    # spool (crawls write there; crawlers/storage.py uploads finished WARC files)
    if archive and archive.startswith("s3://"):
        ctx.obj["archive_url"] = archive
        ctx.obj["archive"] = spool or str(Path(db).parent / "spool")
    else:
        ctx.obj["archive_url"] = None
        ctx.obj["archive"] = archive or str(Path(db).parent / "archive")
    ctx.obj["registry"] = registry
    ctx.obj["wait"] = wait
