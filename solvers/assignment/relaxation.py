"""LP relaxation of the assignment model: a lower bound, reduced costs, a core.

Solved with GLOP through ``model_builder`` (its HiGHS binding returned zero reduced
costs and unit duals in OR-Tools 9.15, measured). The relaxation keeps the
capacity and buyer-share rows and the order totals, relaxes integrality, and
replaces each setup flag by its smallest fractional value ``x / ub`` (setup
amortised over the period's largest lot); lot minimums and part counts are
dropped. Every dropped or weakened constraint only lowers the optimum, so the LP
value is a valid bound on the internal objective.

Reduced costs serve twice. Exactly: a plan that makes ``u`` units on candidate
``c`` in period ``t`` costs at least ``bound + rc[c, t] * u`` (LP duality), so a
candidate whose smallest part cannot stay below an incumbent's cost is useless
(:meth:`Relaxation.exact_core`). Heuristically: the few candidates of each order
with the smallest reduced costs hold the good plans (:meth:`Relaxation.core`).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.linear_solver.python import model_builder as mb

from matcher.domain.params import StopSignal, stop_hook
from solvers.assignment.materials import SCALE
from solvers.assignment.problem import AssignmentProblem, units_fitting

FloatArray = npt.NDArray[np.float64]


@dataclass
class Relaxation:
    """The LP's answer, per candidate; ``bound`` is None when the LP failed."""

    problem: AssignmentProblem
    bound: float | None
    # candidate -> smallest reduced cost per unit over its periods
    reduced: dict[int, float] = field(default_factory=dict)
    # candidate -> units in the LP solution (only those > 0)
    support: dict[int, float] = field(default_factory=dict)
    # every mandatory order (with candidates) fully served in the LP solution
    serves_mandatory: bool = False
    # (resource, period) -> objective saved per extra second of capacity (>= 0; rows
    # that cannot bind are absent, their value is 0)
    capacity_values: dict[tuple[int, int], float] = field(default_factory=dict)
    wall_time_s: float = 0.0
    note: str = ""

    def smallest_part(self, k: int) -> int:
        cand = self.problem.candidates[k]
        info = self.problem.orders[cand.order]
        return info.order.quantity if info.max_parts == 1 else cand.lo

    def exact_core(self, incumbent: float) -> dict[int, list[int]]:
        """Per order, the candidates a plan cheaper than ``incumbent`` may use."""
        assert self.bound is not None
        slack = incumbent - self.bound + 1e-6 * max(1.0, abs(incumbent)) + 1e-3
        out: dict[int, list[int]] = {}
        for info in self.problem.orders:
            if info.candidates:
                out[info.index] = [
                    k
                    for k in info.candidates
                    if max(0.0, self.reduced.get(k, 0.0)) * self.smallest_part(k) <= slack
                ]
        return out

    def ranked(self) -> dict[int, list[int]]:
        """Per order, its candidates by reduced cost, smallest first."""
        return {
            info.index: sorted(info.candidates, key=lambda k: (self.reduced.get(k, 0.0), k))
            for info in self.problem.orders
            if info.candidates
        }

    def regret(self) -> dict[int, float]:
        """Per candidate, its reduced cost above its order's smallest (per unit)."""
        out: dict[int, float] = {}
        for info in self.problem.orders:
            if info.candidates:
                low = min(self.reduced.get(k, 0.0) for k in info.candidates)
                for k in info.candidates:
                    out[k] = self.reduced.get(k, 0.0) - low
        return out

    def core(self, per_order: int, keep: set[int]) -> dict[int, list[int]]:
        """Per order, its ``per_order`` candidates of smallest reduced cost, those the
        LP uses and those in ``keep`` (e.g. the incumbent's)."""
        out: dict[int, list[int]] = {}
        for info in self.problem.orders:
            if not info.candidates:
                continue
            ranked = sorted(info.candidates, key=lambda k: (self.reduced.get(k, 0.0), k))
            chosen = set(ranked[:per_order])
            chosen.update(k for k in info.candidates if k in self.support or k in keep)
            out[info.index] = sorted(chosen)
        return out


def core_size(problem: AssignmentProblem, offered: dict[int, list[int]]) -> int:
    """Production variables of the model restricted to ``offered``."""
    return sum(
        problem.candidates[k].last - problem.candidates[k].first + 1
        for ks in offered.values()
        for k in ks
    )


