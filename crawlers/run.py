"""Run one crawl in this process: `python -m crawlers.run --out DIR --run-id ID SOURCE...`.

Scrapy's reactor cannot restart inside a process, so the pipeline always starts this as a
subprocess. One crawler per source runs concurrently, each with its registry entry's own
politeness settings; each writes under OUT/<source>/ its WARC file, its state file (URLs
fetched, list-page validators) and, last, its stats file.

State comes in as a file (`--state`, written by the flow from the warehouse: URLs already
stored, list-page ETags/Last-Modified and the links they held); runs on disk that the flow
has not recorded are read directly, so the crawl is incremental even without a warehouse.
A source whose last run was killed continues that run (same run id and WARC file) unless
`--no-resume`.

The exit status comes from the stats, because Scrapy itself exits 0 even when nothing was
fetched: 0 when every source is ok, 3 when some failed, came back empty or were blocked; a
crawl that cannot run prints one `error:` line and exits with the error table's code
(schemas/errors.py: 1 bad input or a full disk, 4 another crawl of a source runs; 2 is
argparse's, for bad arguments). `--report FILE` writes, per source, the run id used
(a resumed run keeps its own) and the stats file.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from pathlib import Path

from crawlers.errors import CrawlBusy
from crawlers.locks import say_holder, try_lock
from crawlers.registry import load_registry
from schemas.errors import BadInput, Failed, NewsflowError


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m crawlers.run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="*", help="registry names (default: all)")
    p.add_argument("--out", required=True, help="archive folder")
    p.add_argument("--run-id", required=True)
    p.add_argument("--registry", default=None)
    p.add_argument("--map", default=None,
                   help="JSON file mapping real base URLs to fetch base URLs (the mirror): politeness off, "
                        "requests only to 127.0.0.1")
    p.add_argument("--since", default=None, help="back-fill: page on until items are older than YYYY-MM-DD")
    p.add_argument("--max-pages", type=int, default=None, help="list pages per start URL")
    p.add_argument("--refresh", action="store_true", help="fetch known articles again (catch edits)")
    p.add_argument("--recheck", default=None,
                   help="re-check: JSON file {source: [{url, etag, last_modified}]} of known articles to ask "
                        "again conditionally (list pages are read for delistings; no new article is fetched)")
    p.add_argument("--state", default=None, help="state file from the flow (known URLs, list validators)")
    p.add_argument("--no-resume", action="store_true", help="start afresh even if a run was killed")
    p.add_argument("--no-politeness", action="store_true", help="no delays or throttling (benchmarks)")
    p.add_argument("--report", default=None, help="write {source: {run_id, stats}} here")
    p.add_argument("--feed", default=None, metavar="FILE",
                   help="append one JSON line per re-checked article answered 2xx (source, WARC file, "
                        "offset) as it is archived, so the caller can work on the page during the crawl")
    p.add_argument("--log-file", default=None)
    return p.parse_args(argv)


def offline_public_suffixes() -> None:
    """Scrapy's cookie middleware asks tldextract for public suffixes, and tldextract would
    download the Public Suffix List from the internet (blocking the reactor while it tries).
    Use the snapshot it ships instead: a crawl only talks to the sites it crawls."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    import scrapy.downloadermiddlewares.cookies as cookies
    from tldextract import TLDExtract
    cookies._split_domain = TLDExtract(cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True)


def lock_source(source_dir: Path) -> int | None:
    """Hold `<source>/.crawl.lock` for the life of this process; None when another crawl of the
    source holds it (it would take this run's WARC file for a killed run and resume it: two
    writers). The lock dies with its process, so a killed crawl is resumed next time."""
    fd = try_lock(source_dir / ".crawl.lock")
    if fd is not None:
        say_holder(fd, f"pid {os.getpid()}")
    return fd


def _note_run(fd: int, run_id: str) -> None:
    """Say in the lock file which run this crawl writes, for `crawl_in_progress`."""
    say_holder(fd, f"pid {os.getpid()} run {run_id}")


