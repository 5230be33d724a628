"""Named exceptions; only the CLI turns them into one-line messages and exit codes."""


class WarehouseError(Exception):
    """Something is wrong with the warehouse file itself."""


class WarehouseBusy(WarehouseError):
    """Another process holds the DuckDB file and did not let go in time."""


class QueryError(WarehouseError):
    """An ad-hoc query failed (bad SQL, missing table, ...)."""
