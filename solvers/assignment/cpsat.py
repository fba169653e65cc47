"""CP-SAT back-end for the multi-period assignment model (docs/model.md).

Variables per candidate part ``c`` (an eligible order-factory pair):
``y[c]`` part used; ``x[c,t]`` units made in period ``t``; ``z[c,t]`` part runs in
``t`` (only where some operation has a setup). Per order ``s[o]`` served. The
greedy plan is the solution hint; with one worker the limit is deterministic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal, stop_hook
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import (
    AssignmentResult,
    Part,
    mandatory_left_out,
    objective_of,
    stage_flows,
    unservable_mandatory,
)
from solvers.assignment.greedy import greedy_parts
from solvers.assignment.problem import AssignmentProblem, units_fitting

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
    # orders split by operation: (sending stage part, receiving stage part) -> units
    flows: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    links: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)  # flow used


class _Progress(cp_model.CpSolverSolutionCallback):
    """Forwards each incumbent to the caller, in plan terms (without the internal
    penalty of unserved mandatory orders); remembers when the first came."""

    def __init__(
        self,
        start: float,
        callback: ProgressCallback | None,
        problem: AssignmentProblem,
        v: _Vars,
        bound: float | None = None,
    ) -> None:
        super().__init__()
        self.start = start
        # None: CP-SAT's own bound holds for the whole problem. A heuristic core's does
        # not; the bound given here (the LP's) is reported instead.
        self.fixed_bound = bound
        self.callback = callback
        self.first: float | None = None
        self.lock = threading.Lock()
        self.penalty = problem.mandatory_penalty
        self.hopeless = sum(1 for i in problem.orders if i.order.mandatory and not i.candidates)
        self.mandatory = [s for o, s in v.served.items() if problem.orders[o].order.mandatory]

    def on_solution_callback(self) -> None:
        elapsed = time.perf_counter() - self.start
        with self.lock:
            if self.first is None:
                self.first = elapsed
        if self.callback is not None:
            left_out = self.hopeless + sum(1 for s in self.mandatory if not self.boolean_value(s))
            offset = left_out * self.penalty
            own = self.best_objective_bound if self.fixed_bound is None else self.fixed_bound
            bound = own - offset
            self.callback(
                Progress(
                    "assignment",
                    "cpsat",
                    elapsed,
                    self.objective_value - offset,
                    bound if bound >= 0 else None,
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
    # Capacity the modelled orders may use: all of it, or what fixed orders leave.
    free: list[list[int]] = field(default_factory=list)
    buyer_caps: dict[tuple[int, str], int] = field(default_factory=dict)
    # order -> the candidates offered to it (default: all of them)
    offered: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.free:
            self.free = [list(r.free_seconds) for r in self.problem.resources]
            self.buyer_caps = dict(self.problem.buyer_caps)

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
        if info.stages is not None:
            self.add_by_operation(index, served)
            return
        offered = self.offered.get(index, info.candidates)
        self.add_cover(index, offered, served)
        self.add_stability(index, offered)

    def add_cover(self, index: int, parts: list[int], served: cp_model.IntVar | int) -> None:
        """``parts`` make the whole order when it is served, within its factory limit
        (all of an order's candidates, or one operation's stage parts)."""
        model = self.model
        info = self.problem.orders[index]
        used = [self.add_part(k, served) for k in parts]
        made = [x for k in parts for x in self.v.make[k].values()]
        if made:
            model.add(sum(made) == info.order.quantity * served)
        else:
            model.add(served == 0)
        if info.max_parts == 1:
            model.add(sum(used) == served)
        else:
            model.add(sum(used) <= info.max_parts)
            if isinstance(served, cp_model.IntVar):
                for y in used:
                    model.add_implication(y, served)

    def add_by_operation(self, index: int, served: cp_model.IntVar | int) -> None:
        """An order split by operation (docs/model.md): every operation made in full by
        its own stage parts; batch transfers between consecutive operations, each
        starting no earlier than the sender's last period plus the transfer lag."""
        problem, model = self.problem, self.model
        info = problem.orders[index]
        assert info.stages is not None
        qty = info.order.quantity
        window: dict[int, tuple[cp_model.IntVar, cp_model.IntVar]] = {}
        totals: dict[int, cp_model.LinearExprT] = {}
        dearest: list[cp_model.IntVar] = []
        for stage in info.stages:
            self.add_cover(index, stage, served)
            for k in stage:
                window[k] = self._window(k)
                totals[k] = sum(self.v.make[k].values())
            costs = [problem.candidates[k].unit_cost for k in stage]
            top = model.new_int_var(0, max(costs), f"price{index}_{len(dearest)}")
            for k, c in zip(stage, costs, strict=True):
                model.add(top >= c * self.v.used[k])
            dearest.append(top)
        ceiling = info.order.max_unit_price_cents
        if ceiling is not None:
            model.add(sum(dearest) <= ceiling)
        for sending, receiving in zip(info.stages, info.stages[1:], strict=False):
            inflow: dict[int, list[cp_model.IntVar]] = {g: [] for g in receiving}
            for f in sending:
                outflow = []
                for g in receiving:
                    lag, rate = problem.transfer(f, g)
                    w = model.new_int_var(0, qty, f"w{f}_{g}")
                    b = model.new_bool_var(f"b{f}_{g}")
                    model.add(w <= qty * b)
                    model.add_implication(b, self.v.used[f])
                    model.add_implication(b, self.v.used[g])
                    model.add(window[g][0] >= window[f][1] + lag).only_enforce_if(b)
                    if rate:
                        self.objective.append((problem.weights.transport * rate, w))
                    self.v.flows[(f, g)] = w
                    self.v.links[(f, g)] = b
                    outflow.append(w)
                    inflow[g].append(w)
                model.add(sum(outflow) == totals[f])
            for g, ws in inflow.items():
                model.add(sum(ws) == totals[g])

    def _window(self, k: int) -> tuple[cp_model.IntVar, cp_model.IntVar]:
        """First and last period stage part ``k`` produces in (free when unused)."""
        model = self.model
        cand = self.problem.candidates[k]
        first = model.new_int_var(cand.first, cand.last, f"first{k}")
        last = model.new_int_var(cand.first, cand.last, f"last{k}")
        runs = self.v.runs[k]
        for t, x in self.v.make[k].items():
            active = runs.get(t)
            if active is None:
                active = model.new_bool_var(f"a{k}_{t}")
                model.add(x <= max(x.proto.domain) * active)  # no [-1]: proto lists
                runs[t] = active
            model.add(first <= t).only_enforce_if(active)
            model.add(last >= t).only_enforce_if(active)
        return first, last

    def add_stability(self, index: int, offered: list[int]) -> None:
        """Re-plans: ``stability`` per previous unit no longer made at its factory,
        as ``stability * (previous - kept)`` with ``kept <= units made there``."""
        a = self.problem.anchor
        if a is None or not a.stability:
            return
        for k in a.previous_of(self.problem, index):
            self.constant += a.stability * a.previous[k]
            if k not in self.v.make or not self.v.make[k]:
                continue
            kept = self.model.new_int_var(0, a.previous[k], f"kept{k}")
            self.model.add(kept <= sum(self.v.make[k].values()))
            self.objective.append((-a.stability, kept))

    def add_part(self, k: int, served: cp_model.IntVar | int = 1) -> cp_model.IntVar:
        """Variables of candidate part ``k``; returns its used-flag ``y``. Fixed units
        of a re-plan are lower bounds while the order is served."""
        problem, model = self.problem, self.model
        cand = problem.candidates[k]
        info = problem.orders[cand.order]
        y = model.new_bool_var(f"y{k}")
        self.v.used[k] = y
        has_setup = any(u.setup_seconds for u in cand.usage)
        make_k: dict[int, cp_model.IntVar] = {}
        runs_k: dict[int, cp_model.IntVar] = {}
        buyer_key = (cand.factory, info.order.buyer)
        for t in problem.periods_of(k):
            fixed = problem.fixed_units(k, t)
            ub = max(fixed, units_fitting(self.free, cand, t, cand.hi))
            if problem.anchor is not None and t < problem.anchor.now:
                ub = fixed  # the past: only what was done
            if ub <= 0:
                continue
            x = model.new_int_var(0, ub, f"x{k}_{t}")
            make_k[t] = x
            if fixed:
                model.add(x >= fixed * served)
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
            if buyer_key in self.buyer_caps:
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
            cap = self.free[r][t]
            if sum(a * ub for a, _, ub in terms) > cap:  # else the row cannot bind
                self.model.add(sum(a * x for a, x, _ in terms) <= cap)
        for key, shares in self.buyer_load.items():
            self.model.add(sum(a * x for a, x in shares) <= self.buyer_caps[key])


