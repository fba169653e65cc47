"""Fairness options and the load-balance term in integers (docs/fairness.md).

Compiled once per problem: each candidate's work per unit made in the options'
measure (units, machine seconds of processing, or production cents), each factory's
minimum in that measure, which factories are new, the shares in ten-thousandths, and
each factory's free seconds for the utilisation spread. The CP-SAT and MIP model
builders turn them into constraints and objective terms; :func:`fairness_cost` prices
a set of parts exactly as the models do (the warm start, LNS, the plan's costs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from matcher.domain.entities import SHARE_RESOLUTION, FairnessOptions, ObjectiveWeights
from matcher.domain.instance import Instance

if TYPE_CHECKING:  # problem.py compiles fairness here: no import at run time
    from solvers.assignment.problem import AssignmentProblem, Candidate

SPREAD_POINTS = 100
"""Most percentage points the utilisation spread takes while capacity holds."""

SECONDS_PER_HOUR = 3600

P = TypeVar("P", bound="PartLike")


class PartLike(Protocol):
    """A part as the back-ends hold it (:class:`solvers.assignment.base.Part`)."""

    candidate: int
    quantities: dict[int, int]


@dataclass(frozen=True)
class Fairness:
    """The fairness options and the load-balance weight of one problem, in integers."""

    options: FairnessOptions
    scale: int  # base units per unit of the measure: 1, or 3600 seconds an hour
    coef: list[int]  # per candidate: base units of work per unit made
    min_work: list[int]  # per factory: minimum work in base units (0 = none)
    new: list[bool]  # per factory: fewer trade records than new_factory_records
    cap: int | None  # max_share in ten-thousandths
    explore: int | None  # exploration_share in ten-thousandths
    load_weight: int  # weights.load_balance: cents per point of utilisation spread
    free: list[int]  # per factory: free seconds over the horizon

    @property
    def hard_minimum(self) -> bool:
        """Whether a hard minimum work binds: no greedy plan is sure to meet it."""
        return self.options.min_work_hard and any(self.min_work)

    def most(self, served_work: int) -> int:
        """An upper bound on the fairness terms when at most ``served_work`` base units
        are served: what a mandatory order's penalty must outweigh."""
        total = self.load_weight * SPREAD_POINTS
        if not self.options.min_work_hard:
            pen = self.options.shortfall_cents
            total += sum(-(-pen * m // self.scale) for m in self.min_work)
        if self.explore is not None:
            short = -(-self.explore * served_work // SHARE_RESOLUTION)
            total += -(-self.options.exploration_cents * short // self.scale)
        return total


def shares(x: float) -> int:
    """A share in ten-thousandths, to the nearest (docs/fairness.md)."""
    return math.floor(x * SHARE_RESOLUTION + 0.5)


def base_amount(amount: float, scale: int) -> int:
    """A work amount in the measure, as whole base units rounded up."""
    return math.ceil(round(amount * scale, 6))


def compile_fairness(
    instance: Instance,
    weights: ObjectiveWeights,
    options: FairnessOptions | None,
    candidates: Sequence[Candidate],
    resource_factory: Sequence[int],
    resource_free: Sequence[Sequence[int]],
) -> Fairness | None:
    """The problem's fairness in integers, or None when no option is active and the
    load-balance weight is 0 (the model is then exactly as without fairness)."""
    active = options is not None and options.active
    if not active and weights.load_balance == 0:
        return None
    opts = options if options is not None and active else FairnessOptions()
    measure = opts.share_measure
    scale = SECONDS_PER_HOUR if measure == "hours" else 1
    last = [len(o.operations) - 1 for o in instance.orders]
    coef: list[int] = []
    for c in candidates:
        if measure == "units":
            coef.append(1 if c.operation is None or c.operation == last[c.order] else 0)
        elif measure == "hours":
            coef.append(sum(u.seconds_per_unit for u in c.usage))
        else:
            coef.append(c.unit_cost)
    min_work = [base_amount(opts.min_work_of(f.id), scale) for f in instance.factories]
    new = [
        f.credit.records is not None and f.credit.records < opts.new_factory_records
        for f in instance.factories
    ]
    free = [0] * len(instance.factories)
    for fi, seconds in zip(resource_factory, resource_free, strict=True):
        free[fi] += sum(seconds)
    return Fairness(
        options=opts,
        scale=scale,
        coef=coef,
        min_work=min_work,
        new=new,
        cap=None if opts.max_share is None else shares(opts.max_share),
        explore=None if opts.exploration_share is None else shares(opts.exploration_share),
        load_weight=weights.load_balance,
        free=free,
    )


@dataclass
class Tally:
    """Per factory: work in base units and machine seconds used (setups included)."""

    work: list[int]
    used: list[int]

    @classmethod
    def empty(cls, factories: int) -> Tally:
        return cls([0] * factories, [0] * factories)

    def add(self, fair: Fairness, cand: Candidate, k: int, quantities: dict[int, int]) -> None:
        units = sum(quantities.values())
        self.work[cand.factory] += fair.coef[k] * units
        runs = sum(1 for q in quantities.values() if q > 0)
        self.used[cand.factory] += sum(
            u.seconds_per_unit * units + u.setup_seconds * runs for u in cand.usage
        )


def outside(plan: Mapping[int, Sequence[P]], orders: Iterable[int]) -> list[P]:
    """The parts of every order of ``plan`` but ``orders``: what a sub-model of
    ``orders`` (an LNS neighbourhood, a re-solve) holds the fairness rules against."""
    chosen = set(orders)
    return [p for o, ps in plan.items() if o not in chosen for p in ps]


def tally(fair: Fairness, candidates: Sequence[Candidate], parts: Iterable[PartLike]) -> Tally:
    out = Tally.empty(len(fair.free))
    for p in parts:
        out.add(fair, candidates[p.candidate], p.candidate, p.quantities)
    return out


@dataclass(frozen=True)
class FairnessTerms:
    """What a plan owes to fairness: soft penalties in cents, spread in points."""

    penalty: int
    spread: int
    cap_violations: list[int]  # factories above the share cap
    minimum_violations: list[int]  # factories below a hard minimum

    @property
    def feasible(self) -> bool:
        return not self.cap_violations and not self.minimum_violations


def terms(fair: Fairness, t: Tally) -> FairnessTerms:
    """The fairness terms of a plan with tally ``t`` (docs/fairness.md, exactly)."""
    opts = fair.options
    served = sum(t.work)
    penalty = 0
    minimum_violations: list[int] = []
    for f, m in enumerate(fair.min_work):
        short = max(0, m - t.work[f])
        if not short:
            continue
        if opts.min_work_hard:
            minimum_violations.append(f)
        else:
            penalty += -(-opts.shortfall_cents * short // fair.scale)
    if fair.explore is not None:
        new_work = sum(w for f, w in enumerate(t.work) if fair.new[f])
        short = max(
            0, -(-(fair.explore * served - SHARE_RESOLUTION * new_work) // SHARE_RESOLUTION)
        )
        penalty += -(-opts.exploration_cents * short // fair.scale)
    caps: list[int] = []
    if fair.cap is not None:
        caps = [f for f, w in enumerate(t.work) if SHARE_RESOLUTION * w > fair.cap * served]
    return FairnessTerms(penalty, spread(fair, t.used), caps, minimum_violations)


def spread(fair: Fairness, used: Sequence[int]) -> int:
    """Utilisation spread in whole points: the most utilised factory's utilisation
    rounded up less the least utilised one's rounded down (factories with free time);
    0 when the load-balance weight is 0 (the term is then not part of the plan)."""
    if fair.load_weight == 0:
        return 0
    rates = [(used[f], free) for f, free in enumerate(fair.free) if free > 0]
    if not rates:
        return 0
    hi = max(-(-SPREAD_POINTS * u // free) for u, free in rates)
    lo = min(SPREAD_POINTS * u // free for u, free in rates)
    return hi - lo


def fairness_cost(
    fair: Fairness | None, candidates: Sequence[Candidate], parts: Iterable[PartLike]
) -> int:
    """The weighted fairness terms of ``parts``: penalties plus the spread's cents."""
    if fair is None:
        return 0
    ft = terms(fair, tally(fair, candidates, parts))
    return ft.penalty + fair.load_weight * ft.spread


def within_caps(
    fair: Fairness,
    candidates: Sequence[Candidate],
    parts: list[P],
    order_cost: Callable[[int, list[P]], int],
) -> list[P]:
    """``parts`` with whole orders left out until no factory is above the share cap:
    a plan the hard cap allows (leaving everything out always is), for a warm start.

    Each step leaves out, at the factory furthest above its cap, the order whose
    leaving costs least (``order_cost(order, its parts)``: its unserved penalty less
    what its parts cost; a mandatory order's penalty puts it last)."""
    if fair.cap is None:
        return parts
    by_order: dict[int, list[P]] = {}
    for p in parts:
        by_order.setdefault(candidates[p.candidate].order, []).append(p)
    t = tally(fair, candidates, parts)
    while True:
        served = sum(t.work)
        over = [
            (SHARE_RESOLUTION * w - fair.cap * served, f)
            for f, w in enumerate(t.work)
            if SHARE_RESOLUTION * w > fair.cap * served
        ]
        if not over:
            break
        _, f = max(over)
        there = [
            o for o, ps in by_order.items() if any(candidates[p.candidate].factory == f for p in ps)
        ]
        worst = min(there, key=lambda o: (order_cost(o, by_order[o]), o))
        for p in by_order.pop(worst):
            cand = candidates[p.candidate]
            t.work[cand.factory] -= fair.coef[p.candidate] * sum(p.quantities.values())
    return [p for ps in by_order.values() for p in ps]


def leaving_cost(problem: AssignmentProblem) -> Callable[[int, list[P]], int]:
    """What leaving an order out of a plan costs (negative: saves): its unserved
    penalty less what its parts cost. :func:`within_caps` leaves the cheapest first."""

    def leaving(order: int, parts: list[P]) -> int:
        made = sum(
            problem.unit_cost(problem.candidates[p.candidate], t) * q
            for p in parts
            for t, q in p.quantities.items()
        )
        return problem.unserved_cost(order) - made

    return leaving
