"""What each page of the explorer shows. Every read goes through warehouse/explore.py (a
locked-down read-only connection per request, the snapshot while a load holds the
warehouse); every value reaches the page through an autoescaping template.

Search: the query is segmented as `newsflow search` does (jieba over the simplified text, so
traditional and simplified queries both work; every word by default, any with `any=1`), the
matching set is built once, then its facets, one page of results (per story or per article),
and its attention over time (per source or topic, per day, week or month) with the counts as
a table and CSV. Downloads carry the whole current result (at most DOWNLOAD_MAX rows) through
`newsflow export`'s code.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path
from typing import Callable

from markupsafe import Markup, escape

from flows.web.app import NotFound, Response
from flows.web.state import PAGE_SIZE, BadRequest, State

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MARK = ("\x02", "\x03")
FACET_TITLES = (("source", "Source"), ("province", "Province"), ("topic", "Topic"), ("partner", "Partner"),
                ("place", "Place"), ("outlet", "来源 (credited outlet)"), ("script", "Script"))
MAX_BINS = 400
REBUILD_EVERY = 60.0        # seconds between background rebuilds of a stale search derivative
FORMATS = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet",
           "jsonl": "application/x-ndjson; charset=utf-8"}


def when(v, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.astimezone(SHANGHAI)
    return v.strftime(fmt)


def highlight(text: str) -> Markup:
    """A snippet with MARK-delimited hits as escaped HTML with <mark> elements."""
    return Markup(str(escape(text)).replace(MARK[0], "<mark>").replace(MARK[1], "</mark>"))


def safe_url(url: str | None) -> str | None:
    """Only http(s) URLs become links."""
    return url if url and url.split(":", 1)[0].lower() in ("http", "https") else None


def window(first: dt.date | None, last: dt.date | None, unit: str) -> dict:
    """The chart's bins from `first` to `last`: the unit the span calls for with `auto` (as
    the report chooses), at most MAX_BINS of them (the latest)."""
    from flows.cli.report import _bin_start, _next_bin, choose_bins
    if first is None or last is None:
        return {"unit": None if unit == "auto" else unit, "bins": [], "start": None, "end": None}
    if unit == "auto":
        return choose_bins([first, last])
    bins, b = [], _bin_start(first, unit)
    while b <= last:
        bins.append(b)
        b = _next_bin(b, unit)
    bins = bins[-MAX_BINS:]
    return {"unit": unit, "bins": bins, "start": bins[0], "end": last}


class Pages:
    def __init__(self, db: Path, archive: Path, registry=None, templates: Path | None = None,
                 say: Callable[[str], None] | None = None, engine: str = "auto"):
        import jinja2
        if registry is None:
            from crawlers.registry import load_registry
            registry = load_registry()
        from flows.cli.report import _names
        self.db, self.archive, self.say = db, archive, say
        self.engine = engine            # auto: the Tantivy derivative while it is current; duckdb: never
        self._derived = self._derived_key = self._derived_mtime = None
        self._derived_ok = self._building = False
        self._built_at = float("-inf")
        self.meta, self.topic_labels, self.partner_labels = _names(registry)
        self.province_of = {k: v["province"] for k, v in self.meta.items()}
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(when=when, hl=highlight, safe_url=safe_url,
                                num=lambda n: f"{n:,}" if isinstance(n, int) else ("" if n is None else n),
                                pct=lambda v: "" if v is None else f"{v * 100:.0f}%",
                                hours=lambda h: "" if h is None else f"{h:+.1f} h")
        self.env.globals.update(label=self.label, FACET_TITLES=FACET_TITLES)

    # ------------------------------------------------------------------ helpers

    def label(self, facet: str, value: str) -> str:
        """How a facet value is shown: topics by their labels, partners by name, sources with a title."""
        if facet == "topic" and value in self.topic_labels:
            en, zh = self.topic_labels[value]
            return f"{en} {zh}"
        if facet == "partner":
            return self.partner_labels.get(value, value)
        if facet == "source" and value in self.meta:
            return f"{value} · {self.meta[value]['title']}"
        return value

    def render(self, template: str, status: int = 200, **ctx) -> Response:
        notes = ctx.pop("notes", [])
        page = self.env.get_template(template).render(notes=notes, db=str(self.db), **ctx)
        return Response(page.encode("utf-8"), status)

    def error(self, status: int, message: str) -> Response:
        return self.render("error.html", status=status, status_code=status, message=message, title="Error")

    def _open(self, notes: list[str]):
        from warehouse.explore import explorer
        return explorer(self.db, say=notes.append)

    def filters(self, state: State):
        """The warehouse's Filters for a state: the query segmented, provinces as their sources."""
        from flows.search.segment import query_tokens
        from warehouse.explore import Filters
        terms = tuple(query_tokens(state.q)) if state.q else ()
        if state.q and not terms:
            raise BadRequest(f"the query {state.q!r} has no word to search for")
        sources = state.source
        if state.province:
            in_province = tuple(s for s, p in self.province_of.items() if p in state.province)
            sources = tuple(s for s in sources if s in in_province) if sources else in_province
            sources = sources or ("\x00none",)          # no source of these provinces: nothing matches
        return Filters(terms=terms, any_term=state.any, sources=sources, topics=state.topic,
                       partners=state.partner, places=state.place, outlets=state.outlet, scripts=state.script,
                       date_from=state.date_from, date_to=state.date_to)

    def _facets(self, raw: dict, state: State) -> list[dict]:
        """Facet groups for the template: each value with its count, link and whether it is selected."""
        by_province: dict[str, int] = {}
        for source, n in raw["source"]:
            p = self.province_of.get(source)
            if p:
                by_province[p] = by_province.get(p, 0) + n
        raw = dict(raw, province=sorted(by_province.items(), key=lambda kv: (-kv[1], kv[0])))
        years = []
        for y, n in raw.get("year", []):
            start, end = dt.date(y, 1, 1), dt.date(y, 12, 31)
            on = state.date_from == start and state.date_to == end
            years.append({"value": str(y), "count": n, "label": str(y), "selected": on,
                          "href": state.url("/", date_from=None, date_to=None) if on
                          else state.url("/", date_from=start, date_to=end)})
        groups = []
        for facet, title in FACET_TITLES:
            values = [(v, n) for v, n in raw.get(facet, [])]
            present = {v for v, _ in values}
            values += [(v, 0) for v in getattr(state, facet) if v not in present]    # selected, now empty
            groups.append({"facet": facet, "title": title, "values": [
                {"value": v, "count": n, "label": self.label(facet, v), "selected": v in getattr(state, facet),
                 "href": state.toggle(facet, v)} for v, n in values]})
        groups.append({"facet": "year", "title": "Year published", "values": years})
        return groups

    # ------------------------------------------------------------------ search

    def _files_key(self):
        """What the warehouse files look like now: unchanged files, unchanged answer to `derived`."""
        from warehouse.store import snapshot_path
        out = []
        for p in (self.db, snapshot_path(self.db), self.db.with_name(self.db.name + ".wal")):
            try:
                st = p.stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def current_derived(self):
        """The derivative, when the files have not changed since it was last found current
        (no warehouse connection needed); None when that must be checked again."""
        if self.engine == "auto" and self._derived_ok and self._derived_key == ("files", self._files_key()):
            return self._derived
        return None

    def derived(self, rd):
        """The search derivative, when there is one and it was built from what `rd` reads."""
        if self.engine != "auto":
            return None
        from flows.search.derived import Derived, folder_for
        from warehouse import explore
        key = ("files", self._files_key())
        if self._derived_key != key:
            if self._derived is None or not (folder_for(self.db) / "meta.json").exists() \
                    or (folder_for(self.db) / "meta.json").stat().st_mtime_ns != self._derived_mtime:
                self._derived = Derived.open(folder_for(self.db))
                meta = folder_for(self.db) / "meta.json"
                self._derived_mtime = meta.stat().st_mtime_ns if meta.exists() else None
            self._derived_ok = self._derived is not None and self._derived.current(explore.search_stamp(rd.con))
            self._derived_key = key
            if not self._derived_ok:
                self._rebuild()
        return self._derived if self._derived_ok else None

    def _rebuild(self) -> None:
        """Rebuild the derivative in the background (at most once a minute); DuckDB answers meanwhile."""
        import threading
        import time
        if self._building or time.monotonic() - self._built_at < REBUILD_EVERY:
            return
        self._building, self._built_at = True, time.monotonic()

        def run():
            from flows.search.derived import build
            try:
                build(self.db)
                self._derived_key = None            # look again at the next request
            except Exception as exc:                # an unwritable folder, a warehouse busy for long
                if self.say:
                    self.say(f"note: the search index could not be rebuilt ({exc}); DuckDB answers searches")
            finally:
                self._building = False
        threading.Thread(target=run, name="newsflow-search-index", daemon=True).start()

    def _answer(self, rd, f, state: State, d=None):
        """(totals, facets, rows, window, attention keys, attention rows) from the derivative when
        it is current, else from the warehouse."""
        from warehouse import explore
        offset = (state.page - 1) * PAGE_SIZE
        # "any word" ranks articles with more of the words first, then by BM25: DuckDB's order
        if d is None and rd is not None and not f.any_term:
            d = self.derived(rd)
        if d is not None:
            from flows.search.derived import Match
            m = Match(d, f)
            totals, facets = m.totals_and_facets()
            rows = [m.shown(r) for r in (m.stories if state.view == "story" else m.articles)(
                state.order, PAGE_SIZE, offset)]
            win = window(totals["first"], totals["last"], state.unit)
            keys, att = m.attention(state.by, win["unit"]) if win["unit"] else ([], [])
            return totals, facets, rows, win, keys, att
        explore.match(rd.con, f)
        totals = explore.totals(rd.con)
        facets = explore.facets(rd.con)
        page_of = explore.stories_page if state.view == "story" else explore.articles_page
        rows = page_of(rd.con, state.order, PAGE_SIZE, offset)
        win = window(totals["first"], totals["last"], state.unit)
        keys, att = explore.attention(rd.con, state.by, win["unit"]) if win["unit"] else ([], [])
        return totals, facets, rows, win, keys, att

    def search(self, query: str) -> Response:
        from flows.search.index import snippet
        state = State.parse(query)
        notes: list[str] = []
        f = self.filters(state)
        d = self.current_derived() if not f.any_term else None
        if d is not None:                   # nothing changed since it was found current: no warehouse needed
            totals, facets, rows, win, keys, att = self._answer(None, f, state, d)
        else:
            with self._open(notes) as rd:
                totals, facets, rows, win, keys, att = self._answer(rd, f, state)
        terms = list(f.terms)
        for r in rows:
            text = r.pop("text") or ""
            r["snippet"] = snippet(text, terms, width=160, mark=MARK) if terms else text[:160]
            r["url"] = safe_url(r["url"])
        count = totals["stories"] if state.view == "story" else totals["articles"]
        pages = max(1, min(math.ceil(count / PAGE_SIZE), 500))
        return self.render(
            "search.html", title=state.q or "Search", state=state, terms=terms, totals=totals, rows=rows,
            facets=self._facets(facets, state), selected=[(k, v, self.label(k, v), state.toggle(k, v))
                                                          for k, v in state.selected()],
            keywords=facets["keyword"], page=state.page, pages=pages, notes=notes,
            chart=self._chart(keys, att, win, state.by), table=_table(keys, att), window=win)

    def _chart(self, keys: list[str], rows: list, win: dict, by: str) -> Markup:
        from flows.cli.report import SOURCE_COLOR, TOPIC_COLOR, small_multiples
        if not win["bins"] or not keys:
            return Markup('<p class="empty">No dated articles to chart.</p>')
        series: dict[str, dict] = {}
        totals: dict[str, int] = {}
        for b, k, n in rows:
            totals[k] = totals.get(k, 0) + n
            if b >= win["bins"][0]:
                series.setdefault(k, {})[b] = n
        titles = {k: str(escape(self.label(by, k))) for k in keys}
        return Markup(small_multiples(series, win, keys, titles, totals,
                                      SOURCE_COLOR if by == "source" else TOPIC_COLOR, "attention-chart"))

    def attention_csv(self, query: str) -> Response:
        """The attention chart's counts as CSV: bin, series, articles."""
        import csv
        import io
        from warehouse import explore
        state = State.parse(query)
        notes: list[str] = []
        with self._open(notes) as rd:
            f = self.filters(state)
            d = self.derived(rd)
            if d is not None:
                from flows.search.derived import Match
                m = Match(d, f)
                totals = m.span()
                win = window(totals["first"], totals["last"], state.unit)
                _, rows = m.attention(state.by, win["unit"]) if win["unit"] else ([], [])
            else:
                explore.match(rd.con, f)
                totals = explore.totals(rd.con)
                win = window(totals["first"], totals["last"], state.unit)
                _, rows = explore.attention(rd.con, state.by, win["unit"]) if win["unit"] else ([], [])
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow([win["unit"] or "day", state.by, "articles"])
        for b, k, n in rows:
            w.writerow([b.isoformat(), k, n])
        return Response(out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8",
                        headers=[("Content-Disposition", 'attachment; filename="attention.csv"')])

    def download(self, query: str, fmt: str) -> Response:
        """The whole current result (at most DOWNLOAD_MAX articles, best first) written by the
        export code into a temporary folder, then sent."""
        from warehouse import explore
        from warehouse.export import export
        state = State.parse(query)
        notes: list[str] = []
        with self._open(notes) as rd:
            explore.match(rd.con, self.filters(state))
            ids = explore.matching_ids(rd.con, state.order)
        with tempfile.TemporaryDirectory(prefix="newsflow-web-") as tmp:
            out = Path(tmp) / f"result.{fmt}"
            export(self.db, fmt, out, partition=False, archive=self.archive, ids=ids)
            body = out.read_bytes()
        name = f"newsflow-{dt.datetime.now(SHANGHAI):%Y%m%d-%H%M%S}.{fmt}"
        return Response(body, content_type=FORMATS[fmt],
                        headers=[("Content-Disposition", f'attachment; filename="{name}"'),
                                 ("X-Newsflow-Rows", str(ids.num_rows))])

    # ------------------------------------------------------------------ one story, one article

    def story(self, query: str, story_id: str) -> Response:
        from warehouse import explore
        notes: list[str] = []
        with self._open(notes) as rd:
            s = explore.story(rd.con, story_id)
        if s is None:
            raise NotFound(f"no story {story_id}")
        for c in s["copies"]:
            c["url"] = safe_url(c["url"])
        title = s["canonical"]["title"] if s["canonical"] else story_id
        return self.render("story.html", title=title, story=s, notes=notes)

    def article(self, query: str, article_id: str) -> Response:
        from warehouse import explore
        notes: list[str] = []
        with self._open(notes) as rd:
            a = explore.article(rd.con, article_id)
        if a is None:
            raise NotFound(f"no article {article_id}")
        fields = a["fields"]
        shown = [(k, _show(v)) for k, v in fields.items() if k not in ("text", "text_simplified", "provenance")]
        return self.render("article.html", title=fields.get("title") or article_id, a=a, fields=fields,
                           shown=shown, provenance=sorted(a["provenance"].items()), url=safe_url(fields.get("url")),
                           notes=notes, raw=fields.get("warc_path") is not None)

    def raw(self, query: str, article_id: str) -> Response:
        """The archived page itself, for the article page's sandboxed frame."""
        from flows.web.replay import REPLAY_CSP, NotArchived, replay
        from warehouse import explore
        notes: list[str] = []
        from urllib.parse import parse_qs
        version = parse_qs(query).get("version", [None])[0]
        if version is not None and not version.isdigit():
            raise BadRequest(f"version={version!r}: a version number")
        with self._open(notes) as rd:
            where = explore.raw_location(rd.con, article_id, int(version) if version else None)
        if where is None:
            raise NotFound(f"no archived page for {article_id}")
        try:
            page = replay(self.archive, *where)
        except NotArchived as exc:
            raise NotFound(str(exc)) from exc
        return Response(page.body, content_type=page.content_type, csp=REPLAY_CSP,
                        headers=[("X-Archived-Url", page.url.encode("ascii", "replace").decode()),
                                 ("X-Archived-At", page.fetched_at)])

    # ------------------------------------------------------------------ sources

    def sources(self, query: str) -> Response:
        from warehouse import explore
        notes: list[str] = []
        with self._open(notes) as rd:
            h = explore.health(rd.con)
        days = sorted({d for d, _, _ in h.yields})
        win = window(days[0], days[-1], "auto") if days else window(None, None, "auto")
        keys = sorted({k for _, k, _ in h.yields})
        binned: list[tuple[dt.date, str, int]] = []
        if win["unit"]:
            from flows.cli.report import _bin_start
            acc: dict[tuple, int] = {}
            for d, k, n in h.yields:
                acc[(_bin_start(d, win["unit"]), k)] = acc.get((_bin_start(d, win["unit"]), k), 0) + n
            binned = sorted((b, k, n) for (b, k), n in acc.items())
        for s in h.sources:
            s["province"] = self.province_of.get(s["source"], "")
        for r in h.runs:                    # recent_runs gives ISO text in UTC: shown in Asia/Shanghai
            r["started"] = dt.datetime.fromisoformat(r["started_at"]) if r.get("started_at") else None
        return self.render("sources.html", title="Sources", health=h, notes=notes,
                           chart=self._chart(keys, binned, win, "source"), window=win)


def _table(keys: list[str], rows: list) -> dict:
    """The attention counts as a table: one row per bin, one column per series."""
    by_bin: dict[dt.date, dict[str, int]] = {}
    for b, k, n in rows:
        by_bin.setdefault(b, {})[k] = n
    return {"keys": keys, "rows": [(b, [by_bin[b].get(k, 0) for k in keys]) for b in sorted(by_bin)]}


def _show(v) -> str:
    """A stored value as text for the article page (lists and structs as JSON)."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return when(v, "%Y-%m-%d %H:%M:%S%z")
    if isinstance(v, (list, dict, tuple)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return str(v)
