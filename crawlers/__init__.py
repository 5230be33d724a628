"""The crawl side: the source registry, the Scrapy project that fetches pages, and the WARC
archive that keeps every response verbatim. Runs without Prefect or DuckDB."""