def build_model(
    problem: AssignmentProblem,
    hard_mandatory: bool,
    orders: Iterable[int] | None = None,
    free: list[list[int]] | None = None,
    buyer_caps: dict[tuple[int, str], int] | None = None,
    offered: dict[int, list[int]] | None = None,
) -> tuple[cp_model.CpModel, _Vars]:
    """The CP-SAT model of ``problem`` (variables -> constraints -> objective).

    With ``orders``, only those orders are modelled, within the ``free`` capacity
    (and ``buyer_caps``) the other, fixed orders leave: a neighbourhood for LNS.
    """
    b = _Builder(problem, free=free or [], buyer_caps=buyer_caps or {}, offered=offered or {})
    for index in range(len(problem.orders)) if orders is None else orders:
        b.add_order(index, hard_mandatory)
    b.add_capacity()
    b.model.minimize(sum(a * x for a, x in b.objective) + b.constant)
    return b.model, b.v


def hint(model: cp_model.CpModel, problem: AssignmentProblem, v: _Vars, parts: list[Part]) -> None:
    chosen = {p.candidate: p for p in parts}
    served = {problem.candidates[p.candidate].order for p in parts}
    for o, s in v.served.items():
        model.add_hint(s, o in served)
    flows = stage_flows(problem, parts)
    for key, w in v.flows.items():
        units = flows.get(key, 0)
        model.add_hint(w, units)
        model.add_hint(v.links[key], units > 0)
    for k, y in v.used.items():
        part = chosen.get(k)
        model.add_hint(y, part is not None)
        for t, x in v.make[k].items():
            q = part.quantities.get(t, 0) if part else 0
            model.add_hint(x, q)
            if t in v.runs[k]:
                model.add_hint(v.runs[k][t], q > 0)


