"""The re-check policy as registry data: how often a known article is asked again, how many
requests a run may spend, and when transient failures add up to a takedown.

In crawlers/sources.toml, a top-level `[recheck]` table is the default; a preset or a source
may override any key with its own `recheck = {...}` table (merged key by key: default, then
preset, then source):

    [recheck]
    tiers = [{younger_than = 7, every = 1}, {younger_than = 90, every = 7}, {every = 30}]
    max_requests = 500          # known articles asked per source per run (the oldest checks first)
    takedown_failures = 3       # transient failures in a row (timeout, 5xx, 412) ...
    takedown_days = 7           # ... spread over at least this many days: then it is a takedown

An article's age is from its publish time (else when it was first seen); it is due when its last
check (else its last fetch) is at least `every` days old for the first tier it is younger than.
`due` is a pure function: the flow (flows/revisions/) gives it the warehouse's rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crawlers.errors import RegistryError

UTC = dt.timezone.utc
KEYS = {"tiers", "max_requests", "takedown_failures", "takedown_days"}


@dataclass(frozen=True)
class RecheckPolicy:
    tiers: tuple[tuple[float | None, float], ...] = ((7, 1), (90, 7), (None, 30))  # (younger_than, every) days
    max_requests: int = 500
    takedown_failures: int = 3
    takedown_days: float = 7

    def interval(self, age_days: float) -> float:
        """Days between checks for an article this old."""
        for younger_than, every in self.tiers:
            if younger_than is None or age_days < younger_than:
                return every
        return self.tiers[-1][1]


DEFAULT_POLICY = RecheckPolicy()


def _bad(where: str, key: str, msg: str) -> RegistryError:
    return RegistryError(f"{where}: field 'recheck.{key}': {msg}")


def parse_policy(table: dict, where: str, base: RecheckPolicy = DEFAULT_POLICY) -> RecheckPolicy:
    """A `recheck` table over `base`; RegistryError naming the file, entry and key when it is wrong."""
    if not isinstance(table, dict):
        raise RegistryError(f"{where}: field 'recheck': must be a table")
    unknown = set(table) - KEYS
    if unknown:
        raise _bad(where, sorted(unknown)[0], "unknown key (typo?)")
    out = {}
    for key in ("max_requests", "takedown_failures"):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise _bad(where, key, f"must be an integer >= 1, got {v!r}")
            out[key] = v
    if "takedown_days" in table:
        v = table["takedown_days"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            raise _bad(where, "takedown_days", f"must be a number >= 0, got {v!r}")
        out["takedown_days"] = float(v)
    if "tiers" in table:
        out["tiers"] = _tiers(table["tiers"], where)
    return RecheckPolicy(**{**base.__dict__, **out})


def _tiers(value, where: str) -> tuple:
    if not isinstance(value, list) or not value:
        raise _bad(where, "tiers", "must be a non-empty list of {younger_than = DAYS, every = DAYS}")
    tiers, last = [], 0.0
    for i, tier in enumerate(value):
        if not isinstance(tier, dict) or set(tier) - {"younger_than", "every"} or "every" not in tier:
            raise _bad(where, "tiers", f"tier {i + 1}: want {{younger_than = DAYS, every = DAYS}}, got {tier!r}")
        every, young = tier["every"], tier.get("younger_than")
        if isinstance(every, bool) or not isinstance(every, (int, float)) or every <= 0:
            raise _bad(where, "tiers", f"tier {i + 1}: every must be a number of days > 0, got {every!r}")
        if young is not None:
            if isinstance(young, bool) or not isinstance(young, (int, float)) or young <= last:
                raise _bad(where, "tiers", f"tier {i + 1}: younger_than must grow from tier to tier, got {young!r}")
            last = float(young)
        elif i != len(value) - 1:
            raise _bad(where, "tiers", f"tier {i + 1}: only the last tier may leave out younger_than")
        tiers.append((float(young) if young is not None else None, float(every)))
    return tuple(tiers)


def _days(a: dt.datetime, b: dt.datetime) -> float:
    return (a - b).total_seconds() / 86400


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def due(rows: list[dict], policy: RecheckPolicy, now: dt.datetime, force: bool = False) -> list[dict]:
    """The articles to ask again now, at most `max_requests`, most overdue first. A row has
    `published_at`, `first_seen`, `fetched_at`, `last_checked_at` (datetimes or None);
    `force` makes every article due (still capped)."""
    now = _aware(now)
    scored = []
    for r in rows:
        born = _aware(r.get("published_at")) or _aware(r.get("first_seen")) or now
        last = _aware(r.get("last_checked_at")) or _aware(r.get("fetched_at")) or _aware(r.get("first_seen"))
        every = policy.interval(max(0.0, _days(now, born)))
        overdue = _days(now, last) - every if last else float("inf")
        if force or overdue >= 0:
            scored.append((-overdue, str(r.get("id", "")), r))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [r for _, _, r in scored[:policy.max_requests]]
