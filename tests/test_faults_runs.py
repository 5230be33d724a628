"""What a user types never loses data: crawl runs, paths and locks (issue 18).

Real `newsflow` processes on real DuckDB files, over a generated gxzf-like site served on
127.0.0.1 (the registry's gxzf entry pointed at it, so the CLI runs as against a live site):

- processing again (`newsflow process`, README: "safe") leaves the counts of runs already
  processed as they were; a pass that dies half-way through its load keeps what it counted;
- `process` beside a running `crawl`, and beside a run holding the warehouse's lock;
- articles loaded but never deduped (a process killed between load and dedupe) show as
  pending and the next process dedupes them;
- a bad `--db`, a read-only folder, a warehouse another process holds: one line, the right
  exit code, before Prefect starts, nothing left behind;
- raw pages found after the archive moved, and old warehouses' absolute paths migrated;
- a live ingest whose source is unreachable says why, without a traceback or an empty WARC.

Read-only folders: these machines run the tests as root, and chmod does not stop root, so
the folder is bind-mounted onto itself read-only (tests/faults/helpers.py: read_only_folder).
"""
import json
import select
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

import warehouse
from crawlers.registry import load_registry
from crawlers.stats import read_stats
from faults.helpers import (NEWSFLOW, ROOT, consistent, env, generated_site, ledger, local_registry,
                            read_only_folder, record, run, wait_for)

N = 30


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One crawl and one process of the generated site: the warehouse most tests start from."""
    tmp = tmp_path_factory.mktemp("runs")
    with generated_site(tmp, N, delay=0.0) as (info, server, base, reg, urls):
        s = dict(tmp=tmp, server=server, base=base, reg=reg, urls=urls, info=info,
                 db=tmp / "nf.duckdb", archive=tmp / "archive")
        cli(s, s["db"], s["archive"], "crawl", "gxzf", "--max-pages", "100")
        cli(s, s["db"], s["archive"], "process")
        yield s


def cli(site, db, archive, *args, check=0, registry=None, **kw):
    return run("--db", db, "--archive", archive, "--registry", registry or site["reg"], *args,
               tmp_path=site["tmp"], check=check, timeout=600, **kw)


def copy(site, name, with_db=True):
    """A copy of the fixture's archive (and warehouse) of its own."""
    where = site["tmp"] / name
    where.mkdir()
    shutil.copytree(site["archive"], where / "archive")
    if with_db:
        shutil.copyfile(site["db"], where / "nf.duckdb")
    return where / "nf.duckdb", where / "archive"


def runs_of(site, db, archive) -> list[dict]:
    return sorted(json.loads(cli(site, db, archive, "runs", "--json").stdout), key=lambda r: r["started_at"])


