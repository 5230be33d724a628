"""Prefect flows: `crawl`, `process` (extract + load) and `ingest` (both).

Thin wrappers over flows/steps.py: tasks take and return paths, ids and small dicts, never
HTML or connections, and there is one task per batch (per crawl, per load), not per page,
because each task call costs Prefect 7-38 ms. Runs with no Prefect server: Prefect's
ephemeral mode starts a temporary local API for the process.
"""
from __future__ import annotations

import datetime as dt
import os

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import contextlib  # noqa: E402
from pathlib import Path  # noqa: E402

from prefect import flow, get_run_logger, task  # noqa: E402

from crawlers.registry import load_registry  # noqa: E402
from flows import lifeline  # noqa: E402
from flows import settings  # noqa: E402
from flows import steps  # noqa: E402
from flows.process import run_id_now  # noqa: E402
from schemas.errors import SourcesFailed  # noqa: E402

# a flow-run process `newsflow serve` started (Prefect's runner spawns it and imports this
# module to load the flow): die with serve, and let serve, not the terminal, stop it
lifeline.adopt()


@contextlib.contextmanager
def one_off():
    """Settings for a flow run the CLI starts with no Prefect server configured: flow heartbeats
    off. Heartbeats let a server mark a crashed run; the ephemeral API dies with this process,
    so nobody reads them, while Prefect 3.8's heartbeat thread (1-second sleeps, joined when the
    flow ends) rounds every flow run up to a whole second (bench/bench_prefect.py). No setting
    or environment variable turns them off (the frequency must be >= 30 s), hence the copy.
    Runs against a server (PREFECT_API_URL, `newsflow serve`, deployments) keep them.
    The ephemeral server is made to die with this process (lifeline.guard_subprocess):
    Prefect stops it at exit, which a SIGKILL skips."""
    from prefect.context import SettingsContext
    from prefect.settings import get_current_settings
    current = get_current_settings()
    if current.api.url:
        yield
        return
    from prefect.server.api import server as api_server
    lifeline.guard_subprocess(api_server)
    _start_ephemeral_api(api_server, Path(current.home))
    quiet = current.model_copy(deep=True)
    quiet.flows.heartbeat_frequency = None
    with SettingsContext(profile=SettingsContext.get().profile, settings=quiet):
        yield


def _start_ephemeral_api(api_server, home: Path) -> None:
    """Start this process's temporary Prefect API one process at a time per PREFECT_HOME: each
    migrates the one SQLite database there on start-up, and two ingests started together
    (cron, or an analyst beside a schedule) raced those migrations. Start-up is bounded by
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, so the wait is too."""
    import fcntl
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".newsflow-ephemeral-start.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            api_server.SubprocessASGIServer().start()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@task(name="crawl-sources")
def crawl_task(sources: list[str], archive_dir: str, run_id: str, mapping: dict | None,
               since: str | None, max_pages: int | None, registry: str | None,
               db: str, refresh: bool = False, lock_wait: float | None = None) -> dict:
    """Crawl with the warehouse's state; returns this crawl's stats and any finished runs the
    warehouse had not recorded yet (a flow killed after its crawl). With `lock_wait` (ingest):
    an overlapping crawl of one of these sources, and a warehouse file another run holds, are
    waited for that long."""
    return steps.crawl_sources(db, sources, archive_dir, run_id, mapping,
                               since=dt.date.fromisoformat(since) if since else None,
                               max_pages=max_pages, registry=registry, refresh=refresh,
                               **({"wait": lock_wait, "busy_wait": lock_wait, "on_wait": get_run_logger().warning}
                                  if lock_wait is not None else {}))


@task(name="record-crawl")
def record_task(db: str, stats: list, archive_dir: str | None = None) -> None:
    steps.record_crawl(db, stats, archive_dir)


@task(name="upload-archive")
def publish_task(archive_url: str, archive_dir: str) -> list[str]:
    """Upload the finished WARC files in the spool to the S3 archive (crawlers/storage.py)."""
    from crawlers.storage import open_store
    return open_store(archive_url, archive_dir).publish_pending(get_run_logger().info)


