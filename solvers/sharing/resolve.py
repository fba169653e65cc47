"""Re-solve a few orders exactly against the capacity the rest of a plan leaves.

Transfers are valued this way rather than guessed: the orders a transfer touches are
re-optimised with CP-SAT (a large-neighbourhood step), everything else staying as
planned, so a reported saving is one a plan can actually reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from matcher.domain.params import SolveParams
from solvers.assignment.base import Part
from solvers.assignment.cpsat_model import build_model, configure, extract, hint
from solvers.assignment.fairness import fairness_cost, outside, tally
from solvers.assignment.greedy import Capacity, cost
from solvers.assignment.problem import AssignmentProblem
from solvers.cpsat_status import has_solution

OFFERED_CANDIDATES = 8
"""Cheapest candidates offered to each re-solved order, plus its current ones."""


def order_cost(problem: AssignmentProblem, order: int, parts: list[Part]) -> int:
    """The order's share of the internal objective (stability included on re-plans)."""
    made = {p.candidate: p.quantity for p in parts}
    total = problem.stability_cost(order, made)
    if not parts:
        return total + problem.unserved_cost(order)
    return total + sum(cost(problem, problem.candidates[p.candidate], p.quantities) for p in parts)


def by_order(problem: AssignmentProblem, parts: list[Part]) -> dict[int, list[Part]]:
    out: dict[int, list[Part]] = {}
    for p in parts:
        out.setdefault(problem.candidates[p.candidate].order, []).append(p)
    return out


def residual(problem: AssignmentProblem, parts: list[Part], without: set[int]) -> Capacity:
    """Capacity left by every part except those of the orders in ``without``."""
    cap = Capacity(problem)
    for p in parts:
        cand = problem.candidates[p.candidate]
        if cand.order not in without:
            cap.take(cand, p.quantities)
    return cap


def offered(
    problem: AssignmentProblem,
    plan: dict[int, list[Part]],
    order: int,
    extra: set[int] | None = None,
) -> list[int]:
    """What a re-solve offers ``order``: its cheapest candidates, its current ones (it
    may stay), ``extra`` and, on a re-plan, those of the previous plan."""
    keep = {p.candidate for p in plan.get(order, [])} | (extra or set())
    if problem.anchor is not None:
        keep |= set(problem.anchor.previous_of(problem, order))
    cands = problem.orders[order].candidates
    return sorted(set(cands[:OFFERED_CANDIDATES]) | (keep & set(cands)))


@dataclass
class Resolved:
    before: int  # objective share of the orders as planned (internal terms)
    after: int | None  # after the re-solve (None: no solution in time)
    parts: list[Part]  # the orders' new parts
    optimal: bool
    penalty_change: int = 0  # internal-only penalties (mandatory orders) after minus before
    serves_mandatory: list[int] = field(default_factory=list)  # orders served only after

    @property
    def improves(self) -> bool:
        """Better by the solver's own objective: cheaper, or more mandatory orders served."""
        return self.after is not None and self.after < self.before

    @property
    def saving(self) -> int:
        """The saving in the plan's cost terms (``plan.costs``): the internal objective's,
        less the penalties the plan's costs do not show (an unserved mandatory order
        costs the plan nothing, the solver a large penalty)."""
        return 0 if self.after is None else self.before - self.after + self.penalty_change


def internal_only(problem: AssignmentProblem, order: int) -> int:
    """What leaving ``order`` unserved costs the solver beyond what it costs the plan:
    the mandatory penalty of a mandatory (or re-plan-forced) order; 0 otherwise."""
    o = problem.orders[order].order
    shown = problem.weights.unserved * (o.penalties.unserved_cents or 0)
    return problem.unserved_cost(order) - shown


def resolve(
    problem: AssignmentProblem,
    plan: dict[int, list[Part]],
    orders: list[int],
    cap: Capacity,
    params: SolveParams,
    seconds: float,
    extra_offered: dict[int, set[int]] | None = None,
) -> Resolved:
    """Re-optimise ``orders`` within ``cap`` (the capacity the other orders leave, possibly
    changed by the caller); ``plan`` holds every order's current parts (the hint).

    With fairness options (docs/fairness.md) the model holds them over the whole plan,
    the other orders' work as constants, and both sides of the saving count the
    fairness terms: a transfer never breaks a share cap or a hard minimum."""

    current = [p for o in orders for p in plan.get(o, [])]
    before = sum(order_cost(problem, o, plan.get(o, [])) for o in orders)
    offers = {o: offered(problem, plan, o, (extra_offered or {}).get(o, set())) for o in orders}
    fixed = None
    fair = problem.fairness
    if fair is not None:  # the caps hold and the terms count, over the whole plan
        rest = outside(plan, orders)
        fixed = tally(fair, problem.candidates, rest)
        before += fairness_cost(fair, problem.candidates, rest + current)
    model, v = build_model(
        problem, False, orders, cap.free, cap.buyer, offers, cap.materials, fixed_fairness=fixed
    )
    hint(model, problem, v, current)
    solver = cp_model.CpSolver()
    configure(solver, params.model_copy(update={"workers": 1}), max(0.05, seconds))
    code = solver.solve(model)
    if not has_solution(code):
        return Resolved(before, None, current, False)
    after = round(solver.objective_value)
    if after >= before:
        return Resolved(before, before, current, code == cp_model.OPTIMAL)
    parts = extract(solver, v)
    served_before = {o for o in orders if plan.get(o)}
    served_after = {problem.candidates[p.candidate].order for p in parts}
    change = sum(internal_only(problem, o) for o in served_after - served_before)
    change -= sum(internal_only(problem, o) for o in served_before - served_after)
    gained = sorted(o for o in served_after - served_before if problem.orders[o].order.mandatory)
    return Resolved(before, after, parts, code == cp_model.OPTIMAL, -change, gained)
