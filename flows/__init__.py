"""The pipeline: pure step modules (extract, normalise, process) with thin Prefect wrappers
(flows/pipeline.py), and the `newsflow` CLI (flows/cli.py). Importing this package imports
neither Prefect nor Scrapy: commands that do not need them start fast."""
