"""The tagger: one pass of the taxonomy's automaton over an article's simplified headline
and text gives its topics, places and partners; language and script come from the original
text; keywords (optional) from flows.tags.keywords. Pure: no I/O beyond loading the taxonomy.
"""
from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from flows.extract import language as lang
from flows.extract.script import detect_script, script_counts, to_simplified
from flows.tags.keywords import KEYWORDS_TOP_K, keyword_tags
from flows.tags.taxonomy import Taxonomy, load_taxonomy
from schemas.records import Tag

_ITEM_END = "、等和及与，,。；;）)\n"   # what may follow the last item of an enumeration


def _leftmost_longest(matches: list[tuple[int, int, Any]]) -> list[tuple[int, int, Any]]:
    """(start, end inclusive, payload) -> non-overlapping, leftmost first, longest at a tie."""
    matches.sort(key=lambda m: (m[0], m[0] - m[1]))
    kept, last_end = [], -1
    for m in matches:
        if m[0] > last_end:
            kept.append(m)
            last_end = m[1]
    return kept


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@dataclass
class Doc:
    """What tagging reads from an article: from an `Article` or a stored row alike."""
    id: str
    source: str
    title: str
    text: str
    title_simplified: str
    text_simplified: str
    script: str | None = None

    @classmethod
    def of(cls, a: Any) -> "Doc":
        get = a.get if isinstance(a, Mapping) else (lambda k, d=None: getattr(a, k, d))
        title, text = get("title") or "", get("text") or ""
        ts, xs = get("title_simplified"), get("text_simplified")
        return cls(id=get("id"), source=get("source") or "", title=title, text=text,
                   title_simplified=ts if ts is not None else (to_simplified(title) or ""),
                   text_simplified=xs if xs is not None else (to_simplified(text) or ""),
                   script=get("script"))


