"""Why an order with eligible factories was left unserved.

Tried against the capacity the plan leaves free:
- it fits and is worth its penalty -> the solver stopped before placing it (``SOLVER_LIMIT``);
- it fits but costs more than its penalty -> ``NOT_WORTH_SERVING``;
- it does not fit, but would with the materials the plan's other orders take ->
  ``MATERIAL_UNAVAILABLE`` (what can arrive in time is spoken for);
- it does not fit, but would on empty factories -> ``CAPACITY_EXHAUSTED`` (naming the
  tightest resource of the cheapest candidate);
- it would not fit even on empty factories, but would if its materials could arrive
  -> ``MATERIAL_UNAVAILABLE`` (lead time or supplier capacity);
- it would not fit even then -> ``DUE_DATE_INFEASIBLE`` (its window is too short).
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from matcher.domain.entities import SHARE_RESOLUTION
from matcher.domain.plan import ReasonCode, SolveStatus
from solvers.assignment.base import Part
from solvers.assignment.cpsat_model import build_model
from solvers.assignment.fairness import tally
from solvers.assignment.greedy import Capacity, cheapest_single_part, cost, split_placement
from solvers.assignment.problem import AssignmentProblem, Candidate
from solvers.cpsat_status import has_solution


def explain_unserved(
    problem: AssignmentProblem, parts: list[Part], status: SolveStatus
) -> dict[int, tuple[ReasonCode, str]]:
    """Reason and detail for every order with candidates that ``parts`` leave out."""
    served = {problem.candidates[p.candidate].order for p in parts}
    left = Capacity(problem, window_sums=True)
    for p in parts:
        left.take(problem.candidates[p.candidate], p.quantities)
    empty = Capacity(problem, window_sums=True)
    # The same for every order (trial placements give their capacity back), and a copy
    # of every table: made once, when first needed.
    materials_free: Capacity | None = None
    no_materials: Capacity | None = None
    out: dict[int, tuple[ReasonCode, str]] = {}
    for info in problem.orders:
        if info.index in served or not info.candidates:
            continue
        if info.stages is not None:
            out[info.index] = _explain_by_operation(problem, left, info.index, status)
            continue
        penalty = problem.unserved_cost(info.index)
        # What place_order would do in the plan's free capacity, nothing taken: the
        # cheapest single part, else (none at all) a split placement.
        single = cheapest_single_part(problem, left, info.index)
        if single is not None and single[0] > penalty:
            out[info.index] = (
                ReasonCode.NOT_WORTH_SERVING,
                f"cheapest placement costs {single[0]} cents, more than its penalty {penalty}",
            )
            continue
        placed = [single[1]] if single is not None else split_placement(problem, left, info.index)
        if placed is not None:
            c = sum(cost(problem, problem.candidates[p.candidate], p.quantities) for p in placed)
            code, detail = _fits_verdict(c, penalty, status)  # c <= penalty here
            out[info.index] = (code, detail + _over_cap(problem, parts, placed))
            continue
        if problem.materials and materials_free is None:
            materials_free = left_materials_free(problem, left)
        if materials_free is not None and _fits(problem, materials_free, info.index):
            out[info.index] = (
                ReasonCode.MATERIAL_UNAVAILABLE,
                f"{_materials_of(problem, info.index)}: what can arrive in time is "
                "taken by the plan's other orders",
            )
            continue
        if not _fits(problem, empty, info.index):  # in one part or split
            if problem.materials and no_materials is None:
                no_materials = empty.without_materials()
            if no_materials is not None and _fits(problem, no_materials, info.index):
                out[info.index] = (
                    ReasonCode.MATERIAL_UNAVAILABLE,
                    f"{_materials_of(problem, info.index)}: not enough can arrive in time "
                    "even with no other order",
                )
                continue
            first = problem.candidates[info.candidates[0]]
            out[info.index] = (
                ReasonCode.DUE_DATE_INFEASIBLE,
                f"no eligible factory can make {info.order.quantity} units in periods "
                f"{first.first}..{first.last} even with all its free capacity",
            )
            continue
        out[info.index] = (ReasonCode.CAPACITY_EXHAUSTED, _binding(problem, left, info.index))
    return out


def _over_cap(problem: AssignmentProblem, parts: list[Part], placed: list[Part]) -> str:
    """Why the fairness share cap keeps a placement out of the plan, or "" (it does not,
    or there is none: docs/fairness.md)."""
    fair = problem.fairness
    if fair is None or fair.cap is None:
        return ""
    work = tally(fair, problem.candidates, [*parts, *placed]).work
    total = sum(work)
    over = [f for f, w in enumerate(work) if SHARE_RESOLUTION * w > fair.cap * total]
    if not over:
        return ""
    f = over[0]
    return (
        f"; there, factory {problem.instance.factories[f].id} would hold "
        f"{work[f] / total:.1%} of the served {fair.options.share_measure}, above the "
        f"fairness cap {fair.options.max_share:g}"
    )


def _fits(problem: AssignmentProblem, cap: Capacity, order: int) -> bool:
    """Whether ``order`` can be made in ``cap`` (in one part or split)."""
    if cheapest_single_part(problem, cap, order) is not None:
        return True
    return split_placement(problem, cap, order) is not None


def left_materials_free(problem: AssignmentProblem, left: Capacity) -> Capacity:
    """The plan's free machine time with every material still to come."""
    trial = left.copy()
    trial.materials = Capacity(problem).materials
    return trial


