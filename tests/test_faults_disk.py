"""A full disk while writing the archive or the warehouse: a clear one-line error, nothing
corrupt, and once there is room again a re-run completes with every article exactly once.

"Full" without privileges: the CLI runs with RLIMIT_FSIZE (SIGXFSZ ignored), so any file it
writes stops growing at the limit and the write fails with EFBIG, as on a full disk. Where
`mount` is allowed (root), a real small tmpfs gives ENOSPC for every file, stats and state
files included; that variant is skipped elsewhere.
"""
import json
import os
import shutil
import subprocess
import uuid

import pytest

import warehouse
from crawlers.archive import ReadReport, read_pages
from faults.helpers import NEWSFLOW, consistent, env, fsize_limit, ledger, local_registry, record, run, unindexed

N = 100


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from mirror.build import build_large
    from mirror.server import serve
    tmp = tmp_path_factory.mktemp("disk")
    info = build_large(tmp / "mirror", N)
    with serve(tmp / "mirror" / "sites") as server:
        base = server.base_urls["http://www.gxzf.gov.cn"]
        yield dict(tmp=tmp, reg=local_registry(tmp, base),
                   urls=[u.replace("http://www.gxzf.gov.cn", base) for u in info["urls"]])


def cli(site, db, archive, *args, limit=None, check=None):
    return run("--db", db, "--archive", archive, "--registry", site["reg"], *args, tmp_path=site["tmp"],
               check=check, timeout=300, preexec_fn=fsize_limit(limit) if limit else None)


def one_error_line(proc) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert proc.returncode == 1 and len(lines) == 1, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return lines[0]


def archive_ok(archive) -> list:
    pages = []
    for warc in sorted(archive.rglob("*.warc.gz")):
        report = ReadReport(str(warc))
        pages += list(read_pages(warc, report))
        assert not report.problems, report.problems           # whole records only, nothing torn
    return pages


@pytest.fixture(scope="module")
def archive_full(site):
    tmp = site["tmp"]
    db, archive = tmp / "nf.duckdb", tmp / "archive"
    full = cli(site, db, archive, "crawl", "gxzf", "--max-pages", "100", limit=200_000)
    kept = [p.url for p in archive_ok(archive) if p.page_kind == "article"]
    stats = [json.loads(p.read_text()) for p in (archive / "gxzf").glob("*.stats.json")]
    again = cli(site, db, archive, "crawl", "gxzf", "--max-pages", "100", check=0)
    return dict(db=db, archive=archive, full=full, kept=kept, stats=stats, again=again)


def test_archive_disk_full_is_a_clear_error_and_leaves_whole_records(archive_full, request):
    msg = one_error_line(archive_full["full"])
    assert "cannot write the archive" in msg and "File too large" in msg, msg
    assert 10 < len(archive_full["kept"]) < N                   # it stopped at the limit ...
    (stats,) = archive_full["stats"]
    assert stats["status"] == "failed" and "cannot write the archive" in stats["message"]   # ... and said why
    record(request, crashes=0, corrupt_records=0)


def test_after_the_archive_disk_full_a_rerun_fetches_the_rest(archive_full, site, request):
    pages = archive_ok(archive_full["archive"])
    arts = [p.url for p in pages if p.page_kind == "article"]
    assert sorted(arts) == sorted(site["urls"])                 # each article archived once, none missing
    record(request, lost=N - len(set(arts)), duplicated=len(arts) - len(set(arts)))


LIMITS = {"load": 1_500_000, "checkpoint": 3_500_000}     # bytes the warehouse file may reach


@pytest.fixture(scope="module")
def warehouse_full(archive_full, site):
    """`newsflow process` into a fresh warehouse under each limit (both at once: two cores),
    then, with room again, each re-run (both at once)."""
    def start(db, limit=None):
        return subprocess.Popen([NEWSFLOW, "--db", str(db), "--archive", str(archive_full["archive"]),
                                 "--registry", str(site["reg"]), "process"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env(site["tmp"]),
                                preexec_fn=fsize_limit(limit) if limit else None)
    dbs = {w: site["tmp"] / f"full-{w}.duckdb" for w in LIMITS}
    procs = {w: start(dbs[w], LIMITS[w]) for w in LIMITS}
    failed = {w: subprocess.CompletedProcess(p.args, 0, *p.communicate(timeout=300)) for w, p in procs.items()}
    for w, p in procs.items():
        failed[w].returncode = p.returncode
    after = {w: warehouse.query(dbs[w], "select count(*) from articles")[1][0][0] for w in LIMITS}
    bad = {w: consistent(dbs[w]) for w in LIMITS}
    procs = {w: start(dbs[w]) for w in LIMITS}
    done = {w: (p.communicate(timeout=300), p.returncode) for w, p in procs.items()}
    return dict(dbs=dbs, failed=failed, after=after, bad=bad, done=done)


@pytest.mark.parametrize("where", list(LIMITS))
def test_warehouse_disk_full_is_a_clear_error_and_the_file_stays_consistent(warehouse_full, site, where, request):
    db = warehouse_full["dbs"][where]
    msg = one_error_line(warehouse_full["failed"][where])
    assert f"cannot write {db}" in msg and "File too large" in msg, msg
    n = warehouse_full["after"][where]              # it opened and read after the failure
    assert n in (0, N), n                           # whole batches only
    bad = warehouse_full["bad"][where]
    assert bad == {k: 0 for k in bad}, bad
    (out, err), code = warehouse_full["done"][where]
    assert code == 0, err[-2000:]                   # room again: the re-run completes
    got = ledger(db, site["urls"])
    assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
    assert unindexed(db) == 0 and consistent(db) == bad
    record(request, crashes=0, articles_after_failure=n, lost=got["lost"], duplicated=got["duplicated"],
           failed_at="commit" if "commit" in msg else ("checkpoint" if "checkpoint" in msg else msg[:60]))


def _mount_tmpfs(where, size):
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "nf-" + uuid.uuid4().hex[:6], str(where)],
                          capture_output=True).returncode == 0


def test_a_really_full_disk_tmpfs(site, tmp_path, request):
    """ENOSPC for every file (archive, stats, state, log, warehouse), where mount works."""
    disk = tmp_path / "disk"
    if os.geteuid() != 0 or shutil.which("mount") is None or not _mount_tmpfs(disk, "200k"):
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        db, archive = disk / "nf.duckdb", disk / "archive"
        full = cli(site, db, archive, "crawl", "gxzf", "--max-pages", "100")
        msg = one_error_line(full)
        assert "No space left on device" in msg, msg
        archive_ok(archive)
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        cli(site, db, archive, "crawl", "gxzf", "--max-pages", "100", check=0)
        cli(site, db, archive, "process", check=0)
        got = ledger(db, site["urls"])
        assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
        assert archive_ok(archive)
        record(request, crashes=0, lost=got["lost"], duplicated=got["duplicated"])
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