@dataclass
class _Incumbent:
    parts: list[Part]
    objective: float | None
    feasible: bool


@dataclass
class _Outcome:
    status: SolveStatus
    seconds: float
    parts: list[Part] = field(default_factory=list)
    objective: float | None = None
    bound: float | None = None
    first: float | None = None  # since the solve started
    deterministic_s: float = 0.0  # CP-SAT's deterministic time spent


CORE_PER_ORDER = 4
"""Candidates per order (smallest LP reduced cost first) in a heuristic core."""

EXACT_CORE_SMALL = 3_000
"""An exact core up to this size (or no larger than the heuristic one) is preferred:
CP-SAT may then prove optimality for the whole problem."""

CORE_MAX_VARIABLES = 30_000
"""Largest core handed to CP-SAT as one model (production variables)."""


def estimated_core_size(problem: AssignmentProblem) -> int:
    """Production variables of a heuristic core, before the LP says which ones."""
    total = 0
    for info in problem.orders:
        spans = sorted(
            (problem.candidates[k].last - problem.candidates[k].first + 1 for k in info.candidates),
            reverse=True,
        )
        total += sum(spans[:CORE_PER_ORDER])
    return total


FULL_MODEL_MAX_VARIABLES = 20_000
"""Above this many production variables the monolithic model stops paying off
(measured: no improvement on the greedy in 30 s at 126k), and the back-end
switches to LNS plus a Lagrangian bound."""


