"""The publish time: every place a page states one proposes it, and the best-supported day wins.

Proposals and their conventions:
- meta tags: gov.cn `PubDate` (《政府网站发展指引》), `article:published_time` (OpenGraph),
  `publishdate` / `datePublished` ...; JSON-LD `datePublished`. A PubDate equal to the page's
  generation time (`<meta name="others" content="页面生成时间 …">`) is the render time;
- the labelled date on the header line (发布时间 / 发表于 / 发布于 / 日期 …), weaker when it
  is an update time (更新时间 / 最后更新), a labelled date on a short line elsewhere (weaker
  the farther from the headline: a sidebar's date is not the article's);
- an unlabelled date on the header line;
- the URL: CMSs put the day in the path (`/2025/04/22/`, `/2025-04/22/`, `/202504/t20250422_`,
  `/20250422/`, NetEase's `/19/0908/10/`); a URL day agreeing with another proposal adds to it;
- a platform's script timestamp (WeChat `var ct = "epoch"`);
- htmldate (installed with trafilatura) when nothing labelled was found;
- the date an official document is signed with, on the last lines of its text;
- the list page's date, last.
A day-only proposal takes the time of another proposal for the same day.
"""
from __future__ import annotations

import datetime as dt
import re

from flows.extract.candidates import Candidate, Choice, choose
from flows.extract.dates import SHANGHAI, has_time, parse_date

META_DATE_KEYS = ("pubdate", "publishdate", "publish_date", "publishtime", "publish-time", "pubtime",
                  "article:published_time", "og:article:published_time", "og:release_date",
                  "datepublished", "dc.date.issued", "dc.date", "sailthru.date",
                  "weibo:article:create_at", "firstpublishedtime", "published_time", "created")
# modification times: weaker, and a year for year-less visible dates
META_UPDATED_KEYS = ("dateupdate", "dateupdated", "datemodified", "lastmodifiedtime",
                     "article:modified_time", "og:updated_time", "last-modified")
SCRIPT_EPOCH = re.compile(r"""\b(?:var\s+ct|ct|createTime|publish_time|pubtime)\s*[:=]\s*["']?(1[0-9]{9})\b""")
URL_DATES = [
    re.compile(r"/((?:19|20)\d{2})[/-](\d{1,2})[/-](\d{1,2})(?=/)"),            # /2025/04/22/, /2024-04/24/
    re.compile(r"/((?:19|20)\d{2})/(\d{2})(\d{2})/"),                            # /2024/0424/ (people.com.cn)
    re.compile(r"/((?:19|20)\d{2})[/-](\d{2})-(\d{2})/"),                        # /2024/04-24/ (chinanews)
    re.compile(r"(?:^|[/_t-])((?:19|20)\d{2})(\d{2})(\d{2})(?=[_/.-]|\d{0,8}\.s?html?)"),  # t20250422_, /20250422/
    re.compile(r"^https?://[^/]*163\.com/(\d{2})/(\d{2})(\d{2})/\d{2}/"),         # NetEase /19/0908/10/
]
WEIGHTS = {"meta": 0.7, "meta:generation_time": 0.3, "jsonld": 0.7, "label:info": 0.85,
           "label:header": 0.8, "label:around": 0.6, "label:anywhere": 0.45, "updated": 0.4,
           "header_date": 0.6, "url": 0.5, "meta_updated": 0.3, "script_epoch": 0.45,
           "htmldate": 0.45, "signed_date": 0.3, "list_date": 0.3}
# a line that is only a date (after the signing organ, closing an official document)
DATE_LINE = re.compile(r"^[（(]?\s*(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*[）)]?$")


def url_date(url: str | None) -> dt.datetime | None:
    if not url:
        return None
    for i, rx in enumerate(URL_DATES):
        m = rx.search(url)
        if m:
            y, mo, d = m.groups()
            year = int(y) + (2000 if i == len(URL_DATES) - 1 else 0)
            try:
                return dt.datetime(year, int(mo), int(d), tzinfo=SHANGHAI)
            except ValueError:
                continue
    return None


