"""What a re-check's answer means for a known article: pure functions, no I/O.

`classify` reads one answer (status, final URL, the crawler's block reason, the extracted
record) and says `live`, `not_modified`, `removed` (with the reason: http_404, http_410,
redirect_home, redirect_column, soft_404, placeholder) or `transient` (timeout, connection,
5xx, 429, 412 and other challenges, 403: no definite answer). `after_check` folds a verdict into
the article's check state: transient failures count up, and only `takedown_failures` of them in
a row spread over `takedown_days` make a takedown (`repeated_failures`); a definite answer never
needs that.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# what a CMS shows where a withdrawn article was (besides crawlers/blocking.py's soft-404 phrases)
TAKEDOWN_MARKERS = ("该信息已删除", "信息已删除", "该信息不存在", "信息不存在", "该文章已删除", "文章已删除",
                    "已被删除", "已撤稿", "已撤销", "已下线", "内容已过期", "页面不存在", "文章不存在",
                    "該信息已刪除", "信息不存在或已刪除")
PLACEHOLDER_CHARS = 80          # an article at least this long before ...
PLACEHOLDER_MAX = 200           # ... whose page now holds less text than this ...
PLACEHOLDER_SHARE = 0.2         # ... and under this share of what it had, became a placeholder
DEFINITE = {404: "http_404", 410: "http_410"}
INDEX = re.compile(r"/(index|default|list\d*)(_\d+)?\.(s?html?|jsp|php|aspx?)$", re.I)


@dataclass(frozen=True)
class Verdict:
    outcome: str                # live | not_modified | removed | transient
    reason: str = ""
    detail: str = ""


def _path(url: str) -> str:
    return urlsplit(url or "").path or "/"


def redirect_kind(requested: str, final: str, start_urls: tuple[str, ...] = ()) -> str | None:
    """`redirect_home` when a redirect ended on the site's home page, `redirect_column` when on a
    column (list) page: a start URL, or an index/folder above the article; None otherwise."""
    if not final or final == requested:
        return None
    fpath = _path(final)
    if fpath == "/" or INDEX.search(fpath) and fpath.count("/") == 1:
        return "redirect_home"
    starts = {_path(u) for u in start_urls}
    folders = {p.rsplit("/", 1)[0] + "/" for p in starts}
    if fpath in starts or fpath in folders:
        return "redirect_column"
    rpath = _path(requested)
    folder = fpath if fpath.endswith("/") else (fpath.rsplit("/", 1)[0] + "/" if INDEX.search(fpath) else None)
    if folder and rpath.startswith(folder) and rpath != fpath:
        return "redirect_column"
    return None


def _says_removed(text: str) -> str | None:
    return next((m for m in TAKEDOWN_MARKERS if m in text), None)


def classify(answer: dict, record=None, *, previous_chars: int = 0, start_urls: tuple[str, ...] = (),
             record_text: str | None = None, page_text: str = "") -> Verdict:
    """One re-check answer -> Verdict. `answer`: the crawler's {status, final_url, block, error,
    url, redirected}; `record`: what processing made of the page (an Article, a Rejected or
    None) and `record_text` its text; `page_text`: the page itself when small (a soft-404 page
    says so); `previous_chars`: how long the stored article's text is."""
    if answer.get("error"):
        return Verdict("transient", answer["error"])
    status = int(answer.get("status") or 0)
    if status == 304:
        return Verdict("not_modified")
    moved = redirect_kind(answer.get("url", ""), answer.get("final_url", ""), start_urls)
    if moved and status < 500:
        return Verdict("removed", moved, f"redirected to {answer.get('final_url')} (HTTP {status})")
    if status in DEFINITE:
        return Verdict("removed", DEFINITE[status], f"HTTP {status}")
    block = answer.get("block") or ""
    if status == 412 or block.startswith("challenge") or block == "login_wall":
        return Verdict("transient", block or f"http_{status}")
    if not 200 <= status < 300:
        return Verdict("transient", f"http_{status}")
    if block == "soft_404":
        return Verdict("removed", "soft_404", "the page says it does not exist")
    if block:
        return Verdict("transient", block)
    text = record_text if record_text is not None else (getattr(record, "text", None) or "")
    marker = _says_removed(text) if len(text) < 4 * PLACEHOLDER_CHARS else None
    marker = marker or (_says_removed(page_text) if page_text else None)
    if marker:
        return Verdict("removed", "soft_404", f"the page says {marker}")
    reason = getattr(record, "reason", None)
    if reason is not None:          # a Rejected: 200, but no article on the page any more
        if getattr(record, "detail", "") == "soft_404":
            return Verdict("removed", "soft_404", "the page says it does not exist")
        if previous_chars >= PLACEHOLDER_CHARS:
            return Verdict("removed", "placeholder", f"no article on the page ({reason}: {record.detail})")
        return Verdict("transient", reason)
    if (previous_chars >= PLACEHOLDER_CHARS and len(text) < PLACEHOLDER_MAX
            and len(text) < PLACEHOLDER_SHARE * previous_chars):
        return Verdict("removed", "placeholder", f"{len(text)} characters where there were {previous_chars}")
    return Verdict("live")


@dataclass(frozen=True)
class CheckState:
    failures: int = 0
    first_failure_at: dt.datetime | None = None
    removed: bool = False


def after_check(state: CheckState, verdict: Verdict, now: dt.datetime, failures_needed: int,
                days_needed: float) -> tuple[CheckState, str | None, Verdict]:
    """The check state after this verdict, the event it makes (removed | restored | None) and
    the verdict as recorded (a transient failure becomes `removed/repeated_failures` once there
    have been `failures_needed` in a row over at least `days_needed` days)."""
    if verdict.outcome == "transient":
        first = state.first_failure_at or now
        n = state.failures + 1
        if (not state.removed and n >= failures_needed
                and (now - first).total_seconds() >= days_needed * 86400):
            v = Verdict("removed", "repeated_failures",
                        f"{n} failed checks over {(now - first).total_seconds() / 86400:.1f} days (last: {verdict.reason})")
            return CheckState(n, first, True), "removed", v
        return CheckState(n, first, state.removed), None, verdict
    if verdict.outcome == "removed":
        return CheckState(0, None, True), (None if state.removed else "removed"), verdict
    return CheckState(0, None, False), ("restored" if state.removed else None), verdict
