"""Re-solve a few orders exactly against the capacity the rest of a plan leaves.

Transfers are valued this way rather than guessed: the orders a transfer touches are
re-optimised with CP-SAT (a large-neighbourhood step), everything else staying as
planned, so a reported saving is one a plan can actually reach.
"""

from __future__ import annotations

import math
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
LINEARIZATION_LEVEL = 2
"""CP-SAT's LP in a re-solve (one worker) takes the capacity rows' cuts, as the
assignment's small groups do (``solvers.assignment.cpsat._prove``): without them a
neighbourhood of 21 variables on a generated 30-order instance ended FEASIBLE at its
limit, with them OPTIMAL in 2 ms. Measured on the analysis of demo.json and ten
generated 30-order instances (30 x 10 x 14, seeds 1-10; one worker): 2.19 s -> 1.16 s
in all, every transfer found before found again with the same saving or more (demo.json
one more); on medium.json's plan (the same plan both ways) 10 -> 23 transfers in the
same time, the largest saving 0.5 % smaller. Explain's forced moves
(:func:`solvers.sharing.move.resolve_forced`) use it too: on ten of the same plans (all
but seed 4's), 95 forced moves, unproved 5 -> 2, CP-SAT 2.61 s -> 1.35 s, the same
explanations except one move found 0.04 % cheaper."""


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
    deterministic_time: float = 0.0  # CP-SAT's, the same every run with one worker

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


def resolve_solver(params: SolveParams, seconds: float) -> cp_model.CpSolver:
    """CP-SAT as a re-solve of a few orders runs it (here and in explain's forced
    moves): one worker, ``seconds`` of deterministic time (at least 0.05), the seed of
    ``params``, the capacity rows' cuts (:data:`LINEARIZATION_LEVEL`)."""
    solver = cp_model.CpSolver()
    configure(solver, params.model_copy(update={"workers": 1}), max(0.05, seconds))
    solver.parameters.linearization_level = LINEARIZATION_LEVEL
    return solver


def resolve(
    problem: AssignmentProblem,
    plan: dict[int, list[Part]],
    orders: list[int],
    cap: Capacity,
    params: SolveParams,
    seconds: float,
    extra_offered: dict[int, set[int]] | None = None,
    wall_clock: bool = False,
) -> Resolved:
    """Re-optimise ``orders`` within ``cap`` (the capacity the other orders leave, possibly
    changed by the caller); ``plan`` holds every order's current parts (the hint).

    ``seconds`` is CP-SAT deterministic time (the same answer every run), or with
    ``wall_clock`` wall-clock seconds (a stage on the clock: deterministic time runs
    several times slower than the clock on large neighbourhoods, measured 0.47 in 2.6 s).

    Mandatory orders the plan serves stay served: leaving one out never pays, and
    without their penalty in the objective CP-SAT solves a neighbourhood faster (as in
    the LNS). The answer's cost is recomputed from its parts, the saving from that.

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
    for o, served in v.served.items():
        if plan.get(o) and problem.orders[o].order.mandatory:
            model.add(served == 1)
    hint(model, problem, v, current)
    complete_hint(model)
    solver = resolve_solver(params, seconds)
    if wall_clock:
        solver.parameters.max_deterministic_time = math.inf
        solver.parameters.max_time_in_seconds = max(0.05, seconds)
    code = solver.solve(model)
    spent = solver.deterministic_time
    if not has_solution(code):
        return Resolved(before, None, current, False, deterministic_time=spent)
    after = round(solver.objective_value)
    parts = extract(solver, v) if after < before else current
    if after < before:  # the plan's own cost of the answer, not the solver's figure
        new = by_order(problem, parts)
        after = sum(order_cost(problem, o, new.get(o, [])) for o in orders)
        if fair is not None:
            after += fairness_cost(fair, problem.candidates, outside(plan, orders) + parts)
    if after >= before:
        return Resolved(before, before, current, code == cp_model.OPTIMAL, deterministic_time=spent)
    served_before = {o for o in orders if plan.get(o)}
    served_after = {problem.candidates[p.candidate].order for p in parts}
    change = sum(internal_only(problem, o) for o in served_after - served_before)
    change -= sum(internal_only(problem, o) for o in served_before - served_after)
    gained = sorted(o for o in served_after - served_before if problem.orders[o].order.mandatory)
    return Resolved(before, after, parts, code == cp_model.OPTIMAL, -change, gained, spent)


def complete_hint(model: cp_model.CpModel) -> int:
    """Hint the variables the plan's hint leaves out (the material rows' whole units),
    each at the least value its linear rows allow once the others are known, and return
    how many were added. With an incomplete hint CP-SAT first searches to complete it:
    on a 120-order neighbourhood at 10 000 orders that found nothing in 2 s."""
    proto = model.proto
    value = dict(zip(proto.solution_hint.vars, proto.solution_hint.values, strict=True))
    hinted = set(value)
    for i, var in enumerate(proto.variables):
        if i not in value and len(var.domain) == 2 and var.domain[0] == var.domain[1]:
            value[i] = var.domain[0]  # a constant
    rows = []
    for c in proto.constraints:
        if c.has_linear() and not len(c.enforcement_literal):
            terms = list(zip(c.linear.vars, c.linear.coeffs, strict=True))
            if any(x not in value for x, _ in terms):
                bounds = list(c.linear.domain)  # (the proto's lists take no index -1)
                rows.append((terms, bounds[0], bounds[-1]))
    progress = True
    while progress:
        progress = False
        for terms, lo, hi in rows:
            unknown = [(x, a) for x, a in terms if x not in value]
            if len(unknown) != 1:
                continue
            ((j, a),) = unknown
            rest = sum(value[x] * b for x, b in terms if x != j)
            low, high = sorted(((lo - rest) / a, (hi - rest) / a))
            domain = list(proto.variables[j].domain)
            least = max(math.ceil(low - 1e-9), domain[0])
            value[j] = min(max(least, 0), max(least, min(math.floor(high + 1e-9), domain[-1])))
            progress = True
    added = [i for i in value if i not in hinted]
    for i in added:
        model.add_hint(model.get_int_var_from_proto_index(i), value[i])
    return len(added)