class Tagger:
    """Tags documents with one taxonomy. Reusable and stateless between documents."""

    def __init__(self, taxonomy: Taxonomy | None = None, keywords: bool = True,
                 keywords_top_k: int = KEYWORDS_TOP_K):
        self.tx = taxonomy or load_taxonomy()
        self.automaton = self.tx.automaton
        self.keywords = keywords
        self.top_k = keywords_top_k
        self._province_tags = {p.tag for p in self.tx.places if p.level == "province"}

    # one automaton pass -> (topic matches, entity matches) after overlap resolution
    def match(self, title: str, text: str) -> tuple[str, int, list, list]:
        s = f"{title}\n\n{text}" if title else text
        tmatches, ematches = [], []
        for end, (key, length, tents, eents, latin) in self.automaton.iter(s):
            start = end - length + 1
            if latin and ((start > 0 and _is_word_char(s[start - 1]))
                          or (end + 1 < len(s) and _is_word_char(s[end + 1]))):
                continue
            if tents:
                tmatches.append((start, end, (key, tents)))
            if eents:
                ematches.append((start, end, (key, eents)))
        return s, (len(title) if title else -1), _leftmost_longest(tmatches), _leftmost_longest(ematches)

    def tag(self, doc: Doc, province: str | None = None, keywords: bool | None = None) -> list[Tag]:
        """All tags of one document; `keywords` overrides the tagger's setting for this call."""
        out: list[Tag] = []
        aid = doc.id
        # language and script: from the original text (the script is the point)
        raw = f"{doc.title}\n{doc.text}"
        det = lang.detect(raw)
        out.append(Tag(aid, "language", det.language or "und", det.confidence, det.method))
        if det.language == "zh":
            t, s = script_counts(raw)
            script = doc.script or detect_script(raw)
            if script:
                share = max(t, s) / (t + s) if (t + s) else 1.0
                out.append(Tag(aid, "script", script, round(share, 3), f"traditional-only {t}, simplified-only {s}"))

        s, title_len, tmatches, ematches = self.match(doc.title_simplified, doc.text_simplified)
        breaks = [m.end() for m in re.finditer(r"\n\n", s)]

        def para(pos: int) -> int:
            return -1 if pos < title_len else bisect.bisect_right(breaks, pos)

        out += self._entities(aid, ematches, para, province)
        partner_paras = {para(m[0]) for m in ematches if any(e[0] == "r" for e in m[2][1])}
        out += self._topics(aid, s, tmatches, para, partner_paras)
        if self.keywords if keywords is None else keywords:
            out += keyword_tags(aid, f"{doc.title_simplified}\n{doc.text_simplified}", self.top_k,
                                vocabulary=self.tx.vocabulary)
        return out

    def _topics(self, aid: str, s: str, matches: list, para: Callable[[int], int],
                partner_paras: set[int]) -> list[Tag]:
        st = self.tx.settings
        # topic -> paragraph -> term -> (weight, context?) ; topic -> term -> count
        per: dict[int, dict[int, dict[str, tuple[float, bool]]]] = defaultdict(lambda: defaultdict(dict))
        counts: dict[int, Counter] = defaultdict(Counter)
        for start, end, (key, tents) in matches:
            p = para(start)
            # a term that is a whole item of an enumeration ("气候变化、生物多样性、塑料污染等")
            # names an area rather than saying something about it: it counts as a generic mention
            after = s[end + 1] if end + 1 < len(s) else "。"
            listed = after in "、等" or (start > 0 and s[start - 1] == "、" and after in _ITEM_END)
            for ti, w, ctx in tents:
                w = min(w, st.list_item) if listed else w
                if w >= per[ti][p].get(key, (0.0, ctx))[0]:
                    per[ti][p][key] = (w, ctx)
                counts[ti][key] += 1
        out = []
        for ti, topic in enumerate(self.tx.topics):
            paras = per.get(ti, {})
            if topic.partner_weight and partner_paras:
                paras = per[ti]
                for p in partner_paras:
                    paras[p]["<partner>"] = (topic.partner_weight, False)
            if not paras:
                continue
            score, partners_counted = 0.0, False
            for p, terms in paras.items():
                # context terms count only beside one of the topic's own terms, a partner only
                # beside a term or a context term: "合作" + a foreign partner is cooperation,
                # either alone is not
                anchored = any(w > 0 and not ctx and k != "<partner>" for k, (w, ctx) in terms.items())
                has_context = any(ctx for _, ctx in terms.values())
                weights = []
                for k, (w, ctx) in terms.items():
                    if w <= 0:
                        continue
                    if k == "<partner>":
                        if anchored or has_context:
                            weights.append(w)
                            partners_counted = True
                    elif not ctx or anchored or ("<partner>" in terms and has_context):
                        weights.append(w)
                weights.sort(reverse=True)
                if not weights:
                    continue
                extra = min(len(weights), st.max_terms_per_paragraph) - 1
                value = weights[0] + st.extra_term * extra
                score += value * (st.title_boost if p == -1 else 1.0)
            if score >= topic.threshold:
                c = counts.get(ti, Counter())
                evidence = " ".join(f"{k}×{n}" for k, n in c.most_common(4)
                                    if topic.terms.get(k, topic.context.get(k, 0)) > 0)
                if partners_counted:
                    evidence = (evidence + " +partners").strip()
                out.append(Tag(aid, "topic", topic.id, round(score, 2), evidence))
        return out

    def _entities(self, aid: str, matches: list, para: Callable[[int], int], province: str | None) -> list[Tag]:
        places, partners = self.tx.places, self.tx.partners
        place_hits: dict[int, list[tuple[int, bool]]] = defaultdict(list)   # place -> [(para, needs ctx)]
        partner_hits: dict[int, list[int]] = defaultdict(list)
        for start, _end, (_key, eents) in matches:
            p = para(start)
            for e in eents:
                if e[0] == "p":
                    place_hits[e[1]].append((p, e[2]))
                elif e[0] == "r":
                    partner_hits[e[1]].append(p)
        # provinces named outright (a province, or a city by an unambiguous name)
        context = {places[i].province for i, hits in place_hits.items() if any(not ctx for _, ctx in hits)}
        if province:
            context.add(province)
        out = []
        tagged_province = False
        for i, hits in place_hits.items():
            place = places[i]
            if all(ctx for _, ctx in hits) and place.province not in context:
                continue
            where = ["title"] if any(p == -1 for p, _ in hits) else []
            if any(p != -1 for p, _ in hits):
                where.append("text")
            if place.tag == province:
                where.append("source")
                tagged_province = True
            out.append(Tag(aid, "place", place.tag, float(len(hits)), "+".join(where)))
        if province and not tagged_province and province in self._province_tags:
            out.append(Tag(aid, "place", province, 0.0, "source"))
        for i, hits in partner_hits.items():
            where = (["title"] if -1 in hits else []) + (["text"] if any(p != -1 for p in hits) else [])
            out.append(Tag(aid, "partner", partners[i].id, float(len(hits)), "+".join(where)))
        return out


ProvinceOf = Mapping[str, str] | Callable[[str], str | None] | None


def province_map(registry=None) -> dict[str, str]:
    """Source name -> its province's short name ('广西'), from the registry (sources.toml)."""
    from crawlers.registry import load_registry
    registry = registry or load_registry()
    return {s.name: s.province for s in registry.sources if s.province}


def _province_lookup(province_of: ProvinceOf) -> Callable[[str], str | None]:
    if province_of is None:
        return lambda _source: None
    if callable(province_of):
        return province_of
    return province_of.get


def tag_articles(articles: Iterable[Any], taxonomy: Taxonomy | None = None,
                 province_of: ProvinceOf = None, keywords: bool = True) -> list[Tag]:
    """Tags for `Article` records (or rows with the same field names). Pure: no I/O beyond
    loading the taxonomy once; keywords=False skips jieba entirely. An id that occurs twice is
    tagged once, from its most recently fetched record (the one the warehouse load keeps)."""
    tagger = Tagger(taxonomy, keywords=keywords)
    lookup = _province_lookup(province_of)
    latest: dict[str, Any] = {}
    for a in articles:
        aid = a["id"] if isinstance(a, Mapping) else a.id
        cur = latest.get(aid)
        fetched = (a.get("fetched_at") if isinstance(a, Mapping) else getattr(a, "fetched_at", None))
        if cur is None or fetched is None or cur[0] is None or fetched >= cur[0]:
            latest[aid] = (fetched, a)
    out: list[Tag] = []
    for _, a in latest.values():
        doc = Doc.of(a)
        out += tagger.tag(doc, lookup(doc.source) or None)
    return out
