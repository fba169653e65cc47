"""The CP-SAT model of the multi-period assignment (docs/model.md), built once for all.

Variables per candidate part ``c`` (an eligible order-factory pair): ``y[c]`` part
used; ``x[c,t]`` units made in period ``t``; ``z[c,t]`` part runs in ``t`` (only where
some operation has a setup). Per order ``s[o]`` served; per pair of consecutive stage
parts of an order split by operation a flow and its "used" literal. The back-end's
strategies (:mod:`solvers.assignment.cpsat`), LNS neighbourhoods, the diagnosis of
unserved orders and the capacity-sharing re-solves all build their models here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from matcher.domain.entities import SHARE_RESOLUTION
from matcher.domain.params import SolveParams
from solvers.assignment.base import Part, stage_flows
from solvers.assignment.fairness import SPREAD_POINTS, Tally
from solvers.assignment.materials import SCALE, MaterialState, material_rows
from solvers.assignment.problem import AssignmentProblem, units_fitting


@dataclass
class Variables:
    used: dict[int, cp_model.IntVar] = field(default_factory=dict)  # candidate -> y
    make: dict[int, dict[int, cp_model.IntVar]] = field(default_factory=dict)  # c -> t -> x
    runs: dict[int, dict[int, cp_model.IntVar]] = field(default_factory=dict)  # c -> t -> z
    served: dict[int, cp_model.IntVar] = field(default_factory=dict)  # order -> s
    # orders split by operation: (sending stage part, receiving stage part) -> units
    flows: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)
    links: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)  # flow used
    # with priced overtime: (resource, period) -> whole minutes beyond the free capacity
    overtime: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)


@dataclass
class ModelBuilder:
    """Accumulates variables, capacity terms and objective terms while building."""

    problem: AssignmentProblem
    model: cp_model.CpModel = field(default_factory=cp_model.CpModel)
    v: Variables = field(default_factory=Variables)
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
    # Materials the fixed orders use (default: none; docs/model.md, "Materials").
    materials: MaterialState | None = None
    # (material, factory) -> [(millionths per unit, period, units variable, its bound)]
    material_use: dict[tuple[int, int], list[tuple[int, int, cp_model.IntVar, int]]] = field(
        default_factory=dict
    )
    # Weighted cents per minute beyond a capacity row's free time (None: rows are hard).
    overtime: int | None = None
    # Fairness (docs/fairness.md): what the orders outside the model hold, per factory
    # (None: the model holds every order, or fairness is left out of it).
    fixed_fairness: Tally | None = None

    def __post_init__(self) -> None:
        if not self.free:
            self.free = [list(r.free_seconds) for r in self.problem.resources]
            self.buyer_caps = dict(self.problem.buyer_caps)
        if self.materials is None:
            self.materials = MaterialState(self.problem.materials)

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
            if self.overtime is not None:  # bought overtime lifts every row: the part bounds
                ub = max(fixed, cand.hi)
            else:
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
            for m, per_unit in cand.materials:
                uses = self.material_use.setdefault((m, cand.factory), [])
                uses.append((per_unit, t, x, ub))
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
            most = sum(a * ub for a, _, ub in terms)
            if most <= cap:  # the row cannot bind
                continue
            if self.overtime is None:
                self.model.add(sum(a * x for a, x, _ in terms) <= cap)
                continue
            extra = self.model.new_int_var(0, -(-(most - cap) // 60), f"ot{r}_{t}")
            self.model.add(sum(a * x for a, x, _ in terms) <= cap + 60 * extra)
            self.objective.append((self.overtime, extra))
            self.v.overtime[(r, t)] = extra
        for key, shares in self.buyer_load.items():
            self.model.add(sum(a * x for a, x in shares) <= self.buyer_caps[key])

    def add_fairness(self) -> None:
        """The fairness options and the load-balance term (docs/fairness.md), over the
        work of the modelled parts plus the fixed work of the orders outside the model
        (constants). Every quotient is written multiplied out, in integers."""
        fair = self.problem.fairness
        if fair is None:
            return
        model, problem = self.model, self.problem
        n = len(fair.free)
        fixed = self.fixed_fairness or Tally.empty(n)
        work: list[list[tuple[int, cp_model.IntVar]]] = [[] for _ in range(n)]
        most = list(fixed.work)
        for k, periods in self.v.make.items():
            a = fair.coef[k]
            if not a:
                continue
            f = problem.candidates[k].factory
            for x in periods.values():
                work[f].append((a, x))
                most[f] += a * max(x.proto.domain)

        def expr(f: int) -> cp_model.LinearExprT:
            return sum(a * x for a, x in work[f]) + fixed.work[f]

        # The served work is at most every modelled order made in full at its dearest
        # (in the measure) candidate, plus the fixed work: a domain that stays small.
        dearest: dict[int, int] = {}
        for k in self.v.make:
            o = problem.candidates[k].order
            dearest[o] = max(dearest.get(o, 0), fair.coef[k])
        orders_most = sum(problem.orders[o].order.quantity * a for o, a in dearest.items())
        total_most = min(sum(most), orders_most + sum(fixed.work))
        served = model.new_int_var(0, total_most, "served_work")
        model.add(served == sum(expr(f) for f in range(n) if work[f] or fixed.work[f]))
        if fair.cap is not None:
            for f in range(n):
                if work[f] or fixed.work[f]:
                    model.add(SHARE_RESOLUTION * expr(f) <= fair.cap * served)
        opts = fair.options
        for f, m in enumerate(fair.min_work):
            if not m:
                continue
            if opts.min_work_hard:
                model.add(expr(f) >= m)
                continue
            short = model.new_int_var(0, m, f"short{f}")
            model.add(short >= m - expr(f))
            self._price(short, m, opts.shortfall_cents, fair.scale, f"minpen{f}")
        if fair.explore is not None:
            new = [f for f in range(n) if fair.new[f]]
            new_fixed = sum(fixed.work[f] for f in new)
            top = -(-fair.explore * total_most // SHARE_RESOLUTION)
            short = model.new_int_var(0, top, "explore_short")
            # RES * short >= explore * served - RES * (work of the new factories)
            model.add(
                SHARE_RESOLUTION * short
                + sum(SHARE_RESOLUTION * a * x for f in new for a, x in work[f])
                >= fair.explore * served - SHARE_RESOLUTION * new_fixed
            )
            self._price(short, top, opts.exploration_cents, fair.scale, "explore_pen")
        if fair.load_weight:
            self._add_spread(fixed)

    def _price(self, short: cp_model.IntVar, top: int, cents: int, scale: int, name: str) -> None:
        """``cents`` per unit of the measure short, rounded up to whole cents: with
        seconds for hours, ``3600 * pen >= cents * short`` (the least such ``pen``)."""
        if not cents:
            return
        if scale == 1:
            self.objective.append((cents, short))
            return
        pen = self.model.new_int_var(0, -(-cents * top // scale), name)
        self.model.add(scale * pen >= cents * short)
        self.objective.append((1, pen))

    def _add_spread(self, fixed: Tally) -> None:
        """``w * (hi - lo)`` with ``free_f * hi >= 100 * used_f >= free_f * lo`` for every
        factory with free time: hi and lo are the extreme utilisations in whole points,
        rounded outwards, at the optimum."""
        fair, problem, model = self.problem.fairness, self.problem, self.model
        assert fair is not None
        terms: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
        most = list(fixed.used)
        for (r, _), load in self.load.items():
            f = problem.resources[r].factory
            bucket = terms.setdefault(f, [])
            for a, x, ub in load:
                bucket.append((a, x))
                most[f] += a * ub
        rows = [f for f, free in enumerate(fair.free) if free > 0]
        if not rows:
            return
        top = max(SPREAD_POINTS, max(-(-SPREAD_POINTS * most[f] // fair.free[f]) for f in rows))
        hi = model.new_int_var(0, top, "util_hi")
        lo = model.new_int_var(0, top, "util_lo")
        for f in rows:
            used = sum(a * x for a, x in terms.get(f, ())) + fixed.used[f]
            model.add(fair.free[f] * hi >= SPREAD_POINTS * used)
            model.add(fair.free[f] * lo <= SPREAD_POINTS * used)
        self.objective.append((fair.load_weight, hi))
        self.objective.append((-fair.load_weight, lo))
        # A setup counts only in a period that makes something: else the least utilised
        # factory could be "used" by setups that run nothing.
        for k, runs in self.v.runs.items():
            for t, z in runs.items():
                model.add(self.v.make[k][t] >= z)

    def add_materials(self) -> None:
        """Per purchased material and checkpoint: the whole units each factory needs
        (an integer at least its use less its stock) sum to no more than can arrive."""
        assert self.materials is not None
        kept = self.problem.kept_material_need()
        for m, c, rows in material_rows(
            self.problem.materials, self.material_use, self.materials, kept
        ):
            needs = []
            for factory, terms, fixed, stock in rows.factories:
                r = self.model.new_int_var(0, rows.limit, f"r{m}_{factory}_{c}")
                self.model.add(SCALE * r >= sum(a * x for a, x in terms) + fixed - stock)
                needs.append(r)
            self.model.add(sum(needs) <= rows.limit - rows.others)


def build_model(
    problem: AssignmentProblem,
    hard_mandatory: bool,
    orders: Iterable[int] | None = None,
    free: list[list[int]] | None = None,
    buyer_caps: dict[tuple[int, str], int] | None = None,
    offered: dict[int, list[int]] | None = None,
    materials: MaterialState | None = None,
    overtime: int | None = None,
    fixed_fairness: Tally | None = None,
) -> tuple[cp_model.CpModel, Variables]:
    """The CP-SAT model of ``problem`` (variables -> constraints -> objective).

    With ``orders``, only those orders are modelled, within the ``free`` capacity
    (and ``buyer_caps``, and the ``materials`` still to come) the other, fixed orders
    leave: a neighbourhood for LNS. With ``overtime`` (weighted cents per minute), every
    capacity row may be exceeded by whole minutes bought at that price
    (``Variables.overtime``): what it would take to serve more (docs/explain.md).

    The problem's fairness options and load-balance term (docs/fairness.md) are in the
    whole model; a model of some ``orders`` has them only with ``fixed_fairness``, the
    other orders' work per factory (LNS); without it, it leaves them out (the analyses
    that re-solve a few orders: capacity sharing, diagnosis).
    """
    b = ModelBuilder(
        problem,
        free=free or [],
        buyer_caps=buyer_caps or {},
        offered=offered or {},
        materials=materials,
        overtime=overtime,
        fixed_fairness=fixed_fairness,
    )
    for index in range(len(problem.orders)) if orders is None else orders:
        b.add_order(index, hard_mandatory)
    b.add_capacity()
    b.add_materials()
    if orders is None or fixed_fairness is not None:
        b.add_fairness()
    b.model.minimize(sum(a * x for a, x in b.objective) + b.constant)
    return b.model, b.v


def hint(
    model: cp_model.CpModel, problem: AssignmentProblem, v: Variables, parts: list[Part]
) -> None:
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


def extract_flows(solver: cp_model.CpSolver, v: Variables) -> dict[tuple[int, int], int]:
    """Units moving between stage parts of orders split by operation (positive only)."""
    out: dict[tuple[int, int], int] = {}
    for key, w in v.flows.items():
        units = int(solver.value(w))
        if units > 0:
            out[key] = units
    return out


def extract(solver: cp_model.CpSolver, v: Variables) -> list[Part]:
    parts: list[Part] = []
    for k, y in v.used.items():
        if not solver.boolean_value(y):
            continue
        quantities = {t: int(solver.value(x)) for t, x in v.make[k].items()}
        quantities = {t: q for t, q in quantities.items() if q > 0}
        if quantities:
            parts.append(Part(k, quantities))
    return parts
