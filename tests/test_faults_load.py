"""What the 20,000-page soak (bench/bench_soak.py, not part of the suite) found: a query running
over 2 s made DuckDB draw its progress bar on stdout, in the middle of machine-readable output
(`newsflow ingest --json` printed two bars before the JSON). Every connection now turns it off."""
import json

import warehouse
from faults.helpers import record, run


def test_no_progress_bar_on_any_connection(tmp_path, request):
    db = tmp_path / "w.duckdb"
    for read_only in (False, True):
        with warehouse.connect(db, read_only=read_only) as con:
            assert con.execute("select current_setting('enable_progress_bar')").fetchone()[0] is False
    with warehouse.reader(db, files=warehouse.ReadableFiles.default()) as rd:      # `newsflow sql`'s
        assert rd.con.execute("select current_setting('enable_progress_bar')").fetchone()[0] is False
    proc = run("--db", db, "sql", "--format", "json", "select 1 as one", tmp_path=tmp_path, check=0)
    assert json.loads(proc.stdout) == [{"one": 1}]
    record(request, crashes=0)