class CpSatBackend:
    """Greedy warm start, then CP-SAT: the whole model when it is small enough to
    prove optimality, large-neighbourhood search with a Lagrangian bound otherwise."""

    name = "cpsat"

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return self.unsupported_reason(problem, params) is None

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        if problem.by_operation and params.strategy in ("core", "lns"):
            return (
                f"orders split by operation are modelled by the whole model only; strategy "
                f"'{params.strategy}' does not know them (use 'auto' or 'full')"
            )
        if (
            params.hard_mandatory
            and params.strategy != "full"
            and problem.size > FULL_MODEL_MAX_VARIABLES
        ):
            return (
                f"hard mandatory orders need the whole model, and this one has {problem.size} "
                f"production variables (auto limit {FULL_MODEL_MAX_VARIABLES}); pass strategy "
                "'full' to force it, or drop hard_mandatory"
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
        if params.hard_mandatory and (why := unservable_mandatory(problem)):
            return AssignmentResult(
                solver=self.name,
                status=SolveStatus.INFEASIBLE,
                wall_time_s=time.perf_counter() - start,
                seed=params.seed,
                workers=params.workers,
                notes=[why],
            )
        strategy = params.strategy
        if problem.by_operation:
            strategy = "full"  # the LP core and LNS do not model orders split by operation
        if strategy == "auto":
            if estimated_core_size(problem) <= CORE_MAX_VARIABLES:
                strategy = "core"
            elif problem.size <= FULL_MODEL_MAX_VARIABLES or params.hard_mandatory:
                strategy = "full"
            else:
                strategy = "lns"
        if strategy == "core":
            result = self._solve_core(problem, params, progress, start, stop)
            if result is not None:
                return _noted_stop(result, stop)
            strategy = "full" if problem.size <= FULL_MODEL_MAX_VARIABLES else "lns"
        warm, warm_objective = _warm_start(problem, params, progress, start)
        if strategy == "full" or params.hard_mandatory:
            full = self._solve_full(problem, params, progress, start, warm, warm_objective, stop)
            return _noted_stop(full, stop)
        assert warm_objective is not None
        lns = self._solve_lns(problem, params, progress, start, warm, warm_objective, stop)
        return _noted_stop(lns, stop)

    def _solve_core(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        stop: StopSignal | None,
    ) -> AssignmentResult | None:
        """LP relaxation, then CP-SAT on the candidates its reduced costs favour.

        With an incumbent, every candidate that could still improve on it is kept
        (exact pruning), so CP-SAT's proof on that core is a proof for the whole
        problem; that exact core is used when it is small. Otherwise CP-SAT gets a
        heuristic core (a few candidates per order by reduced cost) for all the time
        left; a second phase (a wider or an exact core) only runs when the first ends
        early, its core solved to optimality.
        """
        from solvers.assignment.relaxation import core_size, solve_relaxation

        limit = params.time_limit_s
        relax = solve_relaxation(problem, True, 0.5 * limit, stop)
        notes = [relax.note]
        if relax.bound is None and not params.hard_mandatory:
            relax = solve_relaxation(problem, False, 0.5 * limit - relax.wall_time_s, stop)
            notes.append(relax.note)
        notes.append(f"LP relaxation solved in {time.perf_counter() - start:.2f}s")
        if relax.bound is None:
            return None  # the caller falls back to the whole model or LNS
        offered = relax.core(CORE_PER_ORDER, set())
        warm, warm_objective = _warm_start(problem, params, progress, start, offered)
        first_feasible = time.perf_counter() - start if warm_objective is not None else None
        complete = warm_objective is not None and not mandatory_left_out(problem, warm)
        best = _Incumbent(warm, warm_objective, feasible=complete)
        bound: float | None = relax.bound
        proven = False
        phases = 0
        tried_hard = False
        spent = 0.0  # one worker: CP-SAT's deterministic time, so that phases repeat
        while not proven and phases < 2:
            used = spent if params.workers == 1 else time.perf_counter() - start
            left = limit - used
            if left <= 0.05 or (stop is not None and stop.is_set()):
                break
            # (An incumbent that leaves mandatory orders out carries their big penalty,
            # so it prunes little: that exact core is only used on small problems.)
            exact = relax.exact_core(best.objective) if best.objective is not None else None
            per_order = CORE_PER_ORDER * (phases + 1)
            keep = {p.candidate for p in best.parts}
            if problem.anchor is not None:  # moving away from them has a price
                keep |= problem.anchor.previous.keys() | problem.anchor.fixed.keys()
            offered = relax.core(per_order, keep)
            is_exact = False
            if exact is not None and core_size(problem, exact) <= max(
                EXACT_CORE_SMALL, core_size(problem, offered)
            ):
                offered, is_exact = exact, True
            # Exact when the incumbent serves every mandatory order (the penalty dwarfs
            # any cost); otherwise a first try when the LP serves them all, dropped if
            # CP-SAT finds nothing.
            hard = (
                params.hard_mandatory
                or best.feasible
                or (relax.serves_mandatory and not tried_hard)
            )
            tried_hard = tried_hard or hard
            outcome = self._solve_restricted(
                problem,
                params,
                progress,
                start,
                offered,
                hard,
                best,
                left,
                stop,
                None if is_exact else relax.bound,
            )
            phases += 1
            spent += outcome.deterministic_s
            notes.append(
                f"phase {phases}: {'exact' if is_exact else 'heuristic'} core of "
                f"{core_size(problem, offered)} of {problem.size} production variables"
                f"{', mandatory orders hard' if hard and not params.hard_mandatory else ''}: "
                f"CP-SAT {outcome.status.value} in {outcome.seconds:.2f}s"
            )
            if first_feasible is None and outcome.first is not None:
                first_feasible = outcome.first
            if outcome.objective is not None and (
                best.objective is None or outcome.objective < best.objective
            ):
                left_out = mandatory_left_out(problem, outcome.parts)
                best = _Incumbent(outcome.parts, outcome.objective, not left_out)
            if is_exact and outcome.bound is not None:
                bound = outcome.bound if bound is None else max(bound, outcome.bound)
            if is_exact and outcome.status == SolveStatus.OPTIMAL:
                proven = True
        objective = best.objective
        if objective is None:
            status = SolveStatus.TIME_LIMIT
        else:
            if bound is not None:
                bound = min(bound, objective)
            closed = proven or (bound is not None and bound >= objective)
            status = SolveStatus.OPTIMAL if closed else SolveStatus.FEASIBLE
        return AssignmentResult(
            solver=self.name,
            status=status,
            parts=best.parts,
            objective=objective,
            best_bound=bound,
            wall_time_s=time.perf_counter() - start,
            time_to_first_feasible_s=first_feasible,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
        )

    def _solve_restricted(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        offered: dict[int, list[int]],
        hard: bool,
        best: _Incumbent,
        seconds: float,
        stop: StopSignal | None,
        global_bound: float | None = None,  # None: the restricted model's bound is global
    ) -> _Outcome:
        """CP-SAT on the model restricted to ``offered``, hinted with ``best``."""
        began = time.perf_counter()
        model, v = build_model(problem, hard, offered=offered)
        if best.parts and (best.feasible or not hard):
            hint(model, problem, v, best.parts)
        solver = cp_model.CpSolver()
        if params.workers > 1:  # wall-clock: building the model counts too
            seconds -= time.perf_counter() - began
        configure(solver, params, max(0.05, seconds))
        solver.parameters.relative_gap_limit = params.relative_gap
        callback = _Progress(start, progress, problem, v, global_bound)
        with stop_hook(stop, solver.stop_search):
            code = solver.solve(model, callback)
        status = _STATUS.get(code, SolveStatus.UNKNOWN)
        out = _Outcome(
            status=status,
            seconds=time.perf_counter() - began,
            first=callback.first,
            deterministic_s=solver.response_proto.deterministic_time,
        )
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            out.parts = extract(solver, v)
            out.objective = float(solver.objective_value)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN):
            out.bound = float(solver.best_objective_bound)
        return out

    def _solve_full(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        warm: list[Part],
        warm_objective: float | None,
        stop: StopSignal | None,
    ) -> AssignmentResult:
        warm_time = time.perf_counter() - start
        model, v = build_model(problem, params.hard_mandatory)
        if warm:
            hint(model, problem, v, warm)
        build_time = time.perf_counter() - start
        notes = [
            f"whole model ({problem.size} production variables) built in "
            f"{build_time - warm_time:.2f}s after a {warm_time:.2f}s greedy warm start"
        ]
        solver = cp_model.CpSolver()
        remaining = max(0.05, params.time_limit_s - build_time)
        notes += configure(solver, params, remaining)
        solver.parameters.relative_gap_limit = params.relative_gap
        callback = _Progress(start, progress, problem, v)
        with stop_hook(stop, solver.stop_search):
            code = solver.solve(model, callback)
        status = _STATUS.get(code, SolveStatus.UNKNOWN)
        bound = solver.best_objective_bound if code != cp_model.MODEL_INVALID else None
        first: float | None
        flows: dict[tuple[int, int], int] = {}
        if problem.by_operation:
            notes.append(
                f"{len(problem.by_operation)} order(s) split by operation: whole model with "
                f"{len(v.flows)} transfer flows"
            )
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            parts = extract(solver, v)
            flows = extract_flows(solver, v)
            found = float(solver.objective_value)
            objective: float | None = found
            if warm_objective is not None and warm_objective < found:
                parts, objective = warm, warm_objective
                flows = stage_flows(problem, warm)
                notes.append("greedy warm start was better than CP-SAT's incumbent")
            first = warm_time if warm else callback.first
        elif warm_objective is not None:
            parts, objective, first = warm, warm_objective, warm_time
            flows = stage_flows(problem, warm)
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
            wall_time_s=time.perf_counter() - start,
            time_to_first_feasible_s=first,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
            flows=flows,
        )

    def _solve_lns(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        progress: ProgressCallback | None,
        start: float,
        warm: list[Part],
        warm_objective: float,
        stop: StopSignal | None,
    ) -> AssignmentResult:
        from solvers.assignment.bound import LagrangianBound
        from solvers.assignment.lns import Lns

        warm_time = time.perf_counter() - start
        relaxation = LagrangianBound(problem)  # arrays first: their cost is in the budget
        prepared = time.perf_counter() - start
        deterministic = params.workers == 1
        bound_share = min(0.1 * params.time_limit_s, 5.0)
        lns = Lns(problem, warm, params, stop)

        def report() -> None:
            if progress is not None:
                elapsed = time.perf_counter() - start
                offset = problem.mandatory_penalty * len(mandatory_left_out(problem, lns.parts))
                progress(Progress("assignment", "cpsat-lns", elapsed, lns.objective - offset, None))

        budget = max(0.0, params.time_limit_s - prepared - bound_share)
        if deterministic:
            lns.run(start + 3 * params.time_limit_s + 1, report, deterministic_budget=budget)
        else:
            lns.run(start + params.time_limit_s - bound_share, report)
        parts = lns.parts
        stuck = [o for o in mandatory_left_out(problem, parts) if problem.orders[o].candidates]
        bound_start = time.perf_counter()
        stopped = stop is not None and stop.is_set()
        bound: float | None = (
            lns.objective
            if lns.proven
            else None
            if problem.anchor is not None  # its arrays know no fixed work
            else relaxation.compute(
                lns.objective,
                fixed_unserved=stuck,
                iterations=300 if deterministic else 5000,
                time_limit_s=0.0 if stopped else 1e9 if deterministic else bound_share,
            )
        )
        if bound is not None:
            bound = min(bound, lns.objective)
        s = lns.stats
        notes = [
            f"{problem.size} production variables: large-neighbourhood search with CP-SAT "
            f"sub-models after a {warm_time:.2f}s greedy warm start",
            f"LNS: {s.iterations} neighbourhoods, {s.improvements} improvements, "
            f"{s.optimal_subproblems} solved to optimality; "
            + _versus_greedy(problem, warm, warm_objective, parts, lns.objective),
            "bound: a neighbourhood holding every order was solved to optimality"
            if lns.proven
            else "no bound: the Lagrangian bound does not model a re-plan's fixed work"
            if bound is None
            else "bound: Lagrangian relaxation of the capacity rows "
            f"({time.perf_counter() - bound_start:.2f}s)",
        ]
        if stuck:
            notes.append(
                f"the bound assumes the {len(stuck)} mandatory order(s) LNS could not place stay "
                "unserved"
            )
        if deterministic:
            notes.append(f"deterministic: {budget:.1f} units of CP-SAT deterministic time")
        return AssignmentResult(
            solver=self.name,
            status=SolveStatus.OPTIMAL
            if bound is not None and bound >= lns.objective
            else SolveStatus.FEASIBLE,
            parts=parts,
            objective=lns.objective,
            best_bound=bound,
            wall_time_s=time.perf_counter() - start,
            time_to_first_feasible_s=warm_time,
            seed=params.seed,
            workers=params.workers,
            notes=notes,
        )


