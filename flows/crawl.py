"""Launch a crawl in its own process (Scrapy's reactor cannot restart in one process) and
collect the per-source stats it leaves next to the archive."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from crawlers.errors import CrawlFailed
from crawlers.stats import read_stats
from schemas import CrawlStats


def crawl(sources: list[str], *, archive_dir: str | Path, run_id: str,
          mapping: dict[str, str] | None = None, since: dt.date | None = None,
          max_pages: int | None = None, registry: str | Path | None = None,
          timeout: float | None = None) -> list[CrawlStats]:
    """Crawl these sources into archive_dir/<source>/<run_id>.warc.gz; return their stats.

    A source that fetched nothing has status 'empty' or 'failed' in its stats; only a crawl
    process that crashed (no stats at all) raises CrawlFailed.
    """
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    log_file = archive_dir / "logs" / f"{run_id}.log"
    cmd = [sys.executable, "-m", "crawlers.run", "--out", str(archive_dir), "--run-id", run_id,
           "--log-file", str(log_file)]
    map_file = None
    if mapping:
        map_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(mapping, map_file)
        map_file.close()
        cmd += ["--map", map_file.name]
    if since:
        cmd += ["--since", since.isoformat()]
    if max_pages:
        cmd += ["--max-pages", str(max_pages)]
    if registry:
        cmd += ["--registry", str(registry)]
    cmd += list(sources)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as exc:
        raise CrawlFailed(f"crawl timed out after {timeout}s (log: {log_file})") from exc
    finally:
        if map_file:
            os.unlink(map_file.name)
    if proc.returncode == 2:
        raise CrawlFailed(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "bad arguments")
    stats = []
    for name in sources:
        path = archive_dir / name / f"{run_id}.stats.json"
        if path.exists():
            stats.append(read_stats(path))
    if not stats:
        tail = (proc.stderr or "").strip().splitlines()[-3:]
        raise CrawlFailed(f"crawl process exited {proc.returncode} with no stats: {' | '.join(tail)} (log: {log_file})")
    return stats