@task(name="extract-and-load")
def process_task(db: str, paths: list[str], registry: str | None,
                 runs_done: list[tuple[str, str]] | None = None, archive_dir: str | None = None,
                 archive_url: str | None = None, dedupe: bool = True) -> dict:
    from crawlers.storage import open_store
    logger = get_run_logger()
    store = open_store(archive_url, archive_dir) if archive_url else None
    counts = steps.process_archives(db, paths, load_registry(registry), progress=logger.info,
                                    runs_done=runs_done or [], archive=archive_dir, store=store, dedupe=dedupe)
    return counts


@flow(name="crawl")
def crawl_flow(sources: list[str] | None = None, db: str | None = None,
               archive_dir: str | None = None, mapping: dict | None = None,
               since: str | None = None, max_pages: int | None = None,
               registry: str | None = None, run_id: str | None = None,
               refresh: bool = False) -> dict:
    """Crawl every (or the named) source into the archive and record the runs (db and archive
    left out: read as the CLI reads them, flows/settings.py; an S3 archive's spool is written)."""
    db, archive_dir, _ = settings.resolve(db, archive_dir)
    names = sources or load_registry(registry).names()
    run_id = run_id or run_id_now()
    from flows.lock import run_lock
    result = crawl_task(names, archive_dir, run_id, mapping, since, max_pages, registry, db, refresh)
    with run_lock(db, on_wait=get_run_logger().warning):
        record_task(db, result["stats"] + result["recovered"], archive_dir)
    return result


@flow(name="process")
def process_flow(paths: list[str], db: str | None = None,
                 registry: str | None = None, runs_done: list | None = None,
                 archive_dir: str | None = None, archive_url: str | None = None) -> dict:
    """Extract and load these archive files, under the warehouse's run lock."""
    from flows.lock import run_lock
    db, archive_dir, archive_url = settings.resolve(db, archive_dir, archive_url)
    with run_lock(db, on_wait=get_run_logger().warning):
        return process_task(db, paths, registry, runs_done, archive_dir, archive_url)


