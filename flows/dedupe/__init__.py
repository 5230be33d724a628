"""Dedupe and syndication: one story, one cluster, across URLs, outlets and scripts.

    report = dedupe_new("data/newsflow.duckdb")                  # everything not yet deduped
    report = dedupe_new(con, run_id="20250715T080000-abc123")      # one crawl run's articles
    report = dedupe_new(con, article_ids=[...], outlets=registry_outlets(registry))

An article joins a story (cluster) when one of three rules links it to a member:

- exact:   the same folded simplified text (`text_hash`), at least `min_chars` long;
- near:    MinHash + LSH candidates whose Jaccard similarity of character shingles is at
           least `threshold` (the estimate decides when it is clearly above or below; within
           `verify_margin` of the threshold the exact Jaccard of the two texts decides);
- excerpt: the same folded headline (at least `title_min_chars`, held by at most
           `max_title_group` articles, so generic headlines never link) and the shorter text
           at least `excerpt_containment` contained in the longer (exact containment).

Links are transitive (union-find). Stories only grow: an article never leaves its cluster;
when an article links two clusters they merge, the older one (lower founder seq) survives
and the other's row stays with `merged_into`. Re-running a batch changes nothing: articles
whose content hash is unchanged are skipped; a changed article is re-signed in place.

Each touched cluster gets its canonical article (the credited original outlet when some
member's 来源 names the outlet of another member, else the earliest published; then first
seen, then signing order) and one syndication edge per other member: republished from the
member of the outlet its 来源 credits when there is one, else from the canonical.

Modules: model (settings, documents, report), minhash (folding, signatures, LSH keys: pure
numpy), batch (one batch's steps), canonical (canonical article, edges), outlets (outlet
names), run (entry points). The decisions are here; every SQL statement is in
warehouse/clusters.py.
"""
from flows.dedupe.batch import dedupe_batch
from flows.dedupe.canonical import choose_canonical
from flows.dedupe.minhash import MinHashParams
from flows.dedupe.model import DedupeConfig, DedupeDoc, DedupeParamsChanged, DedupeReport
from flows.dedupe.outlets import registry_outlets
from flows.dedupe.run import dedupe_articles, dedupe_new, reset_dedupe, summary

__all__ = ["DedupeConfig", "DedupeDoc", "DedupeParamsChanged", "DedupeReport", "MinHashParams",
           "choose_canonical", "dedupe_articles", "dedupe_batch", "dedupe_new", "registry_outlets",
           "reset_dedupe", "summary"]
