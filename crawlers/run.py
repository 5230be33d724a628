"""Run one crawl in this process: `python -m crawlers.run --out DIR --run-id ID SOURCE...`.

Scrapy's reactor cannot restart inside a process, so the pipeline always starts this as a
subprocess. One crawler per source runs concurrently; each writes its WARC file and a stats
file under OUT/<source>/. The exit status comes from those stats, because Scrapy itself exits
0 even when nothing was fetched: 0 when every source fetched something, 3 when some failed or
came back empty, 2 for bad arguments or registry errors.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from crawlers.errors import RegistryError
from crawlers.registry import load_registry


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m crawlers.run", description=__doc__)
    p.add_argument("sources", nargs="*", help="registry names (default: all)")
    p.add_argument("--out", required=True, help="archive folder")
    p.add_argument("--run-id", required=True)
    p.add_argument("--registry", default=None)
    p.add_argument("--map", default=None,
                   help="JSON file mapping real base URLs to fetch base URLs (the mirror)")
    p.add_argument("--since", default=None, help="skip list items dated before YYYY-MM-DD")
    p.add_argument("--max-pages", type=int, default=None, help="list pages per start URL")
    p.add_argument("--log-file", default=None)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        registry = load_registry(args.registry)
        sources = registry.select(args.sources)
    except RegistryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    mapping = json.loads(Path(args.map).read_text()) if args.map else {}
    sources = [s.rebase(mapping[s.base_url]) if s.base_url in mapping else s for s in sources]
    since = dt.date.fromisoformat(args.since) if args.since else None

    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawlers import settings as nf_settings
    from crawlers.stats import read_stats
    from crawlers.spiders.registry_spider import RegistrySpider

    settings = Settings()
    settings.setmodule(nf_settings, priority="project")
    if mapping:
        settings.update(nf_settings.MIRROR_OVERRIDES, priority="project")
    settings.set("NF_OUT_DIR", str(Path(args.out).resolve()), priority="cmdline")
    settings.set("EXTENSIONS", {"crawlers.extension.ArchiveExtension": 500}, priority="cmdline")
    if args.log_file:
        Path(args.log_file).parent.mkdir(parents=True, exist_ok=True)
        settings.set("LOG_FILE", args.log_file, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", bool(args.log_file), priority="cmdline")
    process = CrawlerProcess(settings)
    for source in sources:
        process.crawl(RegistrySpider, source=source, run_id=args.run_id, since=since,
                      max_pages=args.max_pages)
    process.start()

    bad = []
    for source in sources:
        path = Path(args.out) / source.name / f"{args.run_id}.stats.json"
        if not path.exists():
            bad.append(f"{source.name}: no stats (crawler crashed?)")
            continue
        stats = read_stats(path)
        print(json.dumps({"source": stats.source, "status": stats.status,
                          "pages": stats.pages_fetched, "articles": stats.articles_archived,
                          "errors": stats.errors}, ensure_ascii=False))
        if stats.status != "ok":
            bad.append(f"{source.name}: {stats.status}")
    for line in bad:
        print(f"crawl problem: {line}", file=sys.stderr)
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
