"""`ingest-all`: one run of the `ingest` deployment per source group, on whichever workers of the
`newsflow` work pool are polling, waited for and summed up.

Prefect does the distribution: each group becomes a flow run of the `ingest/ingest` deployment
(prefect.yaml) created with `run_deployment`; any number of `prefect worker start --pool newsflow`
processes, on any machines, take them. Nothing here schedules or queues work itself.

Groups (`source_groups`): a stable split of the registry into N groups. Sources that share a
host go into the same group, because Scrapy's per-site politeness (1 request/s, 2 in flight)
holds inside one crawl process only: two workers crawling one host would double the load on
it. The host buckets are dealt largest first to the group with the fewest sources so far
(ties: the lowest group number), and each group is listed by name, so the same registry and
N give the same groups. A source's state is per source, not per group, so a split that changes
when the registry grows costs nothing.

A worker that dies (the machine, or kill -9 of the worker and its flow-run processes) leaves
its flow run `Running`: Prefect's server notices nothing by itself. Flow runs send a heartbeat
event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (180 by default in Prefect 3.8); the
automation `ensure_crash_automation` creates (the recipe of Prefect's "detect zombie flows"
guide) marks a run Crashed when no heartbeat or final state follows the last heartbeat
within `unresponsive_after` seconds. A flow's `retries` do not cover Crashed, so ingest-all
resubmits a crashed group itself (a new flow run of the same deployment and parameters, up to
`attempts` runs per group). The rerun resumes the killed crawl and loads what it had
fetched (flows/ingest.py), so the counts stay exact.
"""
from __future__ import annotations

import datetime as dt
import os
import time
from urllib.parse import urlsplit

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from prefect import flow, get_run_logger  # noqa: E402

from crawlers.registry import Registry, load_registry  # noqa: E402
from schemas.errors import BadInput, Failed  # noqa: E402

DEPLOYMENT = "ingest/ingest"
AUTOMATION = "newsflow: crash unresponsive flow runs"
COUNTS_KEY = "ingest-counts"        # the table artifact each ingest run publishes (flows/ingest.py)
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class GroupsFailed(Failed):
    """Some group's ingest did not complete (failed, cancelled, or crashed `attempts` times).
    Carries the summary; the other groups' work is loaded."""

    def __init__(self, message: str, summary: dict):
        super().__init__(message)
        self.summary = summary


class NoServer(BadInput):
    """ingest-all needs a Prefect server (PREFECT_API_URL): its runs go to a work pool."""


