"""`newsflow retag`: re-apply a (changed) taxonomy to stored articles without re-extraction."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from flows.tags.tagger import Doc, Tagger, _province_lookup, province_map
from flows.tags.taxonomy import Taxonomy, load_taxonomy
from schemas.records import Tag


@dataclass
class RetagReport:
    version: str
    previous_versions: dict[str, int] = field(default_factory=dict)   # version -> articles tagged with it before
    candidates: int = 0          # articles whose tags were missing, stale or (force) all of them
    retagged: int = 0            # articles whose tags were (re)written
    unchanged: int = 0           # already tagged with this version and content
    keywords_reused: int = 0     # articles whose content had not changed: stored keywords kept, jieba not run
    orphans_removed: int = 0     # tag rows whose article no longer exists
    tags_written: int = 0
    tags_deleted: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)    # tags written per kind
    seconds: float = 0.0
    dry_run: bool = False

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def retag(db: str | Path, taxonomy: Taxonomy | None = None, registry=None, source: str | None = None,
          force: bool = False, dry_run: bool = False, keywords: bool = True, batch: int = 2000,
          progress: Callable[[str], None] | None = None) -> RetagReport:
    """Re-apply the (possibly changed) taxonomy to stored articles, without re-extraction.

    Articles already tagged with this taxonomy version and their current content hash are
    skipped, so running it twice writes nothing the second time; `force` re-tags all. Keywords
    do not depend on the taxonomy, so an article whose content is unchanged keeps its stored
    keywords and jieba runs only for new or changed text. Each batch commits on its own, so an
    interrupted run resumes where it stopped."""
    import warehouse
    from warehouse import tags as wtags

    started = time.monotonic()
    taxonomy = taxonomy or load_taxonomy()
    report = RetagReport(version=taxonomy.version, dry_run=dry_run)
    lookup = _province_lookup(province_map(registry))
    tagger = Tagger(taxonomy, keywords=keywords)
    with warehouse.connect(db, read_only=dry_run) as con:
        report.previous_versions = wtags.version_counts(con)
        ids = wtags.articles_to_tag(con, taxonomy.version, source=source, force=force)
        report.candidates = len(ids)
        if dry_run:
            report.seconds = round(time.monotonic() - started, 2)
            return report
        report.orphans_removed = wtags.prune_orphans(con)
        by_kind: Counter = Counter()
        for i in range(0, len(ids), batch):
            chunk = ids[i:i + batch]
            rows = wtags.articles_for_tagging(con, chunk)
            kept = wtags.stored_keywords(con, chunk) if keywords and not force else {}
            tags: list[Tag] = []
            for row in rows:
                doc = Doc.of(row)
                reuse = kept.get(doc.id)
                tags += tagger.tag(doc, lookup(doc.source) or None, keywords=keywords and reuse is None)
                if reuse is not None:
                    report.keywords_reused += 1
                    tags += [Tag(doc.id, "keyword", t, sc, ev or "") for t, sc, ev in reuse]
            res = wtags.load_tags(con, tags, taxonomy.version, taxonomy.info(), force=force)
            report.retagged += res.articles_written
            report.unchanged += res.articles_unchanged
            report.tags_written += res.tags_inserted
            report.tags_deleted += res.tags_deleted
            by_kind.update(res.by_kind)
            if progress:
                progress(f"tagged {min(i + batch, len(ids))}/{len(ids)} articles")
        report.by_kind = dict(by_kind)
    report.seconds = round(time.monotonic() - started, 2)
    return report
