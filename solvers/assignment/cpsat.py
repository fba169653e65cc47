"""CP-SAT back-end for the multi-period assignment model (docs/model.md).

Variables per candidate part ``c`` (an eligible order-factory pair):
``y[c]`` part used; ``x[c,t]`` units made in period ``t``; ``z[c,t]`` part runs in
``t`` (only where some operation has a setup). Per order ``s[o]`` served. The
greedy plan is the solution hint; with one worker the limit is deterministic.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from matcher.params import Progress, ProgressCallback, SolveParams
from matcher.result import SolveStatus
from solvers.assignment.base import AssignmentResult, Part, objective_of
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import AssignmentProblem

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.UNKNOWN,
    cp_model.UNKNOWN: SolveStatus.TIME_LIMIT,
}


@dataclass
class _Vars:
    used: dict[int, cp_model.IntVar] = field(default_factory=dict)  # candidate -> y
    make: dict[int, dict[int, cp_model.IntVar]] = field(default_factory=dict)  # c -> t -> x
    runs: dict[int, dict[int, cp_model.IntVar]] = field(default_factory=dict)  # c -> t -> z
    served: dict[int, cp_model.IntVar] = field(default_factory=dict)  # order -> s


class _Progress(cp_model.CpSolverSolutionCallback):
    """Forwards each incumbent to the caller; remembers when the first came."""

    def __init__(self, start: float, callback: ProgressCallback | None) -> None:
        super().__init__()
        self.start = start
        self.callback = callback
        self.first: float | None = None
        self.lock = threading.Lock()

    def on_solution_callback(self) -> None:
        elapsed = time.perf_counter() - self.start
        with self.lock:
            if self.first is None:
                self.first = elapsed
        if self.callback is not None:
            self.callback(
                Progress(
                    "assignment",
                    "cpsat",
                    elapsed,
                    self.objective_value,
                    self.best_objective_bound,
                )
            )


@dataclass
class _Builder:
    """Accumulates variables, capacity terms and objective terms while building."""

    problem: AssignmentProblem
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    v: _Vars = field(default_factory=_Vars)
    # (resource, period) -> [(seconds per unit of the variable, variable, its upper bound)]
    load: dict[tuple[int, int], list[tuple[int, cp_model.IntVar, int]]] = field(
        default_factory=dict
    )
    buyer_load: dict[tuple[int, str], list[tuple[int, cp_model.IntVar]]] = field(
        default_factory=dict
    )
    objective: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    constant: int = 0

    def add_order(self, index: int, hard_mandatory: bool) -> None:
        info = self.problem.orders[index]
        if not info.candidates:
            self.constant += self.problem.unserved_cost(index)
            return
        served: cp_model.IntVar | int = 1
        if not (info.order.mandatory and hard_mandatory):
            s = self.model.new_bool_var(f"s{index}")
            self.v.served[index] = s
            served = s
            penalty = self.problem.unserved_cost(index)
            self.constant += penalty
            self.objective.append((-penalty, s))
        qty = info.order.quantity
        used = [self.add_part(k) for k in info.candidates]
        made = [x for k in info.candidates for x in self.v.make[k].values()]
        if made:
            self.model.add(sum(made) == qty * served)
        else:
            self.model.add(served == 0)
        if info.max_parts == 1:
            self.model.add(sum(used) == served)
        else:
            self.model.add(sum(used) <= info.max_parts)
            if isinstance(served, cp_model.IntVar):
                for y in used:
                    self.model.add_implication(y, served)

    def add_part(self, k: int) -> cp_model.IntVar:
        """Variables of candidate part ``k``; returns its used-flag ``y``."""
        problem, model = self.problem, self.model
        cand = problem.candidates[k]
        info = problem.orders[cand.order]
        y = model.new_bool_var(f"y{k}")
        self.v.used[k] = y
        has_setup = any(u.setup_seconds for u in cand.usage)
        make_k: dict[int, cp_model.IntVar] = {}
        runs_k: dict[int, cp_model.IntVar] = {}
        buyer_key = (cand.factory, info.order.buyer)
        for t in cand.periods:
            ub = _period_bound(problem, k, t)
            if ub <= 0:
                continue
            x = model.new_int_var(0, ub, f"x{k}_{t}")
            make_k[t] = x
            self.objective.append((problem.unit_cost(cand, t), x))
            terms = [(u.seconds_per_unit, u.setup_seconds, u.resource) for u in cand.usage]
            if has_setup:
                z = model.new_bool_var(f"z{k}_{t}")
                runs_k[t] = z
                model.add(x <= ub * z)
                model.add_implication(z, y)
            for per_unit, setup, r in terms:
                self.load.setdefault((r, t), []).append((per_unit, x, ub))
                if setup:
                    self.load[(r, t)].append((setup, runs_k[t], 1))
            if buyer_key in problem.buyer_caps:
                share = self.buyer_load.setdefault(buyer_key, [])
                share.append((sum(p for p, _, _ in terms), x))
                if has_setup:
                    share.append((sum(st for _, st, _ in terms), runs_k[t]))
        self.v.make[k] = make_k
        self.v.runs[k] = runs_k
        if not make_k:
            model.add(y == 0)
        elif info.max_parts == 1:
            model.add(sum(make_k.values()) == info.order.quantity * y)
        else:
            model.add(sum(make_k.values()) >= cand.lo * y)
            model.add(sum(make_k.values()) <= cand.hi * y)
        return y

    def add_capacity(self) -> None:
        for (r, t), terms in self.load.items():
            cap = self.problem.resources[r].free_seconds[t]
            if sum(a * ub for a, _, ub in terms) > cap:  # else the row cannot bind
                self.model.add(sum(a * x for a, x, _ in terms) <= cap)
        for key, shares in self.buyer_load.items():
            self.model.add(sum(a * x for a, x in shares) <= self.problem.buyer_caps[key])


def build_model(problem: AssignmentProblem, hard_mandatory: bool) -> tuple[cp_model.CpModel, _Vars]:
    """The CP-SAT model of ``problem`` (variables -> constraints -> objective)."""
    b = _Builder(problem)
    for info in problem.orders:
        b.add_order(info.index, hard_mandatory)
    b.add_capacity()
    b.model.minimize(sum(a * x for a, x in b.objective) + b.constant)
    return b.model, b.v


def _period_bound(problem: AssignmentProblem, k: int, t: int) -> int:
    """Most units candidate ``k`` could make in ``t`` on an empty factory."""
    cand = problem.candidates[k]
    best = cand.hi
    for u in cand.usage:
        room = problem.resources[u.resource].free_seconds[t] - u.setup_seconds
        if room < 0:
            return 0
        if u.seconds_per_unit:
            best = min(best, room // u.seconds_per_unit)
    return best


def _hint(model: cp_model.CpModel, problem: AssignmentProblem, v: _Vars, parts: list[Part]) -> None:
    chosen = {p.candidate: p for p in parts}
    served = {problem.candidates[p.candidate].order for p in parts}
    for o, s in v.served.items():
        model.add_hint(s, o in served)
    for k, y in v.used.items():
        part = chosen.get(k)
        model.add_hint(y, part is not None)
        for t, x in v.make[k].items():
            q = part.quantities.get(t, 0) if part else 0
            model.add_hint(x, q)
            if t in v.runs[k]:
                model.add_hint(v.runs[k][t], q > 0)


class CpSatBackend:
    name = "cpsat"

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return True

    def solve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None = None,
    ) -> AssignmentResult:
        start = time.perf_counter()
        notes: list[str] = []
        warm = [] if params.hard_mandatory else greedy_parts(problem)
        warm_objective = objective_of(problem, warm) if not params.hard_mandatory else None
        warm_time = time.perf_counter() - start
        if progress is not None and warm_objective is not None:
            progress(Progress("assignment", "greedy", warm_time, warm_objective, None))
        model, v = build_model(problem, params.hard_mandatory)
        if warm:
            _hint(model, problem, v, warm)
        build_time = time.perf_counter() - start
        notes.append(f"model built in {build_time - warm_time:.2f}s, greedy in {warm_time:.2f}s")

        solver = cp_model.CpSolver()
        p = solver.parameters
        remaining = max(0.05, params.time_limit_s - build_time)
        p.num_workers = params.workers
        p.random_seed = params.seed
        p.relative_gap_limit = params.relative_gap
        if params.workers == 1:
            # Deterministic: the same model, seed and limit give the same plan.
            p.max_deterministic_time = remaining
            p.max_time_in_seconds = 3 * remaining + 1
            notes.append(
                f"deterministic limit {remaining:.2f} (wall safety {3 * remaining + 1:.0f}s)"
            )
        else:
            p.max_time_in_seconds = remaining
        callback = _Progress(start, progress)
        code = solver.solve(model, callback)
        status = _STATUS.get(code, SolveStatus.UNKNOWN)
        wall = time.perf_counter() - start
        bound = solver.best_objective_bound if code != cp_model.MODEL_INVALID else None

        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            parts = _extract(solver, v)
            found = float(solver.objective_value)
            objective: float | None = found
            if warm_objective is not None and warm_objective < found:
                parts, objective = warm, warm_objective
                notes.append("greedy warm start was better than CP-SAT's incumbent")
            first = callback.first if callback.first is not None else wall
            if warm:
                first = warm_time
        elif warm_objective is not None:
            parts, objective, first = warm, warm_objective, warm_time
            status = SolveStatus.FEASIBLE
            notes.append("CP-SAT found no solution in time; the greedy plan is returned")
        else:
            parts, objective, first = [], None, None
        if code == cp_model.MODEL_INVALID:
            notes.append(f"CP-SAT rejected the model: {model.validate()}")
        if code == cp_model.INFEASIBLE:
            bound = None
        return AssignmentResult(
            solver=self.name,
            status=status,
            parts=parts,
            objective=objective,
            best_bound=bound,
            wall_time_s=wall,
            time_to_first_feasible_s=first,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
        )


def _extract(solver: cp_model.CpSolver, v: _Vars) -> list[Part]:
    parts: list[Part] = []
    for k, y in v.used.items():
        if not solver.boolean_value(y):
            continue
        quantities = {t: int(solver.value(x)) for t, x in v.make[k].items()}
        quantities = {t: q for t, q in quantities.items() if q > 0}
        if quantities:
            parts.append(Part(k, quantities))
    return parts