def source_groups(registry: Registry, n: int, names: list[str] | None = None) -> list[list[str]]:
    """The sources (all, or `names`) split into at most `n` groups; see the module docstring."""
    if n < 1:
        raise BadInput(f"groups must be >= 1, not {n}")
    buckets: dict[str, list[str]] = {}
    for s in registry.select(names):
        host = (urlsplit(s.base_url).hostname or s.name).lower()
        buckets.setdefault(host, []).append(s.name)
    groups: list[list[str]] = [[] for _ in range(min(n, len(buckets)))]
    for host, members in sorted(buckets.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        smallest = min(range(len(groups)), key=lambda i: (len(groups[i]), i))
        groups[smallest].extend(members)
    return [sorted(g) for g in groups if g]


def ensure_crash_automation(unresponsive_after: float) -> str:
    """Create (once, by name) the automation that marks a flow run Crashed when its heartbeats
    stop for `unresponsive_after` seconds; returns its id. An existing one is left as it is."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification
    try:
        return str(Automation.read(name=AUTOMATION).id)
    except ValueError:
        pass
    auto = Automation(
        name=AUTOMATION,
        description="newsflow ingest-all: a flow run whose heartbeats stopped (its worker or machine died) is "
                    "marked Crashed, so ingest-all runs its group again.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=dt.timedelta(seconds=unresponsive_after),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"no heartbeat for {unresponsive_after:.0f} s: its worker is gone")],
    )
    return str(auto.create().id)


def _submit(deployment: str, params: dict, group: int, attempt: int, key: str):
    from prefect.deployments import run_deployment
    return run_deployment(deployment, parameters=params, timeout=0, as_subflow=True,
                          flow_run_name=f"ingest-all-{key}-g{group + 1}-a{attempt}",
                          idempotency_key=f"ingest-all-{key}-g{group}-a{attempt}")


def _counts(client, flow_run_id) -> list[dict]:
    """The per-source rows a finished ingest run published (its `ingest-counts` table artifact)."""
    import json

    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    arts = client.read_artifacts(artifact_filter=ArtifactFilter(
        flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]), key=ArtifactFilterKey(any_=[COUNTS_KEY])))
    for a in arts:
        data = json.loads(a.data) if isinstance(a.data, str) else a.data
        return list(data or [])
    return []


@flow(name="ingest-all")
def ingest_all_flow(groups: int = 4, sources: list[str] | None = None, db: str = "data/newsflow.duckdb",
                    archive_dir: str = "data/archive", archive_url: str | None = None, mirror: bool = False,
                    since: str | None = None, max_pages: int | None = None, registry: str | None = None,
                    refresh: bool = False, deployment: str = DEPLOYMENT, attempts: int = 3,
                    unresponsive_after: float = 600, poll: float = 5.0, timeout: float | None = None) -> dict:
    """Run one `ingest` deployment run per source group, wait for them all, and return (and
    publish as the `ingest-all-summary` artifact) a summary: per group its sources, every flow
    run it took and their final states, and the per-source counts of the run that finished.

    A group whose run crashed (see the module docstring) is submitted again, up to `attempts`
    runs in all; `unresponsive_after` (seconds without a heartbeat before the automation marks a
    run Crashed) must exceed the workers' PREFECT_FLOWS_HEARTBEAT_FREQUENCY (default 180).
    `timeout`: give up waiting after this many seconds (default: wait as long as it takes).
    Ends Failed (GroupsFailed) when a group did not complete; the others' work is loaded."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext
    from prefect.states import Failed as FailedState
    logger = get_run_logger()
    reg = load_registry(registry)
    parts = source_groups(reg, groups, sources)
    ctx = FlowRunContext.get()
    key = str(ctx.flow_run.id)[:8] if ctx and ctx.flow_run else dt.datetime.now().strftime("%Y%m%d%H%M%S")
    automation = ensure_crash_automation(unresponsive_after)
    logger.info("%d group(s) over %d source(s); crashed runs are marked by automation %s",
                len(parts), sum(map(len, parts)), automation)
    base = {"db": db, "archive_dir": archive_dir, "archive_url": archive_url, "mirror": mirror, "since": since,
            "max_pages": max_pages, "registry": registry, "refresh": refresh}
    state = [{"group": i + 1, "sources": g, "runs": [], "state": None, "per_source": []}
             for i, g in enumerate(parts)]
    started = time.monotonic()
    pending: dict[int, object] = {}
    for i, g in enumerate(parts):
        run = _submit(deployment, {**base, "sources": g}, i, 1, key)
        state[i]["runs"].append({"id": str(run.id), "name": run.name, "state": None})
        pending[i] = run.id
        logger.info("group %d (%s): flow run %s", i + 1, ", ".join(g), run.name)
    with get_client(sync_client=True) as client:
        while pending:
            if timeout is not None and time.monotonic() - started > timeout:
                break
            time.sleep(poll)
            for i, run_id in list(pending.items()):
                run = client.read_flow_run(run_id)
                kind = run.state.type.value if run.state else None
                if kind not in FINAL:
                    continue
                entry = state[i]["runs"][-1]
                entry["state"], entry["message"] = kind, (run.state.message or "")[:300]
                if kind == "CRASHED" and len(state[i]["runs"]) < attempts:
                    logger.warning("group %d: flow run %s crashed (%s); submitting it again", i + 1, run.name,
                                   entry["message"])
                    again = _submit(deployment, {**base, "sources": state[i]["sources"]}, i,
                                    len(state[i]["runs"]) + 1, key)
                    state[i]["runs"].append({"id": str(again.id), "name": again.name, "state": None})
                    pending[i] = again.id
                    continue
                state[i]["state"] = kind
                state[i]["per_source"] = _counts(client, run_id) if kind in ("COMPLETED", "FAILED") else []
                del pending[i]
                logger.info("group %d: %s %s", i + 1, run.name, kind)
    for i in pending:
        state[i]["state"] = "TIMED_OUT"
    summary = _summarise(state, time.monotonic() - started)
    _publish(summary)
    bad = [g for g in summary["groups"] if g["state"] != "COMPLETED"]
    if bad:
        exc = GroupsFailed("group(s) that did not complete: " + "; ".join(
            f"{g['group']} ({', '.join(g['sources'])}) {g['state']}" for g in bad), summary)
        logger.error("%s", exc)
        return FailedState(message=str(exc), data=exc)
    return summary


def _summarise(groups: list[dict], seconds: float) -> dict:
    rows = [r for g in groups for r in g["per_source"]]

    def total(k):
        return sum(int(r.get(k) or 0) for r in rows)
    return {"groups": groups, "sources": sum(len(g["sources"]) for g in groups),
            "flow_runs": sum(len(g["runs"]) for g in groups),
            "resubmitted": sum(len(g["runs"]) - 1 for g in groups),
            "pages_fetched": total("pages"), "articles_new": total("new"), "articles_updated": total("updated"),
            "articles_rejected": total("rejected"), "seconds": round(seconds, 1)}


def _publish(summary: dict) -> None:
    from prefect.artifacts import create_markdown_artifact
    lines = [f"| {g['group']} | {', '.join(g['sources'])} | {g['state']} | "
             f"{' -> '.join(str(r['name']) + ' ' + str(r['state']) for r in g['runs'])} |" for g in summary["groups"]]
    md = (f"## ingest-all\n\n{summary['articles_new']} new, {summary['articles_updated']} updated, "
          f"{summary['articles_rejected']} rejected from {summary['pages_fetched']} pages; "
          f"{summary['flow_runs']} flow run(s), {summary['resubmitted']} resubmitted after a crash, "
          f"{summary['seconds']} s.\n\n| group | sources | state | flow runs |\n|---|---|---|---|\n"
          + "\n".join(lines) + "\n")
    try:
        create_markdown_artifact(key="ingest-all-summary", markdown=md, description="newsflow ingest-all summary")
    except Exception as exc:    # a report; never fail the finished fan-out over it
        get_run_logger().warning("could not publish the summary artifact: %s", exc)
