"""Launch a crawl in its own process (Scrapy's reactor cannot restart in one process) and
collect the per-source stats it leaves next to the archive.

State goes to the crawl as a file: what the warehouse knows (article URLs already stored,
list-page ETags/Last-Modified and the links they held, runs already recorded; built by
`warehouse.crawl_state`). A source whose previous run was killed is resumed by the crawl
under that run's id, so the stats come back per source with the run id actually used.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from crawlers.errors import CrawlBusy, CrawlFailed
from crawlers.stats import read_stats
from flows import lifeline
from schemas import CrawlStats

ROOT = Path(__file__).resolve().parents[1]


def _tmp_json(data) -> str:
    fh = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8")
    json.dump(data, fh, ensure_ascii=False)
    fh.close()
    return fh.name


def crawl(sources: list[str], *, archive_dir: str | Path, run_id: str,
          mapping: dict[str, str] | None = None, since: dt.date | None = None,
          max_pages: int | None = None, registry: str | Path | None = None,
          timeout: float | None = None, state: dict | None = None, refresh: bool = False,
          polite: bool = True, resume: bool = True, recheck: dict | None = None,
          on_page: Callable[[dict], None] | None = None) -> list[CrawlStats]:
    """Crawl these sources into archive_dir/<source>/<run_id>.warc.gz; return their stats.

    `recheck` ({source: [{url, etag, last_modified}]}) makes it a re-check run: those known
    articles are asked again conditionally, the list pages are read, nothing new is fetched.
    `state` is {source: {"known", "lists", "recorded_runs"}} (warehouse.crawl_state); None
    lets the crawler rely on the runs it finds on disk. `on_page` is called in this process,
    while the crawl runs, with {source, warc, offset} of each re-checked article answered 2xx
    as soon as it is archived (a re-check works on those pages on the second core meanwhile).
    A source that fetched nothing has status 'empty', 'failed' or 'blocked' in its stats; only
    a crawl process that crashed (no stats at all) raises CrawlFailed.
    """
    archive_dir = Path(archive_dir)
    try:
        archive_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CrawlFailed(f"cannot create the archive folder {archive_dir}: {exc.strerror}") from exc
    log_file = archive_dir / "logs" / f"{run_id}.log"
    temps: list[str] = []
    cmd, report_path, feed_path = _command(
        sources, archive_dir, run_id, log_file, temps, mapping=mapping, state=state, recheck=recheck,
        feed=on_page is not None, since=since, max_pages=max_pages, registry=registry, refresh=refresh,
        polite=polite, resume=resume)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        # the crawl process watches this one: a killed flow does not leave Scrapy crawling
        if on_page is None:
            proc = subprocess.run(lifeline.command(cmd), capture_output=True, text=True, timeout=timeout, env=env)
        else:
            proc = _run_feeding(lifeline.command(cmd), env, timeout, feed_path, on_page)
        report = {}
        try:
            text = Path(report_path).read_text(encoding="utf-8")
            report = json.loads(text) if text.strip() else {}
        except (OSError, ValueError):
            pass
    except subprocess.TimeoutExpired as exc:
        raise CrawlFailed(f"crawl timed out after {timeout}s{_see(log_file)}") from exc
    finally:
        for t in temps:
            try:
                os.unlink(t)
            except OSError:
                pass
    errors = [ln for ln in (proc.stderr or "").strip().splitlines() if ln.startswith("error: ")]
    if proc.returncode in (1, 2, 4) and errors:     # the crawl could not run (crawlers/run.py: main)
        raise (CrawlBusy if proc.returncode == 4 else CrawlFailed)(errors[-1].removeprefix("error: "))
    stats = []
    for name in sources:
        rid = (report.get(name) or {}).get("run_id") or run_id
        path = archive_dir / name / f"{rid}.stats.json"
        if path.exists():
            stats.append(read_stats(path))
    if not stats:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise CrawlFailed(f"crawl process exited {proc.returncode} with no stats: {' | '.join(tail)}{_see(log_file)}")
    return stats


def _command(sources, archive_dir: Path, run_id: str, log_file: Path, temps: list[str], *, mapping, state,
             recheck, feed: bool, since, max_pages, registry, refresh, polite, resume
             ) -> tuple[list[str], str, str | None]:
    """The crawl process's command line, its report file and its feed file (None without);
    the temporary files it names are added to `temps` for the caller to remove."""
    cmd = [sys.executable, "-m", "crawlers.run", "--out", str(archive_dir), "--run-id", run_id,
           "--log-file", str(log_file)]
    for flag, data in (("--map", mapping or None), ("--state", None if state is None else {"version": 1, "sources": state}),
                       ("--recheck", recheck)):
        if data is not None:
            temps.append(_tmp_json(data))
            cmd += [flag, temps[-1]]
    paths = []
    for flag, suffix, wanted in (("--report", ".json", True), ("--feed", ".jsonl", feed)):
        if not wanted:
            paths.append(None)
            continue
        fd, path = tempfile.mkstemp(suffix=suffix)
        os.close(fd)
        temps.append(path)
        cmd += [flag, path]
        paths.append(path)
    if since:
        cmd += ["--since", since.isoformat()]
    if max_pages:
        cmd += ["--max-pages", str(max_pages)]
    if registry:
        cmd += ["--registry", str(registry)]
    cmd += (["--refresh"] if refresh else []) + ([] if polite else ["--no-politeness"]) + \
        ([] if resume else ["--no-resume"])
    return cmd + list(sources), paths[0], paths[1]


def _run_feeding(cmd: list[str], env: dict, timeout: float | None, feed: str,
                 on_page: Callable[[dict], None]) -> subprocess.CompletedProcess:
    """subprocess.run's contract (output captured, TimeoutExpired, the process killed on any
    error here) while handing each complete line of the feed file to `on_page` as it comes."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with tempfile.TemporaryFile("w+", encoding="utf-8") as out, \
            tempfile.TemporaryFile("w+", encoding="utf-8") as err, open(feed, encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        partial = ""
        try:
            while True:
                done = proc.poll() is not None      # read after the exit too: the last lines
                if not done and deadline is not None and time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                chunk = fh.read()
                if chunk:
                    lines = (partial + chunk).split("\n")
                    partial = lines.pop()           # a line still being written
                    for line in lines:
                        if line.strip():
                            on_page(json.loads(line))
                elif done:
                    break
                else:
                    time.sleep(0.05)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())


def _see(log_file: Path) -> str:
    # only a log that was written is worth pointing at (a read-only archive has none)
    return f" (log: {log_file})" if log_file.exists() else ""


def unrecorded_runs(archive_dir: str | Path, sources: list[str], state: dict,
                    exclude: list[CrawlStats] = ()) -> list[CrawlStats]:
    """Finished runs on disk that the warehouse has not recorded (a flow killed after its
    crawl): they are recorded and processed with this one, so nothing archived is lost."""
    done = {(s.run_id, s.source) for s in exclude}
    out = []
    for name in sources:
        recorded = set((state.get(name) or {}).get("recorded_runs") or ())
        folder = Path(archive_dir) / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.stats.json")):
            rid = path.name[:-len(".stats.json")]
            if rid not in recorded and (rid, name) not in done:
                out.append(read_stats(path))
    return out
