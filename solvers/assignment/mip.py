"""MIP back-ends for the assignment model: HiGHS, SCIP and CBC.

They solve exactly the model of :func:`solvers.assignment.cpsat.build_model`: served
flag ``s`` per order with its unserved penalty, used flag ``y`` per candidate part,
integer units ``x[c,t]``, run flags ``z[c,t]`` where a usage has a setup, part sizes,
the part limit, capacity rows where they can bind and buyer-share rows. One builder
writes that model as plain data (:class:`LinearModel`); two thin adapters hand it to
a solver:

- **MathOpt** for the HiGHS and SCIP bundled with OR-Tools. Not ``pywraplp``: in
  OR-Tools 9.15 its HiGHS wrapper ignores the MIP gap and thread count, refuses
  solver-specific parameters (the only way to a seed), reports the incumbent as the
  bound, can print a banner on stdout and crashes on ``SetHint``.
  MathOpt passes limit, gap and seed and returns HiGHS's real dual bound, but takes
  neither a MIP start nor a thread count for HiGHS (its branch and bound is serial).
  SCIP gets the greedy plan as its MIP start and one thread (asked for two, it used no
  more CPU in a measurement: concurrent SCIP is not worth it here). ``highspy`` is
  never imported: its HiGHS symbols clash with OR-Tools' in one process.
- **PuLP** for CBC: the CBC binary bundled with PuLP, run through ``COIN_CMD`` (PuLP 3.3
  deprecates the ``PULP_CBC_CMD`` wrapper with a warning; the binary is the same). The
  greedy plan is its MIP start; its files live in a private temporary directory that
  is removed afterwards; its bound is read from its log.

Every variable is an integer in ``[0, ub]`` and the objective has integer
coefficients, so an absolute gap below one proves optimality, and solution values are
rounded to the nearest integer and checked against the problem again. When the solver
brings nothing better than the greedy plan, the greedy plan is returned. Limits are
wall-clock: a run stopped by its limit is not reproducible; a run that proves
optimality always reaches the same objective.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from matcher.params import Progress, ProgressCallback, SolveParams, StopSignal, stop_hook
from matcher.result import SolveStatus
from solvers.assignment.base import (
    AssignmentResult,
    Part,
    mandatory_left_out,
    objective_of,
    unservable_mandatory,
)
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import AssignmentProblem, units_fitting

MAX_PRODUCTION_VARIABLES = 30_000
"""Largest model (in ``problem.size`` production variables) the MIP back-ends accept.
At 30k the model has about 45k variables and 200k nonzeros and takes 1-2 s to build,
while already at 2k (100 generated orders) none of the three improves much on the
greedy plan in 10 s. Larger problems belong to ``cpsat``, which switches to
large-neighbourhood search."""

ABSOLUTE_GAP = 0.999
"""The objective is integral: a gap below one cent proves the incumbent optimal."""


@dataclass
class LinearModel:
    """A pure-integer linear model as plain data: variable ``i`` is in ``[0, upper[i]]``."""

    names: list[str] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    row_vars: list[list[int]] = field(default_factory=list)
    row_coefs: list[list[int]] = field(default_factory=list)
    row_lo: list[float] = field(default_factory=list)  # may be -inf
    row_hi: list[float] = field(default_factory=list)  # may be +inf
    cost: dict[int, int] = field(default_factory=dict)  # objective coefficients
    constant: int = 0
    contradiction: str | None = None  # a row without variables that cannot hold

    def var(self, name: str, upper: int) -> int:
        self.names.append(name)
        self.upper.append(upper)
        return len(self.upper) - 1

    def add(self, terms: Sequence[tuple[int, int]], lo: float, hi: float, what: str = "") -> None:
        """Row ``lo <= sum(a * x for a, x in terms) <= hi``; zero coefficients are dropped."""
        kept = [(a, x) for a, x in terms if a]
        if not kept:
            if not lo <= 0 <= hi and self.contradiction is None:
                self.contradiction = what or "a constant row cannot hold"
            return
        self.row_vars.append([x for _, x in kept])
        self.row_coefs.append([a for a, _ in kept])
        self.row_lo.append(lo)
        self.row_hi.append(hi)

    def describe(self) -> str:
        nonzeros = sum(len(r) for r in self.row_vars)
        return f"{len(self.upper)} variables, {len(self.row_lo)} rows, {nonzeros} nonzeros"


@dataclass
class _Vars:
    """Indices into the :class:`LinearModel`, keyed like ``cpsat._Vars``."""

    used: dict[int, int] = field(default_factory=dict)  # candidate -> y
    make: dict[int, dict[int, int]] = field(default_factory=dict)  # c -> t -> x
    runs: dict[int, dict[int, int]] = field(default_factory=dict)  # c -> t -> z
    served: dict[int, int] = field(default_factory=dict)  # order -> s


@dataclass
class _Builder:
    """``cpsat._Builder`` written against :class:`LinearModel`, row for row."""

    problem: AssignmentProblem
    model: LinearModel = field(default_factory=LinearModel)
    v: _Vars = field(default_factory=_Vars)
    # (resource, period) -> [(seconds per unit of the variable, variable, its upper bound)]
    load: dict[tuple[int, int], list[tuple[int, int, int]]] = field(default_factory=dict)
    buyer_load: dict[tuple[int, str], list[tuple[int, int]]] = field(default_factory=dict)
    free: list[tuple[int, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.free = [r.free_seconds for r in self.problem.resources]

    def add_order(self, index: int, hard_mandatory: bool) -> None:
        problem, m = self.problem, self.model
        info = problem.orders[index]
        if not info.candidates:
            m.constant += problem.unserved_cost(index)
            return
        s: int | None = None  # None: served is the constant 1
        if not (info.order.mandatory and hard_mandatory):
            s = m.var(f"s{index}", 1)
            self.v.served[index] = s
            penalty = problem.unserved_cost(index)
            m.constant += penalty
            m.cost[s] = -penalty
        qty = info.order.quantity
        used = [self.add_part(k) for k in info.candidates]
        made = [(1, x) for k in info.candidates for x in self.v.make[k].values()]
        ys = [(1, y) for y in used]
        if s is None:  # made == qty, and one part unless split
            m.add(made, qty, qty, f"mandatory order {info.order.id} cannot be made")
            if info.max_parts == 1:
                m.add(ys, 1, 1)
        else:  # made == qty * s, and one part (if served) unless split
            if made:
                m.add([*made, (-qty, s)], 0, 0)
            else:
                m.upper[s] = 0
            if info.max_parts == 1:
                m.add([*ys, (-1, s)], 0, 0)
        if info.max_parts > 1:
            m.add(ys, -math.inf, info.max_parts)
            if s is not None:
                for y in used:
                    m.add([(1, y), (-1, s)], -math.inf, 0)  # y => s

    def add_part(self, k: int) -> int:
        """Variables of candidate part ``k``; returns its used flag ``y``."""
        problem, m = self.problem, self.model
        cand = problem.candidates[k]
        info = problem.orders[cand.order]
        y = m.var(f"y{k}", 1)
        self.v.used[k] = y
        has_setup = any(u.setup_seconds for u in cand.usage)
        shared = (cand.factory, info.order.buyer) in problem.buyer_caps
        make_k: dict[int, int] = {}
        runs_k: dict[int, int] = {}
        for t in cand.periods:
            ub = units_fitting(self.free, cand, t, cand.hi)
            if ub <= 0:
                continue
            x = m.var(f"x{k}_{t}", ub)
            make_k[t] = x
            m.cost[x] = problem.unit_cost(cand, t)
            z = -1  # no run flag without a setup
            if has_setup:
                z = m.var(f"z{k}_{t}", 1)
                runs_k[t] = z
                m.add([(1, x), (-ub, z)], -math.inf, 0)  # x <= ub * z
                m.add([(1, z), (-1, y)], -math.inf, 0)  # z => y
            for u in cand.usage:
                load = self.load.setdefault((u.resource, t), [])
                load.append((u.seconds_per_unit, x, ub))
                if u.setup_seconds:
                    load.append((u.setup_seconds, z, 1))
            if shared:
                share = self.buyer_load.setdefault((cand.factory, info.order.buyer), [])
                share.append((sum(u.seconds_per_unit for u in cand.usage), x))
                if has_setup:
                    share.append((sum(u.setup_seconds for u in cand.usage), z))
        self.v.make[k] = make_k
        self.v.runs[k] = runs_k
        xs = [(1, x) for x in make_k.values()]
        if not make_k:
            m.upper[y] = 0
        elif info.max_parts == 1:
            m.add([*xs, (-info.order.quantity, y)], 0, 0)
        else:
            m.add([*xs, (-cand.lo, y)], 0, math.inf)
            m.add([*xs, (-cand.hi, y)], -math.inf, 0)
        return y

    def add_capacity(self) -> None:
        for (r, t), terms in self.load.items():
            cap = self.free[r][t]
            if sum(a * ub for a, _, ub in terms) > cap:  # else the row cannot bind
                self.model.add([(a, x) for a, x, _ in terms], -math.inf, cap)
        for key, shares in self.buyer_load.items():
            self.model.add(shares, -math.inf, self.problem.buyer_caps[key])


def build_model(problem: AssignmentProblem, hard_mandatory: bool) -> tuple[LinearModel, _Vars]:
    """The model of ``cpsat.build_model`` for the whole problem, as a :class:`LinearModel`."""
    b = _Builder(problem)
    for index in range(len(problem.orders)):
        b.add_order(index, hard_mandatory)
    b.add_capacity()
    return b.model, b.v


def hint_values(
    model: LinearModel, problem: AssignmentProblem, v: _Vars, parts: list[Part]
) -> list[int]:
    """A value for every variable of ``model`` that encodes ``parts``."""
    values = [0] * len(model.upper)
    chosen = {p.candidate: p for p in parts}
    served = {problem.candidates[p.candidate].order for p in parts}
    for o, s in v.served.items():
        values[s] = int(o in served)
    for k, y in v.used.items():
        part = chosen.get(k)
        values[y] = int(part is not None)
        for t, x in v.make[k].items():
            q = part.quantities.get(t, 0) if part else 0
            values[x] = q
            if t in v.runs[k]:
                values[v.runs[k][t]] = int(q > 0)
    return values


def extract(values: Sequence[float], v: _Vars) -> list[Part]:
    """Parts of a solution, every quantity rounded to the nearest integer (2.9999999 -> 3)."""
    parts: list[Part] = []
    for k, make_k in v.make.items():
        quantities = {t: q for t, x in make_k.items() if (q := math.floor(values[x] + 0.5)) > 0}
        if quantities:
            parts.append(Part(k, quantities))
    return parts


def violation(problem: AssignmentProblem, parts: list[Part], hard_mandatory: bool) -> str | None:
    """The first rule of the model ``parts`` break, or None. Guards against solver
    tolerances that survive the rounding."""
    by_order: dict[int, list[Part]] = {}
    load = [[0] * problem.periods for _ in problem.resources]
    buyer: dict[tuple[int, str], int] = {}
    for part in parts:
        cand = problem.candidates[part.candidate]
        order = problem.orders[cand.order].order
        by_order.setdefault(cand.order, []).append(part)
        if not cand.lo <= part.quantity <= cand.hi:
            return f"a part of {order.id} has {part.quantity} units, outside {cand.lo}..{cand.hi}"
        if not all(cand.first <= t <= cand.last for t in part.quantities):
            return f"a part of {order.id} runs outside periods {cand.first}..{cand.last}"
        key = (cand.factory, order.buyer)
        for t, q in part.quantities.items():
            for u in cand.usage:
                seconds = u.seconds_per_unit * q + u.setup_seconds
                load[u.resource][t] += seconds
                if key in problem.buyer_caps:
                    buyer[key] = buyer.get(key, 0) + seconds
    for o, order_parts in by_order.items():
        info = problem.orders[o]
        if len(order_parts) > info.max_parts:
            return f"{info.order.id} is made in {len(order_parts)} parts"
        if sum(p.quantity for p in order_parts) != info.order.quantity:
            return f"{info.order.id} is made in the wrong quantity"
    if hard_mandatory and (missing := mandatory_left_out(problem, parts)):
        return f"mandatory order {problem.orders[missing[0]].order.id} is unserved"
    return _overload(problem, load, buyer)


def _overload(
    problem: AssignmentProblem, load: list[list[int]], buyer: dict[tuple[int, str], int]
) -> str | None:
    for r, row in enumerate(load):
        for t, used in enumerate(row):
            if used > problem.resources[r].free_seconds[t]:
                return f"resource {problem.resources[r].group} is overloaded in period {t}"
    for key, used in buyer.items():
        if used > problem.buyer_caps[key]:
            return f"buyer {key[1]} exceeds its share of a factory"
    return None


@dataclass(frozen=True)
class _Limits:
    deadline: float  # time.perf_counter() value the solve must end by
    relative_gap: float
    seed: int
    workers: int
    stop: StopSignal | None = None  # HiGHS is interrupted; SCIP and CBC run to their limit

    def seconds_left(self) -> float:
        """Wall-clock seconds for the solver, measured when it is about to start."""
        return max(0.05, self.deadline - time.perf_counter())


@dataclass
class _Outcome:
    """What an adapter got back from its solver, in solver-independent terms."""

    status: SolveStatus
    values: list[float] | None = None  # one per model variable, when a solution came back
    objective: float | None = None
    bound: float | None = None
    first_s: float | None = None  # seconds into the solve of the first solution, if known
    threads: int = 1
    notes: list[str] = field(default_factory=list)


class _MipBackend:
    """The solve flow the three back-ends share; subclasses hand the model to a solver."""

    name: str
    label: str  # the solver, as notes name it

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return self.unsupported_reason(problem, params) is None

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        if problem.size > MAX_PRODUCTION_VARIABLES:
            return (
                f"the model has {problem.size} production variables, more than the "
                f"{MAX_PRODUCTION_VARIABLES} the MIP back-ends take; use 'cpsat', which "
                "switches to large-neighbourhood search"
            )
        return None

    def _run(self, model: LinearModel, limits: _Limits, hint: list[int] | None) -> _Outcome:
        raise NotImplementedError

    def solve(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None = None,
        stop: StopSignal | None = None,
    ) -> AssignmentResult:
        start = time.perf_counter()
        result = AssignmentResult(solver=self.name, status=SolveStatus.UNKNOWN, seed=params.seed)
        if params.hard_mandatory and (why := unservable_mandatory(problem)):
            result.status = SolveStatus.INFEASIBLE
            result.notes.append(why)
            result.wall_time_s = time.perf_counter() - start
            return result
        warm: list[Part] | None = greedy_parts(problem)
        if params.hard_mandatory and mandatory_left_out(problem, warm or []):
            warm = None  # not a solution of the hard model
        warm_time = time.perf_counter() - start
        warm_objective = None if warm is None else objective_of(problem, warm)
        if progress is not None and warm is not None and warm_objective is not None:
            offset = problem.mandatory_penalty * len(mandatory_left_out(problem, warm))
            progress(Progress("assignment", "greedy", warm_time, warm_objective - offset, None))

        model, v = build_model(problem, params.hard_mandatory)
        hint = None if warm is None else hint_values(model, problem, v, warm)
        build_time = time.perf_counter() - start
        result.notes.append(
            f"{self.label}, whole model ({problem.size} production variables; "
            f"{model.describe()}) built in {build_time - warm_time:.2f}s after a "
            f"{warm_time:.2f}s greedy "
            + ("warm start" if warm is not None else "pass that leaves a mandatory order out")
        )
        if model.contradiction is not None:
            result.status = SolveStatus.INFEASIBLE
            result.notes.append(model.contradiction)
            result.wall_time_s = time.perf_counter() - start
            return result

        limits = _Limits(
            start + params.time_limit_s, params.relative_gap, params.seed, params.workers, stop
        )
        solve_start = time.perf_counter() - start
        outcome = self._run(model, limits, hint)
        result.notes += outcome.notes
        result.workers = outcome.threads
        self._settle(problem, params, v, outcome, result, warm, warm_objective)
        if result.objective is not None:
            if warm is not None:
                result.time_to_first_feasible_s = warm_time
            elif outcome.first_s is not None:
                result.time_to_first_feasible_s = solve_start + outcome.first_s
        result.wall_time_s = time.perf_counter() - start
        if progress is not None and result.objective is not None:
            offset = problem.mandatory_penalty * len(mandatory_left_out(problem, result.parts))
            bound = None if result.best_bound is None else result.best_bound - offset
            progress(
                Progress(
                    "assignment",
                    self.name,
                    result.wall_time_s,
                    result.objective - offset,
                    bound if bound is not None and bound >= 0 else None,
                )
            )
        return result

    def _settle(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        v: _Vars,
        outcome: _Outcome,
        result: AssignmentResult,
        warm: list[Part] | None,
        warm_objective: int | None,
    ) -> None:
        """The outcome as parts, objective, bound and status; the greedy plan when the
        solver brought nothing better."""
        status = outcome.status
        parts: list[Part] | None = None
        objective: int | None = None
        if outcome.values is not None:
            parts = extract(outcome.values, v)
            broken = violation(problem, parts, params.hard_mandatory)
            if broken is None:
                objective = objective_of(problem, parts)
                if outcome.objective is not None and abs(objective - outcome.objective) > 0.5:
                    result.notes.append(
                        f"{self.label} reported objective {outcome.objective:.2f}; the rounded "
                        f"plan costs {objective}"
                    )
            else:
                result.notes.append(
                    f"{self.label}'s solution breaks the model once rounded ({broken}); "
                    "it is discarded"
                )
                parts, status = None, SolveStatus.UNKNOWN
        if parts is not None and objective is not None:
            if warm is not None and warm_objective is not None and warm_objective < objective:
                result.notes.append(
                    f"greedy warm start ({warm_objective}) was better than {self.label}'s "
                    f"incumbent ({objective})"
                )
                parts, objective = warm, warm_objective
        elif warm is not None and warm_objective is not None:
            result.notes.append(
                f"{self.label} called the model infeasible, yet the greedy plan satisfies it "
                "(numerical trouble); the greedy plan is returned"
                if status == SolveStatus.INFEASIBLE
                else f"{self.label} brought no usable solution ({status.value}); the greedy plan "
                "is returned"
            )
            parts, objective, status = warm, warm_objective, SolveStatus.FEASIBLE
        bound = None if status == SolveStatus.INFEASIBLE else outcome.bound
        if bound is not None and objective is not None:
            bound = min(bound, float(objective))
        result.status = status
        result.parts = parts or []
        result.objective = None if objective is None else float(objective)
        result.best_bound = bound


# --- MathOpt: HiGHS and SCIP bundled with OR-Tools ---------------------------------


def _solve_mathopt(
    model: LinearModel, solver: Literal["highs", "scip"], limits: _Limits, hint: list[int] | None
) -> _Outcome:
    from ortools.math_opt import model_pb2
    from ortools.math_opt.python import mathopt
    from ortools.util.python.solve_interrupter import SolveInterrupter

    # Through the proto: 4x faster than adding coefficients one call at a time.
    proto = model_pb2.ModelProto(name="assignment")
    n, n_rows = len(model.upper), len(model.row_lo)
    proto.variables.ids.extend(range(n))
    proto.variables.lower_bounds.extend([0.0] * n)
    proto.variables.upper_bounds.extend(float(u) for u in model.upper)
    proto.variables.integers.extend([True] * n)
    proto.linear_constraints.ids.extend(range(n_rows))
    proto.linear_constraints.lower_bounds.extend(model.row_lo)
    proto.linear_constraints.upper_bounds.extend(model.row_hi)
    matrix = proto.linear_constraint_matrix
    for r, (idx, coefs) in enumerate(zip(model.row_vars, model.row_coefs, strict=True)):
        entries = sorted(zip(idx, coefs, strict=True))  # row-major, columns ascending
        matrix.row_ids.extend([r] * len(entries))
        matrix.column_ids.extend(i for i, _ in entries)
        matrix.coefficients.extend(float(a) for _, a in entries)
    proto.objective.offset = model.constant
    costs = sorted(model.cost.items())
    proto.objective.linear_coefficients.ids.extend(i for i, _ in costs)
    proto.objective.linear_coefficients.values.extend(float(a) for _, a in costs)
    m = mathopt.Model.from_model_proto(proto)
    xs = [m.get_variable(i) for i in range(n)]

    model_params = None
    start_note = "no MIP start (OR-Tools' HiGHS takes none); the greedy plan is the fallback"
    if hint is not None and solver == "scip":
        values = {x: float(val) for x, val in zip(xs, hint, strict=True)}
        model_params = mathopt.ModelSolveParameters(
            solution_hints=[mathopt.SolutionHint(variable_values=values)]
        )
        start_note = "greedy plan passed as the MIP start"
    seconds = limits.seconds_left()
    params = mathopt.SolveParameters(
        time_limit=timedelta(seconds=seconds),
        relative_gap_tolerance=limits.relative_gap,
        absolute_gap_tolerance=ABSOLUTE_GAP,
        random_seed=limits.seed,
        enable_output=False,
    )
    notes = [f"{seconds:.2f}s wall-clock limit, seed {limits.seed}, one thread", start_note]
    solver_type = mathopt.SolverType.HIGHS if solver == "highs" else mathopt.SolverType.GSCIP
    try:
        # OR-Tools 9.15's GSCIP cannot take an interrupter (its event handler fails with
        # SCIP error -9): SCIP runs to its time limit; HiGHS stops when asked.
        interrupter = SolveInterrupter() if solver == "highs" else None
        stop = limits.stop if interrupter is not None else None
        with stop_hook(stop, interrupter.interrupt if interrupter else lambda: None):
            res = mathopt.solve(
                m, solver_type, params=params, model_params=model_params, interrupter=interrupter
            )
    except Exception as exc:  # a failed solve is a status, never an exception
        return _Outcome(SolveStatus.UNKNOWN, notes=[*notes, f"the solve failed: {exc!r}"])

    tr = mathopt.TerminationReason
    reason = res.termination.reason
    values_out: list[float] | None = None
    objective: float | None = None
    if res.has_primal_feasible_solution():
        values_out = [float(val) for val in res.variable_values(xs)]
        objective = float(res.objective_value())
    if reason == tr.OPTIMAL:
        status = SolveStatus.OPTIMAL
    elif reason in (tr.INFEASIBLE, tr.INFEASIBLE_OR_UNBOUNDED):  # every variable is bounded
        status = SolveStatus.INFEASIBLE
    elif values_out is not None:
        status = SolveStatus.FEASIBLE
    elif reason == tr.NO_SOLUTION_FOUND and res.termination.limit == mathopt.Limit.TIME:
        status = SolveStatus.TIME_LIMIT
    else:
        status = SolveStatus.UNKNOWN
    if reason not in (tr.OPTIMAL, tr.FEASIBLE, tr.INFEASIBLE, tr.NO_SOLUTION_FOUND):
        notes.append(f"termination {reason.name}: {res.termination.detail}")
    dual = res.termination.objective_bounds.dual_bound
    bound = float(dual) if math.isfinite(dual) else None
    return _Outcome(status, values_out, objective, bound, notes=notes)


class HighsBackend(_MipBackend):
    """HiGHS (bundled with OR-Tools) on the whole model, through MathOpt."""

    name = "mip-highs"
    label = "HiGHS"

    def _run(self, model: LinearModel, limits: _Limits, hint: list[int] | None) -> _Outcome:
        return _solve_mathopt(model, "highs", limits, hint)


class ScipBackend(_MipBackend):
    """SCIP (bundled with OR-Tools) on the whole model, through MathOpt."""

    name = "mip-scip"
    label = "SCIP"

    def _run(self, model: LinearModel, limits: _Limits, hint: list[int] | None) -> _Outcome:
        return _solve_mathopt(model, "scip", limits, hint)


# --- PuLP: CBC bundled with PuLP ---------------------------------------------------

_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
_CBC_FIRST = re.compile(r"Integer solution of \S+ found .*?\(([\d.]+) seconds\)")
_CBC_NO_SOLUTION = re.compile(r"^No feasible solution found", re.MULTILINE)


def _pulp_problem(model: LinearModel, hint: list[int] | None) -> tuple[Any, list[Any]]:
    """``model`` as a PuLP problem and its variables, with ``hint`` as initial values."""
    import pulp

    lp = pulp.LpProblem("assignment", pulp.LpMinimize)
    xs = [
        lp.add_variable(name, 0, ub, pulp.LpInteger)
        for name, ub in zip(model.names, model.upper, strict=True)
    ]
    for idx, coefs, lo, hi in zip(
        model.row_vars, model.row_coefs, model.row_lo, model.row_hi, strict=True
    ):
        expr = pulp.LpAffineExpression([(xs[i], a) for i, a in zip(idx, coefs, strict=True)])
        if lo == hi:
            lp.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintEQ, rhs=lo))
            continue
        if lo > -math.inf:
            lp.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintGE, rhs=lo))
        if hi < math.inf:
            lp.addConstraint(pulp.LpConstraint(expr, pulp.LpConstraintLE, rhs=hi))
    cost = [(xs[i], a) for i, a in model.cost.items()]
    if model.constant:
        # PuLP leaves an objective constant out of the file CBC reads, so CBC's gap and
        # bound would miss it: it rides on a variable fixed to one instead.
        one = lp.add_variable("offset", 1, 1, pulp.LpInteger)
        cost.append((one, model.constant))
    lp.setObjective(pulp.LpAffineExpression(cost))
    if hint is not None:
        for x, val in zip(xs, hint, strict=True):
            x.setInitialValue(val)
    return lp, xs


def _cbc_path() -> str | None:
    """The CBC binary bundled with PuLP; None (``cbc`` on the PATH) if PuLP has none."""
    import pulp

    bundled = getattr(pulp, "PULP_CBC_CMD", None)
    path = getattr(bundled, "pulp_cbc_path", None)
    return path if isinstance(path, str) and Path(path).is_file() else None


def _solve_cbc(model: LinearModel, limits: _Limits, hint: list[int] | None) -> _Outcome:
    import pulp

    lp, xs = _pulp_problem(model, hint)
    threads = limits.workers
    seconds = limits.seconds_left()
    notes = [
        f"{seconds:.2f}s wall-clock limit, seed {limits.seed}, {threads} thread(s)",
        "greedy plan passed as the MIP start" if hint is not None else "no MIP start",
    ]
    with tempfile.TemporaryDirectory(prefix="mip-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        cbc = pulp.COIN_CMD(
            path=_cbc_path(),
            msg=False,
            timeLimit=seconds,
            gapRel=limits.relative_gap,
            gapAbs=ABSOLUTE_GAP,
            threads=threads if threads > 1 else None,
            warmStart=hint is not None,
            logPath=str(log_path),
            # CBC takes seed 0 to mean "seed from the clock"
            options=[f"randomCbcSeed {limits.seed + 1}", f"randomSeed {limits.seed + 1}"],
        )
        cbc.tmpDir = tmp  # every file PuLP writes lands here and goes with the directory
        try:
            lp.solve(cbc)
        except (pulp.PulpSolverError, OSError) as exc:  # a status, never an exception
            return _Outcome(SolveStatus.UNKNOWN, threads=threads, notes=[*notes, f"CBC: {exc}"])
        log = log_path.read_text() if log_path.exists() else ""

    values: list[float] | None = None
    objective: float | None = None
    found = lp.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    if found and not _CBC_NO_SOLUTION.search(log):
        values = [0.0 if x.varValue is None else float(x.varValue) for x in xs]
        objective = float(pulp.value(lp.objective))
    if lp.status == pulp.LpStatusInfeasible:
        status = SolveStatus.INFEASIBLE
    elif values is not None:
        optimal = lp.sol_status == pulp.LpSolutionOptimal
        status = SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE
    elif lp.status == pulp.LpStatusNotSolved:
        status = SolveStatus.TIME_LIMIT
    else:
        status = SolveStatus.UNKNOWN
    bound_line = _CBC_BOUND.search(log)
    bound = float(bound_line.group(1)) if bound_line is not None else None
    if bound is None and status == SolveStatus.OPTIMAL:
        bound = objective
    first = _CBC_FIRST.search(log)
    return _Outcome(
        status,
        values,
        objective,
        bound,
        first_s=None if first is None else float(first.group(1)),
        threads=threads,
        notes=notes,
    )


class CbcBackend(_MipBackend):
    """CBC (bundled with PuLP) on the whole model, with the greedy plan as MIP start."""

    name = "mip-cbc"
    label = "CBC"

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        import pulp

        if not pulp.COIN_CMD(path=_cbc_path(), msg=False).available():
            return "no CBC binary: PuLP bundles none and there is no 'cbc' on the PATH"
        return super().unsupported_reason(problem, params)

    def _run(self, model: LinearModel, limits: _Limits, hint: list[int] | None) -> _Outcome:
        return _solve_cbc(model, limits, hint)