class SourcesFailing(SourcesFailed):
    """Sources that usually yield articles yielded none: the run fails so an alert can fire.
    Carries the run summary (everything else was loaded). The flow ends in a Failed state
    that carries it (no traceback in the log: nothing crashed); calling the flow raises it."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


@flow(name="ingest")
def ingest_flow(sources: list[str] | None = None, mirror: bool = False,
                db: str | None = None, archive_dir: str | None = None,
                since: str | None = None, max_pages: int | None = None,
                registry: str | None = None, refresh: bool = False,
                lock_wait: float = 6 * 3600, archive_url: str | None = None, dedupe: bool = True) -> dict:
    """Crawl every (or the named) source, then extract and load what was fetched.

    With `archive_url` (s3://bucket/prefix) the crawl writes into `archive_dir` (the spool),
    its finished WARC files are uploaded once the run is recorded, and the load reads them
    back from object storage (crawlers/storage.py).

    The crawl runs outside the warehouse's run lock, so ingests of other sources (ingest-all's
    groups on several workers) crawl at the same time; recording, uploading and loading hold
    it (one at a time per warehouse). A crawl of the same source waits for the other's
    (crawlers/locks.py); see docs/scaling.md for why this is safe.

    With mirror=True the bundled local mirror is served on 127.0.0.1 for the run and every
    source is pointed at it; the URLs recorded stay the real sites'. One ingest loads at a
    time per warehouse: an overlapping run waits (up to `lock_wait` seconds) for the lock.
    A failing source never stops the others; when a source that has yielded articles before
    comes back failed, blocked or empty, the run fails after loading everything else: it ends
    in a Failed state carrying SourcesFailing (logged as one line, not a traceback), and
    calling the flow raises it. dedupe=False leaves the new articles out of stories for a
    later dedupe (ingest-all runs one after all its groups have loaded).

    `db`, `archive_dir` and `archive_url` left out are read as the CLI reads them
    (NEWSFLOW_WAREHOUSE, NEWSFLOW_DB, NEWSFLOW_ARCHIVE, NEWSFLOW_SPOOL: flows/settings.py).
    """
    logger = get_run_logger()
    db, archive_dir, archive_url = settings.resolve(db, archive_dir, archive_url)
    summary, failing = _ingest(logger, sources, mirror, db, archive_dir, since, max_pages, registry, refresh,
                               archive_url, lock_wait, dedupe)
    _publish_summary(summary)
    for p in summary["per_source"]:
        if p["status"] != "ok":
            logger.warning("%s %s: %s", p["source"], p["status"], steps.failure_reason(p))
    if failing:
        from prefect.states import Failed
        exc = SourcesFailing(f"sources that usually yield articles yielded none: {', '.join(failing)}",
                             summary)
        logger.error("%s", exc)
        return Failed(message=str(exc), data=exc)
    return summary


def _usually_yielding(db: str, summary: dict) -> list[str]:
    """Sources of this run that failed/blocked/came back empty although they have articles."""
    bad = [p["source"] for p in summary["per_source"] if p["status"] in ("failed", "blocked", "empty")]
    if not bad:
        return []
    import warehouse
    cols, rows = warehouse.query(db, "SELECT source FROM articles WHERE source IN (SELECT unnest(?)) "
                                     "GROUP BY source", [bad])
    return sorted(r[0] for r in rows)


def _publish_summary(summary: dict) -> None:
    """The run's report as a Prefect markdown artifact (the crawl_runs rows hold the same)."""
    from prefect.artifacts import create_markdown_artifact
    rows = "\n".join(
        f"| {p['source']} | {p['status']} | {p['pages']} | {p.get('not_modified', 0)} | {p['new']} | "
        f"{p['updated']} | {p.get('duplicates', '')} | {p['rejected']} | {p.get('blocked', 0)} | "
        f"{', '.join(f'{k} {v}' for k, v in sorted(p.get('reasons', {}).items()))} |"
        for p in summary["per_source"])
    md = (f"## Ingest {summary.get('run_id', '')}\n\n"
          f"{summary['articles_new']} new, {summary['articles_updated']} updated, "
          f"{summary['articles_rejected']} rejected from {summary['pages_fetched']} pages "
          f"in {summary['seconds']} s.\n\n"
          "| source | status | pages | 304 | new | updated | duplicates | rejected | blocked | rejected by reason |\n"
          "|---|---|---|---|---|---|---|---|---|---|\n" + rows + "\n")
    why = [f"- **{p['source']}** {p['status']}: {steps.failure_reason(p)}"
           for p in summary["per_source"] if p["status"] != "ok"]
    if why:
        md += "\nNot ok:\n\n" + "\n".join(why) + "\n"
    from flows.revisions.summary import takedowns_section
    md += takedowns_section(summary)
    try:
        create_markdown_artifact(key="ingest-summary", markdown=md, description="newsflow ingest summary")
        # the same counts as data, for flows/ingest_all.py to add up across workers
        from prefect.artifacts import create_table_artifact
        create_table_artifact(key="ingest-counts", description="newsflow ingest counts per source", table=[
            {k: p.get(k, 0) for k in ("source", "status", "pages", "new", "updated", "unchanged", "rejected")}
            for p in summary["per_source"]])
    except Exception as exc:   # an artifact is a report; never fail a finished ingest over it
        get_run_logger().warning("could not publish the summary artifact: %s", exc)


