"""Article extraction: one page's bytes in, title / publish time / 来源 / author / body out.

The package owns everything between raw bytes and an article's fields: decoding
(`decode`), date forms (`dates`), the main text (`body`), field extraction (`core`),
and the text normalisation, script and language helpers the rest of the pipeline shares
(`normalise`, `script`, `language`); `cms` recognises CMS families from fingerprints.
"""
from flows.extract.core import EXTRACTOR_VERSION, Extracted, ExtractError, extract, score_adapter

__all__ = ["EXTRACTOR_VERSION", "Extracted", "ExtractError", "extract", "score_adapter"]
