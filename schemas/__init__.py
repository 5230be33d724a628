"""Record types passed between pipeline stages, and the warehouse DDL.

This package imports nothing else of ours: every other package may depend on it.
"""
from schemas.records import Article, CrawlStats, RawPage, Rejected

__all__ = ["Article", "CrawlStats", "RawPage", "Rejected"]
