"""The assignment problem compiled from an instance: integers and indices only.

Every back-end solves this same object, so they agree on semantics by
construction (docs/model.md). Building it applies the hard filters, records the
reason an order has no candidate, and cuts periods that no optimal plan uses.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from matcher.domain.entities import (
    Capability,
    Factory,
    FairnessOptions,
    ObjectiveWeights,
    Operation,
    Order,
)
from matcher.domain.geo import (
    EARTH_RADIUS_KM,
    transfer_lag_periods,
    transfer_minutes,
    transport_cents_per_unit,
)
from matcher.domain.instance import Instance
from matcher.domain.params import StopSignal
from matcher.domain.plan import ReasonCode
from solvers.assignment.fairness import Fairness, compile_fairness
from solvers.assignment.materials import (
    MaterialLimit,
    MaterialState,
    compile_limits,
    earliest_start,
    material_uses,
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Load a part puts on one resource group: per unit and per running period."""

    resource: int  # index into AssignmentProblem.resources
    seconds_per_unit: int
    setup_seconds: int


@dataclass(slots=True)
class Candidate:
    """An eligible (order, factory) pair: one possible part."""

    order: int
    factory: int
    unit_cost: int  # production cents per unit, summed over operations
    transport: int  # transport cents per unit
    credit: int  # 100 - credit score
    lo: int  # smallest part
    hi: int  # largest part
    usage: tuple[Usage, ...]
    first: int  # first period it may produce in
    last: int  # last period worth producing in
    base: int = 0  # weighted per-unit objective coefficient, on time
    # None: a part making every operation; j: a stage part of an order split by
    # operation, making operation j only (docs/model.md)
    operation: int | None = None
    # (index into AssignmentProblem.materials, millionths of a unit per unit made)
    materials: tuple[tuple[int, int], ...] = ()

    @property
    def periods(self) -> range:
        return range(self.first, self.last + 1)


@dataclass(slots=True)
class OrderInfo:
    index: int
    order: Order
    candidates: list[int] = field(default_factory=list)  # indices into problem.candidates
    reason: ReasonCode | None = None  # set when there is no candidate
    detail: str = ""
    # orders split by operation: the candidates of each operation (all are also in
    # ``candidates``); None for an ordinary order
    stages: list[list[int]] | None = None

    @property
    def max_parts(self) -> int:
        return self.order.split.max_factories if self.order.split.allowed else 1


@dataclass(frozen=True, slots=True)
class Resource:
    factory: int
    group: str
    free_seconds: tuple[int, ...]  # per period


@dataclass(frozen=True)
class AnchorSpec:
    """A re-plan's ties to the previous plan, in instance ids (see :class:`Anchor`)."""

    now: int
    fixed: dict[tuple[str, str], dict[int, int]]  # (order, factory) -> period -> units
    previous: dict[tuple[str, str], int]  # (order, factory) -> units previously there
    initial: dict[tuple[str, str], dict[int, int]]  # the previous plan, repaired
    stability: int  # weighted cents per unit moved


@dataclass
class Anchor:
    """A re-plan's ties to the previous plan (docs/sharing.md).

    New production only from period ``now``. ``fixed`` units stay (at least) where
    and when they were: done work and frozen parts; an order holding some must be
    served (its unserved cost is the mandatory penalty). Every unit of ``previous``
    no longer made at its candidate costs ``stability``. ``initial`` is the previous
    plan where it still fits: the warm start.
    """

    now: int
    fixed: dict[int, dict[int, int]]  # candidate -> period -> units
    previous: dict[int, int]  # candidate -> units
    initial: dict[int, dict[int, int]]  # candidate -> period -> units
    stability: int
    forced: set[int]  # orders holding fixed units
    lost: list[str] = field(default_factory=list)  # fixed work no candidate can hold

    def previous_of(self, problem: AssignmentProblem, order: int) -> list[int]:
        return [k for k in problem.orders[order].candidates if k in self.previous]


@dataclass
class AssignmentProblem:
    instance: Instance
    weights: ObjectiveWeights
    periods: int
    orders: list[OrderInfo]
    candidates: list[Candidate]
    resources: list[Resource]
    # (factory index, buyer) -> cap in seconds, for factories with max_buyer_share
    buyer_caps: dict[tuple[int, str], int]
    mandatory_penalty: int  # internal penalty for an unserved mandatory order
    anchor: Anchor | None = None  # set for a re-plan
    # purchased materials whose supply can bind (docs/model.md, "Materials")
    materials: list[MaterialLimit] = field(default_factory=list)
    # without an anchor, a plan to start from (candidate -> period -> units): the
    # previous round's plan in a feedback round
    warm: dict[int, dict[int, int]] | None = None
    # fairness options and the load-balance term (docs/fairness.md); None: neither
    fairness: Fairness | None = None
    _lags: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)

    def periods_of(self, k: int) -> list[int]:
        """Periods candidate ``k`` may hold units in: its window, and its fixed units'."""
        cand = self.candidates[k]
        fixed = self.anchor.fixed.get(k) if self.anchor else None
        if not fixed:
            return list(cand.periods)
        return sorted(set(cand.periods) | fixed.keys())

    def fixed_units(self, k: int, t: int) -> int:
        if self.anchor is None:
            return 0
        return self.anchor.fixed.get(k, {}).get(t, 0)

    def stability_cost(self, order: int, made: dict[int, int]) -> int:
        """Stability penalty of ``order`` when its candidates make ``made[k]`` units."""
        a = self.anchor
        if a is None or not a.stability:
            return 0
        return a.stability * sum(
            max(0, a.previous[k] - made.get(k, 0)) for k in a.previous_of(self, order)
        )

    @property
    def by_operation(self) -> list[int]:
        """Orders split by operation that have candidates."""
        return [i.index for i in self.orders if i.stages is not None and i.candidates]

    def transfer(self, k: int, k2: int) -> tuple[int, int]:
        """Lag in periods and weighted cents per unit of moving the units of an order split
        by operation from stage part ``k`` to stage part ``k2`` (the next operation's)."""
        a, b = self.candidates[k], self.candidates[k2]
        if a.factory == b.factory:
            return 0, 0
        key = (a.factory, b.factory)
        lag = self._lags.get(key)
        fa, fb = self.instance.factories[a.factory], self.instance.factories[b.factory]
        if lag is None:
            minutes = transfer_minutes(fa.location, fb.location, self.instance.transport)
            lag = transfer_lag_periods(minutes, self.instance.horizon.period_minutes)
            self._lags[key] = lag
        o = self.orders[a.order].order
        rate = transport_cents_per_unit(
            fa.location, fb.location, self.instance.transport, o.unit_weight_kg
        )
        return lag, rate

    def late_cost(self, order: int, period: int) -> int:
        """Weighted lateness cost of one unit of ``order`` produced in ``period``."""
        o = self.orders[order].order
        return (
            self.weights.lateness
            * o.penalties.late_cents_per_unit_period
            * max(0, period - o.due_period)
        )

    def unit_cost(self, cand: Candidate, period: int) -> int:
        if cand.operation is not None and cand.operation < self._last_op(cand.order):
            return cand.base  # lateness is on the last operation
        return cand.base + self.late_cost(cand.order, period)

    def _last_op(self, order: int) -> int:
        return len(self.orders[order].order.operations) - 1

    def unserved_cost(self, order: int) -> int:
        o = self.orders[order].order
        if o.penalties.unserved_cents is None or (
            self.anchor is not None and order in self.anchor.forced
        ):
            return self.mandatory_penalty
        return self.weights.unserved * o.penalties.unserved_cents

    def with_costs(
        self, extra: Mapping[int, int], warm: dict[int, dict[int, int]] | None = None
    ) -> AssignmentProblem:
        """A copy in which candidate ``k`` costs ``extra[k]`` more weighted cents per unit
        (what purchasing and transport really cost there), starting from ``warm``.

        Candidates stay where they are (parts keep their indices); each order's list
        is re-sorted cheapest first, and the mandatory penalty grows so that serving a
        mandatory order still beats any saving."""
        candidates = [
            replace(c, base=c.base + extra[k]) if extra.get(k) else c
            for k, c in enumerate(self.candidates)
        ]

        def cheapest(ks: list[int]) -> list[int]:
            return sorted(ks, key=lambda k: (candidates[k].base, candidates[k].factory))

        orders = [
            replace(
                info,
                candidates=cheapest(info.candidates),
                stages=None if info.stages is None else [cheapest(s) for s in info.stages],
            )
            for info in self.orders
        ]
        rise = sum(
            info.order.quantity * max((extra.get(k, 0) for k in info.candidates), default=0)
            for info in self.orders
        )
        return replace(
            self,
            orders=orders,
            candidates=candidates,
            mandatory_penalty=self.mandatory_penalty + rise,
            warm=warm,
            _lags=dict(self._lags),
        )

    def kept_material_need(self) -> list[list[int]] | None:
        """``R`` of a re-plan's fixed work alone, per material and checkpoint (None
        without fixed work): work already done or frozen is taken as given."""
        if self.anchor is None or not self.anchor.fixed:
            return None
        state = MaterialState(self.materials)
        for k, slices in self.anchor.fixed.items():
            cand = self.candidates[k]
            if cand.materials:
                state.take(cand.factory, cand.materials, slices, 1)
        return state.need

    @cached_property
    def size(self) -> int:
        """Number of (candidate, period) production variables: counted once (a pass
        over every candidate, 0.2 s at 50 000 orders, asked for by several stages; the
        candidates never change once compiled, and ``replace`` makes a new problem)."""
        return sum(c.last - c.first + 1 for c in self.candidates)


