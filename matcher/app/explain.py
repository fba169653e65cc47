"""Explain one order of a plan, factory by factory (docs/explain.md).

For every factory: why an ineligible one is out (the compilation's own filters,
:func:`solvers.assignment.problem.factory_verdicts`); for an eligible one, what
making the whole order there costs by term, what blocks it as the plan stands (the
resource, periods and orders holding that capacity, or the material), and the
objective change of moving the order there, re-solved exactly with CP-SAT (the order
fixed to the factory, the holders freed, everything else as planned) rather than
guessed.
"""

from __future__ import annotations

import time
from collections import defaultdict

from matcher.domain.consistency import Issue
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import (
    Blocking,
    BlockingKind,
    CostTerms,
    FactoryVerdict,
    Move,
    MoveResult,
    OrderExplanation,
    PeriodQuantity,
    Plan,
    SolveStatus,
)
from matcher.domain.validation import (
    InvalidInstanceError,
    plan_instance_issues,
    plan_number_issues,
)
from solvers.assignment.base import Part
from solvers.assignment.greedy import Capacity, cost, fill
from solvers.assignment.materials import material_uses
from solvers.assignment.problem import (
    AssignmentProblem,
    Candidate,
    Eligibility,
    build_problem,
    factory_verdicts,
)
from solvers.sharing.move import resolve_forced

ORDER_SECONDS = 4.0
"""Default re-solve time for one order's explanation (all its moves together)."""
MAX_MOVES = 8
"""Eligible factories whose move is re-solved per order, cheapest first."""
MAX_FREED = 6
"""Holders freed in one move's re-solve, those holding the most first."""
EXPLAIN_SHARE = 0.25
"""``solve --explain``: share of the time limit the explanations may take."""
MAX_ORDER_SECONDS = 2.0
"""``solve --explain``: most re-solve time one order gets."""


def explain_order(
    instance: Instance,
    plan: Plan,
    order: str,
    params: SolveParams | None = None,
    seconds: float = ORDER_SECONDS,
) -> OrderExplanation:
    """Why ``order`` is where ``plan`` puts it (or unserved), factory by factory.

    ``seconds`` is shared by the order's re-solves (deterministic time with
    ``params.workers == 1``; the re-solves always use one worker).

    Raises
    ------
    InvalidInstanceError
        When ``plan`` does not belong to ``instance``, ``order`` is unknown or is split by
        operation (not explained yet).
    """
    _check(instance, plan)
    context = _Context(instance, plan)
    return context.explain(order, params or SolveParams(workers=1), seconds)


def explain_plan(
    instance: Instance, plan: Plan, params: SolveParams, seconds: float | None = None
) -> Plan:
    """``plan`` with explanations of its unassigned and late orders, in ``seconds`` of
    re-solves in all (default: a share of ``params.time_limit_s``), at most
    :data:`MAX_ORDER_SECONDS` each; the assignment stage's notes say what was skipped."""
    started = time.perf_counter()
    budget = EXPLAIN_SHARE * params.time_limit_s if seconds is None else seconds
    context = _Context(instance, plan)
    late = sorted({a.order for a in plan.allocations if a.late_units})
    targets = [u.order for u in plan.unassigned] + late
    split = {o.id for o in instance.orders if o.split.by_operation and len(o.operations) > 1}
    skipped = [o for o in targets if o in split]
    targets = [o for o in targets if o not in split]
    per_order = min(MAX_ORDER_SECONDS, budget / max(1, len(targets)))
    explanations: list[OrderExplanation] = []
    out_of_time: list[str] = []
    for oid in targets:
        # Deterministic limits per re-solve; the wall clock only guards a slow machine.
        if time.perf_counter() - started > 3 * budget + 1:
            out_of_time.append(oid)
            continue
        explanations.append(context.explain(oid, params, per_order))
    notes = [
        f"explain: {len(explanations)} of {len(targets) + len(skipped)} unassigned or late "
        f"order(s) explained, {per_order:.2f} s of re-solves each"
    ]
    if skipped:
        notes.append(f"explain: orders split by operation not explained: {', '.join(skipped)}")
    if out_of_time:
        notes.append(f"explain: out of time before {', '.join(out_of_time)}")
    stage = plan.stages[0]
    stage = stage.model_copy(update={"notes": [*stage.notes, *notes]})
    return plan.model_copy(
        update={"explanations": explanations, "stages": [stage, *plan.stages[1:]]}
    )


