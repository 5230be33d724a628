"""The warehouse's named exceptions, each a branch of the one error table (schemas/errors.py);
only the CLI turns them into one-line messages and exit codes."""
from schemas.errors import BadInput, Busy, Failed



class WarehouseError(Failed):
    """Something is wrong with the warehouse file itself."""


class WarehouseBusy(Busy, WarehouseError):
    """Another process holds the DuckDB file and did not let go in time."""


class QueryError(BadInput, WarehouseError):
    """An ad-hoc query failed (bad SQL, missing table, ...)."""


class OutputError(WarehouseError):
    """A file or folder the user named (`export --output`, `report --output`) could not be
    written: read-only, full disk, a parent that is a file ... The warehouse is not at fault."""


class OutputRefused(BadInput, OutputError):
    """Writing there would replace something newsflow must keep or did not write: the
    warehouse or its archive, a folder that is not an earlier export, a file without --overwrite."""
