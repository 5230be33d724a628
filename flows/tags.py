"""Tagging: language, script, topics, places, partners and keywords that analysts filter on.

    taxonomy = load_taxonomy()                          # flows/data/*.toml, validated, cached
    tags = tag_articles(articles, taxonomy, province_map())
    warehouse.tags.load_tags(con, tags, taxonomy.version, taxonomy.info())

Kinds (one `article_tags` row each, docs/tagging.md has the rules and queries):

- language  'zh', another ISO 639-1 code, or 'und' (flows.extract.language; every article gets one)
- script    'simplified' | 'traditional' | 'mixed' (flows.extract.script), for Chinese text
- topic     ids of flows/data/taxonomy.toml, scored by weighted terms per paragraph
- place     '广西' (a province) or '广西/柳州' (a prefecture-level division), flows/data/gazetteer.toml,
            plus the source's own province from the registry
- partner   'ASEAN', 'SCO', 'Vietnam' ... (flows/data/partners.toml)
- keyword   jieba TF-IDF top terms (jieba is imported only when keywords are asked for)

Topic terms, place names and partner names are matched on the simplified headline + text in
one pass of one Aho-Corasick automaton; overlaps go to the leftmost longest match. The
taxonomy version is a hash of the data files plus TAGGER_VERSION, so editing a file is a new
version and `retag` re-applies it to stored articles without re-extraction.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import re
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Any, Callable, Iterable, Mapping

from flows.extract import language as lang
from flows.extract.script import detect_script, script_counts, to_simplified

TAGGER_VERSION = "tags-1"      # bump when the code changes what tags come out
DATA_DIR = Path(__file__).with_name("data")
DATA_FILES = ("taxonomy.toml", "gazetteer.toml", "partners.toml")
KINDS = ("language", "script", "topic", "place", "partner", "keyword")
KEYWORDS_TOP_K = 8
DASHES = "—―-–－"
PARTNER_TYPES = {"country", "bloc", "organisation", "framework", "convention", "region"}
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ASCII_WORD = re.compile(r"^[A-Za-z0-9.]+$")
_CITY_SUFFIX = ("地区", "市", "盟")
_ITEM_END = "、等和及与，,。；;）)\n"   # what may follow the last item of an enumeration
_DASH = re.compile("[" + "".join(re.escape(d) for d in DASHES) + "]")


class TaxonomyError(ValueError):
    """A tag data file is unreadable or invalid; the message names the file and the entry."""

    def __init__(self, path: Path | str, entry: str, message: str):
        self.path, self.entry = str(path), entry
        super().__init__(f"{path}: {entry}: {message}")


@dataclass(frozen=True)
class Tag:
    article_id: str
    kind: str
    tag: str
    score: float
    evidence: str = ""


@dataclass(frozen=True)
class Topic:
    id: str
    label: str
    label_zh: str
    threshold: float
    terms: Mapping[str, float]
    partner_weight: float = 0.0
    context: Mapping[str, float] = field(default_factory=dict)   # count only beside a term (or partner)


@dataclass(frozen=True)
class Place:
    tag: str            # '广西' or '广西/柳州'
    name: str           # official name
    province: str       # the province's tag (itself for a province)
    level: str          # 'province' | 'city'


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    type: str
    member_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    threshold: float = 2.0
    title_boost: float = 2.0
    extra_term: float = 0.25
    max_terms_per_paragraph: int = 4
    list_item: float = 1.0


# automaton payload: (key, length, topic entries ((topic index, weight), ...),
#                     entity entries (("p", place index, needs context) | ("r", partner index) | ("b",)),
#                     latin: whole-word match only)
_Payload = tuple[str, int, tuple, tuple, bool]


@dataclass
class Taxonomy:
    topics: list[Topic]
    places: list[Place]
    partners: list[Partner]
    settings: Settings
    aliases: dict[str, list[tuple]]          # alias -> entity entries
    version: str
    files: dict[str, str]                    # file name -> sha256 (first 12 hex)
    folder: Path
    _automaton: Any = field(default=None, repr=False)

    def info(self) -> dict:
        """What `taxonomy_versions` records about this version."""
        return {"version": self.version, "tagger_version": TAGGER_VERSION, "files": dict(self.files),
                "topics": len(self.topics), "terms": sum(len(t.terms) + len(t.context) for t in self.topics),
                "places": len(self.places), "partners": len(self.partners)}

    @property
    def automaton(self):
        if self._automaton is None:
            self._automaton = _build_automaton(self)
        return self._automaton

    @functools.cached_property
    def vocabulary(self) -> frozenset[str]:
        """Topic terms, place and partner names: added to jieba's dictionary for keywords, so
        碳中和 or 黔东南州 come out whole."""
        words = {w for t in self.topics for w in (*t.terms, *t.context)} | set(self.aliases)
        return frozenset(w for w in words if len(w) >= 2 and not _ASCII_WORD.match(w))

    def topic(self, topic_id: str) -> Topic:
        return next(t for t in self.topics if t.id == topic_id)


# ---------------------------------------------------------------------------- loading

def _read(path: Path) -> tuple[dict, bytes]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TaxonomyError(path, "file", f"cannot read ({exc.strerror})") from exc
    try:
        return tomllib.loads(raw.decode("utf-8")), raw
    except UnicodeDecodeError as exc:
        raise TaxonomyError(path, "file", f"not UTF-8 ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise TaxonomyError(path, "syntax", str(exc)) from exc


def _keys(path: Path, entry: str, table: Any, allowed: set[str], required: set[str] = frozenset()) -> dict:
    if not isinstance(table, dict):
        raise TaxonomyError(path, entry, f"expected a table, got {type(table).__name__}")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise TaxonomyError(path, entry, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(table))
    if missing:
        raise TaxonomyError(path, entry, f"missing key {missing[0]!r}")
    return table


def _number(path: Path, entry: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise TaxonomyError(path, entry, f"must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _text(path: Path, entry: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise TaxonomyError(path, entry, f"must be a non-empty string without surrounding spaces, got {value!r}")
    return value


def _str_list(path: Path, entry: str, value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TaxonomyError(path, entry, f"must be a list of strings, got {type(value).__name__}")
    return [_text(path, f"{entry}[{i}]", v) for i, v in enumerate(value)]


def _simplified(path: Path, entry: str, term: str) -> str:
    simp = to_simplified(term)
    if simp != term:
        raise TaxonomyError(path, entry, f"{term!r} is in traditional script; matching runs on the "
                                         f"simplified text, write {simp!r}")
    return term


def _load_topics(path: Path, data: dict) -> tuple[Settings, list[Topic]]:
    _keys(path, "top level", data, {"settings", "topics"}, {"topics"})
    raw = _keys(path, "[settings]", data.get("settings", {}),
                {"threshold", "title_boost", "extra_term", "max_terms_per_paragraph", "list_item"})
    settings = Settings(
        threshold=_number(path, "[settings] threshold", raw.get("threshold", 2.0), 0.01, 100),
        title_boost=_number(path, "[settings] title_boost", raw.get("title_boost", 2.0), 0, 100),
        extra_term=_number(path, "[settings] extra_term", raw.get("extra_term", 0.25), 0, 10),
        max_terms_per_paragraph=int(_number(path, "[settings] max_terms_per_paragraph",
                                            raw.get("max_terms_per_paragraph", 4), 1, 100)),
        list_item=_number(path, "[settings] list_item", raw.get("list_item", 1.0), 0, 5))
    topics = []
    if not isinstance(data["topics"], dict) or not data["topics"]:
        raise TaxonomyError(path, "[topics]", "needs at least one [topics.<id>] table")
    for tid, t in data["topics"].items():
        entry = f"[topics.{tid}]"
        if not _TOPIC_ID.match(tid):
            raise TaxonomyError(path, entry, "topic ids are lower-case ascii: letters, digits, _")
        _keys(path, entry, t, {"label", "label_zh", "description", "threshold", "partner_weight", "terms",
                               "context"}, {"label", "terms"})
        terms = t["terms"]
        if not isinstance(terms, dict) or not terms:
            raise TaxonomyError(path, f"{entry} terms", "needs at least one \"term\" = weight")
        clean, context = {}, {}
        for table, out, name in ((terms, clean, "term"), (t.get("context", {}), context, "context term")):
            if not isinstance(table, dict):
                raise TaxonomyError(path, f"{entry} {name}s", "must be a table of \"term\" = weight")
            for term, weight in table.items():
                where = f"{entry} {name} {term!r}"
                _simplified(path, where, _text(path, where, term))
                if term in clean:
                    raise TaxonomyError(path, where, "is already one of the topic's terms")
                out[term] = _number(path, where, weight, 0, 5)
        if not any(w > 0 for w in clean.values()):
            raise TaxonomyError(path, f"{entry} terms", "every term has weight 0: the topic can never match")
        topics.append(Topic(
            id=tid, label=_text(path, f"{entry} label", t["label"]),
            label_zh=_text(path, f"{entry} label_zh", t["label_zh"]) if "label_zh" in t else "",
            threshold=_number(path, f"{entry} threshold", t.get("threshold", settings.threshold), 0.01, 100),
            terms=clean, context=context,
            partner_weight=_number(path, f"{entry} partner_weight", t.get("partner_weight", 0), 0, 5)))
    return settings, topics


def _city_short(name: str) -> str | None:
    for suffix in _CITY_SUFFIX:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return None


def _add_alias(aliases: dict, owner: dict, path: Path, entry: str, alias: str, value: tuple) -> None:
    _simplified(path, entry, alias)
    prev = owner.get(alias)
    if prev is not None and prev != entry:
        raise TaxonomyError(path, entry, f"{alias!r} is already used by {prev}")
    owner[alias] = entry
    aliases.setdefault(alias, []).append(value)


def _load_places(path: Path, data: dict, aliases: dict, owner: dict) -> list[Place]:
    _keys(path, "top level", data, {"aliases", "provinces"}, {"provinces"})
    amb = _keys(path, "[aliases]", data.get("aliases", {}), {"full_only", "needs_context", "blockers"})
    full_only = set(_str_list(path, "[aliases] full_only", amb.get("full_only", [])))
    needs_context = set(_str_list(path, "[aliases] needs_context", amb.get("needs_context", [])))
    both = full_only & needs_context
    if both:
        raise TaxonomyError(path, "[aliases]", f"{sorted(both)[0]!r} is in both full_only and needs_context")
    seen_short: set[str] = set()
    places: list[Place] = []
    provinces = data["provinces"]
    if not isinstance(provinces, list) or not provinces:
        raise TaxonomyError(path, "[[provinces]]", "needs at least one province")
    for i, prov in enumerate(provinces):
        entry = f"[[provinces]] #{i + 1}"
        _keys(path, entry, prov, {"name", "short", "cities"}, {"name", "short"})
        name = _text(path, f"{entry} name", prov["name"])
        entry = f"[[provinces]] {name}"
        shorts = _str_list(path, f"{entry} short", prov["short"])
        if not shorts:
            raise TaxonomyError(path, f"{entry} short", "needs at least the short name used as the tag")
        ptag = shorts[0]
        if any(p.name == name or p.tag == ptag for p in places):
            raise TaxonomyError(path, entry, "is listed twice")
        p_index = len(places)
        places.append(Place(tag=ptag, name=name, province=ptag, level="province"))
        for alias in [name, *shorts]:
            _add_alias(aliases, owner, path, entry, alias, ("p", p_index, False))
        cities = prov.get("cities", [])
        if not isinstance(cities, list):
            raise TaxonomyError(path, f"{entry} cities", "must be a list")
        for j, city in enumerate(cities):
            where = f"{entry} cities[{j}]"
            if isinstance(city, str):
                cname = _text(path, where, city)
                short = _city_short(cname)
                if short is None:
                    raise TaxonomyError(path, where, f"{cname!r}: give {{ name = ..., short = [...] }} for a "
                                                     "name that does not end in 市, 地区 or 盟")
                cshorts = [short]
            else:
                _keys(path, where, city, {"name", "short"}, {"name", "short"})
                cname = _text(path, f"{where} name", city["name"])
                cshorts = _str_list(path, f"{where} short", city["short"])
                if not cshorts:
                    raise TaxonomyError(path, f"{where} short", "needs at least one short form")
            where = f"{entry} city {cname}"
            if any(p.name == cname or p.tag == f"{ptag}/{cshorts[0]}" for p in places):
                raise TaxonomyError(path, where, "is listed twice")
            c_index = len(places)
            places.append(Place(tag=f"{ptag}/{cshorts[0]}", name=cname, province=ptag, level="city"))
            _add_alias(aliases, owner, path, where, cname, ("p", c_index, False))
            for short in cshorts:
                seen_short.add(short)
                if short in full_only:
                    continue
                _add_alias(aliases, owner, path, where, short, ("p", c_index, short in needs_context))
    for name, listed in (("full_only", full_only), ("needs_context", needs_context)):
        unknown = sorted(listed - seen_short)
        if unknown:
            raise TaxonomyError(path, f"[aliases] {name}", f"{unknown[0]!r} is not the short form of any city")
    for b in _str_list(path, "[aliases] blockers", amb.get("blockers", [])):
        _add_alias(aliases, owner, path, f"[aliases] blocker {b!r}", b, ("b",))
    return places


def _load_partners(path: Path, data: dict, aliases: dict, owner: dict) -> list[Partner]:
    _keys(path, "top level", data, {"partners", "combined", "blockers"}, {"partners"})
    raw = data["partners"]
    if not isinstance(raw, list) or not raw:
        raise TaxonomyError(path, "[[partners]]", "needs at least one partner")
    partners: list[Partner] = []
    index: dict[str, int] = {}
    for i, p in enumerate(raw):
        entry = f"[[partners]] #{i + 1}"
        _keys(path, entry, p, {"id", "name", "type", "aliases", "member_of"}, {"id", "name", "type"})
        pid = _text(path, f"{entry} id", p["id"])
        entry = f"[[partners]] {pid}"
        if pid in index:
            raise TaxonomyError(path, entry, "id used twice")
        if p["type"] not in PARTNER_TYPES:
            raise TaxonomyError(path, f"{entry} type", f"{p['type']!r} is not one of {', '.join(sorted(PARTNER_TYPES))}")
        name = _text(path, f"{entry} name", p["name"])
        index[pid] = len(partners)
        partners.append(Partner(id=pid, name=name, type=p["type"],
                                member_of=tuple(_str_list(path, f"{entry} member_of", p.get("member_of", [])))))
        for alias in [name, *_str_list(path, f"{entry} aliases", p.get("aliases", []))]:
            _add_alias(aliases, owner, path, entry, alias, ("r", index[pid]))
    for p in partners:
        for group in p.member_of:
            if group not in index:
                raise TaxonomyError(path, f"[[partners]] {p.id} member_of", f"{group!r} is not a partner id")
    combined = data.get("combined", [])
    if not isinstance(combined, list):
        raise TaxonomyError(path, "[[combined]]", "must be an array of tables")
    for i, c in enumerate(combined):
        entry = f"[[combined]] #{i + 1}"
        _keys(path, entry, c, {"alias", "partners"}, {"alias", "partners"})
        alias = _text(path, f"{entry} alias", c["alias"])
        ids = _str_list(path, f"{entry} partners", c["partners"])
        for pid in ids:
            if pid not in index:
                raise TaxonomyError(path, f"[[combined]] {alias}", f"{pid!r} is not a partner id")
        for pid in ids:
            _add_alias(aliases, owner, path, f"[[combined]] {alias}", alias, ("r", index[pid]))
    blockers = _keys(path, "[blockers]", data.get("blockers", {}), {"phrases"})
    for b in _str_list(path, "[blockers] phrases", blockers.get("phrases", [])):
        _add_alias(aliases, owner, path, f"[blockers] {b!r}", b, ("b",))
    return partners


def load_taxonomy(folder: str | Path | None = None) -> Taxonomy:
    """Read and validate taxonomy.toml, gazetteer.toml and partners.toml from `folder`
    (default flows/data). Cached per folder and file contents: editing a file is seen."""
    folder = Path(folder) if folder else DATA_DIR
    stamps = []
    for name in DATA_FILES:
        try:
            st = (folder / name).stat()
        except OSError as exc:
            raise TaxonomyError(folder / name, "file", f"cannot read ({exc.strerror})") from exc
        stamps.append((name, st.st_mtime_ns, st.st_size))
    return _load_cached(str(folder.resolve()), tuple(stamps))


@functools.lru_cache(maxsize=8)
def _load_cached(folder: str, _stamps: tuple) -> Taxonomy:
    base = Path(folder)
    parsed, digest, files = {}, hashlib.sha256(TAGGER_VERSION.encode()), {}
    for name in DATA_FILES:
        data, raw = _read(base / name)
        parsed[name] = data
        digest.update(name.encode() + b"\0" + raw + b"\0")
        files[name] = hashlib.sha256(raw).hexdigest()[:12]
    settings, topics = _load_topics(base / "taxonomy.toml", parsed["taxonomy.toml"])
    aliases: dict[str, list[tuple]] = {}
    owner: dict[str, str] = {}
    places = _load_places(base / "gazetteer.toml", parsed["gazetteer.toml"], aliases, owner)
    owner = {k: f"gazetteer.toml {v}" for k, v in owner.items()}
    partners = _load_partners(base / "partners.toml", parsed["partners.toml"], aliases, owner)
    return Taxonomy(topics=topics, places=places, partners=partners, settings=settings, aliases=aliases,
                    version="t" + digest.hexdigest()[:12], files=files, folder=base)


def _variants(key: str) -> set[str]:
    if not any(d in key for d in DASHES):
        return {key}
    return {_DASH.sub(d, key) for d in DASHES}


def _build_automaton(tx: Taxonomy):
    import ahocorasick

    topic_entries: dict[str, list] = defaultdict(list)
    for ti, topic in enumerate(tx.topics):
        for term, weight in topic.terms.items():
            topic_entries[term].append((ti, weight, False))
        for term, weight in topic.context.items():
            topic_entries[term].append((ti, weight, True))
    automaton = ahocorasick.Automaton()
    for key in set(topic_entries) | set(tx.aliases):
        payload = (key, len(key), tuple(topic_entries.get(key, ())), tuple(tx.aliases.get(key, ())),
                   bool(_ASCII_WORD.match(key)))
        for variant in _variants(key):
            automaton.add_word(variant, payload)
    automaton.make_automaton()
    return automaton


# ---------------------------------------------------------------------------- tagging

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


# ---------------------------------------------------------------------------- keywords

_JIEBA_WORDS: set[str] = set()


@functools.lru_cache(maxsize=1)
def _jieba_tfidf():
    import logging

    import jieba
    import jieba.analyse
    jieba.setLogLevel(logging.WARNING)
    return jieba.analyse.default_tfidf


def _add_vocabulary(words: frozenset[str]) -> None:
    new = words - _JIEBA_WORDS
    if new:
        import jieba
        for w in sorted(new):
            jieba.add_word(w)
        _JIEBA_WORDS.update(new)


_NOT_KEYWORD = re.compile(r"^[\d.,%％．\-—]+$|^[A-Za-z]$")


def keyword_tags(article_id: str, text: str, top_k: int = KEYWORDS_TOP_K,
                 vocabulary: frozenset[str] = frozenset()) -> list[Tag]:
    """jieba TF-IDF top terms of the simplified text (jieba is imported on first use, ~1 s).
    `vocabulary` words are added to jieba's dictionary first (once per process)."""
    if not text.strip():
        return []
    tfidf = _jieba_tfidf()
    _add_vocabulary(vocabulary)
    out = []
    for word, weight in tfidf.extract_tags(text, topK=top_k * 2, withWeight=True):
        if len(word) < 2 or _NOT_KEYWORD.match(word):
            continue
        out.append(Tag(article_id, "keyword", word, round(float(weight), 4), "tfidf"))
        if len(out) == top_k:
            break
    return out


