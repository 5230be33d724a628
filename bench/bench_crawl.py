"""Crawl benchmark: our registry crawler against a bare Scrapy spider, same mirror, same run.

    .venv/bin/python bench/bench_crawl.py [--articles 5000] [--rounds 2]

Generates a gxzf-like mirror of N articles (20 to a TRS list page) in a temp dir
(`python -m mirror.build --large N`), serves it from a separate process on 127.0.0.1, then
alternates, `--rounds` times:
- ours: `python -m crawlers.run gxzf` with politeness off (the mirror settings: no delay, no
  AutoThrottle, 8 per domain), archiving every response to WARC, classifying blocked pages,
  writing the state and stats files;
- bare: a Scrapy spider that only follows every same-host link, handed every list page (the TRS
  pager is JavaScript), with the same engine settings (concurrency, CONCURRENT_ITEMS, robots.txt),
  no archive.
It prints pages/s (responses over the crawl's own elapsed time), the whole process's CPU time
per page, and ours as a share of the bare spider's rate. Figures only, no assertions.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# ------------------------------------------------------------------------------ the bare spider

def bare_main(map_file: str, out_json: str, lists_file: str) -> None:
    """A minimal link-following spider: what Scrapy does with no archive and no rules. It is
    handed every list page up front (the TRS pager is JavaScript, which it cannot follow), so
    its frontier is never smaller than ours."""
    from urllib.parse import urlsplit

    import scrapy
    from scrapy.crawler import CrawlerProcess

    from crawlers.run import offline_public_suffixes
    offline_public_suffixes()
    base = json.loads(Path(map_file).read_text())["http://www.gxzf.gov.cn"]
    host = base.split("//", 1)[1]
    lists = [u.replace("http://www.gxzf.gov.cn", base) for u in json.loads(Path(lists_file).read_text())]

    class Bare(scrapy.Spider):
        name = "bare"
        start_urls = lists

        def parse(self, response):
            if not hasattr(response, "text"):
                return
            for href in response.css("a::attr(href)").getall():
                url = response.urljoin(href)
                if urlsplit(url).netloc == host:
                    yield scrapy.Request(url, callback=self.parse)

    from crawlers import settings as nf
    settings = {
        "USER_AGENT": nf.USER_AGENT, "ROBOTSTXT_OBEY": True, "LOG_LEVEL": os.environ.get("BARE_LOG", "WARNING"),
        "TELNETCONSOLE_ENABLED": False, "CONCURRENT_REQUESTS": nf.CONCURRENT_REQUESTS,
        "CONCURRENT_ITEMS": nf.CONCURRENT_ITEMS,         # the same engine settings as ours
        **{k: v for k, v in nf.MIRROR_OVERRIDES.items() if not k.startswith("NF_")},
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    st = crawler.stats.get_stats()
    Path(out_json).write_text(json.dumps({
        "pages": st.get("response_received_count", 0),
        "seconds": st.get("elapsed_time_seconds", 0.0)}))


# ------------------------------------------------------------------------------ the harness

def run_child(cmd: list[str], env: dict) -> tuple[float, float, int]:
    """Run a process; (wall seconds, CPU seconds user+sys, exit code) of that process alone."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0,):
        err = proc.stderr.read().decode(errors="replace")[-2000:]
        raise SystemExit(f"{cmd[:4]} exited {proc.returncode}: {err}")
    proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--bare", nargs=3, metavar=("MAP", "OUT", "LISTS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.bare:
        bare_main(*args.bare)
        return 0

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DO_NOT_TRACK": "1"}
    with tempfile.TemporaryDirectory(prefix="nf-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        from mirror.build import build_large
        info = build_large(tmp / "mirror", args.articles)
        print(f"generated mirror: {info['articles']} articles, {info['list_pages']} list pages, "
              f"{info['article_bytes'] / 1e6:.1f} MB of article HTML ({time.perf_counter() - t0:.1f} s)")
        server = subprocess.Popen([sys.executable, "-m", "mirror.server", "--sites", str(tmp / "mirror" / "sites"),
                                   "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            mapping = json.loads(server.stdout.readline())
            map_file = tmp / "map.json"
            map_file.write_text(json.dumps(mapping))
            lists_file = tmp / "lists.json"
            lists_file.write_text(json.dumps(info["lists"]))
            results = {"ours": [], "bare": []}
            for r in range(args.rounds):
                # bare spider
                out = tmp / f"bare{r}.json"
                wall, cpu, _ = run_child([sys.executable, __file__, "--bare", str(map_file), str(out), str(lists_file)],
                                         env)
                b = json.loads(out.read_text())
                results["bare"].append({"pages": b["pages"], "seconds": b["seconds"], "wall": wall, "cpu": cpu})
                # ours (a fresh archive each round: a full first crawl, not an incremental one)
                arch = tmp / f"archive{r}"
                wall, cpu, _ = run_child([sys.executable, "-m", "crawlers.run", "--out", str(arch), "--run-id", "bench",
                                          "--map", str(map_file), "--max-pages", "100000",
                                          "--log-file", str(tmp / f"ours{r}.log"), "gxzf"], env)
                st = json.loads((arch / "gxzf" / "bench.stats.json").read_text())
                results["ours"].append({"pages": st["pages_fetched"], "seconds": st["duration_s"], "wall": wall,
                                        "cpu": cpu, "articles": st["articles_archived"],
                                        "warc_mb": os.path.getsize(arch / st["warc_path"]) / 1e6})  # relative to the archive
                print(f"round {r + 1}: bare {results['bare'][-1]['pages']} pages in {b['seconds']:.2f} s; "
                      f"ours {st['pages_fetched']} pages ({st['articles_archived']} articles archived, "
                      f"{results['ours'][-1]['warc_mb']:.1f} MB WARC) in {st['duration_s']:.2f} s")
        finally:
            server.terminate()
            _, _, usage = os.wait4(server.pid, 0)
            server_cpu = usage.ru_utime + usage.ru_stime

    def best(rows):
        return max(rows, key=lambda x: x["pages"] / x["seconds"])

    o, b = best(results["ours"]), best(results["bare"])
    rate_o, rate_b = o["pages"] / o["seconds"], b["pages"] / b["seconds"]
    print()
    print(f"{'crawler':<8} {'pages':>6} {'crawl s':>8} {'pages/s':>8} {'wall s':>7} {'CPU s':>6} {'CPU ms/page':>12}")
    for name, x, rate in (("bare", b, rate_b), ("ours", o, rate_o)):
        print(f"{name:<8} {x['pages']:>6} {x['seconds']:>8.2f} {rate:>8.0f} {x['wall']:>7.2f} {x['cpu']:>6.2f} "
              f"{1000 * x['cpu'] / x['pages']:>12.2f}")
    served = sum(x["pages"] for rows in results.values() for x in rows)
    print(f"mirror server (its own process): {1000 * server_cpu / served:.2f} ms CPU per page served")
    print(f"\nours / bare rate: {100 * rate_o / rate_b:.0f}%  (target: >= 70%; best of {args.rounds} rounds each, "
          f"{os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