def _warm_start(
    problem: AssignmentProblem,
    params: SolveParams,
    progress: ProgressCallback | None,
    start: float,
    offered: dict[int, list[int]] | None = None,
) -> tuple[list[Part], float | None]:
    """The greedy plan (none with hard mandatory orders) and its objective, reported."""
    if params.hard_mandatory:
        return [], None
    initial = problem.anchor.initial if problem.anchor else None
    warm = greedy_parts(problem, offered, initial)
    objective = float(objective_of(problem, warm))
    if progress is not None:
        offset = problem.mandatory_penalty * len(mandatory_left_out(problem, warm))
        elapsed = time.perf_counter() - start
        progress(Progress("assignment", "greedy", elapsed, objective - offset, None))
    return warm, objective


def _noted_stop(result: AssignmentResult, stop: StopSignal | None) -> AssignmentResult:
    """Say in the notes that the solve was stopped early (cancel or deadline)."""
    if stop is not None and stop.is_set():
        result.notes.append(f"{stop.reason}: the best plan found so far is returned")
    return result


def _versus_greedy(
    problem: AssignmentProblem,
    warm: list[Part],
    warm_objective: float,
    parts: list[Part],
    objective: float,
) -> str:
    """The improvement over the greedy plan in cost terms, mandatory orders apart."""

    placed = len(mandatory_left_out(problem, warm)) - len(mandatory_left_out(problem, parts))
    saving = warm_objective - objective - placed * problem.mandatory_penalty
    text = f"{saving:.0f} cents cheaper than the greedy plan"
    return text + (f" and {placed} more mandatory order(s) served" if placed else "")