def _ingest(logger, sources, mirror, db, archive_dir, since, max_pages, registry, refresh,
            archive_url=None, lock_wait: float = 6 * 3600, dedupe: bool = True) -> tuple[dict, list[str]]:
    """The run; (its summary, the usually-yielding sources that came back failed or empty)."""
    from flows.lock import run_lock
    started = dt.datetime.now(dt.timezone.utc)
    names = sources or load_registry(registry).names()
    run_id = run_id_now()
    server = None
    mapping = None
    if mirror:
        from mirror.server import serve
        server = serve()
        mapping = dict(server.base_urls)
        logger.info("serving the local mirror for %d hosts on 127.0.0.1", len(mapping))
    try:
        # tasks, not subflows: each flow run costs ~1 s in Prefect 3.8 (its heartbeat thread
        # ends on a whole second), which a 1,000-page ingest notices (bench/bench_prefect.py)
        result = crawl_task(names, archive_dir, run_id, mapping, since, max_pages, registry, db, refresh,
                            lock_wait)
    finally:
        if server is not None:
            server.close()
    with run_lock(db, wait=lock_wait, on_wait=logger.warning):
        return _load(logger, db, archive_dir, registry, archive_url, started, run_id, result, dedupe)


def _load(logger, db, archive_dir, registry, archive_url, started, run_id, result,
          dedupe: bool = True) -> tuple[dict, list[str]]:
    """Record, upload and load a finished crawl (under the run lock)."""
    record_task(db, result["stats"] + result["recovered"], archive_dir)
    stats, recovered, unprocessed = result["stats"], result["recovered"], result.get("unprocessed", [])
    if recovered:
        logger.info("also recording and loading %d earlier finished run(s) the warehouse lacked", len(recovered))
    if unprocessed:
        logger.info("also loading %d recorded run(s) a killed run never finished loading", len(unprocessed))
    done = stats + recovered + unprocessed
    if archive_url:
        # recorded first: a failed upload (ArchiveUploadFailed) keeps the file in the spool
        publish_task(archive_url, archive_dir)
    paths = steps.archive_paths_for(done, archive_dir if archive_url else None)
    counts = process_task(db, paths, registry, [(s.run_id, s.source) for s in done], archive_dir, archive_url,
                          dedupe)
    summary = steps.summarise(stats, counts, db, started)
    summary["run_id"] = run_id
    summary["recovered_runs"] = [f"{s.source}/{s.run_id}" for s in recovered + unprocessed]
    logger.info("ingest %s: %d new, %d updated, %d rejected", run_id, summary["articles_new"],
                summary["articles_updated"], summary["articles_rejected"])
    return summary, _usually_yielding(db, summary)


@task(name="reextract")
def reextract_task(db: str, source: str | None, since: str | None, registry: str | None,
                   archive_dir: str | None = None, archive_url: str | None = None) -> dict:
    from crawlers.storage import open_store
    from flows.reextract import reextract
    r = reextract(db, load_registry(registry), source=source,
                  since=dt.date.fromisoformat(since) if since else None, progress=get_run_logger().info,
                  archive=archive_dir, store=open_store(archive_url, archive_dir) if archive_url else None)
    return {"scanned": r.scanned, "changed": r.changed, "fields": dict(r.fields), "version": r.version,
            "missing_page": r.missing_page}


@flow(name="reextract")
def reextract_flow(db: str | None = None, source: str | None = None,
                   since: str | None = None, registry: str | None = None,
                   archive_dir: str | None = None, archive_url: str | None = None) -> dict:
    """Re-run the current extractor over stored raw pages (unscheduled; run after an upgrade).
    Raw pages are read from `archive_dir` (default: 'archive' next to the db), or from the
    S3 archive `archive_url` (archive_dir is then its spool); left out, as flows/settings.py reads them."""
    from flows.lock import run_lock
    db, archive_dir, archive_url = settings.resolve(db, archive_dir, archive_url)
    with run_lock(db, on_wait=get_run_logger().warning):
        return reextract_task(db, source, since, registry, archive_dir, archive_url)


@task(name="retag")
def retag_task(db: str, source: str | None, registry: str | None) -> dict:
    from flows.tags import retag
    return retag(db, registry=load_registry(registry), source=source,
                 progress=get_run_logger().info).as_dict()


