"""MIP back-ends for the assignment model: HiGHS, SCIP and CBC.

They solve exactly the model of :func:`solvers.assignment.cpsat_model.build_model`: served
flag ``s`` per order with its unserved penalty, used flag ``y`` per candidate part,
integer units ``x[c,t]``, run flags ``z[c,t]`` where a usage has a setup, part sizes,
the part limit, capacity rows where they can bind, buyer-share rows and the fairness
rows and terms (docs/fairness.md). One builder
writes that model as plain data (:class:`solvers.linear.LinearModel`); the adapters of
:mod:`solvers.linear` hand it to a solver: MathOpt for the HiGHS and SCIP bundled with
OR-Tools (SCIP gets the greedy plan as its MIP start and one thread: asked for two, it
used no more CPU in a measurement), PuLP's ``COIN_CMD`` for CBC (greedy MIP start).

Every variable is an integer in ``[0, ub]`` and the objective has integer
coefficients, so an absolute gap below one proves optimality, and solution values are
rounded to the nearest integer and checked against the problem again. When the solver
brings nothing better than the greedy plan, the greedy plan is returned. Limits are
wall-clock: a run stopped by its limit is not reproducible; a run that proves
optimality always reaches the same objective.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from matcher.domain.entities import SHARE_RESOLUTION
from matcher.domain.params import Progress, ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import SolveStatus
from solvers.assignment.base import (
    AssignmentResult,
    Part,
    anchor_unsupported,
    by_operation_unsupported,
    infeasible_at_once,
    mandatory_left_out,
    objective_of,
    report_result,
)
from solvers.assignment.fairness import (
    SPREAD_POINTS,
    Fairness,
    Tally,
    tally,
)
from solvers.assignment.fairness import terms as fairness_terms
from solvers.assignment.greedy import capped_greedy_parts, greedy_parts
from solvers.assignment.materials import SCALE, MaterialState, material_rows, whole_units
from solvers.assignment.problem import AssignmentProblem, units_fitting
from solvers.linear import Limits, LinearModel, Outcome, cbc_path, solve_cbc, solve_mathopt

MAX_PRODUCTION_VARIABLES = 30_000
"""Largest model (in ``problem.size`` production variables) the MIP back-ends accept.
At 30k the model has about 45k variables and 200k nonzeros and takes 1-2 s to build,
while already at 2k (100 generated orders) none of the three improves much on the
greedy plan in 10 s. Larger problems belong to ``cpsat``, which switches to
large-neighbourhood search."""


@dataclass
class _Vars:
    """Indices into the :class:`LinearModel`, keyed like ``cpsat_model.Variables``."""

    used: dict[int, int] = field(default_factory=dict)  # candidate -> y
    make: dict[int, dict[int, int]] = field(default_factory=dict)  # c -> t -> x
    runs: dict[int, dict[int, int]] = field(default_factory=dict)  # c -> t -> z
    served: dict[int, int] = field(default_factory=dict)  # order -> s
    # whole units of a material a factory needs by a checkpoint: (r, terms, stock)
    needs: list[tuple[int, list[tuple[int, int]], int]] = field(default_factory=list)
    # fairness (docs/fairness.md): name -> variable (served_work, short{f}, ...)
    fair: dict[str, int] = field(default_factory=dict)


@dataclass
class _Builder:
    """``cpsat_model.ModelBuilder`` written against :class:`LinearModel`, row for row."""

    problem: AssignmentProblem
    model: LinearModel = field(default_factory=LinearModel)
    v: _Vars = field(default_factory=_Vars)
    # (resource, period) -> [(seconds per unit of the variable, variable, its upper bound)]
    load: dict[tuple[int, int], list[tuple[int, int, int]]] = field(default_factory=dict)
    buyer_load: dict[tuple[int, str], list[tuple[int, int]]] = field(default_factory=dict)
    free: list[tuple[int, ...]] = field(default_factory=list)
    # (material, factory) -> [(millionths per unit, period, units variable, its bound)]
    material_use: dict[tuple[int, int], list[tuple[int, int, int, int]]] = field(
        default_factory=dict
    )

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
            for mat, per_unit in cand.materials:
                uses = self.material_use.setdefault((mat, cand.factory), [])
                uses.append((per_unit, t, x, ub))
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

    def add_materials(self) -> None:
        """``cpsat_model.ModelBuilder.add_materials``, row for row (no fixed work here:
        the MIP back-ends refuse re-plans)."""
        fixed = MaterialState(self.problem.materials)
        for m, c, rows in material_rows(self.problem.materials, self.material_use, fixed):
            needs = []
            for factory, terms, held, stock in rows.factories:
                r = self.model.var(f"r{m}_{factory}_{c}", rows.limit)
                self.model.add([(SCALE, r), *((-a, x) for a, x in terms)], held - stock, math.inf)
                self.v.needs.append((r, terms, stock - held))
                needs.append((1, r))
            self.model.add(needs, -math.inf, rows.limit - rows.others)

    def add_fairness(self) -> None:
        """``cpsat_model.ModelBuilder.add_fairness``, row for row (the whole model: no
        fixed work)."""
        fair = self.problem.fairness
        if fair is None:
            return
        problem, m, named = self.problem, self.model, self.v.fair
        n = len(fair.free)
        work: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        most = [0] * n
        for k, periods in self.v.make.items():
            a = fair.coef[k]
            if a:
                f = problem.candidates[k].factory
                for x in periods.values():
                    work[f].append((a, x))
                    most[f] += a * m.upper[x]
        dearest: dict[int, int] = {}  # the served work's bound, as in the CP-SAT model
        for k in self.v.make:
            o = problem.candidates[k].order
            dearest[o] = max(dearest.get(o, 0), fair.coef[k])
        orders_most = sum(problem.orders[o].order.quantity * a for o, a in dearest.items())
        total_most = min(sum(most), orders_most)
        served = named["served_work"] = m.var("served_work", total_most)
        m.add([*(t for ts in work for t in ts), (-1, served)], 0, 0)
        if fair.cap is not None:
            for f in range(n):
                if work[f]:
                    row = [(SHARE_RESOLUTION * a, x) for a, x in work[f]]
                    m.add([*row, (-fair.cap, served)], -math.inf, 0)
        opts = fair.options
        for f, need in enumerate(fair.min_work):
            if not need:
                continue
            if opts.min_work_hard:
                what = f"factory {problem.instance.factories[f].id} cannot reach its hard minimum"
                m.add(work[f], need, math.inf, what)
                continue
            short = named[f"short{f}"] = m.var(f"short{f}", need)
            m.add([(1, short), *work[f]], need, math.inf)
            self._price(short, need, opts.shortfall_cents, fair.scale, f"minpen{f}")
        if fair.explore is not None:
            top = -(-fair.explore * total_most // SHARE_RESOLUTION)
            short = named["explore_short"] = m.var("explore_short", top)
            new = [(SHARE_RESOLUTION * a, x) for f in range(n) if fair.new[f] for a, x in work[f]]
            m.add([(SHARE_RESOLUTION, short), *new, (-fair.explore, served)], 0, math.inf)
            self._price(short, top, opts.exploration_cents, fair.scale, "explore_pen")
        if fair.load_weight:
            self._add_spread()

    def _price(self, short: int, top: int, cents: int, scale: int, name: str) -> None:
        m = self.model
        if not cents:
            return
        if scale == 1:
            m.cost[short] = m.cost.get(short, 0) + cents
            return
        pen = self.v.fair[name] = m.var(name, -(-cents * top // scale))
        m.add([(scale, pen), (-cents, short)], 0, math.inf)
        m.cost[pen] = 1

    def _add_spread(self) -> None:
        fair, problem, m = self.problem.fairness, self.problem, self.model
        assert fair is not None
        # a variable loads every resource group its part uses: one coefficient per row
        terms: dict[int, dict[int, int]] = {}
        most = [0] * len(fair.free)
        for (r, _), load in self.load.items():
            f = problem.resources[r].factory
            bucket = terms.setdefault(f, {})
            for a, x, ub in load:
                bucket[x] = bucket.get(x, 0) + a
                most[f] += a * ub
        rows = [f for f, free in enumerate(fair.free) if free > 0]
        if not rows:
            return
        top = max(SPREAD_POINTS, max(-(-SPREAD_POINTS * most[f] // fair.free[f]) for f in rows))
        hi = self.v.fair["util_hi"] = m.var("util_hi", top)
        lo = self.v.fair["util_lo"] = m.var("util_lo", top)
        for f in rows:
            used = [(-SPREAD_POINTS * a, x) for x, a in terms.get(f, {}).items()]
            m.add([(fair.free[f], hi), *used], 0, math.inf)
            m.add([(fair.free[f], lo), *used], -math.inf, 0)
        m.cost[hi] = fair.load_weight
        m.cost[lo] = -fair.load_weight
        for k, runs in self.v.runs.items():  # a setup only where something is made
            for t, z in runs.items():
                m.add([(1, self.v.make[k][t]), (-1, z)], 0, math.inf)


def build_model(problem: AssignmentProblem, hard_mandatory: bool) -> tuple[LinearModel, _Vars]:
    """The model of ``cpsat_model.build_model`` for the whole problem, as a :class:`LinearModel`."""
    b = _Builder(problem)
    for index in range(len(problem.orders)):
        b.add_order(index, hard_mandatory)
    b.add_capacity()
    b.add_materials()
    b.add_fairness()
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
    for r, terms, stock in v.needs:
        values[r] = whole_units(sum(a * values[x] for a, x in terms) - stock)
    fair = problem.fairness
    if fair is not None and v.fair:
        _hint_fairness(fair, values, v.fair, tally(fair, problem.candidates, parts))
    return values


def _hint_fairness(fair: Fairness, values: list[int], named: dict[str, int], t: Tally) -> None:
    """The fairness variables' values for a plan with tally ``t`` (their least values)."""
    served = sum(t.work)
    values[named["served_work"]] = served
    opts = fair.options
    for f, need in enumerate(fair.min_work):
        if f"short{f}" in named:
            short = max(0, need - t.work[f])
            values[named[f"short{f}"]] = short
            if f"minpen{f}" in named:
                values[named[f"minpen{f}"]] = -(-opts.shortfall_cents * short // fair.scale)
    if "explore_short" in named:
        assert fair.explore is not None
        new = sum(w for f, w in enumerate(t.work) if fair.new[f])
        short = max(0, -(-(fair.explore * served - SHARE_RESOLUTION * new) // SHARE_RESOLUTION))
        values[named["explore_short"]] = short
        if "explore_pen" in named:
            values[named["explore_pen"]] = -(-opts.exploration_cents * short // fair.scale)
    if "util_hi" in named:
        rows = [(t.used[f], free) for f, free in enumerate(fair.free) if free > 0]
        values[named["util_hi"]] = max(-(-SPREAD_POINTS * u // free) for u, free in rows)
        values[named["util_lo"]] = min(SPREAD_POINTS * u // free for u, free in rows)


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
    if problem.fairness is not None:
        ft = fairness_terms(problem.fairness, tally(problem.fairness, problem.candidates, parts))
        if ft.cap_violations or ft.minimum_violations:
            f = (ft.cap_violations or ft.minimum_violations)[0]
            rule = "share cap" if ft.cap_violations else "hard minimum work"
            return f"factory {problem.instance.factories[f].id} breaks the {rule}"
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


class _MipBackend:
    prices_purchasing = False
    """The solve flow the three back-ends share; subclasses hand the model to a solver."""

    name: str
    label: str  # the solver, as notes name it

    def supports(self, problem: AssignmentProblem, params: SolveParams) -> bool:
        return self.unsupported_reason(problem, params) is None

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        if (why := anchor_unsupported(problem) or by_operation_unsupported(problem)) is not None:
            return why
        if problem.size > MAX_PRODUCTION_VARIABLES:
            return (
                f"the model has {problem.size} production variables, more than the "
                f"{MAX_PRODUCTION_VARIABLES} the MIP back-ends take; use 'cpsat', which "
                "switches to large-neighbourhood search"
            )
        return None

    def _run(self, model: LinearModel, limits: Limits, hint: list[int] | None) -> Outcome:
        raise NotImplementedError

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
        fair = problem.fairness
        capped = fair is not None and fair.cap is not None  # the greedy within the cap
        greedy = capped_greedy_parts if capped else greedy_parts
        warm: list[Part] | None = greedy(problem, None, problem.warm)
        if params.hard_mandatory and mandatory_left_out(problem, warm or []):
            warm = None  # not a solution of the hard model
        # The greedy keeps the share cap; short of a hard minimum it is no solution.
        if (
            warm is not None
            and fair is not None
            and not fairness_terms(fair, tally(fair, problem.candidates, warm)).feasible
        ):
            warm = None
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

        limits = Limits(
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
        report_result(progress, problem, result)
        return result

    def _settle(
        self,
        problem: AssignmentProblem,
        params: SolveParams,
        v: _Vars,
        outcome: Outcome,
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


class HighsBackend(_MipBackend):
    """HiGHS (bundled with OR-Tools) on the whole model, through MathOpt."""

    name = "mip-highs"
    label = "HiGHS"

    def _run(self, model: LinearModel, limits: Limits, hint: list[int] | None) -> Outcome:
        return solve_mathopt(model, "highs", limits, hint)


class ScipBackend(_MipBackend):
    """SCIP (bundled with OR-Tools) on the whole model, through MathOpt."""

    name = "mip-scip"
    label = "SCIP"

    def _run(self, model: LinearModel, limits: Limits, hint: list[int] | None) -> Outcome:
        return solve_mathopt(model, "scip", limits, hint)


class CbcBackend(_MipBackend):
    """CBC (bundled with PuLP) on the whole model, with the greedy plan as MIP start."""

    name = "mip-cbc"
    label = "CBC"

    def unsupported_reason(self, problem: AssignmentProblem, params: SolveParams) -> str | None:
        import pulp

        if not pulp.COIN_CMD(path=cbc_path(), msg=False).available():
            return "no CBC binary: PuLP bundles none and there is no 'cbc' on the PATH"
        return super().unsupported_reason(problem, params)

    def _run(self, model: LinearModel, limits: Limits, hint: list[int] | None) -> Outcome:
        return solve_cbc(model, limits, hint)