def transport_rate(instance: Instance, order: Order, factory: Factory) -> int:
    """Per-unit transport cents from factory to the order's delivery point."""
    return transport_cents_per_unit(
        factory.location, order.delivery, instance.transport, order.unit_weight_kg
    )


class _TransportRates:
    """:func:`transport_rate` for one order and many factories at once (numpy)."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.lat = np.radians([f.location.lat for f in instance.factories])
        self.lon = np.radians([f.location.lon for f in instance.factories])

    def for_order(self, order: Order, factories: list[int]) -> dict[int, int]:
        if not factories:
            return {}
        return dict(zip(factories, self.array(order, factories).tolist(), strict=True))

    def array(self, order: Order, factories: Sequence[int] | np.ndarray) -> np.ndarray:
        """The rates to ``factories``, in that order, as an int64 array."""
        return self.rows([order], factories)[0]

    def rows(self, orders: Sequence[Order], factories: Sequence[int] | np.ndarray) -> np.ndarray:
        """The rates from ``factories`` to each order's delivery point, a row an order.
        Every operation is elementwise, so a row holds the same numbers as that order
        alone; many orders at once save numpy's per-call cost (:meth:`_Offers.transport`)."""
        idx = np.asarray(factories, dtype=np.intp)
        lats = [math.radians(o.delivery.lat) for o in orders]
        lat1 = np.array(lats)[:, None]
        lon1 = np.array([math.radians(o.delivery.lon) for o in orders])[:, None]
        cos1 = np.array([math.cos(lat) for lat in lats])[:, None]
        weight = np.array([[o.unit_weight_kg] for o in orders], dtype=np.float64)
        lat2, lon2 = self.lat[idx], self.lon[idx]
        h = np.sin((lat2 - lat1) / 2) ** 2 + cos1 * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(h)))
        t = self.instance.transport
        rate = km * t.road_factor * weight * t.cents_per_tonne_km / 1000 + 0.5
        return np.floor(rate).astype(np.int64)


_FILTER_ORDER = (
    ReasonCode.NO_CAPABLE_FACTORY,
    ReasonCode.CREDIT_BELOW_MIN,
    ReasonCode.PRICE_ABOVE_MAX,
    ReasonCode.LOT_SIZE_INFEASIBLE,
    ReasonCode.MATERIAL_UNAVAILABLE,
)


@dataclass
class _Materials:
    """The material limits by id and index, for placing candidates in time."""

    limits: list[MaterialLimit]
    by_id: dict[str, MaterialLimit] = field(init=False)
    index: dict[str, int] = field(init=False)
    _stock_masks: dict[str, np.ndarray] = field(init=False)  # material -> factory holds stock

    def __post_init__(self) -> None:
        # Built once: every candidate of every order asks them.
        self.by_id = {lim.material: lim for lim in self.limits}
        self.index = {lim.material: m for m, lim in enumerate(self.limits)}
        self._stock_masks = {}

    def starts(
        self, order: Order, factories: np.ndarray, n_factories: int
    ) -> tuple[tuple[tuple[int, int], ...], np.ndarray, np.ndarray]:
        """:meth:`place` for one order at many factories at once: the order's material
        uses, the first period each factory may start as far as materials go, and
        whether it never can (:func:`~solvers.assignment.materials.earliest_start`)."""
        uses = material_uses(self.index, order.bill_of_materials)
        start = np.zeros(len(factories), dtype=np.int64)
        never = np.zeros(len(factories), dtype=bool)
        if not uses:
            return uses, start, never
        for mid, per_unit in order.bill_of_materials.items():
            lim = self.by_id.get(mid)
            if lim is None or per_unit <= 0:
                continue
            waits = ~self._stocked(lim, n_factories)[factories]
            if lim.earliest is None:
                never |= waits
            else:
                start[waits] = np.maximum(start[waits], lim.earliest)
        return uses, start, never

    def _stocked(self, lim: MaterialLimit, n_factories: int) -> np.ndarray:
        mask = self._stock_masks.get(lim.material)
        if mask is None:
            mask = np.zeros(n_factories, dtype=bool)
            mask[[f for f, q in lim.stock.items() if q > 0]] = True
            self._stock_masks[lim.material] = mask
        return mask

    def place(self, instance: Instance, cand: Candidate) -> tuple[ReasonCode, str] | None:
        """Start ``cand`` no earlier than its materials can be there; why not, if never."""
        if cand.operation not in (None, 0):
            return None
        order = instance.orders[cand.order]
        cand.materials = material_uses(self.index, order.bill_of_materials)
        if not cand.materials:
            return None
        start = earliest_start(order, cand.factory, self.by_id)
        if start is not None and start <= cand.last:
            cand.first = max(cand.first, start)
            return None
        return ReasonCode.MATERIAL_UNAVAILABLE, self.why(order, cand.factory)

    def why(self, order: Order, factory: int) -> str:
        """The material that keeps ``order`` from starting at ``factory``, and what binds."""
        by_id = self.by_id
        late = [
            (lim.earliest if lim.earliest is not None else 1 << 30, mid, lim.binding)
            for mid in sorted(order.bill_of_materials)
            if (lim := by_id.get(mid)) is not None and lim.stock.get(factory, 0) == 0
        ]
        _, mid, binding = max(late)
        return f"needs {mid}: {binding}, and no eligible factory holds it in stock"


