"""`newsflow`: the one front door. Every command has --help with an example.

The library raises named exceptions, all derived from schemas.errors.NewsflowError, each with
its exit code (1 bad input or failed command, 2 usage, 3 some sources failed, 4 warehouse
busy); flows/cli/app.py is the one place that turns them into one-line messages. One rule
for options: a value of the wrong shape (a number out of range, a bad date) is a usage error,
exit 2; a well-formed name that names nothing known (a --source not in the registry, a
--topic not in the taxonomy) is bad input, exit 1, in every command that takes it. Commands
that need neither Scrapy nor Prefect import neither.

Commands that write (`ingest`, `process`, `crawl`, `reextract`, `retag`, `dedupe`) check their
paths first (flows/preflight.py), then take the warehouse's run lock (flows/lock.py), before
they start Prefect or write anything.

Modules: app (the group, global options, errors), common (what commands share), sources,
pipeline (commands that write), pools (ingest-all over a work pool), maintain (the warehouse
upkeep), reading (commands that read), revisions (recheck, history, changes),
web (the explorer), table (text tables), report
(the HTML report).
"""
from flows.cli import maintain, pipeline, pools, reading, revisions, sources, web  # noqa: F401  (they register the commands)
from flows.cli.app import main

__all__ = ["main"]
