"""A Tantivy index derived from the warehouse, for the explorer's search page: the same jieba
tokens as our postings (each article's terms with their frequencies, read back from
`search_postings`, title occurrences counted 3 times as there), BM25, and the facet values as
fast fields, so one query gives the top hits, the total, the facet counts and attention over
time without touching the warehouse (bench/bench_web.py measures both side by side).

It is a derivative: built from the warehouse's snapshot (so a build never holds up a load;
every load publishes one), or the warehouse when it has none, into `<warehouse>.search/`, stamped with what it was built from
(warehouse.explore.search_stamp), and used only while that stamp still matches the warehouse;
otherwise the explorer answers from DuckDB. `build` rebuilds it whole; delete the folder at
any time.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from dataclasses import dataclass
from itertools import chain, groupby, islice, repeat
from pathlib import Path
from typing import Callable, Iterator

EPOCH = dt.date(1970, 1, 1)
TAGS = ("topic", "partner", "place", "keyword")
FACET_FIELDS = {"source": "source", "outlet": "outlet", "script": "script", **{k: k for k in TAGS}}
STAMP = "newsflow-stamp.json"
FORMAT = 3                  # of the documents: a derivative of another format is rebuilt


def folder_for(db: str | Path) -> Path:
    db = Path(db)
    return db.with_name(db.stem + ".search")


def _schema():
    import tantivy
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("story", stored=True, tokenizer_name="raw", fast=True)
    sb.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    for name in ("source", "outlet", "script", *TAGS):
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    # ts is stored too: hits tied on score or time are ordered by it and the id, as DuckDB orders them
    sb.add_integer_field("ts", stored=True, indexed=True, fast=True)
    for name in ("day", "week", "month"):
        sb.add_integer_field(name, stored=False, indexed=True, fast=True)
    sb.add_bytes_field("shown", stored=True)     # what a results page shows (JSON), read for its hits only
    return sb.build()


def _week(day: int) -> int:
    return (day - 4) // 7            # 1970-01-05 was a Monday: weeks run Monday to Sunday


def _month(day: int) -> int:
    d = EPOCH + dt.timedelta(days=day)
    return d.year * 12 + d.month - 1


def bin_date(unit: str, key: int) -> dt.date:
    if unit == "day":
        return EPOCH + dt.timedelta(days=key)
    if unit == "week":
        return EPOCH + dt.timedelta(days=key * 7 + 4)
    return dt.date(key // 12, key % 12 + 1, 1)


def _document(row):
    import tantivy
    (aid, source, outlet, script, ts, day, story, topics, partners, places, keywords, terms, tfs,
     title, url, published, text) = row
    doc = tantivy.Document(id=aid, story=story or aid, source=source,
                           body=" ".join(chain.from_iterable(repeat(t, n) for t, n in zip(terms or (), tfs or ()))))
    doc.add_bytes("shown", json.dumps({"source": source, "title": title, "url": url, "original_source": outlet,
                                       "published_at": published.isoformat() if published else None,
                                       "text": text}, ensure_ascii=False).encode("utf-8"))
    if outlet:
        doc.add_text("outlet", outlet)
    if script:
        doc.add_text("script", script)
    if ts is not None:
        doc.add_integer("ts", ts)
        doc.add_integer("day", day)
        doc.add_integer("week", _week(day))
        doc.add_integer("month", _month(day))
    for name, values in zip(TAGS, (topics, partners, places, keywords)):
        for v in values or ():
            doc.add_text(name, v)
    return doc


def build(db: str | Path, folder: Path | None = None, say: Callable[[str], None] | None = None,
          force: bool = False) -> Path:
    """(Re)build the derivative of `db` into `folder`: from its snapshot when it has one (a long
    read of the snapshot never holds up a load; every load publishes a new one), else from the
    warehouse. Nothing is done when the derivative already holds what it would read (`force`:
    rebuild all the same)."""
    import tantivy

    from warehouse import explore
    from warehouse.store import snapshot_path
    folder = folder or folder_for(db)
    source = snapshot_path(Path(db)) if snapshot_path(Path(db)).exists() else Path(db)
    old = Derived.open(folder)
    if old is not None and not force:
        with explore.explorer(source, wait=30) as rd:
            if old.current(explore.search_stamp(rd.con)):
                return folder
    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    started = time.monotonic()
    index = tantivy.Index(_schema(), path=str(tmp))
    writer = index.writer(heap_size=200_000_000, num_threads=1)
    n = 0
    with explore.explorer(source, wait=30) as rd:
        stamp = explore.search_stamp(rd.con)
        for rows in explore.derivative_rows(rd.con):
            for row in rows:
                writer.add_document(_document(row))
            n += len(rows)
            if say and n % 20_000 < len(rows):
                say(f"search index (tantivy): {n:,} articles")
    writer.commit()
    writer.wait_merging_threads()
    (tmp / STAMP).write_text(json.dumps({**stamp, "format": FORMAT}), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    if say:
        say(f"search index (tantivy): {n:,} articles in {time.monotonic() - started:.0f}s at {folder}")
    return folder


@dataclass
class Derived:
    """An open derivative: `current(stamp)`, then `Match(derived, filters)` per request."""
    index: object
    schema: object
    stamp: dict
    folder: Path

    @classmethod
    def open(cls, folder: Path) -> "Derived | None":
        import tantivy
        try:
            stamp = json.loads((folder / STAMP).read_text(encoding="utf-8"))
            index = tantivy.Index.open(str(folder))
        except (OSError, ValueError):
            return None
        return cls(index, index.schema, stamp, folder)

    def current(self, stamp: dict) -> bool:
        """Built from what the warehouse holds now, by this code's document format."""
        return {**stamp, "format": FORMAT} == self.stamp

    def searcher(self):
        return self.index.searcher()


