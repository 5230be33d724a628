"""Full-text search: jieba segmentation shared by indexing and queries (segment), and the
index kept current and queried (index); the postings and BM25 live in warehouse/search.py."""
from flows.search.index import SearchResult, index_new, search
from flows.search.segment import query_tokens, tokens

__all__ = ["SearchResult", "index_new", "query_tokens", "search", "tokens"]
