"""DuckDB extensions loaded offline from the pinned PyPI wheels (duckdb-ext-*), never downloaded.

The wheels put `<name>.duckdb_extension` files for the pinned DuckDB under the `duckdb_ext`
package; `LOAD '<path>'` loads one without touching the network (connections keep
autoinstall/autoload off so DuckDB never fetches one behind our back).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from warehouse.errors import WarehouseError

# extension -> the wheel that ships it (for the error message)
WHEELS = {"fts": "duckdb-ext-fts", "ducklake": "duckdb-ext-ducklake",
          "postgres_scanner": "duckdb-ext-postgres", "httpfs": "duckdb-ext-httpfs"}


@lru_cache(maxsize=None)
def path(name: str) -> str:
    """The file of extension `name` (e.g. 'ducklake', 'postgres_scanner', 'httpfs', 'fts')."""
    try:
        import duckdb_ext
    except ImportError as exc:
        raise WarehouseError(f"the DuckDB extension {name} is not installed (pip install "
                             f"{WHEELS.get(name, 'duckdb-ext-' + name)}; `make install` does)") from exc
    base = Path(duckdb_ext.__file__).parent if getattr(duckdb_ext, "__file__", None) else \
        Path(list(duckdb_ext.__path__)[0])
    found = next(base.rglob(f"{name}.duckdb_extension"), None)
    if found is None:
        raise WarehouseError(f"the DuckDB extension {name} is not installed (pip install "
                             f"{WHEELS.get(name, 'duckdb-ext-' + name)}; `make install` does)")
    return str(found)


def load(con, *names: str) -> None:
    """LOAD each extension from its wheel's file."""
    for name in names:
        con.execute("LOAD '" + path(name).replace("'", "''") + "'")