class CompileStoppedError(Exception):
    """The stop signal was set while the problem compiled: there is no plan to return
    (a deadline or a cancel must not wait for a compilation of 50 000 orders)."""


def build_problem(
    instance: Instance,
    weights: ObjectiveWeights | None = None,
    max_candidates: int = 0,
    anchor: AnchorSpec | None = None,
    stop: StopSignal | None = None,
    fairness: FairnessOptions | None = None,
) -> AssignmentProblem:
    """Compile ``instance`` into an :class:`AssignmentProblem`; with ``anchor``, a
    re-plan of a previous plan (candidates holding fixed units are never filtered
    out by the economic or reach rules, and new production starts at ``anchor.now``).
    ``stop``, checked between orders, ends it with :class:`CompileStoppedError`.
    ``fairness`` overrides the instance's fairness options (docs/fairness.md)."""
    # Millions of candidates, none of them garbage: the cyclic collector would walk
    # them all again and again (a third of the time at 50 000 orders).
    collecting = gc.isenabled()
    gc.disable()
    try:
        problem = _build_problem(instance, weights, max_candidates, anchor, stop)
    finally:
        if collecting:
            gc.enable()
    fair = compile_fairness(
        instance,
        problem.weights,
        fairness or instance.fairness,
        problem.candidates,
        [r.factory for r in problem.resources],
        [r.free_seconds for r in problem.resources],
    )
    if fair is not None:
        # Serving a mandatory order must still beat whatever fairness it costs.
        most = sum(
            info.order.quantity * max((fair.coef[k] for k in info.candidates), default=0)
            for info in problem.orders
        )
        problem.fairness = fair
        problem.mandatory_penalty += fair.most(most)
    return problem


def _build_problem(
    instance: Instance,
    weights: ObjectiveWeights | None,
    max_candidates: int,
    anchor: AnchorSpec | None,
    stop: StopSignal | None,
) -> AssignmentProblem:
    w = weights or instance.weights
    n_periods = instance.horizon.periods
    resources: list[Resource] = []
    res_index: dict[tuple[int, str], int] = {}
    for fi, f in enumerate(instance.factories):
        for r in f.resources:
            res_index[(fi, r.id)] = len(resources)
            resources.append(
                Resource(fi, r.id, tuple(60 * r.free_minutes(t) for t in range(n_periods)))
            )
    caps_by_factory = [{c.process: c for c in f.capabilities} for f in instance.factories]
    by_process: dict[str, list[int]] = {}
    for fi, caps in enumerate(caps_by_factory):
        for p in caps:
            by_process.setdefault(p, []).append(fi)

    orders = [OrderInfo(i, o) for i, o in enumerate(instance.orders)]
    used = sorted({m for o in instance.orders for m, q in o.bill_of_materials.items() if q > 0})
    materials = _Materials(compile_limits(instance, used))
    candidates: list[Candidate] = []
    profiles: dict[tuple[int, tuple[object, ...]], _Profile | tuple[ReasonCode, str]] = {}
    rates = _TransportRates(instance)
    free = [r.free_seconds for r in resources]
    held: dict[str, set[int]] = {}  # order id -> factories that must stay candidates
    forced: set[str] = set()  # orders holding fixed work
    if anchor is not None:
        factory_index = {f.id: fi for fi, f in enumerate(instance.factories)}
        for oid, fid in list(anchor.fixed) + list(anchor.previous):
            if fid in factory_index:
                held.setdefault(oid, set()).add(factory_index[fid])
        forced = {oid for oid, _ in anchor.fixed}
    # orders holding fixed work keep the per-factory path, which knows those ties
    offers = _Offers(instance, by_process, caps_by_factory, res_index, free, n_periods, forced)
    # per order served through the vectorised path, the most one unit can cost there
    worst_units: dict[int, int] = {}
    now = anchor.now if anchor else 0
    for info in orders:
        if stop is not None and stop.is_set():
            raise CompileStoppedError(f"{stop.reason} while the problem compiled: no plan yet")
        kept = held.get(info.order.id, set())
        vector = _vector_candidates(info, offers, rates, w, max_candidates, materials, now, kept)
        if vector is not None and vector[0]:
            found, worst_units[info.index] = vector
        else:
            found = _order_candidates(
                instance,
                info,
                by_process,
                caps_by_factory,
                res_index,
                free,
                profiles,
                rates,
                w,
                max_candidates,
                materials,
                now,
                kept,
                info.order.id in forced,
            )
        info.candidates.extend(range(len(candidates), len(candidates) + len(found)))
        candidates.extend(found)
        _group_stages(info, candidates)

    buyer_caps: dict[tuple[int, str], int] = {}
    buyers = sorted({o.buyer for o in instance.orders})
    for fi, f in enumerate(instance.factories):
        if f.max_buyer_share is None:
            continue
        total = sum(sum(resources[res_index[(fi, r.id)]].free_seconds) for r in f.resources)
        for buyer in buyers:
            buyer_caps[(fi, buyer)] = math.floor(f.max_buyer_share * total + 1e-9)

    # Larger than the objective of any plan, so that serving a mandatory order
    # always beats any saving elsewhere.
    worst = sum(
        o.order.quantity
        * (
            worst_units[o.index]
            if o.index in worst_units
            else _worst_order_unit(instance, candidates, o, w)
        )
        + w.unserved * (o.order.penalties.unserved_cents or 0)
        for o in orders
    )
    problem = AssignmentProblem(
        instance=instance,
        weights=w,
        periods=n_periods,
        orders=orders,
        candidates=candidates,
        resources=resources,
        buyer_caps=buyer_caps,
        mandatory_penalty=worst + 1,
        materials=materials.limits,
    )
    if anchor is not None:
        problem.anchor = _anchor(problem, anchor)
        # Moving a unit may now cost the stability penalty too.
        problem.mandatory_penalty += anchor.stability * sum(o.quantity for o in instance.orders)
    return problem