def _materials_of(problem: AssignmentProblem, order: int) -> str:
    """The order's materials whose supply can bind, and what limits each."""
    info = problem.orders[order]
    used = {m for k in info.candidates for m, _ in problem.candidates[k].materials}
    names = [
        f"{problem.materials[m].material} ({problem.materials[m].binding})" for m in sorted(used)
    ]
    return "needs " + ", ".join(names) if names else "its materials"


def _binding(problem: AssignmentProblem, left: Capacity, order: int) -> str:
    """Name the tightest resource of the cheapest candidate."""
    info = problem.orders[order]
    cand: Candidate = problem.candidates[info.candidates[0]]
    worst: tuple[float, str] | None = None
    for u in cand.usage:
        need = u.seconds_per_unit * info.order.quantity + u.setup_seconds
        free = sum(max(0, left.free[u.resource][t]) for t in cand.periods)
        ratio = free / need if need else float("inf")
        res = problem.resources[u.resource]
        factory = problem.instance.factories[res.factory].id
        text = (
            f"cheapest eligible factory {factory}: resource {res.group} has {free // 60} min "
            f"free in periods {cand.first}..{cand.last}, the order needs {-(-need // 60)} min"
        )
        if worst is None or ratio < worst[0]:
            worst = (ratio, text)
    n = len(info.candidates)
    return (worst[1] if worst else "no free capacity") + (
        f"; the other {n - 1} eligible factories are full too" if n > 1 else ""
    )


BY_OPERATION_TRIAL_S = 1.0
"""CP-SAT deterministic time for one trial placement of an order split by operation."""


def _explain_by_operation(
    problem: AssignmentProblem, left: Capacity, order: int, status: SolveStatus
) -> tuple[ReasonCode, str]:
    """The same questions for an order split by operation, answered by CP-SAT on that
    order alone (greedy placement does not search its routes): in the capacity the plan
    leaves, then on empty factories."""

    def trial(room: Capacity) -> float | None:
        model, v = build_model(
            problem,
            True,
            orders=[order],
            free=room.free,
            buyer_caps=room.buyer,
            materials=room.materials,
        )
        if order in v.served:
            model.add(v.served[order] == 1)  # the question is whether it can be made
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.max_deterministic_time = BY_OPERATION_TRIAL_S
        code = solver.solve(model)
        if has_solution(code):
            return float(solver.objective_value)
        return None

    penalty = problem.unserved_cost(order)
    found = trial(left)
    if found is not None:
        return _fits_verdict(found, penalty, status)
    empty = Capacity(problem)
    if trial(empty) is None:
        return (
            ReasonCode.DUE_DATE_INFEASIBLE,
            "no route through the eligible factories of its operations was found even on "
            f"empty factories ({BY_OPERATION_TRIAL_S:.0f} s of CP-SAT)",
        )
    return (
        ReasonCode.CAPACITY_EXHAUSTED,
        "its operations fit on empty factories but not in the capacity the plan leaves",
    )


def _fits_verdict(found: float, penalty: int, status: SolveStatus) -> tuple[ReasonCode, str]:
    """The reason of an order that fits in the free capacity at ``found`` cents."""
    if found > penalty:
        return (
            ReasonCode.NOT_WORTH_SERVING,
            f"cheapest placement costs {found:.0f} cents, more than its penalty {penalty}",
        )
    why = (
        "the solver stopped before placing it"
        if status != SolveStatus.OPTIMAL
        else "placing it would displace more valuable orders"
    )
    code = (
        ReasonCode.SOLVER_LIMIT if status != SolveStatus.OPTIMAL else ReasonCode.NOT_WORTH_SERVING
    )
    return code, f"fits in the free capacity at {found:.0f} cents vs penalty {penalty}: {why}"
