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

Stories are shared state: each group's run loads without grouping its articles into stories
(`dedupe=False`), and one `dedupe/dedupe` run groups everything new once all groups have
loaded, so the stories come out as a single-process ingest's. Grouped per load instead, a
later group's articles would be matched against an earlier group's: the same stories and
canonical articles, but other match edges (which article an article was matched to, and how).

A worker that dies (the machine, or kill -9 of the worker and its flow-run processes) leaves
its flow run `Running`: Prefect's server notices nothing by itself. Flow runs send a heartbeat
event every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (180 by default in Prefect 3.8); the
automation `ensure_crash_automation` creates (the recipe of Prefect's "detect zombie flows"
guide) marks a run Crashed when no heartbeat or final state follows its last heartbeat, or
its `Running` state, within `unresponsive_after` seconds. The recipe starts the clock at the
first heartbeat only, and that event travels on a background websocket: a run killed in its
first seconds (seen here: a worker killed as its crawl started) had sent none and stayed
Running for ever. The server emits the `Running` event itself when the state is set, so
counting from it closes that gap. The automation covers only runs that ingest-all submitted
(tagged `TAG`): a flow run elsewhere with heartbeats switched off must not be crashed by it.
A flow's `retries` do not cover Crashed, so ingest-all resubmits a crashed group itself (a
new flow run of the same deployment and parameters, up to `attempts` runs per group). The rerun resumes the killed crawl and loads what it had
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
from flows import settings  # noqa: E402
from schemas.errors import BadInput, Failed  # noqa: E402

DEPLOYMENT = "ingest/ingest"
DEDUPE_DEPLOYMENT = "dedupe/dedupe"
AUTOMATION = "newsflow: crash unresponsive flow runs"
TAG = "newsflow-ingest-all"         # on every flow run ingest-all submits; the automation's scope
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
    stop for `unresponsive_after` seconds, or set its window to that; returns its id."""
    from prefect.automations import Automation
    from prefect.client.schemas.objects import StateType
    from prefect.events.actions import ChangeFlowRunState
    from prefect.events.schemas.automations import EventTrigger, Posture
    from prefect.events.schemas.events import ResourceSpecification
    try:
        existing = Automation.read(name=AUTOMATION)
    except ValueError:
        existing = None
    auto = Automation(
        name=AUTOMATION,
        description="newsflow ingest-all: a flow run whose heartbeats stopped (its worker or machine died) is "
                    "marked Crashed, so ingest-all runs its group again.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat", "prefect.flow-run.Running"},
            expect={"prefect.flow-run.heartbeat", "prefect.flow-run.Completed", "prefect.flow-run.Failed",
                    "prefect.flow-run.Cancelled", "prefect.flow-run.Crashed"},
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            match_related=ResourceSpecification({"prefect.resource.role": "tag",
                                                 "prefect.resource.id": f"prefect.tag.{TAG}"}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=dt.timedelta(seconds=unresponsive_after),
        ),
        actions=[ChangeFlowRunState(state=StateType.CRASHED,
                                    message=f"no heartbeat for {unresponsive_after:.0f} s: its worker is gone")],
    )
    if existing is None:
        return str(auto.create().id)
    if _shape(existing.trigger) != _shape(auto.trigger) or not existing.enabled:
        auto.id = existing.id
        auto.update()
    return str(existing.id)


def _shape(trigger) -> dict:
    """What of a trigger the automation's behaviour depends on (not its generated id)."""
    return trigger.model_dump(mode="json", exclude={"id"})


def _submit(deployment: str, params: dict, label: str, attempt: int, key: str):
    from prefect.deployments import run_deployment
    return run_deployment(deployment, parameters=params, timeout=0, as_subflow=True, tags=[TAG],
                          flow_run_name=f"ingest-all-{key}-{label}-a{attempt}",
                          idempotency_key=f"ingest-all-{key}-{label}-a{attempt}")


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


def _run_all(jobs: list[dict], key: str, attempts: int, poll: float, deadline: float | None, logger) -> None:
    """Submit every job ({"label", "deployment", "params"}) as a flow run and wait for them all,
    submitting a crashed one again (up to `attempts` runs); fills in each job's "runs" and
    final "state" (TIMED_OUT past `deadline`) and the finished run's flow run id."""
    from prefect.client.orchestration import get_client
    pending = {}
    for i, job in enumerate(jobs):
        run = _submit(job["deployment"], job["params"], job["label"], 1, key)
        job["runs"] = [{"id": str(run.id), "name": run.name, "state": None}]
        pending[i] = run.id
        logger.info("%s: flow run %s", job["label"], run.name)
    with get_client(sync_client=True) as client:
        while pending:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
            for i, run_id in list(pending.items()):
                job = jobs[i]
                run = client.read_flow_run(run_id)
                kind = run.state.type.value if run.state else None
                if kind not in FINAL:
                    continue
                entry = job["runs"][-1]
                entry["state"], entry["message"] = kind, (run.state.message or "")[:300]
                if kind == "CRASHED" and len(job["runs"]) < attempts:
                    logger.warning("%s: flow run %s crashed (%s); submitting it again", job["label"], run.name,
                                   entry["message"])
                    again = _submit(job["deployment"], job["params"], job["label"], len(job["runs"]) + 1, key)
                    job["runs"].append({"id": str(again.id), "name": again.name, "state": None})
                    pending[i] = again.id
                    continue
                job["state"], job["flow_run_id"] = kind, run_id
                if job.get("counts"):
                    job["per_source"] = _counts(client, run_id) if kind in ("COMPLETED", "FAILED") else []
                del pending[i]
                logger.info("%s: %s %s", job["label"], run.name, kind)
    for i in pending:
        jobs[i]["state"] = "TIMED_OUT"


