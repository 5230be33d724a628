"""The only code that talks to DuckDB: connections, migrations, idempotent batch loads, reads
(with the snapshot fallback and the locked-down reader for analysts' SQL)."""
from warehouse.errors import QueryError, WarehouseBusy, WarehouseError
from warehouse.reader import QueryResult, ReadableFiles, Reader, query, reader, tagged_topics
from warehouse.store import (REEXTRACT_FIELDS, LoadResult, LoadSession, articles_for_reextract,
                             publish_snapshot, snapshot_path,
                             set_extractor_version, connect, known_urls, load_articles, load_rejected,
                             record_crawl_runs, add_run_counts)
from warehouse.lake import exists, is_lake, label, retrying
from warehouse.runs import crawl_state, mark_processed, recent_runs, record_crawl_state, recorded_runs

__all__ = ["REEXTRACT_FIELDS", "LoadResult", "LoadSession", "articles_for_reextract",
           "publish_snapshot", "snapshot_path",
           "set_extractor_version", "QueryError", "WarehouseBusy", "WarehouseError", "connect",
           "known_urls", "load_articles", "load_rejected", "query", "record_crawl_runs",
           "add_run_counts", "QueryResult", "ReadableFiles", "Reader", "reader", "tagged_topics",
           "exists", "is_lake", "label", "retrying", "crawl_state", "mark_processed", "recent_runs", "record_crawl_state", "recorded_runs"]
