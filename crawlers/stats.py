"""The per-source crawl stats file the crawler leaves next to its WARC file (no Scrapy here:
the flow side reads it)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from crawlers.state import write_json
from schemas import CrawlStats


def write_stats(out_dir: Path, stats: CrawlStats) -> Path:
    path = out_dir / stats.source / f"{stats.run_id}.stats.json"
    data = dataclasses.asdict(stats)
    for k in ("started_at", "finished_at"):
        data[k] = data[k].isoformat()
    return write_json(path, data, indent=1)


def read_stats(path: Path) -> CrawlStats:
    """The stats file at `path`, its WARC and state paths resolved against the archive it is
    in (the files hold them relative to the archive root; older ones, absolute)."""
    from crawlers.archive import resolve
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    root = path.parent.parent
    for k in ("warc_path", "state_path"):
        if data.get(k):
            data[k] = str(resolve(data[k], root))
    for k in ("started_at", "finished_at"):
        data[k] = dt.datetime.fromisoformat(data[k])
    for k in ("errors_by_kind", "status_counts", "blocked_by_reason", "skipped_by_kind"):
        if k in data:
            data[k] = tuple(tuple(x) for x in data[k])
    if "flags" in data:
        data["flags"] = tuple(data["flags"])
    known = {f.name for f in dataclasses.fields(CrawlStats)}
    return CrawlStats(**{k: v for k, v in data.items() if k in known})