@dataclass
class _Lp:
    """The relaxation's model while it is built: x columns, rows, objective."""

    problem: AssignmentProblem
    hard_mandatory: bool
    # Capacity only in rows (columns bounded by the lot, not by the free time), so that
    # the rows' duals carry the whole value of capacity: for marginal values.
    priced: bool = False
    model: mb.Model = field(default_factory=mb.Model)
    cols: list[tuple[int, int]] = field(default_factory=list)  # (candidate, period) per x
    xs: list[mb.Variable] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    load: dict[tuple[int, int], tuple[list[mb.Variable], list[float]]] = field(default_factory=dict)
    buyer: dict[tuple[int, str], tuple[list[mb.Variable], list[float]]] = field(
        default_factory=dict
    )
    served: list[mb.Variable] = field(default_factory=list)  # s per soft order
    penalties: list[float] = field(default_factory=list)
    mandatory_served: list[mb.Variable] = field(default_factory=list)
    capacity_rows: dict[tuple[int, int], mb.LinearConstraint] = field(default_factory=dict)
    constant: float = 0.0
    impossible: bool = False  # a hard mandatory order has no usable column

    def add_candidate(self, k: int, free: list[list[int]]) -> list[mb.Variable]:
        problem = self.problem
        cand = problem.candidates[k]
        info = problem.orders[cand.order]
        key = (cand.factory, info.order.buyer)
        own: list[mb.Variable] = []
        for t in problem.periods_of(k):
            # Re-plans: fixed units are not lower bounds here (a relaxation may drop
            # them), but their columns exist, and none before ``now`` beyond them.
            fixed = problem.fixed_units(k, t)
            ub = max(fixed, units_fitting(free, cand, t, cand.hi))
            if problem.anchor is not None and t < problem.anchor.now:
                ub = fixed
            if ub <= 0:
                continue
            column_ub = max(
                ub, cand.hi if t >= (problem.anchor.now if problem.anchor else 0) else 0
            )
            x = self.model.new_num_var(0.0, float(column_ub if self.priced else ub), "")
            self.cols.append((k, t))
            self.xs.append(x)
            own.append(x)
            self.costs.append(float(problem.unit_cost(cand, t)))
            per_unit = 0.0
            for u in cand.usage:
                a = u.seconds_per_unit + u.setup_seconds / ub
                per_unit += a
                vs, cs = self.load.setdefault((u.resource, t), ([], []))
                vs.append(x)
                cs.append(a)
            if key in problem.buyer_caps:
                vs, cs = self.buyer.setdefault(key, ([], []))
                vs.append(x)
                cs.append(per_unit)
        if len(own) > 1 and info.max_parts > 1:
            self.model.add(mb.LinearExpr.sum(own) <= cand.hi)
        return own

    def add_order(self, index: int, free: list[list[int]]) -> None:
        problem = self.problem
        info = problem.orders[index]
        made = [x for k in info.candidates for x in self.add_candidate(k, free)]
        hard = self.hard_mandatory and info.order.mandatory
        if hard:
            if made:
                self.model.add(mb.LinearExpr.sum(made) == info.order.quantity)
            else:
                self.impossible = True
            return
        penalty = problem.unserved_cost(index)
        self.constant += penalty
        if not made:
            return
        s = self.model.new_num_var(0.0, 1.0, "")
        self.model.add(mb.LinearExpr.sum(made) - info.order.quantity * s == 0)
        self.served.append(s)
        self.penalties.append(-float(penalty))
        if info.order.mandatory:
            self.mandatory_served.append(s)

    def add_material_rows(self) -> None:
        """Each limited material at each checkpoint, as the Lagrangian bound relaxes it
        (:meth:`~solvers.assignment.materials.MaterialLimit.relaxed_available`): the
        whole units used by then, at most what can arrive plus every factory's stock."""
        problem = self.problem
        rows: dict[tuple[int, int], tuple[list[mb.Variable], list[float]]] = {}
        for x, (k, t) in zip(self.xs, self.cols, strict=True):
            for m, per_unit in problem.candidates[k].materials:
                checkpoints = problem.materials[m].checkpoints
                for c in range(bisect_left(checkpoints, t), len(checkpoints)):
                    vs, cs = rows.setdefault((m, c), ([], []))
                    vs.append(x)
                    cs.append(per_unit / SCALE)
        available = [limit.relaxed_available() for limit in problem.materials]
        for (m, c), (vs, cs) in rows.items():
            self.model.add(mb.LinearExpr.weighted_sum(vs, cs) <= available[m][c])

    def finish(self, free: list[list[int]]) -> None:
        for (r, t), (vs, cs) in self.load.items():
            cap = free[r][t]
            if self.priced or sum(c * v.upper_bound for c, v in zip(cs, vs, strict=True)) > cap:
                row = self.model.add(mb.LinearExpr.weighted_sum(vs, cs) <= cap)
                self.capacity_rows[(r, t)] = row
        for key, (vs, cs) in self.buyer.items():
            self.model.add(mb.LinearExpr.weighted_sum(vs, cs) <= self.problem.buyer_caps[key])
        self.model.minimize(
            mb.LinearExpr.weighted_sum(self.xs + self.served, self.costs + self.penalties)
            + self.constant
        )


