"""Tagging: language, script, topics, places, partners and keywords that analysts filter on.

    taxonomy = load_taxonomy()                          # flows/tags/data/*.toml, validated, cached
    tags = tag_articles(articles, taxonomy, province_map())
    warehouse.tags.load_tags(con, tags, taxonomy.version, taxonomy.info())

Kinds (one `article_tags` row each, docs/tagging.md has the rules and queries):

- language  'zh', another ISO 639-1 code, or 'und' (flows.extract.language; every article gets one)
- script    'simplified' | 'traditional' | 'mixed' (flows.extract.script), for Chinese text
- topic     ids of flows/tags/data/taxonomy.toml, scored by weighted terms per paragraph
- place     '广西' (a province) or '广西/柳州' (a prefecture-level division), flows/tags/data/gazetteer.toml,
            plus the source's own province from the registry
- partner   'ASEAN', 'SCO', 'Vietnam' ... (flows/tags/data/partners.toml)
- keyword   jieba TF-IDF top terms (jieba is imported only when keywords are asked for)

Topic terms, place names and partner names are matched on the simplified headline + text in
one pass of one Aho-Corasick automaton; overlaps go to the leftmost longest match. The
taxonomy version is a hash of the data files plus TAGGER_VERSION, so editing a file is a new
version and `retag` re-applies it to stored articles without re-extraction.
"""
from flows.tags.keywords import KEYWORDS_TOP_K, keyword_tags, keywords_from_tokens
from flows.tags.retag import RetagReport, retag
from flows.tags.tagger import Doc, Tagger, province_map, tag_articles
from flows.tags.taxonomy import DATA_DIR, TAGGER_VERSION, Taxonomy, TaxonomyError, load_taxonomy
from schemas.records import TAG_KINDS as KINDS
from schemas.records import Tag

__all__ = ["DATA_DIR", "KEYWORDS_TOP_K", "KINDS", "TAGGER_VERSION", "Doc", "RetagReport", "Tag", "Tagger",
           "Taxonomy", "TaxonomyError", "keyword_tags", "keywords_from_tokens", "load_taxonomy",
           "province_map", "retag", "tag_articles"]
