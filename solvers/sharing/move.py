"""Re-solve a few orders exactly with one of them fixed to a factory.

An explanation's "what would moving this order there cost" is answered this way
rather than guessed: the order is offered only its candidates at that factory and
must be served, the orders holding the capacity in its way are freed, and all of
them are re-optimised with CP-SAT against the capacity the rest of the plan leaves
(as :mod:`solvers.sharing.resolve` does for transfers).
"""

from __future__ import annotations

from dataclasses import dataclass

from matcher.domain.params import SolveParams
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import Part
from solvers.assignment.cpsat_model import build_model, extract, hint
from solvers.assignment.fairness import outside, tally
from solvers.assignment.greedy import Capacity
from solvers.assignment.problem import AssignmentProblem
from solvers.cpsat_status import has_solution, solve_status
from solvers.sharing.resolve import offered, resolve_solver


@dataclass
class Forced:
    """The re-solve's answer: its status and the re-solved orders' parts."""

    status: SolveStatus  # OPTIMAL proves it; FEASIBLE: the limit came first
    parts: list[Part]  # empty without a solution


def resolve_forced(
    problem: AssignmentProblem,
    plan: dict[int, list[Part]],
    orders: list[int],
    cap: Capacity,
    params: SolveParams,
    seconds: float,
    fixed: dict[int, list[int]],
) -> Forced:
    """Re-optimise ``orders`` within ``cap`` (what every other order leaves), each order
    of ``fixed`` served by those of its candidates only; the best such plan, whatever
    it costs against ``plan`` (its parts are the hint)."""
    offers = {o: fixed[o] if o in fixed else offered(problem, plan, o) for o in orders}
    # Mandatory orders the plan serves stay served (as in the LNS): faster proofs.
    hard = all(plan.get(o) or o in fixed for o in orders if problem.orders[o].order.mandatory)
    rest = None  # fairness options: the caps hold over the whole plan (docs/fairness.md)
    if problem.fairness is not None:
        rest = tally(problem.fairness, problem.candidates, outside(plan, orders))
    model, v = build_model(
        problem, hard, orders, cap.free, cap.buyer, offers, cap.materials, fixed_fairness=rest
    )
    for o in fixed:
        if o in v.served:
            model.add(v.served[o] == 1)
    hint(model, problem, v, [p for o in orders for p in plan.get(o, [])])
    solver = resolve_solver(params, seconds)
    code = solver.solve(model)
    if not has_solution(code):
        return Forced(solve_status(code), [])
    return Forced(solve_status(code), extract(solver, v))
