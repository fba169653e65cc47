"""What it would take: the assignment with capacity that can be bought (docs/explain.md).

Every capacity row (factory, resource group, period) may be exceeded by overtime bought
at a price above anything a minute of machine time can earn, every order must be served
(an unserved order costs more than any plan with overtime) and none may be late. The
answer is then the least overtime that serves every order on time, placed as cheaply
as possible; the orders that even unlimited capacity cannot serve on time are set apart
with their reason. Solved exactly with CP-SAT (:func:`build_model` with ``overtime``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

from ortools.sat.python import cp_model

from matcher.domain.entities import ObjectiveWeights, Penalties
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import ReasonCode, SolveStatus
from solvers.assignment.base import Part
from solvers.assignment.cpsat_model import build_model, configure, extract, extract_flows, hint
from solvers.assignment.greedy import cost
from solvers.assignment.problem import AssignmentProblem, Resource, build_problem
from solvers.cpsat_status import has_bound, has_solution, solve_status

HEADROOM = 10
"""The default overtime price is this many times what a minute of machine time can earn."""
UNLIMITED_MINUTES = 1 << 30
"""Free minutes per period of the compilation's capacity: no candidate is cut for room."""


@dataclass
class Relaxed:
    """The relaxed solve's answer, in the problem's indices."""

    problem: AssignmentProblem  # compiled with every order mandatory and on time
    status: SolveStatus
    objective: int | None
    bound: int | None
    price_per_minute: int  # weighted cents
    price_basis: str
    parts: list[Part] = field(default_factory=list)
    flows: dict[tuple[int, int], int] = field(default_factory=dict)
    overtime: dict[tuple[int, int], int] = field(default_factory=dict)  # (r, t) -> minutes
    load: dict[tuple[int, int], int] = field(default_factory=dict)  # (r, t) -> seconds
    apart: dict[int, tuple[ReasonCode, str]] = field(default_factory=dict)  # order -> why
    wall_time_s: float = 0.0

    def order_cost(self, order: int) -> int:
        """The order's weighted cost in the relaxed solution, overtime excluded."""
        p = self.problem
        mine = [x for x in self.parts if p.candidates[x.candidate].order == order]
        total = sum(cost(p, p.candidates[x.candidate], x.quantities) for x in mine)
        for (f, g), units in self.flows.items():
            if p.candidates[f].order == order:
                total += p.weights.transport * p.transfer(f, g)[1] * units
        return total

    def served(self) -> set[int]:
        return {self.problem.candidates[x.candidate].order for x in self.parts}


def relaxed_problem(
    instance: Instance, weights: ObjectiveWeights | None = None
) -> tuple[AssignmentProblem, dict[int, tuple[ReasonCode, str]]]:
    """The instance compiled with every order mandatory, on unlimited capacity (so no
    candidate is cut for want of room), each candidate's window cut at its order's due
    period; then the real free capacity and buyer caps put back for the model's rows.
    Returns the problem and the orders no candidate can serve on time, with why."""
    n = instance.horizon.periods
    unlimited = [
        f.model_copy(
            update={
                "resources": [
                    r.model_copy(
                        update={
                            "available_minutes": [UNLIMITED_MINUTES] * n,
                            "committed_minutes": None,
                        }
                    )
                    for r in f.resources
                ]
            }
        )
        for f in instance.factories
    ]
    mandatory = [
        o.model_copy(
            update={
                "penalties": Penalties(
                    late_cents_per_unit_period=o.penalties.late_cents_per_unit_period
                )
            }
        )
        for o in instance.orders
    ]
    relaxed = instance.model_copy(update={"factories": unlimited, "orders": mandatory})
    problem = build_problem(relaxed, weights or instance.weights)
    apart: dict[int, tuple[ReasonCode, str]] = {}
    orders = []
    for info in problem.orders:
        o = info.order
        if not info.candidates:
            assert info.reason is not None
            apart[info.index] = (info.reason, info.detail)
            orders.append(info)
            continue
        on_time = []
        for k in info.candidates:
            c = problem.candidates[k]
            c.last = min(c.last, o.due_period)
            if c.first <= c.last:
                on_time.append(k)
        stages = None
        if info.stages is not None:
            stages = [[k for k in s if k in on_time] for s in info.stages]
        if not on_time or (stages is not None and not all(stages)):
            apart[info.index] = _too_late(problem, info.index)
            on_time, stages = [], None if stages is None else [[] for _ in stages]
        orders.append(replace(info, candidates=on_time, stages=stages))
    resources = [
        Resource(fi, r.id, tuple(60 * r.free_minutes(t) for t in range(n)))
        for fi, f in enumerate(instance.factories)
        for r in f.resources
    ]
    return replace(
        problem,
        instance=instance,
        orders=orders,
        resources=resources,
        buyer_caps=_buyer_caps(instance, problem.buyer_caps, resources),
    ), apart


