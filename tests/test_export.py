"""`newsflow export`: re-running with --overwrite, what may be replaced, failures that leave the
target as it was, older warehouses. (The faults it fixed, through the CLI: test_faults_export.py.)"""
import datetime as dt
import json
import os
import stat
import subprocess
import sys

import pytest

from faults.helpers import small_warehouse
from warehouse import paths
from warehouse.errors import OutputError, OutputRefused
from warehouse.export import COLUMNS, export


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = tmp_path_factory.mktemp("exportdb") / "w.duckdb"
    small_warehouse(db)
    return db


def cli(*args):
    exe = os.path.join(os.path.dirname(sys.executable), "newsflow")
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=120)


def _hidden(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".newsflow-")]


def test_run_twice_with_overwrite_replaces_and_leaves_nothing_behind(db, tmp_path):
    out, parts = tmp_path / "a.csv", tmp_path / "parts"
    for _ in range(2):
        proc = cli("--db", db, "export", "--format", "csv", "--output", out, "--overwrite")
        assert proc.returncode == 0 and "5 articles written" in proc.stdout, proc.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6            # header + 5, not 11
    first = cli("--db", db, "export", "--format", "parquet", "--partition", "--output", parts)
    assert first.returncode == 0, first.stderr
    assert {p.relative_to(parts).as_posix() for p in parts.glob("year=*/month=*")} == {
        "year=2024/month=12", "year=2025/month=1", "year=2025/month=2", "year=NULL/month=NULL"}
    again = cli("--db", db, "export", "--format", "parquet", "--partition", "--output", parts, "--since", "2025-02-01",
                "--overwrite")
    assert again.returncode == 0 and "1 articles written" in again.stdout, again.stderr
    # replaced, not merged: the months the second export does not have are gone
    assert {p.relative_to(parts).as_posix() for p in parts.glob("year=*/month=*")} == {"year=2025/month=2"}
    marker = json.loads((parts / paths.MARKER).read_text(encoding="utf-8"))
    assert marker["rows"] == 1 and marker["filters"]["since"] == "2025-02-01" and marker["written_at"].endswith("+08:00")
    assert _hidden(tmp_path) == []
    for fmt in ("jsonl", "parquet"):                 # the other formats, twice each
        target = tmp_path / f"b.{fmt}"
        assert export(db, fmt, target) == 5
        with pytest.raises(OutputRefused, match="--overwrite"):
            export(db, fmt, target)
        assert export(db, fmt, target, overwrite=True) == 5
    assert _hidden(tmp_path) == []


def test_outputs_get_ordinary_permissions(db, tmp_path):
    old = os.umask(0o022)
    try:
        export(db, "csv", tmp_path / "a.csv")
        export(db, "parquet", tmp_path / "p", partition=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o755


def test_what_an_existing_target_may_be(db, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(db, "parquet", empty, partition=True) == 5           # an empty folder is used as it is
    assert (empty / paths.MARKER).is_file()
    (tmp_path / "empty2").mkdir()
    with pytest.raises(OutputRefused, match="is a folder"):
        export(db, "csv", tmp_path / "empty2")                           # a file is not written over a folder
    # a marked folder someone put a file into: not ours any more, even with --overwrite
    (empty / "year=2025" / "notes.txt").write_text("mine")
    with pytest.raises(OutputRefused, match="notes.txt"):
        export(db, "parquet", empty, partition=True, overwrite=True)
    assert (empty / "year=2025" / "notes.txt").read_text() == "mine"
    # a marker that is not ours
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / paths.MARKER).write_text("not json")
    with pytest.raises(OutputRefused, match="not an earlier newsflow export"):
        export(db, "parquet", fake, partition=True, overwrite=True)
    # with --overwrite a file may become a partitioned export and an export a file
    f = tmp_path / "x.parquet"
    f.write_bytes(b"old")
    assert export(db, "parquet", f, partition=True, overwrite=True) == 5 and paths.is_export(f)
    assert export(db, "parquet", f, partition=False, overwrite=True) == 5 and f.is_file()
    assert _hidden(tmp_path) == []


def test_a_failed_export_leaves_the_earlier_one_as_it_was(db, tmp_path, monkeypatch):
    parts = tmp_path / "parts"
    export(db, "parquet", parts, partition=True)
    before = sorted(p.relative_to(parts).as_posix() for p in parts.rglob("*"))

    def boom(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(paths, "mark", boom)
    with pytest.raises(OutputError, match="No space left"):
        export(db, "parquet", parts, partition=True, overwrite=True, since=dt.date(2025, 2, 1))
    assert sorted(p.relative_to(parts).as_posix() for p in parts.rglob("*")) == before
    assert _hidden(tmp_path) == []
    # a new file whose parent folders did not exist: the folders go again with the failure
    def cannot_rename(*a, **k):
        raise OutputError("cannot write: test")
    monkeypatch.setattr(paths, "_install", cannot_rename)
    with pytest.raises(OutputError):
        export(db, "csv", tmp_path / "new" / "deep" / "a.csv")
    assert not (tmp_path / "new").exists()


def test_older_warehouse_without_tags_or_url_original(tmp_path):
    import warehouse
    db = tmp_path / "old.duckdb"
    small_warehouse(db)
    with warehouse.connect(db) as con:
        con.execute("DROP VIEW articles_tagged; DROP VIEW daily_topic_counts; DROP TABLE article_tags; "
                    "ALTER TABLE articles DROP COLUMN url_original")
    assert export(db, "jsonl", tmp_path / "o.jsonl") == 5
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert list(rows[0]) == list(COLUMNS)
    assert all(r["topics"] == [] and r["url_original"] is None for r in rows)


def _reader(n_batches, fail_after=None):
    import pyarrow as pa
    schema = pa.schema([("id", pa.string())])

    def gen():
        for i in range(n_batches):
            if fail_after is not None and i == fail_after:
                raise RuntimeError("the query failed half-way")
            yield pa.record_batch([pa.array([f"a{i}"] * 1000)], schema=schema)
    return pa.RecordBatchReader.from_batches(schema, gen())


def test_parquet_writer_thread_hands_on_failures_either_side(tmp_path):
    import pyarrow.parquet as pq

    from warehouse.export import _write_file
    _write_file(_reader(50), tmp_path / "all.parquet")           # every batch, in order
    ids = pq.read_table(tmp_path / "all.parquet").column("id").to_pylist()
    assert len(ids) == 50_000 and ids[::1000] == [f"a{i}" for i in range(50)]
    with pytest.raises(RuntimeError, match="half-way"):         # the producing side's error, raised here
        _write_file(_reader(50, fail_after=7), tmp_path / "half.parquet")
    # the writing side fails at once: the producer, blocked on a full queue, stops too
    with pytest.raises(OSError):
        _write_file(_reader(10_000), tmp_path / "no" / "such" / "folder" / "x.parquet")
    import threading
    assert not [t for t in threading.enumerate() if t.name == "export-batches"]