@flow(name="ingest-all")
def ingest_all_flow(groups: int = 4, sources: list[str] | None = None, db: str | None = None,
                    archive_dir: str | None = None, archive_url: str | None = None, mirror: bool = False,
                    since: str | None = None, max_pages: int | None = None, registry: str | None = None,
                    refresh: bool = False, deployment: str = DEPLOYMENT, dedupe_deployment: str = DEDUPE_DEPLOYMENT,
                    attempts: int = 3, unresponsive_after: float = 600, poll: float = 2.0,
                    timeout: float | None = None) -> dict:
    """Run one `ingest` deployment run per source group, wait for them all, then one `dedupe`
    run (stories are shared state: grouped once, after every load, so they come out as a
    single-process ingest's), and return (and publish as the `ingest-all-summary` artifact) a
    summary: per group its sources, every flow run it took and their final states, and the
    per-source counts of the run that finished.

    A run that crashed (see the module docstring) is submitted again, up to `attempts` runs in
    all; `unresponsive_after` (seconds without a heartbeat before the automation marks a run
    Crashed) must exceed the workers' PREFECT_FLOWS_HEARTBEAT_FREQUENCY (default 180).
    `timeout`: give up waiting after this many seconds (default: wait as long as it takes).
    Ends Failed (GroupsFailed) when a group or the dedupe did not complete; what the others
    loaded stays (articles a failed dedupe left out of stories are grouped by the next one).
    `db` and the archive left out are read here (flows/settings.py) and passed to every run, so
    all groups and the dedupe write the warehouse this run names."""
    from prefect.context import FlowRunContext
    from prefect.states import Failed as FailedState
    logger = get_run_logger()
    db, archive_dir, archive_url = settings.resolve(db, archive_dir, archive_url)
    reg = load_registry(registry)
    parts = source_groups(reg, groups, sources)
    ctx = FlowRunContext.get()
    key = str(ctx.flow_run.id)[:8] if ctx and ctx.flow_run else dt.datetime.now().strftime("%Y%m%d%H%M%S")
    automation = ensure_crash_automation(unresponsive_after)
    logger.info("%d group(s) over %d source(s); crashed runs are marked by automation %s",
                len(parts), sum(map(len, parts)), automation)
    base = {"db": db, "archive_dir": archive_dir, "archive_url": archive_url, "mirror": mirror, "since": since,
            "max_pages": max_pages, "registry": registry, "refresh": refresh, "dedupe": False}
    started = time.monotonic()
    deadline = started + timeout if timeout is not None else None
    jobs = [{"group": i + 1, "sources": g, "label": f"g{i + 1}", "deployment": deployment, "counts": True,
             "params": {**base, "sources": g}, "per_source": []} for i, g in enumerate(parts)]
    _run_all(jobs, key, attempts, poll, deadline, logger)
    stories = {"label": "dedupe", "deployment": dedupe_deployment, "params": {"db": db, "registry": registry}}
    if any(j["state"] in ("COMPLETED", "FAILED") for j in jobs):     # something may have loaded
        _run_all([stories], key, attempts, poll, deadline, logger)
    else:
        stories.update(runs=[], state="SKIPPED")
    summary = _summarise(jobs, stories, time.monotonic() - started)
    _publish(summary)
    bad = [f"group {g['group']} ({', '.join(g['sources'])}) {g['state']}" for g in summary["groups"]
           if g["state"] != "COMPLETED"]
    if summary["dedupe"]["state"] != "COMPLETED":
        bad.append(f"dedupe {summary['dedupe']['state']}")
    if bad:
        exc = GroupsFailed("not completed: " + "; ".join(bad), summary)
        logger.error("%s", exc)
        return FailedState(message=str(exc), data=exc)
    return summary


@flow(name="dedupe")
def dedupe_flow(db: str | None = None, registry: str | None = None, lock_wait: float = 6 * 3600) -> str:
    """Group every article not yet in a story (ingest-all's last step, under the run lock), and
    publish the read-only snapshot, as an ingest's load does."""
    import warehouse
    from flows import steps
    from flows.lock import run_lock
    logger = get_run_logger()
    db = settings.warehouse_of(db)
    with run_lock(db, wait=lock_wait, on_wait=logger.warning):
        report = steps.dedupe_articles(db, None, load_registry(registry), logger.info)
        warehouse.publish_snapshot(db)
    return str(report)


def _summarise(jobs: list[dict], stories: dict, seconds: float) -> dict:
    rows = [r for j in jobs for r in j["per_source"]]

    def total(k):
        return sum(int(r.get(k) or 0) for r in rows)
    groups = [{k: j.get(k) for k in ("group", "sources", "state", "runs", "per_source")} for j in jobs]
    return {"groups": groups, "dedupe": {"state": stories["state"], "runs": stories["runs"]},
            "sources": sum(len(g["sources"]) for g in groups),
            "flow_runs": sum(len(g["runs"]) for g in groups) + len(stories["runs"]),
            "resubmitted": sum(len(g["runs"]) - 1 for g in groups) + max(0, len(stories["runs"]) - 1),
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
          + "\n".join(lines) + f"\n\nStories (dedupe after the loads): {summary['dedupe']['state']}.\n")
    try:
        create_markdown_artifact(key="ingest-all-summary", markdown=md, description="newsflow ingest-all summary")
    except Exception as exc:    # a report; never fail the finished fan-out over it
        get_run_logger().warning("could not publish the summary artifact: %s", exc)
