"""The pipeline after the crawl: extract (flows/extract/), records (process.py), tags
(flows/tags/), search index (flows/search/), dedupe (flows/dedupe/), the steps that run them
over archive files (steps.py), the Prefect flows (ingest.py, serve.py) and the `newsflow` CLI
(flows/cli/). Importing this package imports neither Prefect nor Scrapy: commands that do not
need them start fast. docs/architecture.md has the map."""