class Match:
    """One query's answers from the derivative, in the shapes warehouse/explore.py returns."""

    def __init__(self, derived: Derived, f):
        self.d, self.f = derived, f
        self.s = derived.searcher()
        self.q = self._query(f)

    def _query(self, f):
        import tantivy
        Q, O, schema = tantivy.Query, tantivy.Occur, self.d.schema
        must = []
        terms = [t for t in dict.fromkeys(f.terms) if t.strip()]
        if terms:
            clauses = [(O.Should if f.any_term else O.Must, Q.term_query(schema, "body", t)) for t in terms]
            must.append(Q.boolean_query(clauses))
        for name, values in (("source", f.sources), ("outlet", f.outlets), ("script", f.scripts),
                             ("topic", f.topics), ("partner", f.partners), ("place", f.places)):
            if values:
                must.append(Q.term_set_query(schema, name, list(values)))
        if f.date_from or f.date_to:
            lo = (f.date_from - EPOCH).days if f.date_from else None
            hi = (f.date_to - EPOCH).days if f.date_to else None
            must.append(Q.range_query(schema, "day", tantivy.FieldType.Integer, lo, hi))
        if not must:
            return Q.all_query()
        return Q.boolean_query([(O.Must, q) for q in must])

    def totals_and_facets(self, limit: int = 12) -> tuple[dict, dict]:
        aggs = {k: {"terms": {"field": v, "size": 1000 if k == "source" else limit}} for k, v in FACET_FIELDS.items()}
        aggs.update(first={"min": {"field": "day"}}, last={"max": {"field": "day"}},
                    dated={"value_count": {"field": "day"}}, stories={"cardinality": {"field": "story"}},
                    year={"histogram": {"field": "month", "interval": 12, "min_doc_count": 1}})
        r = self.s.aggregate(self.q, aggs)
        n = self.s.search(self.q, limit=1, count=True).count
        day = (lambda v: EPOCH + dt.timedelta(days=int(v)) if v is not None else None)
        totals = {"articles": n, "stories": min(n, int(round(r["stories"]["value"] or 0))),
                  "dated": int(r["dated"]["value"] or 0), "first": day(r["first"]["value"]),
                  "last": day(r["last"]["value"]), "approximate_stories": True}
        facets = {k: [(b["key"], b["doc_count"]) for b in r[k]["buckets"]] for k in FACET_FIELDS}
        for k in facets:
            facets[k].sort(key=lambda kv: (-kv[1], kv[0]))
        facets["year"] = sorted(((int(b["key"]) // 12, b["doc_count"]) for b in r["year"]["buckets"]
                                 if b["doc_count"]), reverse=True)
        return totals, facets

    def span(self) -> dict:
        """The totals without the facets: what a chart needs (its first and last day)."""
        r = self.s.aggregate(self.q, {"first": {"min": {"field": "day"}}, "last": {"max": {"field": "day"}}})
        day = (lambda v: EPOCH + dt.timedelta(days=int(v)) if v is not None else None)
        return {"first": day(r["first"]["value"]), "last": day(r["last"]["value"])}

    def _hits(self, order: str, limit: int, offset: int):
        import tantivy
        if order == "relevance" and (self.f.terms):
            return self.s.search(self.q, limit=limit, offset=offset).hits
        return self.s.search(self.q, limit=limit, offset=offset, order_by_field="ts",
                             order=tantivy.Order.Asc if order == "oldest" else tantivy.Order.Desc).hits

    def ranked(self, order: str, tie: str = "id", skip: int = 0, chunk: int = 64) -> Iterator[dict]:
        """Every hit in rank order, read lazily, after the first `skip`. Tantivy orders hits by
        one key (the score, or the publish time); hits tied on it are ordered as DuckDB orders
        them (warehouse/explore.py): by publish time, newest first and undated last (for a
        score), then by `tie` ("id" for articles, "story" for stories). A tied group is read
        whole before any of it is yielded, so hits are fetched in growing chunks until the
        last one's key differs; groups wholly inside `skip` are never read."""
        by_score = order == "relevance" and bool(self.f.terms)
        fetched, pos, pending = 0, 0, []
        while True:
            hits = self._hits(order, chunk, fetched)
            fetched += len(hits)
            done = len(hits) < chunk
            pending += hits
            cut = len(pending)
            if not done:                # the last key's group may go on in the next chunk
                while cut and pending[cut - 1][0] == pending[-1][0]:
                    cut -= 1
            ready, pending = pending[:cut], pending[cut:]
            for _, group in groupby(ready, key=lambda h: h[0]):
                group = list(group)
                if pos + len(group) <= skip:
                    pos += len(group)
                    continue
                rows = [self._row(score, addr, by_score) for score, addr in group]
                if len(rows) > 1:
                    rows.sort(key=lambda r: (r["_ts"] is None, -(r["_ts"] or 0), r[tie]) if by_score
                              else r[tie])
                for row in rows:
                    if pos >= skip:
                        yield row
                    pos += 1
            if done:
                return
            chunk = min(chunk * 2, 4096)

    def _row(self, score, addr, by_score: bool) -> dict:
        doc = self.s.doc(addr)
        return {"id": doc["id"][0], "story": doc["story"][0], "score": score if by_score else None,
                "_ts": doc.get_first("ts"), "_shown": doc["shown"][0]}

    def articles(self, order: str, limit: int, offset: int) -> list[dict]:
        return list(islice(self.ranked(order, skip=offset), limit))

    @staticmethod
    def shown(row: dict) -> dict:
        """A hit with what its results row shows (title, url, 来源, publish time, text)."""
        row.pop("_ts", None)
        d = json.loads(bytes(row.pop("_shown")).decode("utf-8"))
        if d["published_at"]:
            d["published_at"] = dt.datetime.fromisoformat(d["published_at"])
        return {**d, **row}

    def stories(self, order: str, limit: int, offset: int) -> list[dict]:
        """A page of stories: the hits grouped by story in rank order (each story's best copy
        first; hits are read until the page's last story has appeared, however deep), then
        each page story's copies and outlets among the matches counted exactly."""
        import tantivy
        want = offset + limit
        seen: dict[str, dict] = {}
        for row in self.ranked(order, tie="story"):
            if row["story"] not in seen:
                seen[row["story"]] = row
            if len(seen) >= want:
                break
        page = list(seen.values())[offset:want]
        if page:
            q = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, self.q),
                (tantivy.Occur.Must, tantivy.Query.term_set_query(self.d.schema, "story", [r["story"] for r in page]))])
            r = self.s.aggregate(q, {"s": {"terms": {"field": "story", "size": len(page)},
                                           "aggs": {"o": {"terms": {"field": "source", "size": 100}}}}})
            counts = {b["key"]: (b["doc_count"], sorted(x["key"] for x in b["o"]["buckets"])) for b in r["s"]["buckets"]}
            for row in page:
                row["copies"], row["outlets"] = counts.get(row["story"], (1, []))
        return page

    def attention(self, by: str, unit: str, series: int = 8) -> tuple[list[str], list[tuple[dt.date, str, int]]]:
        field = "source" if by == "source" else "topic"
        r = self.s.aggregate(self.q, {"k": {"terms": {"field": field, "size": 1000},
                                            "aggs": {"h": {"histogram": {"field": unit, "interval": 1,
                                                                         "min_doc_count": 1}}}}})
        per = [(bin_date(unit, int(h["key"])), b["key"], h["doc_count"])
               for b in r["k"]["buckets"] for h in b["h"]["buckets"] if h["doc_count"]]
        from warehouse.explore import top_series
        return top_series(per, series)