def _buyer_caps(
    instance: Instance, relaxed: dict[tuple[int, str], int], resources: list[Resource]
) -> dict[tuple[int, str], int]:
    """Buyer shares stay a policy on the free capacity (docs/model.md), not on overtime."""
    total: dict[int, int] = {}
    for r in resources:
        total[r.factory] = total.get(r.factory, 0) + sum(r.free_seconds)
    out = {}
    for fi, buyer in relaxed:
        share = instance.factories[fi].max_buyer_share
        assert share is not None
        out[(fi, buyer)] = math.floor(share * total.get(fi, 0) + 1e-9)
    return out


def _too_late(problem: AssignmentProblem, order: int) -> tuple[ReasonCode, str]:
    """Why no candidate of ``order`` can start by its due period."""
    info = problem.orders[order]
    o = info.order
    firsts = {problem.candidates[k].first for k in info.candidates}
    start = min(firsts)
    if start <= o.release_period:
        return (
            ReasonCode.DUE_DATE_INFEASIBLE,
            f"released in period {o.release_period}, due in period {o.due_period}",
        )
    late = sorted(
        lim.material
        for lim in problem.materials
        if lim.material in o.bill_of_materials and (lim.earliest is None or lim.earliest > 0)
    )
    return (
        ReasonCode.MATERIAL_UNAVAILABLE,
        f"its materials ({', '.join(late) or 'purchased'}) reach an eligible factory in period "
        f"{start} at the earliest, after its due period {o.due_period}",
    )


def default_price(problem: AssignmentProblem) -> tuple[int, str]:
    """Weighted cents per overtime minute: :data:`HEADROOM` times the most a minute of
    machine time can save (the dearest candidate's weighted cents per unit over the
    fewest seconds a unit takes), so overtime is bought only where nothing else serves."""
    dearest, fastest = 1, None
    for info in problem.orders:
        for k in info.candidates:
            c = problem.candidates[k]
            dearest = max(dearest, c.base)
            for u in c.usage:
                if u.seconds_per_unit and (fastest is None or u.seconds_per_unit < fastest):
                    fastest = u.seconds_per_unit
    per_minute = HEADROOM * math.ceil(60 * dearest / (fastest or 1))
    basis = (
        f"{HEADROOM} x the most a minute of machine time can save: the dearest candidate "
        f"costs {dearest} weighted cents a unit and the fastest unit takes {fastest or 1} s"
    )
    return per_minute, basis


def _servable(
    problem: AssignmentProblem, modelled: list[int], params: SolveParams, seconds: float
) -> tuple[SolveStatus, list[Part]]:
    """Phase 1: the most orders that can be served on time together with free overtime
    (materials, buyer shares and transfer lags still bind): every cost zero, an unserved
    order 1. Small coefficients, so it is quick; phase 2 then prices the overtime."""
    free = ObjectiveWeights(
        production=0, transport=0, lateness=0, unserved=0, credit=0, purchasing=0
    )
    counting = replace(
        problem,
        weights=free,
        candidates=[replace(c, base=0) for c in problem.candidates],
        mandatory_penalty=1,
    )
    model, v = build_model(counting, hard_mandatory=False, orders=modelled, overtime=0)
    solver = cp_model.CpSolver()
    configure(solver, params, seconds)
    code = solver.solve(model)
    return solve_status(code), extract(solver, v) if has_solution(code) else []


def _least_overtime(
    problem: AssignmentProblem,
    kept: list[int],
    parts: list[Part],
    params: SolveParams,
    seconds: float,
) -> tuple[int | None, int | None, SolveStatus, list[Part]]:
    """Phase 2a: the fewest overtime minutes that serve ``kept`` on time (every cost
    zero, a minute of overtime 1: small coefficients, so CP-SAT's LP bound is useful).
    Returns (minutes found, their lower bound, the phase's status, the parts)."""
    free = ObjectiveWeights(
        production=0, transport=0, lateness=0, unserved=0, credit=0, purchasing=0
    )
    counting = replace(
        problem, weights=free, candidates=[replace(c, base=0) for c in problem.candidates]
    )
    model, v = build_model(counting, hard_mandatory=True, orders=kept, overtime=1)
    hint(model, counting, v, parts)
    solver = cp_model.CpSolver()
    configure(solver, params, seconds)
    code = solver.solve(model)
    if not has_solution(code):
        return None, None, solve_status(code), parts
    bound = math.ceil(solver.best_objective_bound - 1e-6) if has_bound(code) else 0
    return round(solver.objective_value), max(0, bound), solve_status(code), extract(solver, v)


