"""Crawl state between runs, kept as files: no Scrapy and no DuckDB here.

In: the flow side writes a state file (`python -m crawlers.run --state FILE`) from the
warehouse: per source, the article URLs already stored, each list page's validators (ETag,
Last-Modified) with the links and next pages it held, and the runs already recorded.

Out: every finished run leaves `<run_id>.state.json` next to its WARC file: each URL it
fetched (kind, status, block reason, WARC offset, list date) and the validators, links and
next pages of its list pages. The flow loads that into the warehouse (crawl_urls, list_pages).
A run the flow has not recorded (a crawl run standalone, or a flow killed after its crawl)
is read back from these files, so a crawl stays incremental without any warehouse.

Resume: a crawl killed mid-way (SIGKILL) leaves a WARC file and no stats file. The next crawl
of that source continues that run: same run id, same WARC file (a torn last record is cut
off first), the articles it archived are not fetched again and its list pages are read back
from the archive instead of fetched, and the final stats count the whole run.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path

STATE_VERSION = 1


def ok_article(kind: str, status: int, block: str | None) -> bool:
    """A fetch that archived a real article page: it need not be fetched again."""
    return kind == "article" and 200 <= int(status) < 300 and not block


@dataclass
class ListState:
    """What a list page answered last time: validators for a conditional GET, and the links
    and next pages it held (replayed when the server answers 304)."""

    etag: str | None = None
    last_modified: str | None = None
    links: list[tuple[str, str | None]] = field(default_factory=list)
    next: list[dict] = field(default_factory=list)
    count: int | None = None
    status: int = 200

    def to_json(self) -> dict:
        return {"etag": self.etag, "last_modified": self.last_modified, "status": self.status,
                "links": [list(x) for x in self.links], "next": self.next, "count": self.count}

    @classmethod
    def from_json(cls, d: dict) -> "ListState":
        return cls(d.get("etag"), d.get("last_modified"), [tuple(x) for x in d.get("links") or ()],
                   list(d.get("next") or ()), d.get("count"), int(d.get("status") or 200))


@dataclass
class ResumedPage:
    """One response a killed run had archived."""

    url: str
    final_url: str
    kind: str
    status: int
    block: str | None
    offset: int
    list_date: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes            # kept for list pages only (they are re-read, not re-fetched)
    size: int
    fetched_at: str


@dataclass
class Resume:
    run_id: str
    warc_path: Path
    good_end: int          # the file is cut here before appending (drops a torn last record)
    torn: bool
    pages: list[ResumedPage]
    started_at: str | None


@dataclass
class SourceState:
    known: set[str] = field(default_factory=set)        # fetched before: not fetched again
    stop_known: set[str] = field(default_factory=set)   # known from finished runs: paging stops
    lists: dict[str, ListState] = field(default_factory=dict)
    recorded_runs: set[str] | None = None               # None: no warehouse state was given
    notes: list[str] = field(default_factory=list)
    page_all: bool = False      # the last run stopped early: page on past known pages this time


# ----------------------------------------------------------------------------- files

def write_json(path: Path, data, indent: int | None = None) -> Path:
    """Write `data` as JSON atomically (a temporary name, then a rename): a kill leaves the old
    file or the new one, never half of one (the stats and state files are read on resume)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
    tmp.replace(path)
    return path


