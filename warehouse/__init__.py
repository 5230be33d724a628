"""The only code that talks to DuckDB: connections, migrations, idempotent batch loads, queries."""
from warehouse.errors import QueryError, WarehouseBusy, WarehouseError
from warehouse.store import (REEXTRACT_FIELDS, LoadResult, LoadSession, articles_for_reextract,
                             publish_snapshot, snapshot_path,
                             set_extractor_version, connect, known_urls, load_articles, load_rejected,
                             query, record_crawl_runs, add_run_counts)
from warehouse.runs import crawl_state, mark_processed, recent_runs, record_crawl_state, recorded_runs

__all__ = ["REEXTRACT_FIELDS", "LoadResult", "LoadSession", "articles_for_reextract",
           "publish_snapshot", "snapshot_path",
           "set_extractor_version", "QueryError", "WarehouseBusy", "WarehouseError", "connect",
           "known_urls", "load_articles", "load_rejected", "query", "record_crawl_runs",
           "add_run_counts", "crawl_state", "mark_processed", "recent_runs", "record_crawl_state",
           "recorded_runs"]
