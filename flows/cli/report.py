"""`newsflow report`: one self-contained HTML page for an analyst (inline SVG and CSS, no
scripts, nothing fetched when it opens; links go out to the articles only when clicked).

What it shows, in order: which warehouse file was read and when the page was made (Asia/
Shanghai, with the offset), the period covered and the counts; totals by source (with its
province), topic, partner and place; small multiples (one small bar chart per source and per
topic, on shared scales, binned by day, week or month according to the span); the newest and
the most syndicated stories with links to every copy; per-source crawl health.

Every string from the warehouse is HTML-escaped (titles, 来源 and URLs come from the web),
and only http(s) URLs become links.
"""
from __future__ import annotations

import datetime as dt
import html
import math
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

from flows.extract.dates import SHANGHAI

E = html.escape
SOURCE_COLOR, TOPIC_COLOR = "#3b6ea8", "#3d8b5a"
CHART_YEARS = 3            # small multiples cover at most the last 3 years: one 1998 page
                           # would otherwise squash every chart into a few bars
TOP_TAGS = 25              # rows in the partner and place tables


# ---------------------------------------------------------------------------- formatting

def _when(v, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        v = v.astimezone(SHANGHAI)
    return E(v.strftime(fmt))


def _day(v) -> str:
    return _when(v, "%Y-%m-%d")


def _offset(moment: dt.datetime) -> str:
    """'+08:00' (Python 3.11's strftime has no %:z)."""
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _pct(v, digits: int = 0) -> str:
    return "" if v is None else f"{100 * v:.{digits}f}%"


def _num(v) -> str:
    return "" if v is None else f"{v:,}"


def _short(n: float) -> str:
    """Axis numbers: 950, 1.2k, 35k."""
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    if n >= 1000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{n:g}"


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def _link(url: str | None, text_html: str) -> str:
    """`text_html` (already escaped) as a link to `url` when it is an http(s) URL."""
    if url:
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme in ("http", "https"):
            return f'<a href="{E(url)}" rel="noopener noreferrer">{text_html}</a>'
    return text_html


def _nice(top: float) -> float:
    """A y-axis maximum whose halves are round numbers (1, 2, 4, 6, 10, 20, 40, 60, 100 ...)."""
    if top <= 1:
        return 1
    mag = 10 ** math.floor(math.log10(top))
    for m in (1, 2, 4, 6, 10):
        if top <= m * mag:
            return m * mag
    return 10 * mag


# ---------------------------------------------------------------------------- bins

def _bin_start(day: dt.date, unit: str) -> dt.date:
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _next_bin(b: dt.date, unit: str) -> dt.date:
    if unit == "day":
        return b + dt.timedelta(days=1)
    if unit == "week":
        return b + dt.timedelta(days=7)
    return (b + dt.timedelta(days=32)).replace(day=1)


def _bin_label(b: dt.date, unit: str) -> str:
    return b.strftime("%Y-%m") if unit == "month" else b.isoformat()


def choose_bins(days: list[dt.date]) -> dict:
    """The charted window and its bins: at most the last CHART_YEARS years of publish days;
    daily bars up to 62 days, weekly (Monday-first) up to a year, monthly beyond."""
    if not days:
        return {"unit": None, "bins": [], "start": None, "end": None}
    last = max(days)
    start = min(days)
    limit = dt.date(last.year - CHART_YEARS, last.month, 1)
    if start < limit:
        start = limit
    span = (last - start).days
    unit = "day" if span <= 62 else "week" if span <= 371 else "month"
    bins, b = [], _bin_start(start, unit)
    while b <= last:
        bins.append(b)
        b = _next_bin(b, unit)
    return {"unit": unit, "bins": bins, "start": start, "end": last}


def _binned(rows: list[tuple[dt.date, str, int]], window: dict) -> tuple[dict[str, dict], dict[str, int]]:
    """series -> bin -> count inside the window, and series -> count before it."""
    per: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    before: dict[str, int] = defaultdict(int)
    for day, key, n in rows:
        if day < window["start"]:
            before[key] += n
        else:
            per[key][_bin_start(day, window["unit"])] += n
    return per, before


# ---------------------------------------------------------------------------- charts

PANEL_W, PANEL_H = 330, 132
PAD_L, PAD_T, PAD_B = 36, 12, 22
CHAR_W = 6.1              # px per character of an 11px digit label (Noto Sans), with margin


def _x_ticks(window: dict, plot_w: float) -> list[int]:
    """Indices of the bins that get a full label: calendar-aligned for months (every Jan,
    Jan/Jul, every quarter ...), counted back from the latest bin for days and weeks; the
    smallest step whose labels do not touch."""
    bins, unit = window["bins"], window["unit"]
    n = len(bins)
    slot = plot_w / n
    label_w = len(_bin_label(bins[0], unit)) * CHAR_W
    steps = {"month": (1, 2, 3, 4, 6, 12, 24, 36), "week": (1, 2, 3, 4, 6, 8, 13, 26, 52),
             "day": (1, 2, 3, 5, 7, 14, 21, 28, 42, 63)}[unit]
    step = next((s for s in steps if s * slot >= label_w + 8), steps[-1])
    if unit == "month":
        picks = [i for i, b in enumerate(bins)
                 if (b.month - 1) % min(step, 12) == 0 and (step <= 12 or b.year % (step // 12) == 0)]
    else:
        picks = sorted(range(n - 1, -1, -step))
    if len(picks) < 2:                           # too short a span for two aligned months
        picks = sorted({0, n - 1})
    kept, right = [], -6.0                       # nor reaching left of the plot, under the y labels
    for i in picks:                              # never two labels touching
        centre = i * slot + slot / 2
        if centre - label_w / 2 >= right + 6:
            kept.append(i)
            right = centre + label_w / 2
    return kept


def small_multiples(series: dict[str, dict], window: dict, order: list[str], titles: dict[str, str],
                    totals: dict[str, int], color: str, group_id: str) -> str:
    """One small bar chart per series, every panel on the same x bins and the same y scale."""
    if not window["bins"] or not order:
        return '<p class="empty">No dated articles to chart.</p>'
    bins, unit = window["bins"], window["unit"]
    label_w = len(_bin_label(bins[0], unit)) * CHAR_W
    pad_r = math.ceil(label_w / 2) + 2           # the last bin's centred label must not be cut
    plot_w, plot_h = PANEL_W - PAD_L - pad_r, PANEL_H - PAD_T - PAD_B
    top = _nice(max((max(series.get(k, {}).values(), default=0) for k in order), default=0))
    slot = plot_w / len(bins)
    bar_w = max(slot - (1 if slot >= 4 else 0), 0.6)
    ticks = _x_ticks(window, plot_w)
    axis = []
    for frac in (0, 0.5, 1):                     # shared y scale: 0, half, top
        y = PAD_T + plot_h - plot_h * frac
        axis.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{PAD_L + plot_w:.1f}" y2="{y:.1f}" '
                    f'class="{"base" if frac == 0 else "grid"}"/>'
                    f'<text x="{PAD_L - 5}" y="{y + 4:.1f}" class="axis" text-anchor="end">{_short(top * frac)}</text>')
    for i in ticks:
        x = PAD_L + i * slot + slot / 2
        axis.append(f'<line x1="{x:.1f}" y1="{PAD_T + plot_h:.1f}" x2="{x:.1f}" y2="{PAD_T + plot_h + 3:.1f}" class="tick"/>'
                    f'<text x="{x:.1f}" y="{PANEL_H - 6}" class="axis xlabel" text-anchor="middle">'
                    f'{E(_bin_label(bins[i], unit))}</text>')
    axis_svg = "".join(axis)
    panels = []
    for key in order:
        values = series.get(key, {})
        bars = []
        for i, b in enumerate(bins):
            n = values.get(b, 0)
            if n:
                h = max(plot_h * n / top, 1.0)
                bars.append(f'<rect x="{PAD_L + i * slot:.2f}" y="{PAD_T + plot_h - h:.2f}" width="{bar_w:.2f}" '
                            f'height="{h:.2f}" fill="{color}"><title>{E(_bin_label(b, unit))}: {n:,}</title></rect>')
        charted = sum(values.values())
        note = "" if bars else (f'<text x="{PAD_L + plot_w / 2:.1f}" y="{PAD_T + plot_h / 2:.1f}" class="none" '
                                f'text-anchor="middle">none in the charted period</text>')
        panels.append(
            f'<figure class="panel" data-series="{E(key)}"><figcaption>{titles.get(key, E(key))}'
            f' <span class="count">{totals.get(key, charted):,}</span></figcaption>'
            f'<svg class="chart" role="img" aria-label="{E(key)}: {charted:,} articles charted" '
            f'viewBox="0 0 {PANEL_W} {PANEL_H}" width="{PANEL_W}" height="{PANEL_H}" '
            f'xmlns="http://www.w3.org/2000/svg">{axis_svg}{"".join(bars)}{note}</svg></figure>')
    return f'<div class="multiples" id="{group_id}">{"".join(panels)}</div>'


# ---------------------------------------------------------------------------- sections

def _bar(fraction: float, color: str = SOURCE_COLOR) -> str:
    w = int(round(80 * max(0.0, min(fraction, 1.0))))
    return (f'<svg width="82" height="9" class="bar"><rect width="80" height="9" fill="#eef1f5"/>'
            f'<rect width="{w}" height="9" fill="{color}"/></svg>')


def _topic_title(tag: str, labels: dict) -> str:
    en, zh = labels.get(tag, ("", ""))
    if not en and not zh:
        return E(tag)
    return f'{E(en or tag)} <span class="zh">{E(zh)}</span>'


def _partner_title(tag: str, labels: dict) -> str:
    zh = labels.get(tag)
    return E(tag) + (f' <span class="zh">{E(zh)}</span>' if zh and zh != tag else "")


def _source_table(rows: list[dict], meta: dict, total: int, topic_labels: dict) -> str:
    if not rows:
        return '<p class="empty">No articles yet.</p>'
    body = []
    for r in rows:
        m = meta.get(r["source"], {})
        share = r["articles"] / total if total else 0
        tops = "、".join(E(topic_labels.get(t, (t, ""))[0] or t) for t in (r["top_topics"] or []))
        span = f'{_day(r["first"])} – {_day(r["last"])}' if r["first"] else ""
        body.append(
            f'<tr><td class=nw><b>{E(r["source"])}</b></td><td class=nw>{E(m.get("title", ""))}</td>'
            f'<td>{E(m.get("province") or ("national" if m.get("known") else ""))}</td>'
            f'<td class=n>{r["articles"]:,}</td><td class=n>{_pct(share)} {_bar(share)}</td>'
            f'<td class=n>{_pct(r["dated"] / r["articles"] if r["articles"] else None)}</td>'
            f'<td class=nw>{span}</td><td class=n>{r["shared"]:,}</td><td>{tops}</td></tr>')
    return ('<table id="by-source"><thead><tr><th>source</th><th>site</th><th>province</th>'
            '<th class=n>articles</th><th class=n>share</th><th class=n>dated</th><th>published</th>'
            '<th class=n title="articles in stories that another source also carries">shared</th>'
            f'<th>main topics</th></tr></thead><tbody>{"".join(body)}</tbody></table>')


def _tag_table(table_id: str, heading: str, rows: list[dict], total_tags: int, articles: int,
               title_of, what: str) -> str:
    if not rows:
        return (f'<div class="tagbox"><h3>{E(heading)}</h3>'
                f'<p class="empty" id="{table_id}">No {E(what)} tags in this warehouse yet.</p></div>')
    top = max(r["articles"] for r in rows) or 1
    body = "".join(
        f'<tr><td>{title_of(r["tag"])}</td><td class=n>{r["articles"]:,}</td>'
        f'<td class=n>{_pct(r["articles"] / articles if articles else None)} {_bar(r["articles"] / top, TOPIC_COLOR)}</td>'
        f'<td class=n>{r["sources"]:,}</td><td class=nw>{_day(r["last"])}</td></tr>' for r in rows)
    more = (f'<p class="meta">The {len(rows)} most frequent of {total_tags:,} {E(what)}s.</p>'
            if total_tags > len(rows) else "")
    return (f'<div class="tagbox"><h3>{E(heading)}</h3><table id="{table_id}"><thead><tr><th>{E(what)}</th>'
            '<th class=n>articles</th><th class=n>of all</th><th class=n>sources</th><th>latest</th></tr></thead>'
            f'<tbody>{body}</tbody></table>{more}</div>')


def _outlets(story: dict) -> str:
    """The sources that carried a story, each linked to its earliest copy, then what they credit."""
    items = []
    for o in story["outlets"]:
        label = _link(o["url"], f'<b>{E(o["source"])}</b>')
        when = (f' <span class="when">{_when(o["published_at"], "%m-%d %H:%M")}</span>'
                if o["published_at"] and story["copies"] > 1 else "")
        times = f' <span class="when">×{o["copies"]:,}</span>' if o["copies"] > 1 else ""
        items.append(f"<li>{label}{when}{times}</li>")
    if story["sources"] > len(story["outlets"]):
        items.append(f'<li class="more">and {story["sources"] - len(story["outlets"]):,} more sources</li>')
    credited = ("" if not story["credited"] else
                f'<span class="credit">来源 {"、".join(E(c) for c in story["credited"][:8])}'
                f'{"…" if len(story["credited"]) > 8 else ""}</span>')
    return f'<ul class="outlets">{"".join(items)}</ul>{credited}'


def _story_title(s: dict) -> str:
    return _link(s["url"], E(s["title"]) if s["title"] else '<i>(no title)</i>')


def _newest_table(stories: list[dict]) -> str:
    if not stories:
        return '<p class="empty" id="newest">No dated articles yet.</p>'
    rows = "".join(
        f'<tr><td class=nw>{_when(s["first_published"])}</td><td class="story">{_story_title(s)}</td>'
        f'<td class=n>{s["sources"]:,}</td><td>{_outlets(s)}</td></tr>' for s in stories)
    return ('<table id="newest"><thead><tr><th>first published</th><th>story</th><th class=n>sources</th>'
            f'<th>where it appeared</th></tr></thead><tbody>{rows}</tbody></table>')


def _syndicated_table(stories: list[dict]) -> str:
    if not stories:
        return '<p class="empty" id="syndicated">No story seen in more than one place yet.</p>'
    rows = "".join(
        f'<tr><td class=n>{s["sources"]:,}</td><td class=n>{s["copies"]:,}</td><td class="story">{_story_title(s)}</td>'
        f'<td class=nw>{_when(s["first_published"])}<br><span class="when">last {_when(s["last_published"])}</span></td>'
        f'<td>{_outlets(s)}</td></tr>' for s in stories)
    return ('<table id="syndicated"><thead><tr><th class=n>sources</th><th class=n>copies</th><th>story</th>'
            f'<th>published</th><th>sources, earliest first (link: its first copy)</th></tr></thead><tbody>{rows}</tbody></table>')


def _ago(moment, now: dt.datetime) -> str:
    if moment is None:
        return ""
    days = (now - moment).total_seconds() / 86400
    if days < 0:
        return ""
    return f'<span class="when">{days * 24:.0f} h ago</span>' if days < 2 else f'<span class="when">{days:.0f} days ago</span>'


def _health_table(rows: list[dict], now: dt.datetime) -> str:
    if not rows:
        return '<p class="empty" id="health">No sources yet.</p>'
    body = []
    for h in rows:
        status = h["last_status"] or "never crawled"
        cls = "ok" if status == "ok" else "muted" if h["last_status"] is None else "bad"
        per_run = "" if h["new_per_run"] is None else f"{h['new_per_run']:.1f}"
        quality = "" if h["quality"] is None else f"{h['quality']:.2f}"
        body.append(
            f'<tr><td><b>{E(h["source"])}</b></td><td class={cls}>{E(status)}</td>'
            f'<td class=nw>{_when(h["last_ok"])}<br>{_ago(h["last_ok"], now)}</td><td class=nw>{_when(h["last_run"])}</td>'
            f'<td class=n>{_num(h["runs"] or 0)}</td><td class=n>{_num(h["articles"] or 0)}</td>'
            f'<td class=nw>{_when(h["last_new"])}</td>'
            f'<td class=n>{_num(h["new_last_run"])}</td><td class=n>{per_run}</td>'
            f'<td class=n>{_pct(h["error_rate"], 1)}</td><td class=n>{_pct(h["with_date"])}</td>'
            f'<td class=n>{_pct(h["with_source"])}</td><td class=n>{_pct(h["with_author"])}</td>'
            f'<td class=n>{quality}</td></tr>')
    return ('<table id="health"><thead><tr><th>source</th><th>last run</th><th>last success</th><th>last run at</th>'
            '<th class=n>runs</th><th class=n>articles</th><th>newest arrival</th>'
            '<th class=n>new, last run</th><th class=n>new / run</th><th class=n>error rate</th>'
            '<th class=n>dated</th><th class=n>来源</th><th class=n>author</th><th class=n>quality</th></tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans", "Helvetica Neue", Arial, sans-serif; margin: 24px 28px;
       color: #1d232b; max-width: 1100px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 1.6em; margin: 0 0 .2em; } h2 { font-size: 1.2em; margin: 1.8em 0 .4em; padding-bottom: .2em;
     border-bottom: 2px solid #dde3ea; } h3 { font-size: 1em; margin: .6em 0 .3em; }
a { color: #1f5fa8; text-decoration: none; } a:hover { text-decoration: underline; }
nav { margin: .6em 0 0; font-size: .9em; } nav a { margin-right: 1.1em; }
.meta { color: #5b6670; margin: .3em 0; } .zh { color: #5b6670; } .empty { color: #8a949e; font-style: italic; }
.cards { display: flex; gap: 12px; margin: 12px 0; flex-wrap: wrap; }
.card { border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 1.6em; } .card span { color: #5b6670; font-size: .9em; }
dl.head { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 8px 0; }
dl.head dt { color: #5b6670; } dl.head dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: .92em; }
th, td { border-bottom: 1px solid #edf0f3; padding: 4px 6px; text-align: left; vertical-align: top; }
th { font-weight: 600; color: #3c4650; border-bottom: 1px solid #c9d1da; background: #f7f9fb; }
.n { text-align: right; white-space: nowrap; } .nw { white-space: nowrap; }
td.ok { color: #2a7a3f; } td.bad { color: #c0392b; font-weight: bold; } td.muted { color: #8a949e; }
svg.bar { vertical-align: middle; margin-left: 4px; }
.tags { display: grid; grid-template-columns: 1fr 1fr; gap: 0 24px; }
.multiples { display: grid; grid-template-columns: repeat(3, 330px); gap: 10px 22px; }
.panel { margin: 0; display: flex; flex-direction: column; justify-content: flex-end; }
.panel figcaption { font-size: .9em; width: 330px; line-height: 1.25; } .panel .count { color: #5b6670; }
.chart .grid { stroke: #edf0f3; } .chart .base, .chart .tick { stroke: #9aa5b1; }
.chart .axis { font-size: 11px; fill: #5b6670; } .chart .none { font-size: 11px; fill: #8a949e; font-style: italic; }
ul.outlets { list-style: none; margin: 0; padding: 0; display: inline; }
ul.outlets li { display: inline-block; margin-right: 1em; }
.credit, .when { color: #5b6670; font-size: .9em; white-space: nowrap; }  td.story { min-width: 16em; }
"""


def render(data: dict) -> str:
    """The page for `data` (what make_report collects: warehouse.report_data.collect plus
    the file read, the generation time and the registry's and taxonomy's names)."""
    now: dt.datetime = data["generated"]
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>newsflow report {_day(now)}</title>'
            f'<style>{CSS}</style></head><body>\n{_header(data)}\n{_totals(data)}\n{_trends(data)}\n'
            f'{_stories(data)}\n{_health(data)}\n{_changes(data)}\n'
            f'<p class="meta">Made by <code>newsflow report</code>; no scripts, nothing loaded from the network.</p>'
            '</body></html>\n')


def _period(ov: dict) -> str:
    period = (f'published {_day(ov["first"])} – {_day(ov["last"])}' if ov["first"] else "no dated articles")
    undated = ov["articles"] - ov["dated"]
    if undated:
        period += f'; {undated:,} article{"s" if undated != 1 else ""} without a publish date'
    if ov["first_seen"]:
        period += f'; fetched {_day(ov["first_seen"])} – {_day(ov["last_seen"])}'
    return period


def _header(data: dict) -> str:
    ov, now = data["overview"], data["generated"]
    f = data.get("file") or {}
    file_note = (f' <span class="meta">({_size(f["size"])}, modified {_when(f["modified"])} {_offset(f["modified"])})</span>'
                 if f.get("modified") else "")
    stories_note = ""
    if ov["clustered"] and ov["multi_source_stories"] is not None:
        stories_note = f'{ov["multi_source_stories"]:,} carried by more than one source'
    elif not ov["clustered"]:
        stories_note = "no dedupe yet: each article counts as its own story"
    cards = "".join(f'<div class="card"><b>{v}</b><span>{E(k)}</span></div>' for k, v in (
        ("articles", f'{ov["articles"]:,}'), ("stories", f'{ov["stories"]:,}'), ("sources", f'{ov["sources"]:,}'),
        ("topics", f'{data["tag_counts"].get("topic", 0):,}'), ("partners", f'{data["tag_counts"].get("partner", 0):,}'),
        ("places", f'{data["tag_counts"].get("place", 0):,}')))
    last_run = f'{_when(ov["last_run"])} {_ago(ov["last_run"], now)}' if ov["last_run"] else "no crawl runs recorded"
    return (
        f'<header id="header"><h1>newsflow report</h1>'
        f'<dl class="head"><dt>Warehouse read</dt><dd><code>{E(data["source_label"])}</code>{file_note}</dd>'
        f'<dt>Generated</dt><dd>{_when(now)} UTC{_offset(now)} (Asia/Shanghai); every time below is Asia/Shanghai</dd>'
        f'<dt>Period covered</dt><dd>{_period(ov)}</dd>'
        f'<dt>Stories</dt><dd>{ov["stories"]:,}, copies grouped by {E(data["stories_by"])}; {E(stories_note)}</dd>'
        f'<dt>Last crawl run</dt><dd>{last_run}</dd></dl>'
        f'<div class="cards">{cards}</div>'
        '<nav><a href="#totals">Totals</a><a href="#trends">Trends</a><a href="#stories-newest">Newest stories</a>'
        '<a href="#stories-syndicated">Most syndicated</a><a href="#source-health">Source health</a></nav></header>')


def _totals(data: dict) -> str:
    ov, meta = data["overview"], data.get("sources_meta", {})
    topic_labels, partner_labels = data.get("topic_labels", {}), data.get("partner_labels", {})
    return (
        f'<h2 id="totals">Totals by source</h2>{_source_table(data["by_source"], meta, ov["articles"], topic_labels)}'
        '<h2>Totals by topic, partner and place</h2>'
        '<p class="meta">An article counts once per tag; one article usually has several.</p>'
        + _tag_table("by-topic", "Topics", data["topics"], data["tag_counts"].get("topic", 0), ov["articles"],
                     lambda t: _topic_title(t, topic_labels), "topic")
        + '<div class="tags">'
        + _tag_table("by-partner", "Foreign partners", data["partners"], data["tag_counts"].get("partner", 0),
                     ov["articles"], lambda t: _partner_title(t, partner_labels), "partner")
        + _tag_table("by-place", "Places in China", data["places"], data["tag_counts"].get("place", 0),
                     ov["articles"], E, "place")
        + "</div>")


def _trends(data: dict) -> str:
    """Small multiples: one chart per source and per topic, on shared scales."""
    window = choose_bins([d for d, _, _ in data["daily_source"]])
    if not window["unit"]:
        return ('<h2 id="trends">Trends</h2><p class="empty" id="multiples-source">'
                'No dated articles to chart.</p>')
    meta, topic_labels = data.get("sources_meta", {}), data.get("topic_labels", {})
    unit_words = {"day": "day", "week": "week (Monday to Sunday, labelled by its Monday)",
                  "month": "calendar month"}[window["unit"]]
    src_series, src_before = _binned(data["daily_source"], window)
    top_series, _ = _binned(data["daily_topic"], window)
    before = sum(src_before.values())
    intro = (f'<p class="meta" id="bins">Each bar is one {E(unit_words)}, by publish date; '
             f'{len(window["bins"])} bars from {_bin_label(window["bins"][0], window["unit"])} '
             f'to {_bin_label(window["bins"][-1], window["unit"])}. All panels of a group share the same '
             f'scale; the number beside a name is its total of dated articles.'
             + (f' {before:,} articles published before {_day(window["start"])} are counted in the totals '
                f'but not charted.' if before else "") + "</p>")
    src_order = [r["source"] for r in data["by_source"] if r["dated"]]
    src_titles = {k: f'<b>{E(k)}</b> <span class="zh">{E(meta.get(k, {}).get("province", ""))}</span>'
                  for k in src_order}
    src_totals = {r["source"]: r["dated"] for r in data["by_source"]}
    topic_dated: dict[str, int] = defaultdict(int)
    for _, tag, n in data["daily_topic"]:
        topic_dated[tag] += n
    topic_order = [r["tag"] for r in data["topics"] if topic_dated.get(r["tag"])]
    return (f'<h2 id="trends">Articles per {E(window["unit"])}, by source</h2>{intro}'
            + small_multiples(src_series, window, src_order, src_titles, src_totals, SOURCE_COLOR,
                              "multiples-source")
            + f'<h2>Articles per {E(window["unit"])}, by topic</h2>'
            + (small_multiples(top_series, window, topic_order,
                               {k: _topic_title(k, topic_labels) for k in topic_order},
                               topic_dated, TOPIC_COLOR, "multiples-topic")
               if topic_order else '<p class="empty" id="multiples-topic">No topic tags on dated articles yet.</p>'))


def _stories(data: dict) -> str:
    return (
        f'<h2 id="stories-newest">Newest stories</h2><p class="meta">By first publication; copies are grouped '
        f'by {E(data["stories_by"])}. Each source links to its copy of the story.</p>{_newest_table(data["newest"])}'
        f'<h2 id="stories-syndicated">Most syndicated stories</h2><p class="meta">Stories carried by the most '
        f'sources, then the most copies.</p>{_syndicated_table(data["syndicated"])}')


def _health(data: dict) -> str:
    return ('<h2 id="source-health">Per-source health</h2><p class="meta">Runs, new articles and errors come from '
            'crawl_runs (new / run: the average over the runs processed so far); dated, 来源, author: the share '
            'of stored articles that have one; newest arrival: when its newest article was first stored.</p>'
            + _health_table(data["health"], data["generated"]))


KIND_ORDER = ("edited", "removed", "restored", "delisted")


def _changes(data: dict) -> str:
    """Edits, takedowns, restores and delistings per source, then the newest of them."""
    ch = data.get("changes") or {"by_source": [], "recent": []}
    head = ('<h2 id="changes">What changed and what vanished</h2><p class="meta">From re-checks '
            '(<code>newsflow recheck</code>): new versions of an article, takedowns with their evidence, '
            'restores and delistings (<code>newsflow changes</code>, <code>newsflow history URL</code>).</p>')
    if not ch["by_source"]:
        return head + '<p class="empty" id="changes-none">No edit, takedown, restore or delisting recorded yet.</p>'
    counts: dict[str, dict[str, int]] = {}
    for r in ch["by_source"]:
        counts.setdefault(r["source"], {})[r["kind"]] = r["events"]
    rows = "".join(f'<tr><td>{E(src)}</td>' + "".join(f'<td class="num">{_num(k.get(kind, 0))}</td>' for kind in KIND_ORDER)
                   + "</tr>" for src, k in sorted(counts.items()))
    table = ('<table id="changes-by-source"><thead><tr><th>source</th>' + "".join(f"<th>{k}</th>" for k in KIND_ORDER)
             + f"</tr></thead><tbody>{rows}</tbody></table>")
    recent = "".join(
        f'<tr><td class="when">{_when(r["at"])}</td><td>{E(r["source"])}</td><td>{E(r["kind"])}'
        f'{" v" + str(r["version"]) if r["version"] else ""}</td><td>{E(r["reason"] or "")}'
        f'{" (HTTP " + str(r["status"]) + ")" if r["status"] and r["kind"] == "removed" else ""}</td>'
        f'<td class="story">{_link(r["url"], E(r["title"] or r["url"] or ""))}</td></tr>' for r in ch["recent"])
    return (head + table + '<h2 id="changes-recent">Newest changes</h2><table id="changes-recent-table"><thead><tr>'
            '<th>when</th><th>source</th><th>kind</th><th>why</th><th>article</th></tr></thead>'
            f'<tbody>{recent}</tbody></table>')


# ---------------------------------------------------------------------------- entry point

def open_warehouse(db: str | Path, say=None):
    """The one place the report opens its warehouse: read-only, short-lived; while a load
    holds it, its snapshot (warehouse.reader says so through `say`)."""
    import warehouse
    return warehouse.reader(db, say=say)


def _names(registry) -> tuple[dict, dict, dict]:
    """Source titles and provinces from the registry; topic and partner names from the
    taxonomy. Labels only: a report of a warehouse whose sources or tags these no longer
    know still renders, with the bare names."""
    meta = {s.name: {"title": s.title, "province": s.province, "known": True} for s in registry.sources}
    topics, partners = {}, {}
    try:
        from flows.tags import load_taxonomy
        tax = load_taxonomy()
        topics = {t.id: (t.label, t.label_zh) for t in tax.topics}
        partners = {p.id: p.name for p in tax.partners}
    except ValueError:                       # TaxonomyError: a broken data file is retag's business
        pass
    return meta, topics, partners


def collect(db: str | Path, source_label: str | None = None, registry=None,
            now: dt.datetime | None = None, say=None) -> dict:
    """Everything render() needs, read from the warehouse file `db` (or, while a load holds
    it, its snapshot: the header then names the snapshot)."""
    from warehouse import report_data
    if registry is None:
        from crawlers.registry import load_registry
        registry = load_registry()
    with open_warehouse(db, say=say) as wh:
        data = report_data.collect(wh.con)
        label, path = wh.label, wh.path
    meta, topics, partners = _names(registry)
    try:
        st = Path(path).stat() if isinstance(path, Path) else None      # a DuckLake has no file
        file = {"size": st.st_size, "modified": dt.datetime.fromtimestamp(st.st_mtime, SHANGHAI)} if st else {}
    except OSError:
        file = {}
    data.update(generated=(now or dt.datetime.now(SHANGHAI)).astimezone(SHANGHAI),
                source_label=source_label or label, file=file, sources_meta=meta,
                topic_labels=topics, partner_labels=partners)
    return data


def make_report(db: str | Path, output: str | Path, source_label: str | None = None, registry=None,
                now: dt.datetime | None = None, say=None) -> Path:
    """Read the warehouse file `db`, write the page to `output`. `source_label` is how the
    header names what was read (default: the file read, the snapshot when a load held `db`)."""
    page = render(collect(db, source_label=source_label, registry=registry, now=now, say=say))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return output