def _lexicographic_status(first: SolveStatus, least: SolveStatus, last: SolveStatus) -> SolveStatus:
    """OPTIMAL only when every phase proved its part: the servable set, the least
    overtime and the cheapest placement within it."""
    if last == SolveStatus.OPTIMAL and (first, least) != (SolveStatus.OPTIMAL,) * 2:
        return SolveStatus.FEASIBLE
    return last


def _load(problem: AssignmentProblem, parts: list[Part]) -> dict[tuple[int, int], int]:
    """Seconds of machine time per (resource, period) the parts use (setups included)."""
    load: dict[tuple[int, int], int] = {}
    for part in parts:
        cand = problem.candidates[part.candidate]
        for t, q in part.quantities.items():
            if q <= 0:
                continue
            for u in cand.usage:
                key = (u.resource, t)
                load[key] = load.get(key, 0) + u.seconds_per_unit * q + u.setup_seconds
    return load


def _tight_overtime(
    problem: AssignmentProblem, load: dict[tuple[int, int], int]
) -> dict[tuple[int, int], int]:
    """Whole minutes beyond the free capacity that ``load`` really needs: the model's
    overtime variables may sit above it (a setup switched on without production) when
    the search stops before tightening them."""
    out = {}
    for (r, t), seconds in load.items():
        over = seconds - problem.resources[r].free_seconds[t]
        if over > 0:
            out[(r, t)] = -(-over // 60)
    return out


def solve_relaxed(
    instance: Instance,
    params: SolveParams,
    seconds: float,
    overtime_cents_per_hour: int | None = None,
) -> Relaxed:
    """The least overtime that serves every order on time, cheapest placed (CP-SAT,
    ``seconds`` of it in two phases: deterministic time with one worker).

    Phase 1 finds the orders that can be served on time at all (a quarter of the time);
    phase 2 serves exactly those, lexicographically: first the fewest overtime minutes
    (40 %), then the cheapest placement with no more overtime than that (35 %), each
    starting from the last answer. The overtime reported is what the placement's load
    needs. One weighted model with a penalty above every overtime bill was tried first:
    its coefficients (1e11) left CP-SAT's LP without a solution in 10 s on the demo; one
    model of overtime at its price plus cost stopped at a 32 % gap on the demo in 20 s
    with overtime on rows nothing used."""
    started = time.perf_counter()
    problem, apart = relaxed_problem(instance, params.weights)
    if overtime_cents_per_hour is None:
        price, basis = default_price(problem)
    else:
        price = max(1, math.ceil(overtime_cents_per_hour / 60))
        basis = "stated"
    out = Relaxed(problem, SolveStatus.OPTIMAL, None, None, price, basis, apart=apart)
    modelled = [i.index for i in problem.orders if i.candidates]
    first, parts = _servable(problem, modelled, params, 0.25 * seconds)
    if not parts and first not in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE):
        out.status = first
        out.wall_time_s = round(time.perf_counter() - started, 3)
        return out
    served = {problem.candidates[x.candidate].order for x in parts}
    for o in modelled:
        if o not in served:
            out.apart[o] = (
                (ReasonCode.SOLVER_LIMIT, "the relaxed solve's time limit came first")
                if first != SolveStatus.OPTIMAL
                else (
                    ReasonCode.DUE_DATE_INFEASIBLE,
                    "not servable on time even with unlimited capacity, together with the "
                    "others: the materials that can arrive, a buyer share or transfer lags "
                    "leave no way",
                )
            )
    kept = [o for o in modelled if o in served]
    least, least_bound, least_status, parts = _least_overtime(
        problem, kept, parts, params, 0.4 * seconds
    )
    model, v = build_model(problem, hard_mandatory=True, orders=kept, overtime=0)
    if least is not None:  # lexicographic: no more overtime than the least found
        model.add(sum(v.overtime.values()) <= least)
    hint(model, problem, v, parts)
    solver = cp_model.CpSolver()
    configure(solver, params, 0.35 * seconds)
    code = solver.solve(model)
    out.status = _lexicographic_status(first, least_status, solve_status(code))
    if has_solution(code):
        out.parts = extract(solver, v)
        out.flows = extract_flows(solver, v)
        out.load = _load(problem, out.parts)
        out.overtime = _tight_overtime(problem, out.load)
        cost = round(solver.objective_value)
        out.objective = cost + price * sum(out.overtime.values())
        if has_bound(code) and least_bound is not None:
            out.bound = min(
                out.objective, math.floor(solver.best_objective_bound + 1e-6) + price * least_bound
            )
    out.wall_time_s = round(time.perf_counter() - started, 3)
    return out
