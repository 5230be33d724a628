"""The tag data files (flows/tags/data/*.toml): read, validated, versioned, compiled.

A taxonomy is topics (weighted terms), places (the gazetteer) and partners, each file checked
on load so that an error names the file and the entry. Its version is a hash of the files plus
TAGGER_VERSION: editing a file is a new version that `retag` re-applies. Loaded taxonomies
are cached per folder and file stamps; the Aho-Corasick automaton is built once per taxonomy.
"""
from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from flows.extract.script import to_simplified
from schemas.errors import BadInput

TAGGER_VERSION = "tags-1"      # bump when the code changes what tags come out
DATA_DIR = Path(__file__).with_name("data")
DATA_FILES = ("taxonomy.toml", "gazetteer.toml", "partners.toml")
DASHES = "—―-–－"
PARTNER_TYPES = {"country", "bloc", "organisation", "framework", "convention", "region"}
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_ASCII_WORD = re.compile(r"^[A-Za-z0-9.]+$")
_CITY_SUFFIX = ("地区", "市", "盟")
_DASH = re.compile("[" + "".join(re.escape(d) for d in DASHES) + "]")


class TaxonomyError(BadInput, ValueError):
    """A tag data file is unreadable or invalid; the message names the file and the entry."""

    def __init__(self, path: Path | str, entry: str, message: str):
        self.path, self.entry = str(path), entry
        super().__init__(f"{path}: {entry}: {message}")


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
    (default flows/tags/data). Cached per folder and file contents: editing a file is seen."""
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