@dataclass(frozen=True, slots=True)
class Eligibility:
    """One factory's verdict for one order: its candidates, or why it has none."""

    factory: int
    candidates: tuple[int, ...]  # indices into problem.candidates; empty when excluded
    reason: ReasonCode | None = None
    detail: str = ""


def factory_verdicts(problem: AssignmentProblem, order: int) -> list[Eligibility]:
    """Every factory's verdict for ``order`` (an ordinary order, not one split by
    operation), by the very filters :func:`build_problem` applied: the order's
    candidates are compiled again with each excluded factory's reason recorded."""
    instance = problem.instance
    info = problem.orders[order]
    o = info.order
    assert info.stages is None, "orders split by operation have a verdict per operation"
    res_index = {(r.factory, r.group): i for i, r in enumerate(problem.resources)}
    caps_by_factory = [{c.process: c for c in f.capabilities} for f in instance.factories]
    by_process: dict[str, list[int]] = {}
    for fi, caps in enumerate(caps_by_factory):
        for proc in caps:
            by_process.setdefault(proc, []).append(fi)
    trial = OrderInfo(order, o)
    verdicts: dict[int, tuple[ReasonCode, str]] = {}
    _order_candidates(
        instance,
        trial,
        by_process,
        caps_by_factory,
        res_index,
        [r.free_seconds for r in problem.resources],
        {},
        _TransportRates(instance),
        problem.weights,
        0,
        _Materials(problem.materials),
        problem.anchor.now if problem.anchor else 0,
        verdicts=verdicts,
    )
    eligible: dict[int, list[int]] = {}
    for k in info.candidates:
        eligible.setdefault(problem.candidates[k].factory, []).append(k)
    out: list[Eligibility] = []
    for fi, caps in enumerate(caps_by_factory):
        missing = sorted({op.process for op in o.operations} - caps.keys())
        if fi in eligible:
            out.append(Eligibility(fi, tuple(eligible[fi])))
        elif missing:
            out.append(
                Eligibility(
                    fi, (), ReasonCode.NO_CAPABLE_FACTORY, f"does not offer {', '.join(missing)}"
                )
            )
        elif fi in verdicts:
            code, detail = verdicts[fi]
            out.append(Eligibility(fi, (), code, _factory_detail(instance, o, fi, code, detail)))
        elif trial.reason is not None:  # the order as a whole failed a later filter
            out.append(Eligibility(fi, (), trial.reason, trial.detail))
        else:  # the problem was compiled with max_candidates
            out.append(
                Eligibility(
                    fi,
                    (),
                    ReasonCode.NOT_WORTH_SERVING,
                    "eligible, but not among the cheapest candidates the problem kept",
                )
            )
    return out


def _factory_detail(instance: Instance, o: Order, fi: int, code: ReasonCode, detail: str) -> str:
    """The filters word their reasons for the order as a whole; say it of one factory."""
    f = instance.factories[fi]
    if code == ReasonCode.CREDIT_BELOW_MIN:
        return f"credit score {f.credit.score} below the order's minimum {o.min_credit_score}"
    if code == ReasonCode.PRICE_ABOVE_MAX:
        caps = {c.process: c for c in f.capabilities}
        price = sum(caps[op.process].unit_cost_cents for op in o.operations)
        return f"unit price {price} above the order's ceiling {o.max_unit_price_cents}"
    return detail


def _group_stages(info: OrderInfo, candidates: list[Candidate]) -> None:
    """``info.stages`` of an order split by operation, from its stage parts."""
    o = info.order
    if not (o.split.by_operation and len(o.operations) > 1):
        return
    info.stages = [[] for _ in o.operations]
    for k in info.candidates:
        op = candidates[k].operation
        assert op is not None
        info.stages[op].append(k)


def _anchor(problem: AssignmentProblem, spec: AnchorSpec) -> Anchor:
    """:class:`AnchorSpec` in candidate indices; fixed work no candidate holds is lost."""
    index: dict[tuple[str, str], int] = {}
    for k, c in enumerate(problem.candidates):
        index[(problem.orders[c.order].order.id, problem.instance.factories[c.factory].id)] = k
    a = Anchor(spec.now, {}, {}, {}, spec.stability, set())
    for key, slices in sorted(spec.fixed.items()):
        if key not in index:
            a.lost.append(f"{key[0]} at {key[1]}: that factory is no longer eligible for it")
            continue
        a.fixed[index[key]] = dict(slices)
        a.forced.add(problem.candidates[index[key]].order)
    for key, units in spec.previous.items():
        if key in index:
            a.previous[index[key]] = units
    for key, slices in spec.initial.items():
        if key in index:
            a.initial[index[key]] = dict(slices)
    return a


def _unit_at(base: int, last: int, o: Order, w: ObjectiveWeights) -> int:
    """What one unit of ``o`` costs at a candidate of base ``base`` made in ``last``,
    its last period: the base and the lateness then."""
    return base + w.lateness * o.penalties.late_cents_per_unit_period * max(0, last - o.due_period)


def _worst_unit(
    candidates: list[Candidate], ks: Iterable[int], o: Order, w: ObjectiveWeights
) -> int:
    """Most one unit of ``o`` can cost at any of the candidates ``ks`` (each as late as
    its last period)."""
    return max(_unit_at(c.base, c.last, o, w) for c in map(candidates.__getitem__, ks))


def _worst_order_unit(
    instance: Instance, candidates: list[Candidate], info: OrderInfo, w: ObjectiveWeights
) -> int:
    """Most one unit of the order can cost in any plan (for the mandatory penalty)."""
    o = info.order
    if not info.candidates:
        return 0
    if info.stages is None:
        return _worst_unit(candidates, info.candidates, o, w)
    total = sum(_worst_unit(candidates, stage, o, w) for stage in info.stages)
    locations = {
        candidates[k].factory: instance.factories[candidates[k].factory].location
        for k in info.candidates
    }
    farthest = max(
        transport_cents_per_unit(a, b, instance.transport, o.unit_weight_kg)
        for a in locations.values()
        for b in locations.values()
    )
    return total + w.transport * farthest * (len(info.stages) - 1)


_UNBOUNDED = 1 << 50
"""Stands for "no limit" in the int64 arrays of :class:`_Offer` (lots, units a period)."""

_SAFE = 1 << 62
"""Above this, products of int64 arrays could overflow: such orders take the per-factory path."""