def one_error(proc, code: int) -> str:
    """The command failed with `code`, one `error:` line on stderr, nothing on stdout, no traceback."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert proc.returncode == code and len(lines) == 1, (proc.returncode, proc.stdout[-1000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr and not proc.stdout.strip(), proc.stderr[-3000:]
    return lines[0]


# ----------------------------------------------------------------------------- 4: counts are history

def test_processing_again_keeps_each_runs_counts(site, request):
    """A second crawl (nothing new), then `process` twice over both WARC files: the first
    run still says N new (it used to be rewritten to 0), so yield_per_run is N/2, not 0."""
    db, archive = copy(site, "again")
    cli(site, db, archive, "crawl", "gxzf", "--max-pages", "100")
    for _ in range(2):
        cli(site, db, archive, "process")
    runs = runs_of(site, db, archive)
    assert [(r["articles_new"], r["articles_updated"], r["articles_rejected"]) for r in runs] == [(N, 0, 0), (0, 0, 0)]
    assert all(r["processed_at"] for r in runs)
    (health,) = warehouse.query(db, "select yield_per_run, runs, articles, runs_unprocessed from source_health "
                                    "where source = 'gxzf'")[1]
    assert health == (N / 2, 2, N, 0), health
    got = ledger(db, site["urls"])
    assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
    record(request, first_run_new=runs[0]["articles_new"], yield_per_run=health[0])


class Killed(Exception):
    pass


def test_a_pass_that_dies_mid_load_keeps_what_it_counted(site, tmp_path, monkeypatch, request):
    """Chunks of 7 records; the pass dies after 20 (two chunks committed, with their share of
    the run's counts, in the same transactions). The next pass finds those 14 unchanged and
    adds the other 16: the run says N new, not 16. (In-process: a raise, where a kill would
    be; what survives is what the committed transactions hold either way.)"""
    from flows import steps
    db, archive = tmp_path / "nf.duckdb", tmp_path / "archive"
    shutil.copytree(site["archive"], archive)
    steps.record_crawl(db, [read_stats(p) for p in (archive / "gxzf").glob("*.stats.json")], archive)
    paths = sorted(archive.rglob("*.warc.gz"))
    real = steps.serial
    seen = [0]

    def dies(fn, args):
        def cut(recs):
            for rec in recs:
                if seen[0] == 20:
                    raise Killed()
                seen[0] += 1
                yield rec
        for recs, report in real(fn, args):
            yield cut(recs), report
    monkeypatch.setattr(steps, "CHUNK", 7)
    reg = load_registry(site["reg"])
    with pytest.raises(Killed):
        steps.process_archives(db, paths, reg, archive=archive, snapshot=False, fanout=dies)
    mid = warehouse.query(db, "select articles_new, processed_at from crawl_runs")[1]
    assert mid == [(14, None)], mid
    steps.process_archives(db, paths, reg, archive=archive, snapshot=False)
    (new, done), = warehouse.query(db, "select articles_new, processed_at is not null from crawl_runs")[1]
    assert (new, done) == (N, True)
    assert ledger(db, site["urls"])["articles"] == N
    record(request, counted_after_kill=mid[0][0], counted_in_the_end=new)


# ----------------------------------------------------------------------------- 15: process beside others

def test_process_beside_a_running_crawl_loads_every_article_once(site, request):
    """`newsflow process` while `newsflow crawl` writes its WARC file: the process leaves the
    growing file alone (and says so); the next process loads the finished run; every article
    once, and the run counts all N as new."""
    from mirror.server import serve
    tmp = site["tmp"] / "beside"
    tmp.mkdir()
    db, archive = tmp / "nf.duckdb", tmp / "archive"
    # slow answers (and the crawl's AutoThrottle backing off from them): the crawl outlasts the process
    with serve(site["tmp"] / "mirror" / "sites", delay=0.6) as slow:
        base = slow.base_urls["http://www.gxzf.gov.cn"]
        reg = local_registry(tmp, base)
        urls = [u.replace(site["base"], base) for u in site["urls"]]
        crawl = subprocess.Popen([NEWSFLOW, "--db", str(db), "--archive", str(archive), "--registry", str(reg),
                                  "crawl", "gxzf", "--max-pages", "100"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=env(site["tmp"]))
        wait_for(lambda: list((archive / "gxzf").glob("*.warc.gz")), 120, "the crawl writing its archive", crawl)
        beside = cli(site, db, archive, "process", registry=reg)
        crawling = crawl.poll() is None
        out, err = crawl.communicate(timeout=300)
    assert crawling, "the crawl ended before the process: nothing ran beside it"
    assert crawl.returncode == 0, err[-2000:]
    assert "its crawl is still running" in beside.stderr, beside.stderr[-2000:]
    cli(site, db, archive, "process", registry=reg)
    got = ledger(db, urls)
    assert (got["lost"], got["duplicated"], got["unexpected"]) == (0, 0, 0), got
    assert consistent(db) == {k: 0 for k in consistent(db)}
    (r,) = runs_of(site, db, archive)
    assert r["articles_new"] == N and r["processed_at"], r
    record(request, lost=got["lost"], duplicated=got["duplicated"], run_new=r["articles_new"])


def test_process_waits_for_a_run_holding_the_warehouse(site, request):
    """A run (an ingest) holds the warehouse's run lock: `process --wait 1` gives up with exit
    4 in one line; `process` waits, says so, and runs when the lock is let go."""
    db, archive = copy(site, "queued")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from flows.lock import run_lock
        with run_lock({str(db)!r}):
            print("held", flush=True)
            sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env(site["tmp"]))
    try:
        assert holder.stdout.readline().strip() == "held"
        msg = one_error(cli(site, db, archive, "--wait", "1", "process", check=None), 4)
        assert "another run holds" in msg and "nf.duckdb.lock" in msg, msg
        queued = subprocess.Popen([NEWSFLOW, "--db", str(db), "--archive", str(archive), "--registry",
                                   str(site["reg"]), "process"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=env(site["tmp"]), cwd=ROOT)
        ready, _, _ = select.select([queued.stderr], [], [], 120)
        first = queued.stderr.readline() if ready else ""
        assert "waiting for the run in progress" in first, first
        assert queued.poll() is None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        out, err = queued.communicate(timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert queued.returncode == 0, err[-2000:]
    assert ledger(db, site["urls"])["articles"] == N
    assert not (db.parent / "nf.duckdb.lock").exists()       # no lock file left once the runs are done
    record(request, refused_exit=4, queued_exit=queued.returncode)


def test_articles_never_deduped_show_as_pending_and_the_next_process_dedupes_them(site, tmp_path, request):
    """The state a process killed between its load and its dedupe leaves: articles without a
    story. `runs` and source_health say so; the next `process` (nothing new to load) dedupes
    them (it used to dedupe only what it had just loaded, so they stayed story-less)."""
    from flows import steps
    db, archive = tmp_path / "nf.duckdb", tmp_path / "archive"
    shutil.copytree(site["archive"], archive)
    steps.process_archives(db, sorted(archive.rglob("*.warc.gz")), load_registry(site["reg"]), archive=archive,
                           dedupe=False, snapshot=False)
    (r,) = runs_of(site, db, archive)
    assert r["dedupe_pending"] == N and "dedupe_pending:%d" % N in cli(site, db, archive, "runs").stdout
    assert warehouse.query(db, "select dedupe_pending from source_health where source = 'gxzf'")[1] == [(N,)]
    cli(site, db, archive, "process")
    (r,) = runs_of(site, db, archive)
    assert r["dedupe_pending"] == 0 and r["articles_new"] == N
    assert warehouse.query(db, "select count(*) from dedupe_docs")[1] == [(N,)]
    assert warehouse.query(db, "select dedupe_pending from source_health where source = 'gxzf'")[1] == [(0,)]
    record(request, pending_before=N, pending_after=0)


# ----------------------------------------------------------------------------- 9, 11, 13: bad paths

def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                      # nothing listens there now
    return port


BAD_PATHS = ["db-is-a-folder", "db-not-duckdb", "db-folder-read-only", "process-db-folder-read-only",
             "archive-read-only", "crawl-archive-read-only"]


@pytest.mark.parametrize("case", BAD_PATHS)
def test_a_bad_path_is_one_line_before_anything_starts(site, tmp_path, case, request):
    """Exit 1 with one line naming the path and why; Prefect never starts, no lock file is
    left, no traceback. (`ingest --db <folder>` used to start Prefect, take 10-14 s and leave
    `<name>.lock`; a read-only folder ended in `OSError: [Errno 30]` or two tracebacks and a
    pointer to a log file that could not exist.)"""
    folder = tmp_path / "here"
    folder.mkdir()
    db, archive = folder / "nf.duckdb", tmp_path / "archive"
    ro = None
    if case == "db-is-a-folder":
        db.mkdir()
        cmd, want = ["ingest", "gxzf"], f"--db {db} is a folder"
    elif case == "db-not-duckdb":
        db = folder / "notes.txt"
        db.write_text("not a warehouse\n")
        cmd, want = ["ingest", "gxzf"], "not a valid DuckDB database file"
    elif case == "db-folder-read-only":
        ro, cmd, want = folder, ["ingest", "gxzf"], f"folder of the warehouse {folder} is not writable"
    elif case == "process-db-folder-read-only":
        shutil.copyfile(site["db"], db)
        archive = site["archive"]
        ro, cmd, want = folder, ["process"], f"folder of the warehouse {folder} is not writable"
    elif case == "archive-read-only":
        archive.mkdir()
        ro, cmd, want = archive, ["ingest", "gxzf"], f"archive folder {archive} is not writable"
    else:
        archive.mkdir()
        ro, cmd, want = archive, ["crawl", "gxzf"], f"archive folder {archive} is not writable"
    before = sorted(p.name for p in folder.iterdir())
    if ro is not None:
        with read_only_folder(ro) as why:
            proc = cli(site, db, archive, *cmd, check=None)
        want += f": {why}"
    else:
        proc = cli(site, db, archive, *cmd, check=None)
    msg = one_error(proc, 1)
    assert want in msg, msg
    assert "starting the ingest flow" not in proc.stderr           # Prefect never started
    assert sorted(p.name for p in folder.iterdir()) == before      # no lock file, no warehouse left
    record(request, exit=proc.returncode, tracebacks=0, files_left=0)


def test_the_run_lock_in_a_read_only_folder_is_a_named_error(tmp_path, request):
    """A flow run (a deployment, no CLI in front) on a warehouse in a read-only folder: the run
    lock says which file and why, as LockUnavailable (it was a bare `OSError: [Errno 30]`)."""
    from flows.lock import LockUnavailable, run_lock
    folder = tmp_path / "ro"
    with read_only_folder(folder) as why:
        with pytest.raises(LockUnavailable) as exc:
            with run_lock(folder / "nf.duckdb", wait=1):
                pass
    assert f"cannot create the run lock {folder / 'nf.duckdb.lock'}: the folder is read-only" in str(exc.value)
    record(request, error=type(exc.value).__name__)


def test_a_warehouse_another_process_holds_is_exit_4_before_prefect(site, request):
    """A process (an analyst's DuckDB session) holds the warehouse: `ingest` waits `--wait`
    seconds, then exit 4, one line, nothing on stdout (it used to fail in the crawl step,
    inside Prefect, with tracebacks)."""
    db, archive = copy(site, "held")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        import warehouse
        with warehouse.connect({str(db)!r}):
            print("held", flush=True)
            sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env(site["tmp"]))
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = cli(site, db, archive, "--wait", "1", "ingest", "gxzf", check=None)
    finally:
        holder.kill()
        holder.wait()
    msg = one_error(proc, 4)
    assert "is held by another process" in msg and str(db) in msg, msg
    assert "starting the ingest flow" not in proc.stderr
    assert not (db.parent / "nf.duckdb.lock").exists()
    record(request, exit=proc.returncode, tracebacks=0)


# ----------------------------------------------------------------------------- 14: where raw pages are

def test_reextract_finds_raw_pages_after_the_archive_moved(site, request):
    """The warehouse names WARC files relative to the archive root: after the archive moved,
    `reextract --archive <new place>` reads every page. An old warehouse's absolute paths to
    where the archive used to be are found there too (they used to look like missing pages)."""
    db, archive = copy(site, "moved")
    stored = {r[0] for r in warehouse.query(db, "select warc_path from articles union select warc_path from crawl_urls "
                                                "union select warc_path from crawl_runs")[1]}
    assert stored and all(p.startswith("gxzf/") and p.endswith(".warc.gz") for p in stored), stored
    moved = archive.with_name("moved-archive")
    archive.rename(moved)
    out = cli(site, db, moved, "reextract").stdout
    assert f"{N} pages re-extracted" in out and "0 raw pages missing" in out, out
    with warehouse.connect(db) as con:           # as an old warehouse stored them
        con.execute("UPDATE articles SET warc_path = ? || '/' || warc_path", [str(archive)])
    out = cli(site, db, moved, "reextract").stdout
    assert f"{N} pages re-extracted" in out and "0 raw pages missing" in out, out
    record(request, missing_pages=0)


def test_the_migration_makes_stored_warc_paths_archive_relative(tmp_path, monkeypatch, request):
    """A warehouse from before migration 8/9: absolute (and cwd-relative) paths in the archive
    layout become `<source>/<file>`; a file processed from elsewhere keeps its path; runs
    already counted are marked processed, the uncounted one is not."""
    import warehouse.store as store
    from schemas.ddl import MIGRATIONS
    db = tmp_path / "old.duckdb"
    monkeypatch.setattr(store, "MIGRATIONS", [m for m in MIGRATIONS if m[0] <= 7])
    with warehouse.connect(db) as con:
        for i, path in enumerate(["/srv/news/archive/gxzf/r1.warc.gz", "data/archive/gxzf/r1.warc.gz",
                                  "/elsewhere/downloads/r9.warc.gz"]):
            con.execute("INSERT INTO articles (id, url, source, content_hash, extractor_version, first_seen, "
                        "last_seen, run_id, warc_path, warc_offset) VALUES (?, ?, 'gxzf', 'h', 'v', now(), now(), "
                        "'r1', ?, 0)", [f"a{i}", f"http://x/{i}", path])
        con.execute("INSERT INTO rejected VALUES ('http://x/r', 'gxzf', 'no_text', '', now(), now(), 'r1', "
                    "'/srv/news/archive/gxzf/r1.warc.gz', 5)")
        con.execute("INSERT INTO crawl_urls (run_id, source, url, warc_path, warc_offset) VALUES "
                    "('r1', 'gxzf', 'http://x/0', '/srv/news/archive/gxzf/r1.warc.gz', 0)")
        con.execute("INSERT INTO crawl_runs (run_id, source, finished_at, articles_new, warc_path) VALUES "
                    "('r1', 'gxzf', now(), 3, '/srv/news/archive/gxzf/r1.warc.gz'), "
                    "('r2', 'gxzf', now(), NULL, '/srv/news/archive/gxzf/r2.warc.gz')")
    monkeypatch.undo()
    with warehouse.connect(db) as con:
        arts = sorted(r[0] for r in con.execute("select warc_path from articles").fetchall())
        rest = [con.execute(f"select warc_path from {t} where run_id = 'r1'").fetchone()[0]
                for t in ("rejected", "crawl_urls", "crawl_runs")]
        runs = con.execute("select run_id, processed_at is not null from crawl_runs order by 1").fetchall()
    assert arts == ["/elsewhere/downloads/r9.warc.gz", "gxzf/r1.warc.gz", "gxzf/r1.warc.gz"]
    assert rest == ["gxzf/r1.warc.gz"] * 3
    assert runs == [("r1", True), ("r2", False)]
    record(request, converted=5, kept=1)


# ----------------------------------------------------------------------------- 10: why a source failed

def test_an_unreachable_source_says_why_in_the_summary_without_a_traceback(site, request):
    """A live ingest of a source that cannot be reached (here: a port nothing listens on; off
    line it is `dns`): the summary prints the reason per source, the alert fires without a
    SourcesFailing traceback, no 0-byte WARC file is left; `sources check` prints one clean
    line per fetch that failed (it printed `HTTP [Errno -3] ..., , 0 bytes, ?`)."""
    db, archive = copy(site, "offline")
    reg_dir = site["tmp"] / "offline" / "reg"
    reg_dir.mkdir()
    dead = local_registry(reg_dir, f"http://127.0.0.1:{_dead_port()}")
    proc = cli(site, db, archive, "ingest", "gxzf", registry=dead, check=None)
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "gxzf failed: no list page could be read" in proc.stdout and "errors: connection_refused" in proc.stdout, \
        proc.stdout
    assert "alert: sources that usually yield articles yielded none: gxzf" in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not [p for p in archive.rglob("*.warc.gz") if p.stat().st_size == 0]
    (last,) = [r for r in runs_of(site, db, archive) if r["status"] == "failed"]
    assert last["warc_path"] in ("", None) and last["errors_by_kind"] == {"connection_refused": last["errors"]}
    check = run("--registry", dead, "sources", "check", "gxzf", tmp_path=site["tmp"], check=1)
    assert "list page" in check.stdout and "-> not fetched: connection_refused: Connection refused" in check.stdout
    assert "HTTP connection" not in check.stdout and ", , " not in check.stdout and "Errno" not in check.stdout
    record(request, tracebacks=0, empty_warcs=0)


def test_a_failed_fetch_names_its_kind():
    """`sources check` off line: the DNS failure is `dns: ...`, not urllib's `[Errno -3]`."""
    import urllib.error

    from crawlers.check import network_error
    assert network_error(urllib.error.URLError(socket.gaierror(-3, "Temporary failure in name resolution"))) \
        == "dns: Temporary failure in name resolution"
    assert network_error(urllib.error.URLError(socket.timeout("timed out"))) == "timeout: timed out"
    assert network_error(ConnectionRefusedError(111, "Connection refused")) == "connection_refused: Connection refused"


def test_no_empty_warc_file_for_a_run_that_archived_nothing(tmp_path):
    """The archive writer opens its file at the first record: a run that fetched nothing
    leaves none (it used to leave a 0-byte WARC per failed run)."""
    from crawlers.archive import ArchiveWriter
    w = ArchiveWriter(tmp_path / "gxzf" / "r1.warc.gz")
    w.close()
    assert not (tmp_path / "gxzf" / "r1.warc.gz").exists() and not w.written
