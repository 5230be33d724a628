"""Candidates, then a choice: how every field is decided.

Each rule proposes a value with a weight (how reliable its convention is) and the evidence
that adjusted it (position relative to the headline and body, label wording, agreement
with meta tags). Candidates whose values agree (same folded string; for dates the same
day) pool their support: the best one counts fully, every other rule that agrees adds a
share of its weight. The best-supported value wins; provenance names the winning rule and
the runner-up (the best candidate with a different value).

First-hit-wins chains let a rule written for one page shadow every rule after it; here a
rule only moves a field when its evidence outweighs the others'.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from flows.extract.dom import flat

AGREE = 0.35        # share of an agreeing candidate's weight that adds to the winner's support


@dataclass(frozen=True)
class Candidate:
    value: Any
    rule: str
    weight: float
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Choice:
    winner: Candidate | None
    runner_up: Candidate | None
    support: float = 0.0
    agreeing: tuple[str, ...] = ()      # other rules that proposed the winning value

    @property
    def value(self):
        return self.winner.value if self.winner else None


def fold_key(value) -> str:
    return flat(str(value)).casefold()


def choose(cands: Iterable[Candidate], key: Callable[[Any], Any] = fold_key,
           prefer: Callable[[Candidate], float] | None = None, floor: float = 0.0) -> Choice:
    """The best-supported value among `cands`. `key` says which values agree; `prefer`
    picks the representative inside the winning group (default: the highest weight);
    a group whose support stays below `floor` does not win."""
    groups: dict[Any, list[Candidate]] = {}
    for c in cands:
        if c.value in (None, "") or c.weight <= 0:
            continue
        groups.setdefault(key(c.value), []).append(c)
    ranked = []
    for k, members in groups.items():
        members.sort(key=lambda c: -c.weight)
        best_by_rule: dict[str, float] = {}
        for c in members:
            best_by_rule.setdefault(c.rule, c.weight)
        weights = sorted(best_by_rule.values(), reverse=True)
        support = weights[0] + AGREE * sum(weights[1:])
        ranked.append((support, members))
    if not ranked:
        return Choice(None, None)
    ranked.sort(key=lambda t: -t[0])
    support, members = ranked[0]
    if support < floor:
        return Choice(None, ranked[0][1][0], support)
    winner = max(members, key=prefer) if prefer else members[0]
    runner = ranked[1][1][0] if len(ranked) > 1 else None
    agreeing = tuple(sorted({c.rule for c in members if c.rule != winner.rule}))
    return Choice(winner, runner, round(support, 3), agreeing)


def provenance(field: str, choice: Choice) -> dict[str, str]:
    """`{field: rule, field_runner_up: 'rule=value'}` for the article's provenance."""
    out: dict[str, str] = {}
    if choice.winner is not None:
        out[field] = choice.winner.rule
        if choice.agreeing:
            out[field + "_agreeing"] = ",".join(choice.agreeing)
    if choice.runner_up is not None:
        out[field + "_runner_up"] = f"{choice.runner_up.rule}={str(choice.runner_up.value)[:40]}"
    return out