@dataclass(frozen=True, slots=True)
class _Offer:
    """What the factories capable of one sequence of operations offer, as arrays aligned
    with ``factories`` (ascending): shared by every order asking for that sequence."""

    factories: np.ndarray  # factory indices
    fit: np.ndarray  # bool: the capabilities meet every operation's material and grade
    score: np.ndarray  # credit score
    unit_cost: np.ndarray
    min_lot: np.ndarray
    max_lot: np.ndarray  # _UNBOUNDED where no capability limits it
    usage: list[tuple[Usage, ...]]  # () where not fit
    # (factory, period + 1): the most units each factory could make per period on an
    # empty factory, at most the largest order's quantity, summed over the periods
    # before. As units >= 0 and every part's ``hi`` is at most that quantity, min(hi, a
    # window's sum) is the window's sum of min(units, hi): the reach filter's figure,
    # without a (part, period) array per order
    before: np.ndarray


_OfferKey = tuple[tuple[str, str | None, int | None], ...]


def _offer_key(o: Order) -> _OfferKey:
    """What an order's offer depends on: each operation's process, material and grade."""
    return tuple((op.process, op.material, op.min_quality_grade) for op in o.operations)


class _Offers:
    """:class:`_Offer` per sequence of operations, built on first use."""

    def __init__(
        self,
        instance: Instance,
        by_process: dict[str, list[int]],
        caps_by_factory: list[dict[str, Capability]],
        res_index: dict[tuple[int, str], int],
        free: Sequence[Sequence[int]],
        n_periods: int,
        tied: set[str],
    ) -> None:
        self.instance = instance
        self.tied = tied  # order ids left to the per-factory path (fixed work)
        self.by_process = by_process
        self.caps_by_factory = caps_by_factory
        self.res_index = res_index
        self.free = np.array(free, dtype=np.int64).reshape(len(free), n_periods)
        self.n_periods = n_periods
        self.scores = np.array([f.credit.score for f in instance.factories], dtype=np.int64)
        self._offers: dict[_OfferKey, _Offer] = {}
        self._units: dict[tuple[Usage, ...], np.ndarray] = {}
        self.largest = max((o.quantity for o in instance.orders), default=0)
        self._orders: dict[_OfferKey, list[Order]] = {}  # the orders asking for each offer
        self._keys: dict[int, _OfferKey] = {}  # by id() of the instance's orders
        for o in instance.orders:
            key = self._keys[id(o)] = _offer_key(o)
            self._orders.setdefault(key, []).append(o)
        # per offer: each order's row (by id()) in the rates from its factories
        self._rates: dict[_OfferKey, tuple[dict[int, int], np.ndarray]] = {}

    def _key(self, o: Order) -> _OfferKey:
        key = self._keys.get(id(o))
        return _offer_key(o) if key is None else key

    def get(self, o: Order) -> _Offer:
        key = self._key(o)
        offer = self._offers.get(key)
        if offer is None:
            offer = self._offers[key] = self._build(o)
        return offer

    def transport(self, o: Order, rates: _TransportRates) -> np.ndarray:
        """``rates.array(o, self.get(o).factories)``, made at once for every order asking
        for the same offer: one order at a time it took 1.1 s at 50 000 orders."""
        if id(o) not in self._keys:  # not one of the instance's orders
            return rates.array(o, self.get(o).factories)
        key = self._keys[id(o)]
        made = self._rates.get(key)
        if made is None:
            orders = self._orders[key]
            rows = {id(x): i for i, x in enumerate(orders)}
            made = self._rates[key] = (rows, rates.rows(orders, self.get(o).factories))
        rows, matrix = made
        return matrix[rows[id(o)]]

    def _build(self, o: Order) -> _Offer:
        capable = set(self.by_process.get(o.operations[0].process, ()))
        for op in o.operations[1:]:
            capable &= set(self.by_process.get(op.process, ()))
        factories = sorted(capable)
        n = len(factories)
        fit = np.zeros(n, dtype=bool)
        cost, min_lot = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        max_lot = np.full(n, _UNBOUNDED, dtype=np.int64)
        units = np.zeros((n, self.n_periods), dtype=np.int64)
        usage: list[tuple[Usage, ...]] = []
        for i, fi in enumerate(factories):
            profile = _profile(self.instance, o, fi, self.caps_by_factory[fi], self.res_index)
            if not isinstance(profile, _Profile):
                usage.append(())
                continue
            fit[i] = True
            cost[i], min_lot[i] = profile.unit_cost, profile.min_lot
            if profile.max_lot is not None:
                max_lot[i] = profile.max_lot
            usage.append(profile.usage)
            units[i] = self._units_per_period(profile.usage)
        idx = np.array(factories, dtype=np.intp)
        before = np.zeros((n, self.n_periods + 1), dtype=np.int64)
        np.cumsum(np.minimum(units, self.largest), axis=1, out=before[:, 1:])
        return _Offer(idx, fit, self.scores[idx], cost, min_lot, max_lot, usage, before)

    def _units_per_period(self, usage: tuple[Usage, ...]) -> np.ndarray:
        """:func:`units_fitting` in every period on an empty factory, without a limit."""
        units = self._units.get(usage)
        if units is None:
            units = np.full(self.n_periods, _UNBOUNDED, dtype=np.int64)
            blocked = np.zeros(self.n_periods, dtype=bool)
            for u in usage:
                room = self.free[u.resource] - u.setup_seconds
                blocked |= room < 0
                if u.seconds_per_unit:
                    units = np.minimum(units, np.maximum(room, 0) // u.seconds_per_unit)
            units[blocked] = 0
            self._units[usage] = units
        return units


def _vector_candidates(
    info: OrderInfo,
    offers: _Offers,
    rates: _TransportRates,
    w: ObjectiveWeights,
    max_candidates: int,
    materials: _Materials,
    now: int,
    held: set[int],
) -> tuple[list[Candidate], int] | None:
    """The candidates of an ordinary order, as :func:`_order_candidates` finds them, by
    array operations over all capable factories at once, and the most one unit can cost
    at any of them (:func:`_worst_unit`, from the arrays rather than a loop over 5.5
    million candidates at 50 000 orders); None when the order gets none
    (then :func:`_order_candidates`, which words each reason, says why), is split by
    operation or holds fixed work of a previous plan (left to :func:`_order_candidates`).
    ``held``: factories of a previous plan kept whatever ``max_candidates`` says.

    Only the candidates that survive every filter become :class:`Candidate` objects:
    at 50 000 orders per-factory objects and calls made compilation the bottleneck."""
    o = info.order
    if (o.split.by_operation and len(o.operations) > 1) or o.id in offers.tied:
        return None
    offer = offers.get(o)
    if not len(offer.factories):
        return None
    n_periods = offers.n_periods
    keep = offer.fit.copy()
    if o.min_credit_score is not None:
        keep &= offer.score >= o.min_credit_score
    if o.max_unit_price_cents is not None:
        keep &= offer.unit_cost <= o.max_unit_price_cents
    lo = np.maximum(offer.min_lot, o.split.min_quantity if o.split.allowed else o.quantity)
    hi = np.minimum(offer.max_lot, o.quantity)
    keep &= lo <= hi
    uses, start, never = materials.starts(o, offer.factories, len(offers.instance.factories))
    keep &= ~never & (start <= n_periods - 1)
    transport = offers.transport(o, rates)  # all capable ones, as the reference
    idx = np.flatnonzero(keep)
    if not len(idx):
        return None
    factory = offer.factories[idx]
    credit = 100 - offer.score[idx]
    base = w.production * offer.unit_cost[idx] + w.transport * transport[idx] + w.credit * credit
    order = np.lexsort((factory, base))  # cheapest first, then by factory
    if max_candidates:
        keep = np.arange(len(order)) < max_candidates
        if held:
            keep |= np.isin(factory[order], sorted(held))
        order = order[keep]
    idx, factory, credit, base = idx[order], factory[order], credit[order], base[order]
    lo, hi = lo[idx], hi[idx]
    first = np.maximum(max(o.release_period, now), start[idx])
    penalty = (
        None if o.penalties.unserved_cents is None else w.unserved * o.penalties.unserved_cents
    )
    if max(penalty or 0, o.quantity * int(base[-1])) >= _SAFE:
        return None
    last = _last_period(o, int(base[0]), w, n_periods)
    # _drop_unusable: what each part could make in its window on an empty factory, the
    # window's sum of min(units, hi) (from the running sums: :class:`_Offer`)
    end = last + 1
    reach = np.minimum(offer.before[idx, end] - offer.before[idx, np.minimum(first, end)], hi)
    usable = np.flatnonzero(reach >= lo)
    best = np.sort(reach[usable])[::-1][: info.max_parts]
    if not (
        len(best) and best.sum() >= o.quantity and (info.max_parts > 1 or best[0] >= o.quantity)
    ):
        return None
    if penalty is not None:  # _drop_dearer_than_penalty
        b, low = base[usable], lo[usable]
        usable = usable[low * b + (o.quantity - low) * b[0] < penalty]
        if not len(usable):
            return None
    usage = offer.usage
    # every candidate has the same last period, so the dearest base is the dearest unit
    worst = _unit_at(int(base[usable].max()), last, o, w)
    made = [
        Candidate(info.index, f, c, t, cr, a, z, usage[i], s, last, b, None, uses)
        for i, f, c, t, cr, a, z, s, b in zip(
            idx[usable].tolist(),
            factory[usable].tolist(),
            offer.unit_cost[idx[usable]].tolist(),
            transport[idx[usable]].tolist(),
            credit[usable].tolist(),
            lo[usable].tolist(),
            hi[usable].tolist(),
            first[usable].tolist(),
            base[usable].tolist(),
            strict=True,
        )
    ]
    return made, worst


def _last_period(o: Order, cheapest: int, w: ObjectiveWeights, n_periods: int) -> int:
    """The last period worth producing ``o`` in (:func:`_cut_late_periods`)."""
    late = w.lateness * o.penalties.late_cents_per_unit_period
    if o.penalties.unserved_cents is None or late == 0:
        return n_periods - 1
    slack = w.unserved * o.penalties.unserved_cents - o.quantity * cheapest
    k_max = slack // late if slack >= 0 else -1
    return min(n_periods - 1, o.due_period + max(k_max, 0))


def _order_candidates(
    instance: Instance,
    info: OrderInfo,
    by_process: dict[str, list[int]],
    caps_by_factory: list[dict[str, Capability]],
    res_index: dict[tuple[int, str], int],
    free: Sequence[Sequence[int]],
    profiles: dict[tuple[int, tuple[object, ...]], _Profile | tuple[ReasonCode, str]],
    rates: _TransportRates,
    w: ObjectiveWeights,
    max_candidates: int,
    materials: _Materials,
    now: int = 0,
    held: set[int] | None = None,
    forced: bool = False,
    verdicts: dict[int, tuple[ReasonCode, str]] | None = None,
) -> list[Candidate]:
    """The eligible parts of one order, cheapest first; sets ``info.reason`` if none.

    ``now``: no production before it. ``held``: factories (of a previous plan) kept
    whatever ``max_candidates`` says; ``forced``: the order holds fixed work, so only
    the hard filters apply (it must be served). ``verdicts``, when given, receives the
    reason each capable factory was filtered out (:func:`factory_verdicts`)."""
    o = info.order
    if o.split.by_operation and len(o.operations) > 1:
        return _stage_candidates(
            instance,
            info,
            by_process,
            caps_by_factory,
            res_index,
            rates,
            w,
            max_candidates,
            materials,
            now,
            held or set(),
        )
    capable = set(by_process.get(o.operations[0].process, ()))
    for op in o.operations[1:]:
        capable &= set(by_process.get(op.process, ()))
    failed: dict[ReasonCode, str] = {}
    found: list[Candidate] = []
    waiting: list[int] = []  # factories whose start the materials put off
    ops = tuple((op.process, op.material, op.min_quality_grade) for op in o.operations)
    ordered = sorted(capable)
    transport = rates.for_order(o, ordered)
    for fi in ordered:
        key = (fi, ops)
        profile = profiles.get(key)
        if profile is None:
            profile = _profile(instance, o, fi, caps_by_factory[fi], res_index)
            profiles[key] = profile
        cand, why = _candidate(instance, o, info.index, fi, profile, transport[fi], w)
        if cand is not None and now > cand.first:
            cand.first = now
        started = cand.first if cand is not None else 0
        if cand is not None and (late := materials.place(instance, cand)) is not None:
            cand, why = (cand, None) if forced and fi in (held or set()) else (None, late)
        if cand is not None and cand.first > started:
            waiting.append(fi)
        if cand is None:
            assert why is not None
            _record(failed, verdicts, fi, why)
        else:
            found.append(cand)
    if not found:
        info.reason, info.detail = _no_candidate_reason(o, capable, failed)
        return []
    found.sort(key=lambda c: (c.base, c.factory))
    if max_candidates:
        keep = held or set()
        found = [c for i, c in enumerate(found) if i < max_candidates or c.factory in keep]
    if forced:
        return found
    _cut_late_periods(o, found, w, instance.horizon.periods)
    found = _drop_unusable(o, found, free, info, verdicts)  # physical limits first,
    _material_verdicts(o, waiting, materials, verdicts)
    if not found:
        if waiting and info.reason == ReasonCode.DUE_DATE_INFEASIBLE:
            info.reason = ReasonCode.MATERIAL_UNAVAILABLE
            info.detail = f"{materials.why(o, waiting[0])}; {info.detail}"
        return []
    cheapest = found[0].base
    found = _drop_dearer_than_penalty(o, found, w, verdicts)  # then economic ones
    if not found:
        info.reason = ReasonCode.NOT_WORTH_SERVING
        info.detail = (
            f"making it costs at least {o.quantity * cheapest} cents (on time, cheapest "
            f"factory), more than its penalty {w.unserved * (o.penalties.unserved_cents or 0)}"
        )
    return found


def _record(
    failed: dict[ReasonCode, str],
    verdicts: dict[int, tuple[ReasonCode, str]] | None,
    fi: int,
    why: tuple[ReasonCode, str],
) -> None:
    """Note why factory ``fi`` was filtered out: the first detail of each reason for the
    order, and the factory's own reason when verdicts are asked for."""
    failed.setdefault(why[0], why[1])
    if verdicts is not None:
        verdicts[fi] = why


def _material_verdicts(
    o: Order,
    waiting: list[int],
    materials: _Materials,
    verdicts: dict[int, tuple[ReasonCode, str]] | None,
) -> None:
    """A factory that cannot reach the order's minimum part because its materials put
    its start off is out for want of materials (as the order is when all are)."""
    if verdicts is None:
        return
    for fi in waiting:
        why = verdicts.get(fi)
        if why is not None and why[0] == ReasonCode.DUE_DATE_INFEASIBLE:
            verdicts[fi] = (ReasonCode.MATERIAL_UNAVAILABLE, f"{materials.why(o, fi)}; {why[1]}")


def _stage_candidates(
    instance: Instance,
    info: OrderInfo,
    by_process: dict[str, list[int]],
    caps_by_factory: list[dict[str, Capability]],
    res_index: dict[tuple[int, str], int],
    rates: _TransportRates,
    w: ObjectiveWeights,
    max_candidates: int,
    materials: _Materials,
    now: int,
    held: set[int],
) -> list[Candidate]:
    """Stage parts of an order split by operation: for each operation, the factories
    that may make it (docs/model.md), cheapest first; sets ``info.reason`` if some
    operation has none. Only hard filters apply: the order's window, lateness and the
    economics are the solver's."""
    o = info.order
    last = len(o.operations) - 1
    shipping = rates.for_order(o, sorted(set(by_process.get(o.operations[last].process, ()))))
    per_op: list[list[Candidate]] = []
    for j, op in enumerate(o.operations):
        failed: dict[ReasonCode, str] = {}
        found: list[Candidate] = []
        capable = sorted(set(by_process.get(op.process, ())))
        for fi in capable:
            f = instance.factories[fi]
            cap = caps_by_factory[fi][op.process]
            lo, hi = _part_bounds(o, cap.min_lot, cap.max_lot)
            why = _operation_unfit(f, op, cap) or _credit_unfit(o, f) or _lots_unfit(o, lo, hi)
            if why is not None:
                failed.setdefault(why[0], why[1])
                continue
            transport = shipping[fi] if j == last else 0
            credit = 100 - f.credit.score if j == last else 0
            stage = Candidate(
                order=info.index,
                factory=fi,
                unit_cost=cap.unit_cost_cents,
                transport=transport,
                credit=credit,
                lo=lo,
                hi=hi,
                usage=(
                    Usage(
                        res_index[(fi, cap.resource_group)],
                        cap.seconds_per_unit,
                        60 * cap.setup_minutes,
                    ),
                ),
                first=max(o.release_period, now),
                last=instance.horizon.periods - 1,
                base=w.production * cap.unit_cost_cents
                + w.transport * transport
                + w.credit * credit,
                operation=j,
            )
            late = materials.place(instance, stage)
            if late is not None and fi not in held:
                failed.setdefault(late[0], late[1])
                continue
            found.append(stage)
        if not found:
            procs = f"operation {j} ({op.process})"
            if not capable:
                info.reason, info.detail = (
                    ReasonCode.NO_CAPABLE_FACTORY,
                    f"no factory offers {procs}",
                )
            else:
                info.reason, info.detail = _no_candidate_reason(o, set(capable), failed)
                info.detail = f"{procs}: {info.detail}"
            return []
        found.sort(key=lambda c: (c.base, c.factory))
        per_op.append(found)
    if o.max_unit_price_cents is not None:
        cheapest = [min(c.unit_cost for c in cands) for cands in per_op]
        floor = sum(cheapest)
        if floor > o.max_unit_price_cents:
            info.reason = ReasonCode.PRICE_ABOVE_MAX
            info.detail = (
                f"the cheapest capable factories of each operation charge {floor} per unit, "
                f"above the ceiling {o.max_unit_price_cents}"
            )
            return []
        per_op = [
            [c for c in cands if floor - cheapest[j] + c.unit_cost <= o.max_unit_price_cents]
            for j, cands in enumerate(per_op)
        ]
    if max_candidates:
        per_op = [
            [c for i, c in enumerate(cands) if i < max_candidates or c.factory in held]
            for cands in per_op
        ]
    return [c for cands in per_op for c in cands]


@dataclass(frozen=True, slots=True)
class _Profile:
    """What a factory's capabilities imply for one sequence of operations."""

    unit_cost: int
    min_lot: int
    max_lot: int | None
    usage: tuple[Usage, ...]


def _profile(
    instance: Instance,
    o: Order,
    fi: int,
    caps: dict[str, Capability],
    res_index: dict[tuple[int, str], int],
) -> _Profile | tuple[ReasonCode, str]:
    """Depends only on the factory and the operations, so it is shared by all orders
    asking for the same operations."""
    f = instance.factories[fi]
    chosen: list[Capability] = []
    for op in o.operations:
        cap = caps[op.process]
        if (why := _operation_unfit(f, op, cap)) is not None:
            return why
        chosen.append(cap)
    merged: dict[int, list[int]] = {}
    for cap in chosen:
        acc = merged.setdefault(res_index[(fi, cap.resource_group)], [0, 0])
        acc[0] += cap.seconds_per_unit
        acc[1] += 60 * cap.setup_minutes
    max_lots = [c.max_lot for c in chosen if c.max_lot is not None]
    return _Profile(
        unit_cost=sum(c.unit_cost_cents for c in chosen),
        min_lot=max(c.min_lot for c in chosen),
        max_lot=min(max_lots) if max_lots else None,
        usage=tuple(Usage(r, sec, st) for r, (sec, st) in sorted(merged.items())),
    )


def _operation_unfit(f: Factory, op: Operation, cap: Capability) -> tuple[ReasonCode, str] | None:
    """Why ``cap`` of ``f`` cannot make operation ``op`` (material, grade), or None."""
    if op.material is not None and cap.materials and op.material not in cap.materials:
        return (
            ReasonCode.NO_CAPABLE_FACTORY,
            f"{f.id} does not work {op.material} for {op.process}",
        )
    if op.min_quality_grade is not None and cap.quality_grade < op.min_quality_grade:
        return (
            ReasonCode.NO_CAPABLE_FACTORY,
            f"{f.id} grade {cap.quality_grade} < required {op.min_quality_grade} for {op.process}",
        )
    return None


def _credit_unfit(o: Order, f: Factory) -> tuple[ReasonCode, str] | None:
    if o.min_credit_score is not None and f.credit.score < o.min_credit_score:
        return ReasonCode.CREDIT_BELOW_MIN, f"best capable credit score below {o.min_credit_score}"
    return None


def _part_bounds(o: Order, min_lot: int, max_lot: int | None) -> tuple[int, int]:
    """Smallest and largest part of ``o`` the lot limits and the split policy allow."""
    lo = max(min_lot, o.split.min_quantity if o.split.allowed else o.quantity)
    hi = o.quantity if max_lot is None else min(o.quantity, max_lot)
    return lo, hi


def _lots_unfit(o: Order, lo: int, hi: int) -> tuple[ReasonCode, str] | None:
    if lo <= hi:
        return None
    return (
        ReasonCode.LOT_SIZE_INFEASIBLE,
        f"lot limits of capable factories do not admit a part of this order "
        f"(quantity {o.quantity})",
    )


def _candidate(
    instance: Instance,
    o: Order,
    order_index: int,
    fi: int,
    profile: _Profile | tuple[ReasonCode, str],
    transport: int,
    w: ObjectiveWeights,
) -> tuple[Candidate | None, tuple[ReasonCode, str] | None]:
    if not isinstance(profile, _Profile):
        return None, profile
    f = instance.factories[fi]
    if (why := _credit_unfit(o, f)) is not None:
        return None, why
    if o.max_unit_price_cents is not None and profile.unit_cost > o.max_unit_price_cents:
        return None, (
            ReasonCode.PRICE_ABOVE_MAX,
            f"cheapest capable unit price above the ceiling {o.max_unit_price_cents}",
        )
    lo, hi = _part_bounds(o, profile.min_lot, profile.max_lot)
    if (why := _lots_unfit(o, lo, hi)) is not None:
        return None, why
    credit = 100 - f.credit.score
    cand = Candidate(
        order=order_index,
        factory=fi,
        unit_cost=profile.unit_cost,
        transport=transport,
        credit=credit,
        lo=lo,
        hi=hi,
        usage=profile.usage,
        first=o.release_period,
        last=instance.horizon.periods - 1,
        base=w.production * profile.unit_cost + w.transport * transport + w.credit * credit,
    )
    return cand, None


def _no_candidate_reason(
    o: Order, capable: set[int], failed: dict[ReasonCode, str]
) -> tuple[ReasonCode, str]:
    if not capable:
        procs = " -> ".join(op.process for op in o.operations)
        what = "process" if len(o.operations) == 1 else "all of the processes"
        return ReasonCode.NO_CAPABLE_FACTORY, f"no factory offers {what} {procs}"
    # The last filter that removed candidates explains it best (the earlier ones
    # left some factories standing).
    for code in reversed(_FILTER_ORDER):
        if code in failed:
            return code, failed[code]
    return ReasonCode.NO_CAPABLE_FACTORY, "no eligible factory"


def units_fitting(free: Sequence[Sequence[int]], cand: Candidate, t: int, limit: int) -> int:
    """Most units of ``cand`` (at most ``limit``) that fit in period ``t``, setup
    included, given ``free[resource][period]`` seconds. The one place this is computed:
    problem compilation, greedy placement and CP-SAT variable bounds all use it."""
    best = limit
    for u in cand.usage:
        room = free[u.resource][t] - u.setup_seconds
        if room < 0:
            return 0
        if u.seconds_per_unit:
            best = min(best, room // u.seconds_per_unit)
    return best


def _drop_dearer_than_penalty(
    o: Order,
    cands: list[Candidate],
    w: ObjectiveWeights,
    verdicts: dict[int, tuple[ReasonCode, str]] | None = None,
) -> list[Candidate]:
    """Drop parts that no plan better than leaving the order unserved can use (exact).

    A part of at least ``lo`` units at ``c`` makes the order cost at least
    ``lo * base_c + (quantity - lo) * min_base`` (lateness only adds), so if that is
    not below the penalty, not serving the order is at least as good.
    """
    if o.penalties.unserved_cents is None:
        return cands
    penalty = w.unserved * o.penalties.unserved_cents
    cheapest = cands[0].base
    kept = [c for c in cands if c.lo * c.base + (o.quantity - c.lo) * cheapest < penalty]
    if verdicts is not None:
        for c in cands:
            floor = c.lo * c.base + (o.quantity - c.lo) * cheapest
            if floor >= penalty:
                verdicts[c.factory] = (
                    ReasonCode.NOT_WORTH_SERVING,
                    f"a part there costs at least {floor} cents (weighted, on time), not below the "
                    f"order's penalty {penalty}",
                )
    return kept


def _reach(free: Sequence[Sequence[int]], cand: Candidate, need: int) -> int:
    """Units ``cand`` could make in its window on an empty factory, counted up to ``need``."""
    total = 0
    for t in cand.periods:
        total += units_fitting(free, cand, t, cand.hi)
        if total >= need:
            return need
    return total


def _drop_unusable(
    o: Order,
    cands: list[Candidate],
    free: Sequence[Sequence[int]],
    info: OrderInfo,
    verdicts: dict[int, tuple[ReasonCode, str]] | None = None,
) -> list[Candidate]:
    """Remove parts that cannot reach their minimum size in their window even on an
    empty factory; if the rest cannot make the order, it is due-date infeasible."""
    reach = {id(c): _reach(free, c, min(c.hi, o.quantity)) for c in cands}
    usable = [c for c in cands if reach[id(c)] >= c.lo]
    if verdicts is not None:
        for c in cands:
            if reach[id(c)] < c.lo:
                verdicts[c.factory] = (
                    ReasonCode.DUE_DATE_INFEASIBLE,
                    f"can make at most {reach[id(c)]} units in periods {c.first}..{c.last} "
                    f"even when empty, below its smallest part {c.lo}",
                )
    best = sorted((reach[id(c)] for c in usable), reverse=True)[: info.max_parts]
    if best and sum(best) >= o.quantity and (info.max_parts > 1 or best[0] >= o.quantity):
        return usable
    info.reason = ReasonCode.DUE_DATE_INFEASIBLE
    window = f"periods {cands[0].first}..{max(c.last for c in cands)}"
    info.detail = (
        f"even with all their free capacity in {window}, the {len(cands)} eligible "
        f"factories can make at most {sum(best)} of {o.quantity} units"
        + (" (no split allowed)" if info.max_parts == 1 else f" in {info.max_parts} parts")
    )
    return []


def _cut_late_periods(
    o: Order, cands: list[Candidate], w: ObjectiveWeights, n_periods: int
) -> None:
    """Drop late periods no optimal plan uses (exact dominance).

    A served order costs at least ``quantity * min base``; a unit ``k`` periods late
    adds ``w.lateness * late * k``. If that already exceeds the unserved penalty,
    leaving the order unserved is strictly better than producing that unit.
    """
    if (
        o.penalties.unserved_cents is None
        or w.lateness * o.penalties.late_cents_per_unit_period == 0
    ):
        return
    last = _last_period(o, min(c.base for c in cands), w, n_periods)
    for c in cands:
        c.last = last
