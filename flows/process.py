"""Pure processing steps: archived page -> Article | Rejected -> warehouse load.

No Prefect and no Scrapy here: these run the same from a flow, the CLI, a test or a bench.
List pages stay in the archive (they are discovery, not content); error responses, non-HTML
bodies and pages without article text become `Rejected` rows with a reason.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from crawlers.archive import ReadReport, read_pages
from crawlers.blocking import SOFT404
from crawlers.settings import DOWNLOAD_MAXSIZE
from crawlers.registry import Registry, Source
from flows.extract import EXTRACTOR_VERSION, ExtractError, extract
from flows.extract.normalise import (article_id, canonical_url, clean_body, clean_inline, content_hash,
                             strip_pinyin)
from flows.extract.language import detect_language
from flows.extract.script import detect_script, quality, to_simplified
from schemas import Article, RawPage, Rejected

SOFT404_TEXT = 200      # characters: a body this short that says "page not found" is a soft 404


def to_record(page: RawPage, source: Source | None, presets: Mapping[str, Mapping] | None = None
              ) -> Article | Rejected | None:
    """One archived response -> an Article, a Rejected, or None for list/other pages.
    `presets`: the registry's CMS presets, for a page of no registry source."""
    if page.page_kind != "article":
        return None

    def reject(reason: str, detail: str) -> Rejected:
        return Rejected(url=page.final_url, source=page.source, reason=reason, detail=detail,
                        fetched_at=page.fetched_at, run_id=page.run_id, warc_path=page.warc_path,
                        warc_offset=page.warc_offset)

    if page.block_reason:
        return reject("blocked", page.block_reason)
    if not 200 <= page.status < 300:        # errors, and redirects that were not followed
        where = page.header("location")
        return reject("http_error", f"HTTP {page.status}" + (f" to {where} (not followed)" if where else ""))
    # a binary body under any declared type is the crawler's `not_html` (crawlers/blocking.py) or
    # extraction's "binary body"; the declared type is not trusted (this check matched every type)
    # what the crawler would have refused (a source may allow bigger pages): a page this big
    # is no article, and would cost a minute and a gigabyte to parse
    cap = source.max_bytes if source is not None and source.max_bytes else DOWNLOAD_MAXSIZE
    if len(page.body) > cap:
        return reject("too_large", f"{len(page.body)} bytes (cap {cap})")
    try:
        e = extract(page.body, page.final_url, content_type=page.header("content-type"),
                    preset=source, encoding_hint=source.encoding if source else None,
                    list_date=page.list_date, presets=presets)
    except ExtractError as exc:
        return reject(exc.reason, exc.detail)
    title = clean_inline(strip_pinyin(e.title))
    text = clean_body(strip_pinyin(e.text))
    # a "page not found" in the site's full chrome (too big for the crawler's soft-404 check):
    # once the navigation is gone, what is left is the apology (it has no headline either:
    # the site's name is not one)
    if len(text) < SOFT404_TEXT and any(m in text for m in SOFT404 + (source.soft404_markers if source else ())):
        return reject("blocked", "soft_404")
    if not title:
        return reject("no_title", "no headline found")
    fields = dict(title=title, published_at=e.published_at,
                  original_source=clean_inline(strip_pinyin(e.original_source)),
                  author=clean_inline(strip_pinyin(e.author)),
                  editor=clean_inline(strip_pinyin(e.editor)), text=text)
    # the source's own rules too (Hainan's ?ddtab=true): one page, one id, whatever link led to it
    url = source.canonical(page.final_url) if source is not None else canonical_url(page.final_url)
    score, flags = quality(text, e.encoding, e.pinyin_groups)
    return Article(
        id=article_id(url, canonical=True), url=url, url_original=page.final_url, source=page.source, language=detect_language(text),
        content_hash=content_hash(*fields.values(), e.images, e.attachments, e.column_name),
        extractor_version=EXTRACTOR_VERSION,
        fetched_at=page.fetched_at, run_id=page.run_id, warc_path=page.warc_path,
        warc_offset=page.warc_offset, encoding=e.encoding, date_missing=e.published_at is None,
        provenance=tuple(sorted(e.provenance.items())),
        title_simplified=to_simplified(title), text_simplified=to_simplified(text),
        script=detect_script(title + "\n" + text), quality=score, quality_flags=flags,
        column_name=e.column_name, images=e.images, attachments=e.attachments, **fields)


WARM_PAGE = ("<html><head><meta charset='utf-8'><title>预热</title></head><body><h1>自治区召开工作会议</h1>"
             "<div class='info'>来源：广西日报　作者：李明　发布时间：2025-01-02 09:30</div>"
             "<div class='content'><p>" + "会议强调，要坚持稳中求进工作总基调，推動(dòng)高质量发展。" * 8 +
             "</p></div></body></html>")


def warm_up() -> None:
    """Run one small article through extraction and normalisation: the libraries' lazy
    start-up (dictionaries, compiled patterns, language profiles) happens now, not inside the
    first real page (a Dask worker's preload, flows/fanout.py)."""
    page = RawPage(url="http://warm.invalid/a.html", final_url="http://warm.invalid/a.html", status=200,
                   headers=(("Content-Type", "text/html; charset=utf-8"),), body=WARM_PAGE.encode("utf-8"),
                   fetched_at=dt.datetime(2025, 1, 2, tzinfo=dt.timezone.utc), source="warm")
    to_record(page, None)


def extract_file(spec: tuple[str, str], loc: str, registry: Registry
                 ) -> tuple[list[Article | Rejected], ReadReport]:
    """The records of one WARC file of a store (crawlers/storage.py: `spec()`), in order, and
    what reading it found: the unit of work one Dask worker does (the CPU-bound part of a
    pass; the records go back to the one loader)."""
    report = ReadReport(loc)
    return list(file_records(spec, loc, registry, report)), report


def file_records(spec: tuple[str, str], loc: str, registry: Registry,
                 report: ReadReport) -> Iterator[Article | Rejected]:
    """The records of one WARC file of a store as they are read (a pass in one process takes
    them so: no file is held in memory whole). A file that is gone is a problem in `report`."""
    from crawlers.archive import read_store
    from crawlers.errors import ArchiveMissing
    from crawlers.storage import from_spec
    store = from_spec(spec)
    by_name = {s.name: s for s in registry.sources}
    try:
        for page in read_store(store, loc, report):
            rec = to_record(page, by_name.get(page.source), registry.presets)
            if rec is not None:
                yield rec
    except ArchiveMissing as exc:       # (a recorded run whose file is gone: said, not fatal)
        report.problems.append(str(exc))


def iter_records(paths: Iterable[str | Path | tuple[str | Path, str]], registry: Registry,
                 reports: list[ReadReport] | None = None) -> Iterator[Article | Rejected]:
    """Records of these archive files, in order. A path may come as (path, location): the
    records then name their WARC file by that location (crawlers/archive.py: location)."""
    by_name = {s.name: s for s in registry.sources}
    for item in paths:
        path, where = item if isinstance(item, tuple) else (item, None)
        report = ReadReport(str(path))
        if reports is not None:
            reports.append(report)
        for page in read_pages(path, report, location=where):
            rec = to_record(page, by_name.get(page.source), registry.presets)
            if rec is not None:
                yield rec


def run_id_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + \
        re.sub(r"[^0-9a-f]", "", __import__("uuid").uuid4().hex)[:6]
