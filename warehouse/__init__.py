"""The only code that talks to DuckDB: connections, migrations, idempotent batch loads, queries."""
from warehouse.errors import QueryError, WarehouseBusy, WarehouseError
from warehouse.store import (REEXTRACT_FIELDS, LoadResult, LoadSession, articles_for_reextract,
                             set_extractor_version, connect, known_urls, load_articles, load_rejected,
                             query, record_crawl_runs, update_run_counts)

__all__ = ["REEXTRACT_FIELDS", "LoadResult", "LoadSession", "articles_for_reextract",
           "set_extractor_version", "QueryError", "WarehouseBusy", "WarehouseError", "connect",
           "known_urls", "load_articles", "load_rejected", "query", "record_crawl_runs",
           "update_run_counts"]
