"""Article extraction: one page's bytes in, title / publish time / 来源 / author / body out.

The package owns everything between raw bytes and an article's fields: decoding (`decode`),
the parsed page (`dom`, `page`, `meta`), the field rules (`titles`, `labels`, `published`,
`sources`, `bylines`, with `names` for what names look like and `dates` for date forms),
how a field is chosen among their candidates (`candidates`), the main text (`body`), and the
normalisation, script and language helpers the rest of the pipeline shares (`normalise`,
`script`, `language`); `cms` recognises CMS families from fingerprints. `core.extract` ties
them together (docs/extraction.md).
"""
from flows.extract.core import EXTRACTOR_VERSION, Extracted, ExtractError, extract, score_adapter

__all__ = ["EXTRACTOR_VERSION", "Extracted", "ExtractError", "extract", "score_adapter"]