def crawl_in_progress(source_dir: Path) -> str | None:
    """The run id a live crawl of this source is writing ("" when it does not say), or None
    when no crawl holds the source's lock. `newsflow process` leaves that run's WARC file
    alone: it is still growing, and its crawl records it when it finishes.

    The probe takes the lock shared for an instant: a crawl starting in that instant would
    find it held and refuse, as for any other crawl of the source."""
    import fcntl
    path = Path(source_dir) / ".crawl.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
            return text[text.index("run") + 1] if "run" in text[:-1] else ""
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def main(argv=None) -> int:
    """Exit 0 when every source is ok, 3 when some failed, came back empty or were blocked, and
    the error table's code (schemas/errors.py) with one `error:` line when the crawl cannot run:
    1 for a bad registry, state file or archive folder, or a full disk; 4 when another crawl of
    a source runs; 2 for bad arguments (argparse)."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return _crawl(args)
    except NewsflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code


def _crawl(args) -> int:
    sources, since, mapping, state_docs = _inputs(args)
    offline_public_suffixes()
    from scrapy.crawler import CrawlerProcess

    out = Path(args.out).resolve()
    polite = not (mapping or args.no_politeness)
    settings = _settings(args, out, mapping, polite)
    locks = _lock_sources(out, sources)
    process = CrawlerProcess(settings)
    crawlers, run_ids = _schedule(process, settings, args, out, sources, since, state_docs, locks, polite)
    process.start()
    archive_errors = [e for c in crawlers if (e := getattr(c.spider, "archive_error", None))]
    bad = _report(args, out, sources, run_ids)
    for line in bad:
        print(f"crawl problem: {line}", file=sys.stderr)
    if archive_errors:          # a full disk is no source's fault: the whole crawl fails, loudly
        raise Failed(archive_errors[0])
    return 3 if bad else 0


def _inputs(args):
    """The sources (rebased on the mirror when mapped), --since, the mapping and the state."""
    from crawlers.state import read_state_file
    try:
        since = dt.date.fromisoformat(args.since) if args.since else None
    except ValueError as exc:
        raise BadInput(f"--since {args.since!r}: {exc}") from exc
    sources = load_registry(args.registry).select(args.sources)
    mapping = json.loads(Path(args.map).read_text()) if args.map else {}
    sources = [s.rebase(mapping[s.base_url]) if s.base_url in mapping else s for s in sources]
    try:
        state_docs = read_state_file(args.state)
    except (OSError, ValueError) as exc:
        raise BadInput(f"bad state file: {exc}") from exc
    return sources, since, mapping, state_docs


def _settings(args, out: Path, mapping: dict, polite: bool):
    from scrapy.settings import Settings

    from crawlers import settings as nf_settings
    settings = Settings()
    settings.setmodule(nf_settings, priority="project")
    if not polite:
        settings.update(nf_settings.MIRROR_OVERRIDES, priority="project")
        if not mapping:
            settings.set("NF_LOOPBACK_ONLY", False, priority="project")
    settings.set("NF_OUT_DIR", str(out), priority="cmdline")
    if args.feed:
        settings.set("NF_FEED", args.feed, priority="cmdline")
    if args.log_file:
        try:
            Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInput(f"the archive folder {out} is not writable: {exc.strerror}") from exc
        settings.set("LOG_FILE", args.log_file, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", bool(args.log_file), priority="cmdline")
    return settings


def _lock_sources(out: Path, sources) -> dict[str, int]:
    try:
        locks = {s.name: lock_source(out / s.name) for s in sources}
    except OSError as exc:      # a read-only archive: one line, before Scrapy starts
        raise BadInput(f"the archive folder {out} is not writable: {exc.strerror}") from exc
    busy = [name for name, fd in locks.items() if fd is None]
    if busy:
        raise CrawlBusy(f"another crawl of {', '.join(busy)} is running (lock file {out / busy[0] / '.crawl.lock'}); "
                        "try again when it has finished")
    return locks


def _schedule(process, settings, args, out: Path, sources, since, state_docs, locks, polite):
    """One crawler per source, each with its registry entry's politeness, resuming a killed run."""
    from scrapy.crawler import Crawler

    from crawlers import settings as nf_settings
    from crawlers.spiders.registry_spider import RegistrySpider
    from crawlers.state import load_source_state
    log = logging.getLogger("crawlers.run")
    rechecks = _read_recheck(args.recheck)
    run_ids: dict[str, str] = {}
    crawlers = []
    for i, source in enumerate(sources):
        state, resume = load_source_state(out / source.name, state_docs.get(source.name), args.run_id,
                                           resume=not args.no_resume)
        run_id = resume.run_id if resume else args.run_id
        run_ids[source.name] = run_id
        _note_run(locks[source.name], run_id)
        if resume:
            print(f"resuming killed run {run_id} of {source.name} ({len(resume.pages)} pages archived)",
                  file=sys.stderr)
        own = settings.copy()
        own.setdict(nf_settings.per_source_settings(source, polite), priority="spider")
        if not source.obey_robots:
            log.warning("robots.txt ignored for %s by its registry entry", source.name)
        # the first crawler installs the reactor (as CrawlerProcess does for its own crawlers)
        crawler = Crawler(RegistrySpider, own, init_reactor=(i == 0))
        process._initialized_reactor = True
        process.crawl(crawler, source=source, run_id=run_id, since=since, max_pages=args.max_pages,
                      state=state, refresh=args.refresh, resume=resume,
                      recheck=rechecks.get(source.name, []) if rechecks is not None else None)
        crawlers.append(crawler)
    return crawlers, run_ids


def _read_recheck(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"bad re-check file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise BadInput(f"bad re-check file {path}: want {{source: [{{url, etag, last_modified}}]}}")
    return data


def _report(args, out: Path, sources, run_ids: dict[str, str]) -> list[str]:
    """One JSON line per source on stdout, the --report file; the sources that are not ok."""
    from crawlers.stats import read_stats
    bad, report = [], {}
    for source in sources:
        run_id = run_ids[source.name]
        path = out / source.name / f"{run_id}.stats.json"
        report[source.name] = {"run_id": run_id, "stats": str(path) if path.exists() else None}
        if not path.exists():
            bad.append(f"{source.name}: no stats (crawler crashed?)")
            continue
        stats = read_stats(path)
        print(json.dumps({"source": stats.source, "run_id": run_id, "status": stats.status,
                          "pages": stats.pages_fetched, "articles": stats.articles_archived,
                          "not_modified": stats.not_modified, "errors": stats.errors,
                          "blocked": stats.blocked, "flags": list(stats.flags)}, ensure_ascii=False))
        if stats.status != "ok":
            bad.append(f"{source.name}: {stats.status}")
    if args.report:
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    return bad


if __name__ == "__main__":
    sys.exit(main())