def blocking_explanations(
    instance: Instance, plan: Plan, orders: list[str]
) -> list[OrderExplanation]:
    """Explanations of ``orders`` without the moves' re-solves (every ``move`` is None):
    per factory the eligibility, the cost and what blocks it, in milliseconds an order;
    the constraint report (:mod:`matcher.app.constraints`) reads them.

    Raises
    ------
    InvalidInstanceError
        As :func:`explain_order`.
    """
    _check(instance, plan)
    context = _Context(instance, plan)
    params = SolveParams(workers=1)
    return [context.explain(oid, params, 0.0, resolve=False) for oid in orders]


def _check(instance: Instance, plan: Plan) -> None:
    checked = plan_number_issues(plan, "plan")
    if issues := checked or plan_instance_issues(plan, instance, "plan"):
        raise InvalidInstanceError(issues)


class _Context:
    """The problem compiled in the plan's weights, and the plan's parts in its terms."""

    def __init__(self, instance: Instance, plan: Plan) -> None:
        self.plan = plan
        self.problem = problem = build_problem(instance, plan.weights)
        self.index = {info.order.id: info.index for info in problem.orders}
        factory_of = {f.id: fi for fi, f in enumerate(instance.factories)}
        cand_of: dict[tuple[int, int, int | None], int] = {}
        for k, c in enumerate(problem.candidates):
            cand_of[(c.order, c.factory, c.operation)] = k
        self.parts: dict[int, list[Part]] = defaultdict(list)
        # order, factory, operation (None: all), units: plan parts that are no candidate
        self.foreign: list[tuple[int, int, int | None, dict[int, int]]] = []
        self._taken: Capacity | None = None  # the whole plan's use, taken once
        seen: set[tuple[int, int, int | None]] = set()
        for a in plan.allocations:
            o, fi = self.index[a.order], factory_of[a.factory]
            op = a.operation if problem.orders[o].stages is not None else None
            if op is None and a.operation != 0:
                continue  # one part per (order, factory): its first operation's row
            quantities = {pq.period: pq.quantity for pq in a.periods if pq.quantity > 0}
            if (o, fi, op) in seen:
                continue
            seen.add((o, fi, op))
            found = cand_of.get((o, fi, op))
            if found is None:
                self.foreign.append((o, fi, op, quantities))
            else:
                self.parts[o].append(Part(found, quantities))

    def capacity(self, without: set[int]) -> Capacity:
        """What every part of the plan leaves, except the parts of ``without``: the whole
        plan's use, taken once, with those orders' parts given back (the use is additive,
        so this is what taking all the others would leave, at a copy's cost)."""
        if self._taken is None:
            self._taken = Capacity(self.problem)
            for parts in self.parts.values():
                for p in parts:
                    self._taken.take(self.problem.candidates[p.candidate], p.quantities)
            for o, fi, op, quantities in self.foreign:
                self._take_raw(self._taken, o, fi, op, quantities)
        cap = self._taken.copy()
        for o in without:
            for p in self.parts.get(o, []):
                cap.give_back(self.problem.candidates[p.candidate], p.quantities)
        for o, fi, op, quantities in self.foreign:
            if o in without:
                self._take_raw(cap, o, fi, op, quantities, sign=-1)
        return cap

    def _take_raw(
        self,
        cap: Capacity,
        o: int,
        fi: int,
        op: int | None,
        quantities: dict[int, int],
        sign: int = 1,
    ) -> None:
        """A plan part the problem has no candidate for still uses its time and materials."""
        p = self.problem
        order = p.orders[o].order
        caps = {c.process: c for c in p.instance.factories[fi].capabilities}
        groups = {r.group: i for i, r in enumerate(p.resources) if r.factory == fi}
        for j, operation in enumerate(order.operations):
            if op is not None and j != op:
                continue
            c = caps.get(operation.process)
            if c is None or c.resource_group not in groups:
                continue
            for t, q in quantities.items():
                cap.free[groups[c.resource_group]][t] -= sign * (
                    c.seconds_per_unit * q + 60 * c.setup_minutes
                )
        index = {lim.material: m for m, lim in enumerate(p.materials)}
        uses = material_uses(index, order.bill_of_materials)
        if uses and cap.materials is not None and op in (None, 0):
            cap.materials.take(fi, uses, quantities, sign)

    def plan_cost(self, o: int, parts: list[Part]) -> int:
        """The order's share of the plan's objective: its parts' weighted cost, or its
        unserved penalty (0 for a mandatory order, as in the plan's costs)."""
        p = self.problem
        if parts:
            return sum(cost(p, p.candidates[x.candidate], x.quantities) for x in parts)
        pen = p.orders[o].order.penalties.unserved_cents
        return 0 if pen is None else p.weights.unserved * pen

    def explain(
        self, oid: str, params: SolveParams, seconds: float, resolve: bool = True
    ) -> OrderExplanation:
        """``oid``'s explanation; ``resolve=False`` leaves out the moves' re-solves (each
        verdict's ``move`` is then None): the blocking alone, in milliseconds."""
        started = time.perf_counter()
        if oid not in self.index:
            raise InvalidInstanceError([Issue("order", f"unknown order '{oid}'")])
        p = self.problem
        i = self.index[oid]
        info = p.orders[i]
        if info.stages is not None:
            raise InvalidInstanceError(
                [Issue("order", f"{oid} is split by operation: not explained yet")]
            )
        mine = self.parts.get(i, [])
        in_plan = {p.candidates[x.candidate].factory for x in mine}
        unassigned = {u.order: u for u in self.plan.unassigned}
        late = any(a.late_units for a in self.plan.allocations if a.order == oid)
        left = self.capacity({i})
        empty = Capacity(p)
        eligible: list[tuple[FactoryVerdict, Eligibility]] = []
        others: list[FactoryVerdict] = []
        for v in factory_verdicts(p, i):
            fid = p.instance.factories[v.factory].id
            if not v.candidates:
                others.append(
                    FactoryVerdict(factory=fid, eligible=False, reason=v.reason, detail=v.detail)
                )
                continue
            cand = p.candidates[v.candidates[0]]
            terms, blocking = self._price(i, cand, left, empty)
            verdict = FactoryVerdict(
                factory=fid,
                eligible=True,
                in_plan=v.factory in in_plan,
                cost=terms,
                blocking=blocking,
            )
            eligible.append((verdict, v))
        eligible.sort(key=lambda e: (e[0].cost.objective if e[0].cost else 0, e[0].factory))
        # A late order's own factory is re-solved too when others hold its on-time periods.
        moving = [e for e in eligible if resolve and _worth_moving(e[0], len(in_plan))]
        moving = moving[:MAX_MOVES]
        per_move = seconds / max(1, len(moving))
        chosen = {id(e[0]) for e in moving}
        verdicts: list[FactoryVerdict] = []
        for verdict, v in eligible:
            move: MoveResult | None
            if not resolve:
                move = None
            elif id(verdict) in chosen:
                move = self._move(i, list(v.candidates), verdict.blocking, params, per_move)
            elif verdict.in_plan:
                move = MoveResult(re_solved=False, detail="the plan makes the order here")
            else:
                move = MoveResult(
                    re_solved=False,
                    detail=f"not re-solved: only the {MAX_MOVES} cheapest eligible factories are",
                )
            verdicts.append(verdict.model_copy(update={"move": move}))
        others.sort(key=lambda f: f.factory)
        gains = [
            (f.move.objective_delta, f.factory)
            for f in verdicts
            if f.move is not None and f.move.objective_delta is not None
        ]
        best = min(gains, default=None)
        u = unassigned.get(oid)
        notes = []
        if self.foreign:
            notes.append(
                f"{len(self.foreign)} plan part(s) are no candidate in the plan's weights; "
                "they keep their capacity and are never moved"
            )
        return OrderExplanation(
            order=oid,
            state="unassigned" if u is not None else "late" if late else "on_time",
            reason=None if u is None else u.reason,
            detail="" if u is None else u.detail,
            plan_factories=sorted(p.instance.factories[f].id for f in in_plan),
            plan_objective=self.plan_cost(i, mine),
            factories=verdicts + others,
            best_move=best[1] if best is not None and best[0] < 0 else None,
            notes=notes,
            wall_time_s=round(time.perf_counter() - started, 3),
        )

    def _price(
        self, i: int, cand: Candidate, left: Capacity, empty: Capacity
    ) -> tuple[CostTerms, Blocking]:
        """The whole order at ``cand``'s factory: its cost by term (placed just in time in
        the plan's free capacity, else on the empty factory) and what is in its way."""
        p = self.problem
        qty = p.orders[i].order.quantity
        if not cand.lo <= qty <= cand.hi:
            blocking = Blocking(
                kind=BlockingKind.NONE,
                detail=f"a part here holds {cand.lo}..{cand.hi} units: the order needs "
                "another factory too",
            )
            return self._terms(cand, None, "none"), blocking
        placed = fill(p, left, cand, qty)
        if placed is not None:
            terms = self._terms(cand, placed, "free")
            on_time = fill(p, empty, cand, qty)
            if terms.late_units and on_time is not None and not _late(p, cand, on_time):
                blocking = self._capacity_block(i, cand, left, on_time=True)
                return terms, blocking
            detail = "fits as the plan stands"
            if terms.late_units:
                detail += ", late: it cannot be on time here even on the empty factory"
            return terms, Blocking(kind=BlockingKind.NONE, detail=detail)
        if fill(p, left.without_materials(), cand, qty) is not None:
            return self._terms(cand, fill(p, empty, cand, qty), "empty"), self._material_block(
                i, cand, "what can arrive in time is taken by the plan's other orders"
            )
        on_empty = fill(p, empty, cand, qty)
        if on_empty is not None:
            return self._terms(cand, on_empty, "empty"), self._capacity_block(i, cand, left)
        if fill(p, empty.without_materials(), cand, qty) is not None:
            return self._terms(cand, None, "none"), self._material_block(
                i, cand, "not enough can arrive in time even with no other order"
            )
        return self._terms(cand, None, "none"), Blocking(
            kind=BlockingKind.CAPACITY,
            detail=f"cannot make {qty} units in periods {cand.first}..{cand.last} even when "
            "the factory is empty",
        )

    def _terms(self, cand: Candidate, placed: dict[int, int] | None, where: str) -> CostTerms:
        p = self.problem
        o = p.orders[cand.order].order
        w = p.weights
        qty = o.quantity
        quantities = placed or {}
        late_units = sum(q for t, q in quantities.items() if t > o.due_period)
        lateness = sum(
            o.penalties.late_cents_per_unit_period * (t - o.due_period) * q
            for t, q in quantities.items()
            if t > o.due_period
        )
        production, transport, credit = (
            cand.unit_cost * qty,
            cand.transport * qty,
            cand.credit * qty,
        )
        return CostTerms(
            production=production,
            transport=transport,
            lateness=lateness,
            credit=credit,
            objective=w.production * production
            + w.transport * transport
            + w.lateness * lateness
            + w.credit * credit,
            late_units=late_units,
            periods=[PeriodQuantity(period=t, quantity=q) for t, q in sorted(quantities.items())],
            placed_in=where if placed is not None else "none",
        )

    def _capacity_block(
        self, i: int, cand: Candidate, left: Capacity, on_time: bool = False
    ) -> Blocking:
        """The tightest resource of ``cand`` in the order's window (on-time periods when
        asking why it is late), its full periods and the orders holding it there."""
        p = self.problem
        o = p.orders[i].order
        qty = o.quantity
        last = min(cand.last, o.due_period) if on_time else cand.last
        window = range(cand.first, last + 1)
        worst: tuple[float, int] | None = None
        for u in cand.usage:
            need = u.seconds_per_unit * qty + u.setup_seconds
            free = sum(max(0, left.free[u.resource][t]) for t in window)
            ratio = free / need if need else float("inf")
            if worst is None or ratio < worst[0]:
                worst = (ratio, u.resource)
        assert worst is not None
        r = worst[1]
        usage = next(u for u in cand.usage if u.resource == r)
        one = usage.seconds_per_unit + usage.setup_seconds
        _, held = self._held(r, window, skip=i)
        taken = [t for t in window if held.get(t)]
        periods = [t for t in taken if left.free[r][t] < one] or taken
        holders = [h for h in self._holders(r, periods) if h != i]
        res = p.resources[r]
        free_min = sum(max(0, left.free[r][t]) for t in window) // 60
        need_min = -(-(usage.seconds_per_unit * qty + usage.setup_seconds) // 60)
        detail = (
            f"{res.group} has {free_min} min free in periods {window.start}..{window.stop - 1}"
            f"{' (on time)' if on_time else ''}, the order needs at least {need_min} min"
        )
        if on_time:
            detail = "fits, but only late: " + detail
        return Blocking(
            kind=BlockingKind.CAPACITY,
            resource=res.group,
            periods=periods,
            holders=[p.orders[h].order.id for h in holders],
            detail=detail,
        )

    def _held(
        self, r: int, window: range, skip: int | None = None
    ) -> tuple[dict[int, int], dict[int, int]]:
        """Seconds the plan's parts (but ``skip``'s) hold on resource ``r`` in ``window``:
        by order, by period."""
        p = self.problem
        by_order: dict[int, int] = defaultdict(int)
        by_period: dict[int, int] = defaultdict(int)
        for o, parts in self.parts.items():
            if o == skip:
                continue
            for x in parts:
                cand = p.candidates[x.candidate]
                for u in cand.usage:
                    if u.resource != r:
                        continue
                    for t, q in x.quantities.items():
                        if t in window:
                            s = u.seconds_per_unit * q + u.setup_seconds
                            by_order[o] += s
                            by_period[t] += s
        return by_order, by_period

    def _holders(self, r: int, periods: list[int]) -> list[int]:
        """Orders holding resource ``r`` in ``periods``, most seconds first."""
        if not periods:
            return []
        span = range(min(periods), max(periods) + 1)
        by_order, _ = self._held(r, span)
        chosen = set(periods)
        p = self.problem
        seconds: dict[int, int] = defaultdict(int)
        for o in by_order:
            for x in self.parts[o]:
                for u in p.candidates[x.candidate].usage:
                    if u.resource == r:
                        seconds[o] += sum(
                            u.seconds_per_unit * q + u.setup_seconds
                            for t, q in x.quantities.items()
                            if t in chosen
                        )
        return [o for o, s in sorted(seconds.items(), key=lambda e: (-e[1], e[0])) if s > 0]

    def _material_block(self, i: int, cand: Candidate, why: str) -> Blocking:
        """The order's binding material and the plan's orders using the most of it."""
        p = self.problem
        mats = [m for m, _ in cand.materials]
        if not mats:
            return Blocking(kind=BlockingKind.MATERIAL, detail=why)
        use: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for o, parts in self.parts.items():
            if o == i:
                continue
            for x in parts:
                for m, per_unit in p.candidates[x.candidate].materials:
                    use[m][o] += per_unit * x.quantity
        m = max(mats, key=lambda m: (sum(use[m].values()), -m))
        limit = p.materials[m]
        holders = [o for o, _ in sorted(use[m].items(), key=lambda e: (-e[1], e[0]))]
        return Blocking(
            kind=BlockingKind.MATERIAL,
            material=limit.material,
            holders=[p.orders[o].order.id for o in holders],
            detail=f"{limit.material} ({limit.binding}): {why}",
        )

    def _move(
        self,
        i: int,
        candidates: list[int],
        blocking: Blocking | None,
        params: SolveParams,
        seconds: float,
    ) -> MoveResult:
        """Re-solve the order fixed to these candidates with the holders freed."""
        p = self.problem
        freed = [self.index[h] for h in (blocking.holders if blocking else [])][:MAX_FREED]
        orders = [i, *freed]
        cap = self.capacity(set(orders))
        answer = resolve_forced(p, self.parts, orders, cap, params, seconds, {i: candidates})
        names = [p.orders[o].order.id for o in orders]
        if not answer.parts:
            detail = (
                "it cannot be made there even with the holders moved"
                + (" (without leaving a served mandatory order out)" if freed else "")
                if answer.status == SolveStatus.INFEASIBLE
                else "no solution within the time limit"
            )
            return MoveResult(re_solved=True, status=answer.status, orders=names, detail=detail)
        after_parts: dict[int, list[Part]] = defaultdict(list)
        for x in answer.parts:
            after_parts[p.candidates[x.candidate].order].append(x)
        before = sum(self.plan_cost(o, self.parts.get(o, [])) for o in orders)
        after = sum(self.plan_cost(o, after_parts.get(o, [])) for o in orders)
        moved = [
            m for o in orders for m in _moves(p, o, self.parts.get(o, []), after_parts.get(o, []))
        ]
        proved = answer.status == SolveStatus.OPTIMAL
        detail = (
            "proved optimal for these orders"
            if proved
            else "the time limit came first: not proved optimal (the delta is an upper bound)"
        )
        if p.orders[i].order.mandatory and not self.parts.get(i):
            detail += (
                "; serving a mandatory order (its unserved penalty is not in the plan's objective)"
            )
        return MoveResult(
            objective_delta=after - before,
            re_solved=True,
            status=answer.status,
            orders=names,
            moved=moved,
            detail=detail,
        )


def _worth_moving(verdict: FactoryVerdict, plan_parts: int) -> bool:
    """A factory the plan does not use; or the one factory of a late order whose on-time
    periods other orders hold (freeing them may make it on time)."""
    if not verdict.in_plan:
        return True
    b = verdict.blocking
    return plan_parts == 1 and b is not None and b.kind != BlockingKind.NONE


def _late(p: AssignmentProblem, cand: Candidate, quantities: dict[int, int]) -> bool:
    due = p.orders[cand.order].order.due_period
    return any(t > due for t in quantities)


def _moves(p: AssignmentProblem, o: int, before: list[Part], after: list[Part]) -> list[Move]:
    """How one re-solved order's units changed factory."""
    oid = p.orders[o].order.id

    def units(parts: list[Part]) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for x in parts:
            out[p.instance.factories[p.candidates[x.candidate].factory].id] += x.quantity
        return out

    was, now = units(before), units(after)
    out = {f: was[f] - now.get(f, 0) for f in was if was[f] > now.get(f, 0)}
    into = {f: now[f] - was.get(f, 0) for f in now if now[f] > was.get(f, 0)}
    moves: list[Move] = []
    for f_out in sorted(out):
        for f_in in sorted(into):
            n = min(out[f_out], into[f_in])
            if n:
                moves.append(Move(order=oid, from_factory=f_out, to_factory=f_in, units=n))
                out[f_out] -= n
                into[f_in] -= n
        if out[f_out]:
            moves.append(Move(order=oid, from_factory=f_out, to_factory=None, units=out[f_out]))
    for f_in in sorted(into):
        if into[f_in]:
            moves.append(Move(order=oid, from_factory=None, to_factory=f_in, units=into[f_in]))
    return moves
