"""What dedupe works with: its rules' settings, the article it reads, the report it returns."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field

from flows.dedupe.minhash import MinHashParams
from schemas.errors import BadInput

UTC = dt.timezone.utc


class DedupeParamsChanged(BadInput):
    """The stored signatures were made with other shingle/permutation/band parameters."""


@dataclass(frozen=True)
class DedupeConfig:
    """Matching rules. Signature-shaping values live in `params` (see docs/dedupe.md)."""

    params: MinHashParams = field(default_factory=MinHashParams)
    verify_margin: float = 0.10        # |estimate - threshold| below this: exact Jaccard decides
    max_checks: int = 3                # exact checks of stored candidates per article
    excerpt_containment: float = 0.9   # excerpt rule: shorter text contained in the longer
    title_min_chars: int = 8           # excerpt rule: folded headline at least this long
    max_title_group: int = 50          # excerpt rule: headline held by at most this many articles

    def meta(self) -> dict[str, str]:
        return {"signature_key": self.params.signature_key, "lsh_key": self.params.lsh_key,
                "threshold": str(self.params.threshold), "min_chars": str(self.params.min_chars),
                "excerpt_containment": str(self.excerpt_containment)}


@dataclass(frozen=True)
class DedupeDoc:
    """What dedupe needs of an article."""

    id: str
    text: str                          # the simplified body (text_simplified, else text)
    title: str | None = None           # the simplified headline
    source: str = ""
    published_at: dt.datetime | None = None
    original_source: str | None = None
    content_hash: str | None = None    # articles.content_hash: unchanged means nothing to do
    first_seen: dt.datetime | None = None

    @classmethod
    def from_article(cls, a) -> "DedupeDoc":
        """From a schemas.Article (or anything with its fields)."""
        return cls(id=a.id, text=a.text_simplified or a.text or "", title=a.title_simplified or a.title,
                   source=a.source, published_at=a.published_at, original_source=a.original_source,
                   content_hash=a.content_hash, first_seen=getattr(a, "first_seen", None))

    def fingerprint(self) -> str:
        if self.content_hash:
            return self.content_hash
        h = hashlib.sha1()
        for v in (self.text, self.title, self.source, self.published_at, self.original_source):
            h.update(b"\x1f" + str(v if v is not None else "").encode("utf-8"))
        return "dd:" + h.hexdigest()


@dataclass
class DedupeReport:
    articles: int = 0          # considered
    unchanged: int = 0         # already deduped with the same content: skipped
    signed: int = 0            # new to dedupe
    resigned: int = 0          # content changed since: signed again
    founders: int = 0          # started a new story
    exact: int = 0             # joined by rule
    near: int = 0
    excerpt: int = 0
    short: int = 0             # shorter than min_chars: a story of its own
    joined_existing: int = 0   # articles that joined a story from an earlier batch
    new_clusters: int = 0
    merges: int = 0
    edges_new: int = 0
    clusters_touched: int = 0
    candidates: int = 0        # LSH candidate pairs checked
    verified_exactly: int = 0  # borderline pairs decided on the exact Jaccard
    seconds: float = 0.0

    def add(self, other: "DedupeReport") -> None:
        for k, v in asdict(other).items():
            setattr(self, k, getattr(self, k) + v)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(d["seconds"], 3)
        return d

    def __str__(self) -> str:
        return (f"{self.articles} articles ({self.signed} new to dedupe, {self.resigned} changed, "
                f"{self.unchanged} unchanged): {self.exact} exact, {self.near} near and {self.excerpt} "
                f"excerpt copies, {self.new_clusters} new stories, {self.joined_existing} joined earlier "
                f"stories, {self.merges} merges, {self.edges_new} new syndication edges "
                f"({self.seconds:.1f} s)")
