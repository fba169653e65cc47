"""Solver-neutral integer linear models and the adapters that solve them.

A stage writes its model once as plain data (:class:`LinearModel`) and hands it to
any of three adapters: CP-SAT (:func:`solve_cpsat`), the HiGHS or SCIP bundled with
OR-Tools through MathOpt (:func:`solve_mathopt`), or PuLP's CBC (:func:`solve_cbc`).
Each returns an :class:`Outcome` in solver-independent terms, never raises, and honours
a wall-clock deadline, a relative gap and a seed.

Why MathOpt and not ``pywraplp``: in OR-Tools 9.15 its HiGHS wrapper ignores the MIP gap
and thread count, refuses solver-specific parameters (the only way to a seed), reports
the incumbent as the bound, can print a banner on stdout and crashes on ``SetHint``.
MathOpt passes limit, gap and seed and returns HiGHS's real dual bound, but takes
neither a MIP start nor a thread count for HiGHS. ``highspy`` is never imported: its
HiGHS symbols clash with OR-Tools' in one process. CBC is the binary bundled with PuLP,
run through ``COIN_CMD``; its bound is read from its log.
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

from matcher.domain.params import StopSignal, stop_hook
from matcher.domain.plan import SolveStatus

ABSOLUTE_GAP = 0.999
"""The objective is integral: a gap below one cent proves the incumbent optimal."""


@dataclass
class LinearModel:
    """An integer linear model as plain data: variable ``i`` is in ``[0, upper[i]]``.

    Variables marked ``relaxed`` are integral in every vertex once the others are fixed
    (a network structure): MIP solvers take them as continuous and branch only on the
    others; CP-SAT, which needs integers, keeps them integral. Values are rounded to
    integers on the way back either way.
    """

    names: list[str] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    row_vars: list[list[int]] = field(default_factory=list)
    row_coefs: list[list[int]] = field(default_factory=list)
    row_lo: list[float] = field(default_factory=list)  # may be -inf
    row_hi: list[float] = field(default_factory=list)  # may be +inf
    cost: dict[int, int] = field(default_factory=dict)  # objective coefficients
    constant: int = 0
    contradiction: str | None = None  # a row without variables that cannot hold
    relaxed: set[int] = field(default_factory=set)  # continuous for MIP solvers

    def var(self, name: str, upper: int, relaxed: bool = False) -> int:
        self.names.append(name)
        self.upper.append(upper)
        if relaxed:
            self.relaxed.add(len(self.upper) - 1)
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


@dataclass(frozen=True)
class Limits:
    deadline: float  # time.perf_counter() value the solve must end by
    relative_gap: float
    seed: int
    workers: int
    stop: StopSignal | None = None  # HiGHS is interrupted; SCIP and CBC run to their limit

    def seconds_left(self) -> float:
        """Wall-clock seconds for the solver, measured when it is about to start."""
        return max(0.05, self.deadline - time.perf_counter())


@dataclass
class Outcome:
    """What an adapter got back from its solver, in solver-independent terms."""

    status: SolveStatus
    values: list[float] | None = None  # one per model variable, when a solution came back
    objective: float | None = None
    bound: float | None = None
    first_s: float | None = None  # seconds into the solve of the first solution, if known
    threads: int = 1
    notes: list[str] = field(default_factory=list)


# --- MathOpt: HiGHS and SCIP bundled with OR-Tools ---------------------------------


def solve_mathopt(
    model: LinearModel, solver: Literal["highs", "scip"], limits: Limits, hint: list[int] | None
) -> Outcome:
    from ortools.math_opt import model_pb2
    from ortools.math_opt.python import mathopt
    from ortools.util.python.solve_interrupter import SolveInterrupter

    # Through the proto: 4x faster than adding coefficients one call at a time.
    proto = model_pb2.ModelProto(name="assignment")
    n, n_rows = len(model.upper), len(model.row_lo)
    proto.variables.ids.extend(range(n))
    proto.variables.lower_bounds.extend([0.0] * n)
    proto.variables.upper_bounds.extend(float(u) for u in model.upper)
    proto.variables.integers.extend([i not in model.relaxed for i in range(n)])
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

    # Only the non-zero values come back: MathOpt looks each one up by id, which costs
    # more than the solve on large, easy models (50 000-order purchasing: 1.2 s).
    model_params = mathopt.ModelSolveParameters(
        variable_values_filter=mathopt.SparseVectorFilter(skip_zero_values=True)
    )
    # OR-Tools 9.15's HiGHS does accept a start (its log says "MIP start solution is
    # feasible"), but a whole-model start on GAP c20200 kept it from proving the optimum
    # in one test: none is given, and the greedy plan stays the fallback.
    start_note = "no MIP start given to HiGHS; the greedy plan is the fallback"
    if hint is not None and solver == "scip":
        xs = [m.get_variable(i) for i in range(n)]
        values = {x: float(val) for x, val in zip(xs, hint, strict=True)}
        model_params.solution_hints = [mathopt.SolutionHint(variable_values=values)]
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
        return Outcome(SolveStatus.UNKNOWN, notes=[*notes, f"the solve failed: {exc!r}"])

    tr = mathopt.TerminationReason
    reason = res.termination.reason
    values_out: list[float] | None = None
    objective: float | None = None
    if res.has_primal_feasible_solution():
        values_out = [0.0] * n
        for var, val in res.variable_values().items():
            values_out[var.id] = float(val)
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
    return Outcome(status, values_out, objective, bound, notes=notes)


# --- PuLP: CBC bundled with PuLP ---------------------------------------------------

_CBC_BOUND = re.compile(r"^Lower bound:\s+(\S+)", re.MULTILINE)
_CBC_FIRST = re.compile(r"Integer solution of \S+ found .*?\(([\d.]+) seconds\)")
_CBC_NO_SOLUTION = re.compile(r"^No feasible solution found", re.MULTILINE)


def _pulp_problem(model: LinearModel, hint: list[int] | None) -> tuple[Any, list[Any]]:
    """``model`` as a PuLP problem and its variables, with ``hint`` as initial values."""
    import pulp

    lp = pulp.LpProblem("assignment", pulp.LpMinimize)
    xs = [
        lp.add_variable(name, 0, ub, pulp.LpContinuous if i in model.relaxed else pulp.LpInteger)
        for i, (name, ub) in enumerate(zip(model.names, model.upper, strict=True))
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


def cbc_path() -> str | None:
    """The CBC binary bundled with PuLP; None (``cbc`` on the PATH) if PuLP has none."""
    import pulp

    bundled = getattr(pulp, "PULP_CBC_CMD", None)
    path = getattr(bundled, "pulp_cbc_path", None)
    return path if isinstance(path, str) and Path(path).is_file() else None


def solve_cbc(model: LinearModel, limits: Limits, hint: list[int] | None) -> Outcome:
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
            path=cbc_path(),
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
            return Outcome(SolveStatus.UNKNOWN, threads=threads, notes=[*notes, f"CBC: {exc}"])
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
    return Outcome(
        status,
        values,
        objective,
        bound,
        first_s=None if first is None else float(first.group(1)),
        threads=threads,
        notes=notes,
    )


# --- CP-SAT -----------------------------------------------------------------------

_CP_INF = 2**62  # CP-SAT domains are int64; an infinite row side becomes this


def solve_cpsat(
    model: LinearModel,
    limits: Limits,
    hint: Sequence[int] | None = None,
    linearization_level: int | None = None,
    presolve: bool = True,
) -> Outcome:
    """``model`` through CP-SAT, built as a proto (no per-term Python calls).

    With one worker the limit is deterministic time, so the same model, seed and limit
    give the same answer; the wall-clock limit is then a safety net at three times it.
    """
    from ortools.sat.python import cp_model

    from solvers.cpsat_status import has_bound, has_solution, solve_status

    cp = cp_model.CpModel()
    proto = cp.proto
    proto.name = "linear"
    for ub in model.upper:
        proto.variables.add().domain.extend([0, ub])
    for idx, coefs, lo, hi in zip(
        model.row_vars, model.row_coefs, model.row_lo, model.row_hi, strict=True
    ):
        row = proto.constraints.add().linear
        row.vars.extend(idx)
        row.coeffs.extend(coefs)
        low = -_CP_INF if lo == -math.inf else math.ceil(lo)
        high = _CP_INF if hi == math.inf else math.floor(hi)
        row.domain.extend([low, high])
    costs = sorted(model.cost.items())
    proto.objective.vars.extend([i for i, _ in costs])
    proto.objective.coeffs.extend([a for _, a in costs])
    proto.objective.offset = float(model.constant)
    if hint is not None:
        proto.solution_hint.vars.extend(range(len(hint)))
        proto.solution_hint.values.extend([int(h) for h in hint])

    solver = cp_model.CpSolver()
    p = solver.parameters
    seconds = limits.seconds_left()
    p.num_workers = limits.workers
    p.random_seed = limits.seed
    p.relative_gap_limit = limits.relative_gap
    p.absolute_gap_limit = ABSOLUTE_GAP
    if linearization_level is not None:
        p.linearization_level = linearization_level
    if not presolve:
        p.cp_model_presolve = False
    if limits.workers == 1:
        p.max_deterministic_time = seconds
        p.max_time_in_seconds = 3 * seconds + 1
        notes = [f"deterministic limit {seconds:.2f}, seed {limits.seed}, one worker"]
    else:
        p.max_time_in_seconds = seconds
        notes = [f"{seconds:.2f}s wall-clock limit, seed {limits.seed}, {limits.workers} workers"]
    began = time.perf_counter()
    first: list[float] = []

    class _First(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if not first:
                first.append(time.perf_counter() - began)

    try:
        with stop_hook(limits.stop, solver.stop_search):
            code = solver.solve(cp, _First())
    except Exception as exc:  # a failed solve is a status, never an exception
        return Outcome(SolveStatus.UNKNOWN, notes=[*notes, f"the solve failed: {exc!r}"])
    values: list[float] | None = None
    objective: float | None = None
    if has_solution(code):
        response = solver.response_proto
        values = [float(v) for v in response.solution]
        objective = float(solver.objective_value)
    status = solve_status(code)
    if code == cp_model.MODEL_INVALID:
        notes.append(f"CP-SAT: invalid model: {cp.validate()}")
    bound = None
    if has_bound(code):
        bound = float(solver.best_objective_bound)
    return Outcome(
        status,
        values,
        objective,
        bound,
        first_s=first[0] if first else None,
        threads=limits.workers,
        notes=notes,
    )