@functools.lru_cache(maxsize=1)
def _idf() -> tuple[dict, float, frozenset]:
    tfidf = _jieba_tfidf()
    idf_freq, median = tfidf.idf_loader.get_idf()
    return idf_freq, median, frozenset(tfidf.stop_words)


def keywords_from_tokens(article_id: str, tokens: Sequence[str], top_k: int = KEYWORDS_TOP_K) -> list[Tag]:
    """The same TF-IDF ranking as `keyword_tags`, over tokens already segmented (the search
    index segments every article anyway): keywords then cost no second jieba pass."""
    if not tokens:
        return []
    idf, median, stop = _idf()
    counts: dict[str, int] = {}
    for t in tokens:
        if len(t) >= 2 and t not in stop and not _NOT_KEYWORD.match(t):
            counts[t] = counts.get(t, 0) + 1
    total = len(tokens)
    ranked = sorted(((c / total * idf.get(w, median), w) for w, c in counts.items()), reverse=True)[:top_k]
    return [Tag(article_id, "keyword", w, round(float(weight), 4), "tfidf") for weight, w in ranked]


# ---------------------------------------------------------------------------- API

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


def describe(taxonomy: Taxonomy | None = None) -> str:
    """One line per topic: id, label, terms, threshold (for `newsflow retag --show`)."""
    tx = taxonomy or load_taxonomy()
    lines = [f"taxonomy {tx.version} ({', '.join(f'{k} {v}' for k, v in tx.files.items())})"]
    for t in tx.topics:
        lines.append(f"  {t.id:<18} {len(t.terms):>3} terms  threshold {t.threshold:g}  {t.label}")
    lines.append(f"  places {len(tx.places)}, partners {len(tx.partners)}")
    return "\n".join(lines)


__all__ = ["KINDS", "TAGGER_VERSION", "Doc", "RetagReport", "Tag", "Tagger", "Taxonomy", "TaxonomyError",
           "describe", "keyword_tags", "load_taxonomy", "province_map", "retag", "tag_articles"]
