"""`newsflow report`: one self-contained HTML page (inline SVG and CSS, no scripts, no
network) with articles per day by source, topic trends, the most syndicated stories and
per-source health. Every string from the warehouse is HTML-escaped: titles come from the web.
"""
from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict
from pathlib import Path

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f"]
E = html.escape


def _line_chart(series: dict[str, dict], xs: list, chart_id: str, title: str,
                width: int = 900, height: int = 260, fmt: str = "%m-%d") -> str:
    """Lines (one per series) over the x values; a legend under the chart."""
    if not xs or not series:
        return f'<p class="empty">No data yet for “{E(title)}”.</p>'
    pad_l, pad_b, pad_t = 40, 24, 10
    w, h = width - pad_l - 10, height - pad_b - pad_t
    top = max(max(s.values(), default=0) for s in series.values()) or 1
    top = _nice(top)
    step = w / max(len(xs) - 1, 1)
    parts = [f'<svg id="{chart_id}" class="chart" role="img" aria-label="{E(title)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):                                       # grid and y labels
        y = pad_t + h - h * i / 4
        parts.append(f'<line x1="{pad_l}" y1="{y:.1f}" x2="{pad_l + w}" y2="{y:.1f}" class="grid"/>')
        label = f"{top * i / 4:g}"
        parts.append(f'<text x="{pad_l - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{label}</text>')
    for i, x in enumerate(xs):                               # a handful of x labels
        if i % max(1, len(xs) // 8) == 0 or i == len(xs) - 1:
            parts.append(f'<text x="{pad_l + i * step:.1f}" y="{height - 6}" class="axis" '
                         f'text-anchor="middle">{E(x.strftime(fmt) if isinstance(x, dt.date) else str(x))}</text>')
    legend = []
    for k, (name, values) in enumerate(sorted(series.items())):
        color = PALETTE[k % len(PALETTE)]
        pts = " ".join(f"{pad_l + i * step:.1f},{pad_t + h - h * values.get(x, 0) / top:.1f}"
                       for i, x in enumerate(xs))
        parts.append(f'<polyline class="series" data-series="{E(name)}" fill="none" stroke="{color}" '
                     f'stroke-width="2" points="{pts}"/>')
        for i, x in enumerate(xs):
            if values.get(x):
                parts.append(f'<circle cx="{pad_l + i * step:.1f}" cy="{pad_t + h - h * values[x] / top:.1f}" '
                             f'r="2.5" fill="{color}"><title>{E(name)} {E(str(x))}: {values[x]}</title></circle>')
        legend.append(f'<span class="key"><i style="background:{color}"></i>{E(name)}</span>')
    parts.append("</svg>")
    return "".join(parts) + f'<div class="legend">{"".join(legend)}</div>'


def _nice(top: float) -> float:
    """A y-axis maximum whose quarters are round numbers."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if top <= 4 * step:
            return 4 * step
    return top


def _bucket(day: dt.date, unit: str) -> dt.date:
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    return day


def _pct(v) -> str:
    return "" if v is None else f"{100 * v:.0f}%"


def _when(v) -> str:
    return "" if v is None else E(v.strftime("%Y-%m-%d %H:%M"))


def render(data: dict) -> str:
    t = data["totals"]
    # articles per day by source
    # by day; grouped by week or month when the span is too long for daily points to read
    daily = data["daily"]
    span = (max(d for d, _, _ in daily) - min(d for d, _, _ in daily)).days if daily else 0
    unit = "day" if span <= 90 else "week" if span <= 365 else "month"
    per_source: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for d, s, n in daily:
        per_source[s][_bucket(d, unit)] += n
    xs = []
    if daily:
        first, last = _bucket(min(d for d, _, _ in daily), unit), _bucket(max(d for d, _, _ in daily), unit)
        x = first
        while x <= last:
            xs.append(x)
            x = _bucket(x + dt.timedelta(days={"day": 1, "week": 7, "month": 32}[unit]), unit)
    daily_title = "Articles per day by source" + ("" if unit == "day" else f" (summed by {unit}: the span is {span} days)")
    daily_svg = _line_chart(per_source, xs, "chart-daily", daily_title,
                            fmt="%Y-%m" if unit == "month" else "%y-%m-%d" if unit == "week" else "%m-%d")
    # topic trends
    trends = data["topics"]
    if trends is None:
        topic_svg = '<p class="empty">No topic tags in this warehouse yet.</p>'
    else:
        weeks = sorted({w for w, _, _ in trends})
        per_topic: dict[str, dict] = defaultdict(dict)
        for w, tag, n in trends:
            per_topic[tag][w] = n
        topic_svg = _line_chart(per_topic, weeks, "chart-topics", "Articles per week by topic", fmt="%y-%m-%d")
    # syndication
    how, stories = data["syndicated"]
    syn_rows = "".join(
        f"<tr><td>{E(s['title'] or '')}</td><td class=n>{s['copies']}</td><td class=n>{s['sources']}</td>"
        f"<td>{E(s['outlets'] or '')}</td><td>{_when(s['first_seen'])}</td></tr>" for s in stories)
    syn_table = (f'<table id="syndicated"><tr><th>story</th><th>copies</th><th>sources</th><th>outlets</th>'
                 f'<th>first published</th></tr>{syn_rows}</table>' if stories
                 else '<p class="empty">No story seen in more than one place yet.</p>')
    # health
    health_rows = []
    max_articles = max([h["articles"] or 0 for h in data["health"]] + [1])
    for h in data["health"]:
        bar = int(120 * (h["articles"] or 0) / max_articles)
        status = h["last_status"] or "never crawled"
        per_run = "" if h["new_per_run"] is None else f"{h['new_per_run']:.1f}"
        quality = "" if h["quality"] is None else f"{h['quality']:.2f}"
        cls = "ok" if status == "ok" else "bad"
        health_rows.append(
            f"<tr><td>{E(h['source'])}</td><td class={cls}>{E(status)}</td><td>{_when(h['last_ok'])}</td>"
            f"<td class=n>{h['runs'] or 0}</td><td class=n>{h['articles'] or 0} "
            f'<svg width="124" height="10" class="bar"><rect width="{bar}" height="10" fill="#1f77b4"/></svg></td>'
            f"<td class=n>{per_run}</td>"
            f"<td class=n>{_pct(h['error_rate'])}</td><td class=n>{_pct(h['with_date'])}</td>"
            f"<td class=n>{_pct(h['with_source'])}</td><td class=n>{_pct(h['with_author'])}</td>"
            f"<td class=n>{quality}</td></tr>")
    health = ('<table id="health"><tr><th>source</th><th>last run</th><th>last success</th><th>runs</th>'
              '<th>articles</th><th>new / run</th><th>error rate</th><th>dated</th><th>来源</th><th>author</th>'
              f'<th>quality</th></tr>{"".join(health_rows)}</table>')
    span = f"{_when(t['first'])} – {_when(t['last'])}" if t["first"] else "no dated articles"
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>newsflow report</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; margin: 2em; color: #222; max-width: 1000px; }}
h1 {{ font-size: 1.5em; }} h2 {{ font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ddd; }}
table {{ border-collapse: collapse; font-size: .9em; width: 100%; }}
th, td {{ border-bottom: 1px solid #eee; padding: 4px 6px; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; white-space: nowrap; }} td.ok {{ color: #2ca02c; }} td.bad {{ color: #d62728; font-weight: bold; }}
.chart .grid {{ stroke: #eee; }} .chart .axis {{ font-size: 11px; fill: #666; }}
.legend {{ font-size: .85em; margin: .3em 0 0 40px; }} .key {{ margin-right: 1.2em; white-space: nowrap; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
.empty {{ color: #888; font-style: italic; }} .meta {{ color: #666; }}
</style></head><body>
<h1>newsflow report</h1>
<p class="meta">{t['articles']} articles from {t['sources']} sources, published {span}.
Generated {E(data['generated'])} from {E(data['db'])}; times are Asia/Shanghai.</p>
<h2>{E(daily_title)}</h2>{daily_svg}
<h2>Topic trends (articles per week)</h2>{topic_svg}
<h2>Most syndicated stories</h2><p class="meta">Grouped by {E(how)}.</p>{syn_table}
<h2>Per-source health</h2>{health}
</body></html>
"""


def make_report(db: str | Path, output: str | Path, say=None) -> Path:
    import warehouse
    from warehouse import report_data as rd
    # while a load holds the warehouse, its snapshot: the header names the file read
    with warehouse.reader(db, say=say) as wh:
        con = wh.con
        data = {"totals": rd.totals(con), "daily": rd.daily_by_source(con), "topics": rd.topic_trends(con),
                "syndicated": rd.most_syndicated(con), "health": rd.source_health(con),
                "generated": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "db": wh.label}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(data), encoding="utf-8")
    return output
