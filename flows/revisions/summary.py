"""Takedowns in an ingest's summary artifact: the articles of the run's sources found taken
down since the previous ingest (by the re-checks in between), each with its evidence, so
whoever reads the ingest's report sees them without opening the re-check's."""
from __future__ import annotations

MAX_LISTED = 50         # takedowns listed one by one; more are counted


def takedowns_markdown(takedowns: list[dict]) -> str:
    """A markdown section listing these takedowns ("" when there are none)."""
    if not takedowns:
        return ""
    lines = [f"- **{e['source']}** [{e['title'] or e['article_id']}]({e['url']}): {e['reason']} "
             f"(HTTP {e['http_status']}{', to ' + e['final_url'] if e['final_url'] and e['final_url'] != e['url'] else ''}"
             f"; {e['at']:%Y-%m-%d %H:%M}, run {e['run_id']})" for e in takedowns[:MAX_LISTED]]
    more = len(takedowns) - MAX_LISTED
    if more > 0:
        lines.append(f"- ... and {more} more (`newsflow changes --kind removed`)")
    return f"\nTakedowns since the previous ingest ({len(takedowns)}):\n\n" + "\n".join(lines) + "\n"


def takedowns_section(summary: dict) -> str:
    """The takedowns section for an ingest summary (flows/steps.py: summarise, with its run_id);
    "" when there are none or the warehouse cannot say (a report never fails an ingest)."""
    try:
        import warehouse
        from warehouse.revisions import takedowns_since_ingest
        sources = [p["source"] for p in summary.get("per_source") or ()]
        if not sources or not summary.get("db"):
            return ""
        with warehouse.connect(summary["db"]) as con:
            return takedowns_markdown(takedowns_since_ingest(con, sources, summary.get("run_id") or ""))
    except Exception:       # noqa: BLE001 - a report; the ingest itself has finished
        return ""