def read_state_file(path: str | Path | None) -> dict:
    """The flow's state file -> {source: doc}; {} when there is none."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("version", STATE_VERSION) != STATE_VERSION:
        raise ValueError(f"{path}: state version {data.get('version')} (want {STATE_VERSION})")
    return data.get("sources", {})


def recheck_marker(warc: Path) -> Path:
    """`<run_id>.recheck` next to a re-check run's WARC file: its pages are the re-check's to judge."""
    return Path(warc).with_name(Path(warc).name[:-len(".warc.gz")] + ".recheck")


def run_state_path(source_dir: Path, run_id: str) -> Path:
    return source_dir / f"{run_id}.state.json"


def write_run_state(source_dir: Path, run_id: str, source: str, fetched: list[dict],
                    lists: dict[str, ListState], rechecks: dict[str, dict] | None = None) -> Path:
    """`rechecks` (a re-check run): per known article URL asked, what came back (status, final
    URL, WARC offset, validators) or the error that stopped it (timeout, connection ...)."""
    doc = {"version": STATE_VERSION, "run_id": run_id, "source": source, "fetched": fetched,
           "lists": {u: s.to_json() for u, s in lists.items()}}
    if rechecks is not None:
        doc["rechecks"] = rechecks
    return write_json(run_state_path(source_dir, run_id), doc)


def read_run_state(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------- archive

def _member_end(path: Path, offset: int) -> int:
    """End offset of the gzip member (one WARC record) that starts at offset."""
    d = zlib.decompressobj(31)
    fed = 0
    with open(path, "rb") as fh:
        fh.seek(offset)
        while not d.eof:
            chunk = fh.read(65536)
            if not chunk:
                raise EOFError("gzip member cut short")
            fed += len(chunk)
            d.decompress(chunk)
    return offset + fed - len(d.unused_data)


def scan_archive(path: Path, keep_list_bodies: bool = True) -> Resume:
    """Every complete record of a (possibly torn) WARC file, and where the good part ends."""
    from crawlers.archive import ReadReport, read_pages
    report = ReadReport(str(path))
    pages: list[ResumedPage] = []
    started = None
    for p in read_pages(path, report):
        keep = keep_list_bodies and p.page_kind in ("list", "sitemap", "feed")
        pages.append(ResumedPage(p.url, p.final_url, p.page_kind, p.status, p.block_reason, p.warc_offset,
                                 p.list_date, p.headers, p.body if keep else b"", len(p.body),
                                 p.fetched_at.isoformat()))
        started = started or p.fetched_at.isoformat()
    size = path.stat().st_size
    if pages:
        good_end = _member_end(path, pages[-1].offset)
    else:
        good_end = 0
    torn = bool(report.problems) or good_end != size
    return Resume(path.name[:-len(".warc.gz")], path, good_end, torn, pages, started)


def truncate_archive(resume: Resume) -> None:
    if resume.warc_path.stat().st_size != resume.good_end:
        os.truncate(resume.warc_path, resume.good_end)


# ----------------------------------------------------------------------------- loading

def _merge_run_state(state: SourceState, doc: dict, finished: bool) -> None:
    for f in doc.get("fetched", ()):
        if ok_article(f.get("kind", ""), f.get("status", 0), f.get("block")):
            for u in {f.get("url"), f.get("final_url")} - {None}:
                state.known.add(u)
                if finished:
                    state.stop_known.add(u)
    for url, d in (doc.get("lists") or {}).items():
        ls = ListState.from_json(d)
        if ls.etag or ls.last_modified:
            state.lists[url] = ls


def load_source_state(source_dir: Path, doc: dict | None, run_id: str,
                      resume: bool = True) -> tuple[SourceState, Resume | None]:
    """The knowledge a crawl of one source starts from: the flow's state doc (warehouse) plus
    the runs on disk the flow has not recorded; and the killed run to continue, if any."""
    state = SourceState()
    if doc:
        state.known = set(doc.get("known") or ())
        state.stop_known = set(state.known)
        state.lists = {u: ListState.from_json(d) for u, d in (doc.get("lists") or {}).items()}
        state.recorded_runs = set(doc.get("recorded_runs") or ())
    recorded = state.recorded_runs or set()
    incomplete: list[Path] = []
    if source_dir.is_dir():
        for warc in sorted(source_dir.glob("*.warc.gz")):
            rid = warc.name[:-len(".warc.gz")]
            if rid == run_id or rid in recorded:
                continue
            if recheck_marker(warc).exists() and not (source_dir / f"{rid}.stats.json").exists():
                state.notes.append(f"killed re-check run {warc.name} not resumed")
                continue
            if (source_dir / f"{rid}.stats.json").exists():
                sp = run_state_path(source_dir, rid)
                if sp.exists():
                    _merge_run_state(state, read_run_state(sp), finished=True)
                else:       # a run from before state files: read its archive
                    for p in scan_archive(warc, keep_list_bodies=False).pages:
                        if ok_article(p.kind, p.status, p.block):
                            state.known.update((p.url, p.final_url))
                            state.stop_known.update((p.url, p.final_url))
            else:
                incomplete.append(warc)
    # a run that stopped early but finished its files (a full disk, Ctrl-C) never saw the deeper
    # list pages; its URLs are known, so paging would stop at the first page and never get there
    finished = sorted(source_dir.glob("*.stats.json")) if source_dir.is_dir() else []
    if finished:
        try:
            last = json.loads(finished[-1].read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = {}
        early = [k for k, _ in last.get("errors_by_kind") or () if k.startswith("closed_")]
        if early:
            state.page_all = True
            state.notes.append(f"run {last.get('run_id')} stopped early ({early[0]}): paging past known pages")
    chosen = None
    if incomplete:
        if resume:
            chosen = scan_archive(incomplete[-1])
        for warc in incomplete[:-1] if resume else incomplete:
            # an older killed run: its articles are archived, so they are not fetched again
            for p in scan_archive(warc, keep_list_bodies=False).pages:
                if ok_article(p.kind, p.status, p.block):
                    state.known.update((p.url, p.final_url))
            state.notes.append(f"killed run {warc.name} not resumed (process it with `newsflow process`)")
    if chosen:
        for p in chosen.pages:
            if ok_article(p.kind, p.status, p.block):
                state.known.update((p.url, p.final_url))
    return state, chosen