@flow(name="retag")
def retag_flow(db: str | None = None, source: str | None = None,
               registry: str | None = None) -> dict:
    """Re-apply the taxonomy to stored articles (unscheduled; run after editing it)."""
    return retag_task(settings.warehouse_of(db), source, registry)


@task(name="recheck-sources")
def recheck_task(db: str, sources: list[str], archive_dir: str, registry: str | None, mapping: dict | None,
                 force: bool, run_id: str) -> dict:
    from flows.revisions.recheck import recheck
    result = recheck(db, sources, archive_dir, run_id, registry=registry, mapping=mapping, force=force,
                     progress=get_run_logger().info)
    return {name: {**{k: v for k, v in vars(c).items() if k != "reasons"}, "reasons": dict(c.reasons)}
            for name, c in result["counts"].items()}


@flow(name="recheck")
def recheck_flow(sources: list[str] | None = None, db: str | None = None,
                 archive_dir: str | None = None, registry: str | None = None, mirror: bool = False,
                 force: bool = False, lock_wait: float = 6 * 3600, archive_url: str | None = None) -> dict:
    """Ask known articles again as the registry's [recheck] policy says (conditional GET), and
    record edits (versions), takedowns, restores and delistings; publishes a summary artifact
    listing the takedowns. With `archive_url` (s3://...) `archive_dir` is the spool, and the
    re-check's WARC files are uploaded after it. Left out, these are read as flows/settings.py says."""
    from flows.lock import run_lock
    logger = get_run_logger()
    db, archive_dir, archive_url = settings.resolve(db, archive_dir, archive_url)
    names = sources or load_registry(registry).names()
    server = None
    if mirror:
        from mirror.server import serve
        server = serve()
    try:
        with run_lock(db, wait=lock_wait, on_wait=logger.warning):
            # an ingest crawls outside the run lock: let its crawl of these sources finish first
            import time
            steps.wait_for_crawls(archive_dir, names, time.monotonic() + lock_wait, logger.warning, False)
            run_id = run_id_now()
            counts = recheck_task(db, names, archive_dir, registry, dict(server.base_urls) if server else None, force,
                                  run_id)
            if archive_url:
                publish_task(archive_url, archive_dir)
    finally:
        if server:
            server.close()
    _publish_recheck(db, counts, run_id)
    return counts


def recheck_markdown(counts: dict, takedowns: list[dict]) -> str:
    """The re-check summary: counts per source, then each takedown with its evidence."""
    rows = "\n".join(f"| {s} | {c['asked']} | {c['not_modified']} | {c['edited']} | {c['removed']} | "
                     f"{c['restored']} | {c['delisted']} | {c['transient']} |" for s, c in sorted(counts.items()))
    md = ("## Re-check\n\n| source | asked | 304 | edited | removed | restored | delisted | transient |\n"
          "|---|---|---|---|---|---|---|---|\n" + rows + "\n")
    if takedowns:
        md += "\nTakedowns:\n\n" + "\n".join(
            f"- **{e['source']}** [{e['title']}]({e['url']}): {e['reason']} (HTTP {e['http_status']}"
            f"{', to ' + e['final_url'] if e['final_url'] and e['final_url'] != e['url'] else ''})"
            for e in takedowns) + "\n"
    return md


def _publish_recheck(db: str, counts: dict, run_id: str) -> None:
    """The re-check's report as a markdown artifact: counts per source and each takedown with its evidence."""
    from prefect.artifacts import create_markdown_artifact
    import warehouse
    from warehouse.revisions import changes
    gone = []
    if any(c["removed"] for c in counts.values()):
        with warehouse.connect(db) as con:
            gone = [e for e in changes(con, kind="removed") if e["run_id"] == run_id]
    md = recheck_markdown(counts, gone)
    try:
        create_markdown_artifact(key="recheck-summary", markdown=md, description="newsflow re-check summary")
    except Exception as exc:   # an artifact is a report; never fail a finished re-check over it
        get_run_logger().warning("could not publish the re-check artifact: %s", exc)