def configure(solver: cp_model.CpSolver, params: SolveParams, seconds: float) -> list[str]:
    """Workers, seed and limit; with one worker the limit is deterministic time, so the
    same model, seed and limit give the same answer (wall time is then a safety net)."""
    p = solver.parameters
    p.num_workers = params.workers
    p.random_seed = params.seed
    if params.workers == 1:
        p.max_deterministic_time = seconds
        p.max_time_in_seconds = 3 * seconds + 1
        return [f"deterministic limit {seconds:.2f} (wall-clock safety {3 * seconds + 1:.0f}s)"]
    p.max_time_in_seconds = seconds
    return []


def extract_flows(solver: cp_model.CpSolver, v: _Vars) -> dict[tuple[int, int], int]:
    """Units moving between stage parts of orders split by operation (positive only)."""
    out: dict[tuple[int, int], int] = {}
    for key, w in v.flows.items():
        units = int(solver.value(w))
        if units > 0:
            out[key] = units
    return out


def extract(solver: cp_model.CpSolver, v: _Vars) -> list[Part]:
    parts: list[Part] = []
    for k, y in v.used.items():
        if not solver.boolean_value(y):
            continue
        quantities = {t: int(solver.value(x)) for t, x in v.make[k].items()}
        quantities = {t: q for t, q in quantities.items() if q > 0}
        if quantities:
            parts.append(Part(k, quantities))
    return parts
