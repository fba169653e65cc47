"""The ``joint`` assignment back-end: assignment and collective purchasing in one MILP.

The default pipeline assigns first and buys for the allocations afterwards, so it
cannot see that moving an order may reach a cheaper tier, fit a supplier's capacity
or use a factory's stock. This back-end solves the assignment model of
:mod:`solvers.assignment.mip` (the same rows, row for row) together with the
purchasing of every purchased material (:mod:`solvers.joint.purchasing`), with HiGHS
through MathOpt, and returns the allocations; the pipeline's purchasing stage then
buys for them and, on a proven joint optimum, finds the cost this model reports or
less. It is a reference for small instances (up to :data:`MAX_ORDERS` orders), to
measure the default pipeline against the true joint optimum (docs/joint.md).
"""

from __future__ import annotations

import math
import re
import time

from matcher.domain.params import ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import (
    AssignmentResult,
    Part,
    anchor_unsupported,
    by_operation_unsupported,
    fairness_unsupported,
    infeasible_at_once,
    mandatory_left_out,
    objective_of,
    report_result,
)
from solvers.assignment.mip import MAX_PRODUCTION_VARIABLES, build_model, violation
from solvers.assignment.problem import AssignmentProblem
from solvers.joint.purchasing import (
    JointPurchasing,
    add_purchasing,
    purchase_violation,
    read_purchases,
)
from solvers.linear import Limits, Outcome, solve_mathopt
from solvers.purchasing.solve import Bought, purchases_cents

PURCHASING_NOTE = re.compile(r"joint purchasing part: (\d+) cents")

MAX_ORDERS = 30
"""Largest instance the joint reference takes: its tier binaries and needs make the
MILP much harder than the assignment alone (docs/joint.md, measured sizes)."""


class JointBackend:
    """Assignment plus collective purchasing, exactly, by HiGHS."""

    name = "joint"
    # It buys the materials in its own model: feedback rounds, which add estimated
    # material costs to the candidates, would count them twice (docs/joint.md).
    prices_purchasing = True

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return self.unsupported_reason(problem, params) is None

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        if len(problem.orders) > MAX_ORDERS:
            return (
                f"the instance has {len(problem.orders)} orders; the joint reference takes "
                f"at most {MAX_ORDERS}"
            )
        why = (
            anchor_unsupported(problem)
            or by_operation_unsupported(problem)
            or fairness_unsupported(problem, self.name)
        )
        if why is not None:
            return why
        if problem.size > MAX_PRODUCTION_VARIABLES:
            return (
                f"the model has {problem.size} production variables, more than the "
                f"{MAX_PRODUCTION_VARIABLES} the MIP back-ends take"
            )
        return None

    def solve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None = None,
        stop: StopSignal | None = None,
    ) -> AssignmentResult:
        start = time.perf_counter()
        if (doomed := infeasible_at_once(problem, params, self.name, start)) is not None:
            return doomed
        result = AssignmentResult(solver=self.name, status=SolveStatus.UNKNOWN, seed=params.seed)
        model, v = build_model(problem, params.hard_mandatory)
        jp = add_purchasing(model, problem, v.make, params.max_suppliers_per_material)
        # The mandatory penalty outweighs any plan's assignment cost, not its
        # purchases: raised by the most they can cost, so that serving a mandatory
        # order still beats any saving (docs/model.md).
        extra = jp.worst + 1 if jp.materials else 0
        raised = [s for o, s in v.served.items() if problem.orders[o].order.mandatory]
        for s in raised:
            model.constant += extra
            model.cost[s] -= extra
        build_s = time.perf_counter() - start
        result.notes.append(
            f"HiGHS, joint model ({problem.size} production variables; {jp.describe()}; "
            f"{model.describe()}) built in {build_s:.2f}s"
        )
        result.notes += [n for mv in jp.materials for n in mv.dropped]
        inexact = [mv.material for mv in jp.materials if not mv.exact]
        if inexact:
            result.notes.append(
                "bill-of-materials or stock figures with more than 6 decimals, rounded "
                "(never looser than the rule): " + ", ".join(inexact)
            )
        if model.contradiction is not None:
            result.status = SolveStatus.INFEASIBLE
            result.notes.append(model.contradiction)
            result.wall_time_s = time.perf_counter() - start
            return result
        limits = Limits(
            start + params.time_limit_s, params.relative_gap, params.seed, params.workers, stop
        )
        outcome = solve_mathopt(model, "highs", limits, None)
        result.notes += [n for n in outcome.notes if "greedy" not in n]
        result.workers = outcome.threads
        _settle(problem, params, v.make, v.served, raised, extra, jp, outcome, result)
        result.wall_time_s = time.perf_counter() - start
        report_result(progress, problem, result)
        return result


def _settle(
    problem: AssignmentProblem,
    params: SolveParams,
    make: dict[int, dict[int, int]],
    served: dict[int, int],
    raised: list[int],
    extra: int,
    jp: JointPurchasing,
    outcome: Outcome,
    result: AssignmentResult,
) -> None:
    """The outcome as parts, objective (assignment terms plus the weighted purchases,
    recomputed from the rounded plan), bound and status."""
    status, values = outcome.status, outcome.values
    if values is None:
        result.status = status
        result.notes.append(
            f"HiGHS brought no solution ({status.value}); the joint back-end has no fallback plan"
        )
        return
    parts = [
        Part(k, quantities)
        for k, make_k in make.items()
        if (
            quantities := {
                t: q for t, x in make_k.items() if (q := math.floor(values[x] + 0.5)) > 0
            }
        )
    ]
    bought = read_purchases(jp, problem, values)
    broken = violation(problem, parts, params.hard_mandatory) or purchase_violation(
        problem, parts, jp, bought, params.max_suppliers_per_material
    )
    if broken is not None:
        result.status = SolveStatus.UNKNOWN
        result.notes.append(f"HiGHS's solution breaks the model once rounded ({broken})")
        return
    buying = purchases_cents(bought)
    objective = objective_of(problem, parts) + problem.weights.purchasing * buying
    # The solver's figures carry the raised penalty of every mandatory order it
    # leaves out; in the problem's terms they carry the problem's penalty.
    left_out = set(mandatory_left_out(problem, parts))
    shift = extra * sum(1 for o, s in served.items() if s in raised and o in left_out)
    if outcome.objective is not None and abs(outcome.objective - shift - objective) > 0.5:
        result.notes.append(
            f"HiGHS reported objective {outcome.objective - shift:.2f}; the rounded plan "
            f"costs {objective}"
        )
    bound = None if status == SolveStatus.INFEASIBLE or outcome.bound is None else outcome.bound
    if bound is not None:
        bound = min(bound - shift, float(objective))
    result.notes.append(_purchasing_note(bought, buying, problem.weights.purchasing))
    result.status = status
    result.parts = parts
    result.objective = float(objective)
    result.best_bound = bound


def _purchasing_note(bought: list[Bought], buying: int, weight: int) -> str:
    material = sum(b.material_cents for b in bought)
    transport = sum(b.transport_cents for b in bought)
    return (
        f"joint purchasing part: {buying} cents ({material} material + {transport} inbound "
        f"transport, {len(bought)} purchases), weighted x{weight} in the objective"
    )


def purchasing_part(notes: list[str]) -> int | None:
    """The purchasing part (material and inbound transport, cents, unweighted) a joint
    solve reported in its notes, or None."""
    for note in notes:
        if (found := PURCHASING_NOTE.search(note)) is not None:
            return int(found.group(1))
    return None
