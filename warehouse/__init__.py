"""The only code that talks to DuckDB: connections, migrations, idempotent batch loads, queries."""
from warehouse.errors import QueryError, WarehouseBusy, WarehouseError
from warehouse.store import (LoadResult, LoadSession, connect, known_urls, load_articles, load_rejected,
                             query, record_crawl_runs, update_run_counts)

__all__ = ["LoadResult", "LoadSession", "QueryError", "WarehouseBusy", "WarehouseError", "connect",
           "known_urls", "load_articles", "load_rejected", "query", "record_crawl_runs",
           "update_run_counts"]
