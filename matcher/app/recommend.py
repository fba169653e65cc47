"""Recommend factories for one new order, given a plan's remaining capacity.

Interactive (a platform's "who can make this?" button), so no solver runs: each
eligible factory gets the cheapest placement of the whole order in the time the plan
leaves free (on-time periods first, just in time), and its earliest completion.
Where the order does not fit, the parts of other orders that would have to move to
make room are found greedily (cheapest move per freed hour first, each to its own
cheapest factory with room), and their extra cost is added (docs/sharing.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from matcher.domain.consistency import Issue
from matcher.domain.entities import Order
from matcher.domain.instance import Instance
from matcher.domain.plan import Displacement, PeriodQuantity, Plan, Recommendation, Recommendations
from matcher.domain.validation import (
    InvalidInstanceError,
    by_operation_issues,
    order_issues,
    plan_instance_issues,
    plan_number_issues,
    pydantic_issues,
)
from solvers.assignment.base import Part
from solvers.assignment.greedy import Capacity, cheapest_single_part, cost, fill
from solvers.assignment.materials import material_uses
from solvers.assignment.problem import AssignmentProblem, Candidate, build_problem

MAX_DISPLACED = 5
"""Most parts of other orders moved to make room at one factory."""


def load_order(arg: str, instance: Instance) -> Order:
    """The order to place: a JSON file holding one order, or the id of an instance order."""
    known = {o.id: o for o in instance.orders}
    if arg in known:
        return known[arg]
    path = Path(arg)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInstanceError(
            [Issue("order", f"{arg} is neither an order id of the instance nor a file")]
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInstanceError([Issue("order", f"cannot read {path}: {exc}")]) from None
    return parse_order(data, instance)


def parse_order(data: Any, instance: Instance) -> Order:
    """Validate one order against ``instance``; every problem with its path (``order.x``)."""
    try:
        order = Order.model_validate(data)
    except ValidationError as err:
        raise InvalidInstanceError(pydantic_issues(err, ("order",))) from None
    if issues := order_issues("order", order, instance):
        raise InvalidInstanceError(issues)
    return order


def recommend(instance: Instance, plan: Plan, order: Order, top_k: int = 5) -> Recommendations:
    """The ``top_k`` best factories for ``order`` given ``plan`` (best first, by total
    objective cost including the moves that make room).

    Raises
    ------
    InvalidInstanceError
        When ``order`` is inconsistent with ``instance`` or ``plan`` names unknown ids.
    """
    start = time.perf_counter()
    if issues := order_issues("order", order, instance):
        raise InvalidInstanceError(issues)
    checked = plan_number_issues(plan, "plan")
    if issues := checked or plan_instance_issues(plan, instance, "plan"):
        raise InvalidInstanceError(issues)
    if order.split.by_operation and len(order.operations) > 1:
        raise InvalidInstanceError(
            [
                Issue(
                    "order.split.by_operation",
                    "recommendations for orders split by operation are not supported yet",
                )
            ]
        )
    if issues := by_operation_issues(instance):
        raise InvalidInstanceError(issues)
    weights = plan.weights
    others = [o for o in instance.orders if o.id != order.id]
    problem = build_problem(instance.model_copy(update={"orders": [*others, order]}), weights)
    info = problem.orders[-1]
    if not info.candidates:
        return Recommendations(
            order=order.id,
            options=[],
            reason=f"{info.reason}: {info.detail}",
            wall_time_s=time.perf_counter() - start,
        )
    room = _Room(problem, plan)
    options: list[Recommendation] = []
    not_possible: dict[str, str] = {}
    waiting: list[int] = []
    for k in info.candidates:
        cand = problem.candidates[k]
        quantities = fill(problem, room.cap, cand, order.quantity) if _whole(cand, order) else None
        if quantities is None:
            waiting.append(k)
            continue
        options.append(_option(problem, cand, quantities, room.cap, []))
    for k in waiting:  # cheapest first: make room by moving others
        if len(options) >= top_k and min(o.total_cents for o in options[:top_k]) <= _floor(
            problem, k
        ):
            break
        cand = problem.candidates[k]
        fid = instance.factories[cand.factory].id
        if not _whole(cand, order):
            not_possible[fid] = f"its lot limits ({cand.lo}..{cand.hi}) do not take the whole order"
            continue
        made = room.make_room(cand, order.quantity)
        if made is None:
            not_possible[fid] = (
                f"no room even after moving up to {MAX_DISPLACED} parts of other orders"
            )
            continue
        quantities, moves, cap = made
        options.append(_option(problem, cand, quantities, cap, moves))
    not_possible |= _ineligible(problem, order)
    options.sort(key=lambda o: (o.total_cents, o.factory))
    ranked = [o.model_copy(update={"rank": i + 1}) for i, o in enumerate(options[:top_k])]
    return Recommendations(
        order=order.id,
        options=ranked,
        not_possible=not_possible,
        wall_time_s=time.perf_counter() - start,
    )


def _ineligible(problem: AssignmentProblem, order: Order) -> dict[str, str]:
    """Factories offering every process of ``order`` that are not candidates, and why."""
    info = problem.orders[-1]
    eligible = {problem.candidates[k].factory for k in info.candidates}
    needed = {op.process for op in order.operations}
    out: dict[str, str] = {}
    for fi, f in enumerate(problem.instance.factories):
        caps = {c.process: c for c in f.capabilities}
        if fi in eligible or not needed <= caps.keys():
            continue
        price = sum(caps[op.process].unit_cost_cents for op in order.operations)
        if order.min_credit_score is not None and f.credit.score < order.min_credit_score:
            out[f.id] = f"credit score {f.credit.score} below {order.min_credit_score}"
        elif order.max_unit_price_cents is not None and price > order.max_unit_price_cents:
            out[f.id] = f"unit price {price} above the ceiling {order.max_unit_price_cents}"
        else:
            out[f.id] = (
                "material, quality grade or lot limits exclude it, or it cannot make "
                f"{order.quantity} units from period {order.release_period} even when empty"
            )
    return out


def _whole(cand: Candidate, order: Order) -> bool:
    return cand.lo <= order.quantity <= cand.hi


def _floor(problem: AssignmentProblem, k: int) -> int:
    """No placement of candidate ``k`` costs less than this."""
    cand = problem.candidates[k]
    return cand.base * problem.orders[cand.order].order.quantity


def _option(
    problem: AssignmentProblem,
    cand: Candidate,
    quantities: dict[int, int],
    cap: Capacity,
    moves: list[Displacement],
) -> Recommendation:
    order = problem.orders[cand.order].order
    factory = problem.instance.factories[cand.factory]
    late = {t: q for t, q in quantities.items() if t > order.due_period}
    total = cost(problem, cand, quantities)
    return Recommendation(
        rank=0,
        factory=factory.id,
        cost_cents=total,
        production_cents=cand.unit_cost * order.quantity,
        transport_cents=cand.transport * order.quantity,
        lateness_cents=sum(
            order.penalties.late_cents_per_unit_period * (t - order.due_period) * q
            for t, q in late.items()
        ),
        completion_period=_earliest(cap, cand, order.quantity),
        late_units=sum(late.values()),
        credit_score=factory.credit.score,
        periods=[PeriodQuantity(period=t, quantity=q) for t, q in sorted(quantities.items())],
        displaced=moves,
        total_cents=total + sum(m.extra_cents for m in moves),
    )


def _earliest(cap: Capacity, cand: Candidate, need: int) -> int:
    """The first period by which ``need`` units can be finished, producing as early as
    possible (the placement in ``cap`` does not count: it is the same room)."""
    left = need
    for t in cand.periods:
        left -= cap.units_fitting(cand, t)
        if left <= 0:
            return t
    return cand.last


class _Room:
    """The capacity the plan leaves, and the plan's parts for making more of it."""

    def __init__(self, problem: AssignmentProblem, plan: Plan) -> None:
        self.problem = problem
        index = {
            (problem.orders[c.order].order.id, problem.instance.factories[c.factory].id): k
            for k, c in enumerate(problem.candidates)
        }
        new = problem.orders[-1].order.id
        self.cap = Capacity(problem)
        self.parts: list[Part] = []
        self.foreign: list[str] = []  # plan parts that are no candidate any more
        seen: set[tuple[str, str]] = set()
        for a in plan.allocations:
            key = (a.order, a.factory)
            if a.order == new or key in seen:
                continue
            seen.add(key)
            k = index.get(key)
            quantities = {pq.period: pq.quantity for pq in a.periods}
            if k is None:
                self.foreign.append(f"{a.order} at {a.factory}")
                self._take_raw(a.factory, a.order, quantities)
                continue
            part = Part(k, quantities)
            self.parts.append(part)
            self.cap.take(problem.candidates[k], quantities)

    def _take_raw(self, factory: str, order: str, quantities: dict[int, int]) -> None:
        """Use of a part the problem has no candidate for (it stays where it is)."""
        p = self.problem
        fi = next(i for i, f in enumerate(p.instance.factories) if f.id == factory)
        o = next(o for o in p.instance.orders if o.id == order)
        caps = {c.process: c for c in p.instance.factories[fi].capabilities}
        groups = {r.group: i for i, r in enumerate(p.resources) if r.factory == fi}
        for op in o.operations:
            c = caps.get(op.process)
            if c is None or c.resource_group not in groups:
                continue
            r = groups[c.resource_group]
            for t, q in quantities.items():
                self.cap.free[r][t] -= c.seconds_per_unit * q + 60 * c.setup_minutes
        index = {lim.material: m for m, lim in enumerate(p.materials)}
        uses = material_uses(index, o.bill_of_materials)
        if uses and self.cap.materials is not None:
            self.cap.materials.take(fi, uses, quantities, 1)

    def make_room(
        self, cand: Candidate, need: int
    ) -> tuple[dict[int, int], list[Displacement], Capacity] | None:
        """Move up to :data:`MAX_DISPLACED` parts away from ``cand``'s factory until the
        order fits; None if it never does."""

        p = self.problem
        cap = self.cap.copy()
        window = set(cand.periods)
        there = [
            part
            for part in self.parts
            if p.candidates[part.candidate].factory == cand.factory
            and window & part.quantities.keys()
        ]
        moves: list[tuple[float, Part, Part]] = []
        for part in there:
            backup = self._backup(cap, part, cand.factory)
            if backup is not None:
                extra = cost(p, p.candidates[backup.candidate], backup.quantities) - cost(
                    p, p.candidates[part.candidate], part.quantities
                )
                seconds = max(1, _seconds(p, part))
                moves.append((extra / seconds, part, backup))
        moves.sort(key=lambda m: (m[0], m[1].candidate))
        done: list[Displacement] = []
        for _, part, _ in moves[:MAX_DISPLACED]:
            c = p.candidates[part.candidate]
            cap.give_back(c, part.quantities)
            backup = self._backup(cap, part, cand.factory)  # again: room changed
            if backup is None:
                cap.take(c, part.quantities)
                continue
            b = p.candidates[backup.candidate]
            cap.take(b, backup.quantities)
            done.append(
                Displacement(
                    order=p.orders[c.order].order.id,
                    from_factory=p.instance.factories[c.factory].id,
                    to_factory=p.instance.factories[b.factory].id,
                    units=part.quantity,
                    extra_cents=cost(p, b, backup.quantities) - cost(p, c, part.quantities),
                )
            )
            quantities = fill(p, cap, cand, need)
            if quantities is not None:
                return quantities, done, cap
        return None

    def _backup(self, cap: Capacity, part: Part, avoid: int) -> Part | None:
        """The cheapest placement of ``part``'s units at another factory with room."""

        p = self.problem
        order = p.candidates[part.candidate].order
        holding = {
            p.candidates[x.candidate].factory
            for x in self.parts
            if p.candidates[x.candidate].order == order
        }
        among = [
            k
            for k in p.orders[order].candidates
            if p.candidates[k].factory != avoid and p.candidates[k].factory not in holding
        ]
        best = cheapest_single_part(p, cap, order, among, part.quantity)
        return None if best is None else best[1]


def _seconds(p: AssignmentProblem, part: Part) -> int:
    cand = p.candidates[part.candidate]
    return sum(
        u.seconds_per_unit * q + u.setup_seconds
        for q in part.quantities.values()
        for u in cand.usage
    )
