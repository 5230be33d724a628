"""What a user types into `export --output` (and `report --output`, `sql`) never loses data:
no folder we did not write is deleted, the warehouse and its archive are never written over,
an existing file needs --overwrite, an output that cannot be written is named as the culprit.
And exports agree with each other on time and carry the tags (issue 18).

Each test runs the installed `newsflow` on a real small DuckDB warehouse (five articles and
their tags, written without a crawl: tests/faults/helpers.small_warehouse).
"""
import csv
import hashlib
import json
import os
import shutil
import subprocess
import uuid

import pytest

from faults.helpers import fsize_limit, record, run, small_warehouse


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data folder as `ingest` leaves it: warehouse, snapshot, run lock and WARC archive
    (no test may change it: each checks it is byte for byte as it was)."""
    d = tmp_path_factory.mktemp("export") / "data"
    d.mkdir()
    db = d / "newsflow.duckdb"
    small_warehouse(db)
    shutil.copyfile(db, d / "newsflow.snapshot.duckdb")
    (d / "newsflow.duckdb.lock").write_text("pid 1\n")
    warc = d / "archive" / "gxzf" / "r1.warc.gz"
    warc.parent.mkdir(parents=True)
    warc.write_bytes(os.urandom(4096))
    return {"dir": d, "db": db, "warc": warc, "tree": _tree(d)}


def _one_line_error(proc):
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "written" not in proc.stdout and "Traceback" not in proc.stderr


def test_partitioned_export_never_deletes_a_folder_it_did_not_write(data, tmp_path, request):
    db = data["db"]
    docs = tmp_path / "Documents"
    (docs / "thesis").mkdir(parents=True)
    (docs / "thesis" / "chapter1.docx").write_bytes(b"my work")
    (docs / "notes.txt").write_text("notes")
    before = _tree(docs)
    for target, extra in ((docs, []), (docs, ["--overwrite"]), (data["dir"], ["--overwrite"])):
        proc = run("--db", db, "export", "--format", "parquet", "--partition", "--output", target, *extra,
                   tmp_path=tmp_path)
        _one_line_error(proc)
        assert "refusing" in proc.stderr and str(target) in proc.stderr
    assert _tree(docs) == before                    # the user's documents, byte for byte
    assert _tree(data["dir"]) == data["tree"]       # warehouse, snapshot, lock, every WARC
    # an export over 100,000 rows is partitioned without being asked: same rules (the
    # threshold lowered so five articles cross it)
    import warehouse.export as wexport
    from warehouse.errors import OutputRefused
    (tmp_path / "big.parquet").write_bytes(b"someone's file")
    old = wexport.PARTITION_ROWS
    wexport.PARTITION_ROWS = 2
    try:
        with pytest.raises(OutputRefused, match="--overwrite"):
            wexport.export(db, "parquet", tmp_path / "big.parquet")
        for target in (docs, data["dir"] / "archive"):
            with pytest.raises(OutputRefused, match="refusing"):
                wexport.export(db, "parquet", target, overwrite=True)
        assert wexport.export(db, "parquet", tmp_path / "new.parquet") == 5
    finally:
        wexport.PARTITION_ROWS = old
    assert (tmp_path / "big.parquet").read_bytes() == b"someone's file" and _tree(docs) == before
    assert (tmp_path / "new.parquet" / ".newsflow-export.json").is_file()
    assert _tree(data["dir"]) == data["tree"]
    record(request, refused=6, files_lost=0)


def test_export_and_report_never_write_over_the_warehouse_or_the_archive(data, tmp_path, request):
    from warehouse.errors import OutputRefused
    from warehouse.export import export
    d, db = data["dir"], data["db"]
    link = tmp_path / "link.csv"
    link.symlink_to(db)
    hard = tmp_path / "hard.duckdb"
    os.link(db, hard)
    # through the CLI: the warehouse itself, the folder holding it, a symlink to it; the
    # report and `sql` alike
    for fmt, target, extra in (("csv", db, []), ("parquet", d, ["--partition"]), ("jsonl", link, []),
                               ("csv", db, ["--overwrite"])):
        proc = run("--db", db, "export", "--format", fmt, "--output", target, *extra, tmp_path=tmp_path)
        _one_line_error(proc)
        assert "refusing" in proc.stderr, proc.stderr
    proc = run("--db", db, "report", "--output", db, tmp_path=tmp_path)
    _one_line_error(proc)
    # `sql` opens read-only, yet DuckDB's COPY and EXPORT DATABASE write anywhere
    proc = run("--db", db, "sql", f"COPY articles TO '{db}' (FORMAT csv)", tmp_path=tmp_path)
    _one_line_error(proc)
    proc = run("--db", db, "sql", f"select 1; EXPORT DATABASE '{d}'", tmp_path=tmp_path)
    _one_line_error(proc)
    # every companion of the warehouse, in every format, with --overwrite (in-process: fast)
    targets = [db, d / "newsflow.snapshot.duckdb", d / "newsflow.duckdb.lock", d / "newsflow.duckdb.wal",
               d / "archive", d / "archive" / "gxzf" / "r1.warc.gz", d / "archive" / "new" / "x.csv", d, link, hard]
    for target in targets:
        for fmt in ("csv", "jsonl", "parquet"):
            for partition in (False, True):
                with pytest.raises(OutputRefused, match="refusing"):
                    export(db, fmt, target, partition=partition, overwrite=True, archive=d / "archive")
    assert _tree(d) == data["tree"] and not (d / "archive" / "new").exists()
    import warehouse
    assert warehouse.query(db, "select count(*) from articles")[1] == [(5,)]
    # a plain file of the user's: only with --overwrite
    mine = tmp_path / "mine.csv"
    mine.write_text("keep me")
    proc = run("--db", db, "export", "--format", "csv", "--output", mine, tmp_path=tmp_path)
    _one_line_error(proc)
    assert "--overwrite" in proc.stderr and mine.read_text() == "keep me"
    run("--db", db, "export", "--format", "csv", "--output", mine, "--overwrite", tmp_path=tmp_path, check=0)
    assert mine.read_text(encoding="utf-8").startswith("id,url,")
    record(request, refused=7 + len(targets) * 6, warehouse_overwritten=0)


def _rows(tmp_path, db, fmt, *args):
    out = tmp_path / f"times.{fmt}"
    run("--db", db, "export", "--format", fmt, "--output", out, *args, tmp_path=tmp_path, check=0)
    if fmt == "csv":
        with out.open(encoding="utf-8", newline="") as fh:
            return {r["id"]: r for r in csv.DictReader(fh)}
    if fmt == "jsonl":
        return {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    import pyarrow.parquet as pq
    return {r["id"]: r for r in pq.read_table(out).to_pylist()}


def test_exports_agree_on_time_in_asia_shanghai_with_the_offset(data, tmp_path, request):
    import datetime as dt
    db = data["db"]
    csv_rows, json_rows, pq_rows = (_rows(tmp_path, db, f) for f in ("csv", "jsonl", "parquet"))
    # a01: a date-only article, midnight in Shanghai (the previous day in UTC)
    expect = {"a1": "2025-01-06T00:00:00+08:00", "a2": "2025-01-05T23:30:00+08:00",
              "a3": "2025-02-01T03:00:00+08:00", "a5": "2024-12-31T20:00:00+08:00"}
    for aid, text in expect.items():
        assert csv_rows[aid]["published_at"] == text
        assert json_rows[aid]["published_at"] == text
        got = pq_rows[aid]["published_at"]
        assert got == dt.datetime.fromisoformat(text)                       # the same instant
        assert got.utcoffset() == dt.timedelta(hours=8) and got.date().isoformat() == text[:10]
    for aid in expect:                                                      # first/last seen alike
        for col in ("first_seen", "last_seen"):
            assert csv_rows[aid][col] == json_rows[aid][col] and json_rows[aid][col].endswith("+08:00")
            assert dt.datetime.fromisoformat(json_rows[aid][col]) == pq_rows[aid][col]
    assert csv_rows["a4"]["published_at"] == "" and json_rows["a4"]["published_at"] is None
    # the calendar month is Shanghai's: a3 (Feb 1, 03:00) is February, a5 (Dec 31, 20:00) December
    assert (json_rows["a3"]["year"], json_rows["a3"]["month"]) == (2025, 2)
    assert (json_rows["a5"]["year"], json_rows["a5"]["month"]) == (2024, 12)
    part = tmp_path / "parts"
    run("--db", db, "export", "--format", "parquet", "--partition", "--output", part, tmp_path=tmp_path, check=0)
    import pyarrow.parquet as pq
    feb = pq.read_table(part / "year=2025" / "month=2").to_pylist()
    assert [r["id"] for r in feb] == ["a3"] and feb[0]["published_at"].utcoffset() == dt.timedelta(hours=8)
    # --since is a Shanghai day: the date-only article is in, the one at 23:30 the day before is out
    from warehouse.export import export
    export(db, "jsonl", tmp_path / "since.jsonl", since=dt.date(2025, 1, 6))
    assert {json.loads(x)["id"] for x in (tmp_path / "since.jsonl").read_text().splitlines()} == {"a1", "a3"}
    record(request, formats_agreeing=3)


def test_exports_carry_tags_url_original_images_and_attachments(data, tmp_path, request):
    import pyarrow.parquet as pq

    from warehouse.export import export
    db = data["db"]
    c = _rows(tmp_path, db, "csv", "--topic", "carbon")          # what the analyst ran
    export(db, "jsonl", tmp_path / "t.jsonl", topic="carbon")
    export(db, "parquet", tmp_path / "t.parquet", topic="carbon")
    j = {r["id"]: r for r in map(json.loads, (tmp_path / "t.jsonl").read_text(encoding="utf-8").splitlines())}
    p = {r["id"]: r for r in pq.read_table(tmp_path / "t.parquet").to_pylist()}
    assert set(c) == set(j) == set(p) == {"a1", "a3"}
    a = c["a1"]                                       # CSV: ';'-joined, best score first
    assert (a["topics"], a["places"], a["partners"], a["keywords"]) == ("carbon;climate", "海南", "ASEAN", "红树林;碳汇")
    assert a["url_original"] == "http://example.gov.cn/hainan/1.html?from=list"
    assert a["images"] == "http://example.gov.cn/img/1.jpg;http://example.gov.cn/img/2.jpg"
    assert a["attachments"] == "http://example.gov.cn/f/plan.pdf"
    for rows in (j, p):                               # lists, with captions and link names
        a = rows["a1"]
        assert (a["topics"], a["places"], a["partners"], a["keywords"]) == (["carbon", "climate"], ["海南"], ["ASEAN"],
                                                                             ["红树林", "碳汇"])
        assert a["images"][0] == {"src": "http://example.gov.cn/img/1.jpg", "caption": "红树林；保护区"}
        assert a["attachments"] == [{"url": "http://example.gov.cn/f/plan.pdf", "name": "方案全文"}]
        assert a["url_original"].endswith("?from=list")
        assert rows["a3"]["places"] == [] and rows["a3"]["topics"] == ["carbon"]
    record(request, tag_columns=4)


def test_export_to_a_full_disk_names_the_output_and_leaves_nothing(data, tmp_path, request):
    db, out = data["db"], tmp_path / "out"
    out.mkdir()
    for fmt, target, extra in (("csv", out / "a.csv", []), ("parquet", out / "parts", ["--partition"]),
                               ("parquet", out / "a.parquet", [])):     # pyarrow's writer, DuckDB's batches beside it
        proc = run("--db", db, "export", "--format", fmt, "--output", target, *extra, tmp_path=tmp_path,
                   preexec_fn=fsize_limit(4000))
        _one_line_error(proc)
        assert f"cannot write {target}" in proc.stderr and str(db) not in proc.stderr, proc.stderr
    assert list(out.iterdir()) == []                  # no half-written file or folder, no temporary
    assert _tree(data["dir"]) == data["tree"]
    record(request, partial_files=0)


def test_export_to_a_read_only_folder_names_the_output(data, tmp_path, request):
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = False
    if os.geteuid() == 0:        # root writes through mode bits: a read-only tmpfs it cannot
        mounted = shutil.which("mount") is not None and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=64k", "nf-" + uuid.uuid4().hex[:6], str(ro)],
            capture_output=True).returncode == 0
        if not mounted:
            pytest.skip("cannot mount a read-only tmpfs here")
    else:
        ro.chmod(0o555)
    try:
        for target in (ro / "sub" / "a.csv", ro / "parts"):
            extra = ["--partition"] if target.name == "parts" else []
            proc = run("--db", data["db"], "export", "--format", "parquet" if extra else "csv", "--output", target,
                       *extra, tmp_path=tmp_path)
            _one_line_error(proc)
            assert f"cannot write {target}" in proc.stderr and "duckdb" not in proc.stderr, proc.stderr
        assert list(ro.iterdir()) == []
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(ro)], capture_output=True)
        else:
            ro.chmod(0o755)
    record(request, blamed_warehouse=0)


def test_mirror_build_never_deletes_a_folder_it_did_not_write(tmp_path, request):
    from mirror.build import main
    out = tmp_path / "out"
    (out / "sites" / "thesis").mkdir(parents=True)
    (out / "sites" / "thesis" / "chapter1.docx").write_bytes(b"my work")
    with pytest.raises(SystemExit) as exit_:
        main(["--large", "5", "--out", str(out)])
    assert exit_.value.code == 1
    assert (out / "sites" / "thesis" / "chapter1.docx").read_bytes() == b"my work"
    (out / "sites" / "thesis" / "chapter1.docx").unlink()
    (out / "sites" / "thesis").rmdir()
    assert main(["--large", "5", "--out", str(out)]) == 0
    assert main(["--large", "5", "--out", str(out)]) == 0          # its own earlier build is replaced
    assert [p.name for p in (out / "sites").iterdir()] == ["www.gxzf.gov.cn"]
    record(request, files_lost=0)