def iso_to_shanghai(raw: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.astimezone(SHANGHAI) if value.tzinfo is not None else None


def reference_from(meta: dict) -> dt.date | None:
    """A year for year-less visible dates (`01-14 17:58`), from any date-ish meta tag."""
    for k in META_DATE_KEYS + META_UPDATED_KEYS:
        if meta.get(k):
            d = parse_date(meta[k])
            if d:
                return d.date()
    return None


def _plausible(value: dt.datetime | None) -> bool:
    now = dt.datetime.now(SHANGHAI)
    return value is not None and dt.datetime(1990, 1, 1, tzinfo=SHANGHAI) <= value <= now + dt.timedelta(days=2)


def _meta_candidates(page) -> list[Candidate]:
    out = []
    meta = page.meta
    generated = parse_date(meta.get("others", "")) if "生成" in meta.get("others", "") else None
    key = next((k for k in META_DATE_KEYS if meta.get(k)), None)
    if key:
        raw = meta[key]
        value = parse_date(raw, reference=page.ref)
        if value and ("published_time" in key or "datepublished" in key):
            value = iso_to_shanghai(raw) or value
        if value:
            ev = (key,) + (("time",) if has_time(raw) else ())
            if generated and generated == value:
                out.append(Candidate(value, "meta:published", WEIGHTS["meta:generation_time"], ev + ("generation_time",)))
            else:
                out.append(Candidate(value, "meta:published", WEIGHTS["meta"], ev))
    raw = page.ld.get("datePublished")
    if raw:
        value = iso_to_shanghai(raw) or parse_date(raw)
        if value:
            out.append(Candidate(value, "jsonld", WEIGHTS["jsonld"], ("time",) if has_time(raw) else ()))
    key = next((k for k in META_UPDATED_KEYS if meta.get(k)), None)
    if key:
        value = iso_to_shanghai(meta[key]) or parse_date(meta[key])
        if value:
            out.append(Candidate(value, "meta:updated", WEIGHTS["meta_updated"], (key,)))
    return out


def _label_candidates(page, hits) -> list[Candidate]:
    out = []
    header_seen = set()
    for h in hits:
        if h.kind not in ("date", "updated", "date_unlabelled"):
            continue
        value = parse_date(h.value, reference=page.ref)
        if not value:
            continue
        ev = ("time",) if has_time(h.value) else ()
        if h.kind == "date_unlabelled":
            # the header line is the first dated line under the headline; a dated line led by
            # a headline link is a related item (`图文解读：《…》 2023-07-12`), while links to
            # the channel or the comments (`新浪科技`, `我有话说`) are the header's own
            line = page.lines[h.at] if h.at >= 0 else None
            if h.zone in ("header", "info") and h.zone not in header_seen \
                    and not (line and line.longest_link >= 16):
                header_seen.add(h.zone)
                out.append(Candidate(value, "header_date", WEIGHTS["header_date"], ev))
            continue
        if h.kind == "updated":
            if h.zone in ("header", "info", "around"):
                out.append(Candidate(value, "label_updated", WEIGHTS["updated"], ev))
            continue
        w = WEIGHTS["label:" + h.zone]
        if h.zone in ("around", "anywhere") and page.title_at is not None:
            dist = h.at - page.title_at
            if dist < 0:
                w -= 0.15               # above the headline: the top bar's date, a breadcrumb
                ev += ("above_headline",)
            elif h.zone == "anywhere":
                w -= min(0.15, dist / 400)
        out.append(Candidate(value, "label", round(w, 3), ev + (h.zone,) + ((h.label,) if h.label else ())))
    return out


def _signed_date(body_lines: list[str]) -> dt.datetime | None:
    """The date an official document is signed with, on its own line at the end of the text
    (`国务院办公厅` / `2025年4月22日`, often in Chinese numerals)."""
    from flows.extract.dates import cn_digits
    for line in body_lines[-3:]:
        line = cn_digits(line.strip())
        if DATE_LINE.match(line):
            return parse_date(line)
    return None


def _htmldate(page) -> dt.datetime | None:
    try:
        from htmldate import find_date
        found = find_date(page.html, url=page.url, extensive_search=False, original_date=True,
                          outputformat="%Y-%m-%d")
    except Exception:       # best effort: a parser failure is no date, never a failed page
        return None
    return parse_date(found) if found else None


def candidates(page, hits) -> list[Candidate]:
    out = _meta_candidates(page) + _label_candidates(page, hits)
    value = url_date(page.url)
    if value:
        out.append(Candidate(value, "url", WEIGHTS["url"]))
    if not any(c.rule in ("label", "header_date", "meta:published", "jsonld") for c in out):
        m = SCRIPT_EPOCH.search(page.html)
        if m:
            out.append(Candidate(dt.datetime.fromtimestamp(int(m.group(1)), SHANGHAI), "script_epoch",
                                 WEIGHTS["script_epoch"], ("time",)))
        found = _htmldate(page)
        if found:
            out.append(Candidate(found, "htmldate", WEIGHTS["htmldate"]))
    signed = _signed_date(page.body_lines)
    if signed:
        out.append(Candidate(signed, "signed_date", WEIGHTS["signed_date"]))
    listed = parse_date(page.list_date) if page.list_date else None
    if listed:
        out.append(Candidate(listed, "list_date", WEIGHTS["list_date"], ("time",) if has_time(page.list_date) else ()))
    return [c for c in out if _plausible(c.value)]


def decide(page, hits) -> tuple[Choice, list[Candidate]]:
    cands = candidates(page, hits)
    # the same day from several rules agrees; the one that also gives the time represents it
    choice = choose(cands, key=lambda v: v.date(), prefer=lambda c: ("time" in c.evidence, c.weight))
    return choice, cands