def solve_relaxation(
    problem: AssignmentProblem,
    hard_mandatory: bool,
    time_limit_s: float,
    stop: StopSignal | None = None,
    priced: bool = False,
    leave_out: Collection[int] = (),
    materials: bool = False,
) -> Relaxation:
    """The LP relaxation of ``problem`` (see the module docstring); with ``materials``
    also its material rows (:meth:`_Lp.add_material_rows`: a stronger bound, and
    larger; ``benchmarks/bounds.py --lp-glop`` measures it), except in a re-plan, where
    the work kept may need more than can arrive and the model then raises the limit.

    With ``hard_mandatory`` every mandatory order must be served in full; when that
    LP is feasible its value still bounds the soft problem (a plan leaving a
    mandatory order out pays more than any plan serving them all), and its duals
    rank candidates far better than the soft LP's, whose order rows carry the big
    penalty of a mandatory order.

    With ``priced``, capacity is modelled by rows only (every column bounded by its
    lot, not by the free time), so that the rows' duals are the marginal values of
    capacity (``capacity_values``); the optimum is the same up to setup amortisation.
    Orders in ``leave_out`` are
    taken as unserved (their penalty a constant): the value is then no bound.
    """
    start = time.perf_counter()
    free = [list(r.free_seconds) for r in problem.resources]
    lp = _Lp(problem, hard_mandatory, priced)
    for info in problem.orders:
        if info.candidates and info.index not in leave_out:
            lp.add_order(info.index, free)
        else:
            lp.constant += problem.unserved_cost(info.index)
    if lp.impossible:
        return Relaxation(problem, None, note="a mandatory order has no usable candidate")
    lp.finish(free)
    if materials and problem.anchor is None:  # a re-plan's kept work may raise a limit
        lp.add_material_rows()
    solver = mb.Solver("GLOP")
    solver.enable_output(False)
    solver.set_time_limit_in_seconds(max(0.1, time_limit_s - (time.perf_counter() - start)))
    # Dual simplex: 1.1 s instead of 4.3 s on a 128k-column GAP (d801600), measured.
    # (PDLP, tried for the largest LPs, returned value 0 with tolerance parameters.)
    solver.set_solver_specific_parameters("use_dual_simplex: true")
    with stop_hook(stop, solver.stop_search):
        status = solver.solve(lp.model)
    if status != mb.SolveStatus.OPTIMAL:
        what = "with every mandatory order served " if hard_mandatory else ""
        return Relaxation(
            problem,
            None,
            wall_time_s=time.perf_counter() - start,
            note=f"LP relaxation {what}not solved: {status.name}",
        )
    xs, cols, mandatory_served = lp.xs, lp.cols, lp.mandatory_served
    values: FloatArray = solver.values(xs).to_numpy() if xs else np.zeros(0)
    rcs: FloatArray = solver.reduced_costs(xs).to_numpy() if xs else np.zeros(0)
    reduced: dict[int, float] = {}
    support: dict[int, float] = {}
    for (k, _), value, rc in zip(cols, values.tolist(), rcs.tolist(), strict=True):
        reduced[k] = min(reduced.get(k, math.inf), rc)
        if value > 1e-7:
            support[k] = support.get(k, 0.0) + value
    served = solver.values(mandatory_served).to_numpy() if mandatory_served else np.ones(1)
    keys = list(lp.capacity_rows)
    duals: FloatArray = (
        solver.dual_values([lp.capacity_rows[k] for k in keys]).to_numpy() if keys else np.zeros(0)
    )
    # A <= row of a minimisation has a dual <= 0: minus it is the saving per second.
    worth = {k: -d for k, d in zip(keys, duals.tolist(), strict=True) if -d > 1e-9}
    return Relaxation(
        problem,
        float(solver.objective_value),
        reduced,
        support,
        serves_mandatory=hard_mandatory or bool(np.all(served > 1 - 1e-6)),
        capacity_values=worth,
        wall_time_s=time.perf_counter() - start,
        note=f"LP relaxation: {len(xs)} columns, bound {solver.objective_value:.0f}",
    )
