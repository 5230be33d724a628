"""Record types passed between pipeline stages, and the warehouse DDL.

This package imports nothing else of ours: every other package may depend on it.
"""
from schemas.records import TAG_KINDS, Article, CrawlStats, RawPage, Rejected, Tag

__all__ = ["TAG_KINDS", "Article", "CrawlStats", "RawPage", "Rejected", "Tag"]
