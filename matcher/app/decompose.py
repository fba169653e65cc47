"""The decomposed solve (``matcher solve --executor local|ray``, docs/batch.md): an
instance whose orders fall into independent parts is solved part by part as
executor tasks, and the parts' plans are assembled into one.

Two orders are in the same part when they could share a factory (a factory offers
every process of both) or a purchased material (collective purchasing and the
materials' arrival limits couple the factories that buy it). Parts so made share no
capacity row, buyer share, material limit or purchase, so the assignment, the
purchasing and the capacity-sharing analysis of the whole are exactly those of the
parts solved apart: the parts are not an approximation, only a way to solve them on
more cores or machines. What does couple them is the shared fleet: the assembled
plan is routed whole (:func:`matcher.app.pipeline.assembled_plan`). Fairness options
couple every factory (shares of the whole platform's work): with them, or with a
load-balance weight, there is one part. Generated platforms split by industry (5
parts at 1 000 and 10 000 orders).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from matcher.app.executor import Call, Executor, TaskError
from matcher.domain.entities import Fleet, Order
from matcher.domain.instance import Instance
from matcher.domain.params import ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import CapacitySharing, Plan, Purchasing, StageStats, least_proven
from matcher.domain.validation import InvalidInstanceError, parse_instance

if TYPE_CHECKING:
    from matcher.app.pipeline import Assembled

ASSEMBLY_SHARE = {False: 0.1, True: 0.25}
"""Of the time limit, by whether the instance has a fleet: the assembly of the parts'
plans (routing the whole fleet, costs, KPIs, the fairness report); the rest is the
parts' solves (:func:`slices`)."""
FALLBACK_SHARE = 0.5
"""Of the time limit: at least this much for the whole solve that takes over the
orders of a part whose task failed."""


@dataclass(frozen=True)
class Part:
    """Orders and the factories that could make them, apart from every other part."""

    orders: list[str]
    factories: list[str]


class _Joined:
    """Union-find over ("order" | "factory" | "material", id) nodes."""

    def __init__(self) -> None:
        self.parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(self, x: tuple[str, str]) -> tuple[str, str]:
        parent = self.parent
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def join(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        self.parent[self.find(a)] = self.find(b)


def _whole(instance: Instance) -> list[Part]:
    return [Part([o.id for o in instance.orders], [f.id for f in instance.factories])]


def parts(instance: Instance) -> list[Part]:
    """The instance's independent parts, largest first (one when nothing splits it).

    Orders are joined to every factory offering all their processes (a superset of
    the eligible ones: credit, price and lots only remove edges, so the parts are
    never too fine; an order split by operation to every factory offering one of
    them) and to the purchased materials of their bill of materials; factories to the
    purchased materials they hold in stock. Orders no factory can make, and factories
    that can make no order, go with the largest part (its solve reports why)."""
    options = instance.fairness
    if (options is not None and options.active) or instance.weights.load_balance:
        return _whole(instance)
    joined = _Joined()
    purchased = {m.id for m in instance.materials if m.sourcing == "purchased"}
    for factory in instance.factories:
        for material in factory.stock:
            if material in purchased:
                joined.join(("factory", factory.id), ("material", material))
    offers = {f.id: {c.process for c in f.capabilities} for f in instance.factories}
    seen: dict[str, list[str]] = {}
    for order in instance.orders:
        # Orders asking for the same processes share one node joined to their capable
        # factories once: the same parts as joining each order to each factory, without
        # orders x factories joins (3.4 s at 50 000 orders).
        key, capable = _capable(order, offers, seen, joined)
        if capable:
            joined.join(("order", order.id), ("needs", key))
        for material in order.bill_of_materials:
            if material in purchased:
                joined.join(("order", order.id), ("material", material))
    groups: dict[tuple[str, str], Part] = defaultdict(lambda: Part([], []))
    for order in instance.orders:
        groups[joined.find(("order", order.id))].orders.append(order.id)
    for factory in instance.factories:
        groups[joined.find(("factory", factory.id))].factories.append(factory.id)
    found = sorted(
        (g for g in groups.values() if g.orders and g.factories),
        key=lambda g: (-len(g.orders), g.orders[0]),
    )
    if not found:
        return _whole(instance)
    placed = {o for g in found for o in g.orders}
    found[0].orders.extend(o.id for o in instance.orders if o.id not in placed)
    # Factories that can make no order join the largest part: no variable more, and its
    # capacity-sharing analysis then offers their idle time as the whole's would.
    kept = {f for g in found for f in g.factories}
    found[0].factories.extend(f.id for f in instance.factories if f.id not in kept)
    return found


def _capable(
    order: Order,
    offers: dict[str, set[str]],
    seen: dict[str, list[str]],
    joined: _Joined,
) -> tuple[str, list[str]]:
    """The node of ``order``'s processes (all of them, or one of them for an order split
    by operation) and the factories offering them, joined to that node the first time;
    ``seen`` caches the factories per node."""
    needs, split = _needs(order)
    key = repr((sorted(needs), split))
    if key not in seen:
        found = [f for f, ps in offers.items() if _offers(ps, needs, split)]
        seen[key] = found
        for fid in found:
            joined.join(("needs", key), ("factory", fid))
    return key, seen[key]


def _needs(order: Order) -> tuple[frozenset[str], bool]:
    """The processes ``order`` asks for, and whether one factory offering any one of
    them will do (an order split by operation) rather than all of them."""
    split = order.split.by_operation and len(order.operations) > 1
    return frozenset(op.process for op in order.operations), split


def _offers(processes: set[str], needs: frozenset[str], split: bool) -> bool:
    """Whether a factory offering ``processes`` is joined to an order of ``needs``."""
    return bool(processes & needs) if split else needs <= processes


def part_instance(instance: Instance, part: Part, index: int) -> Instance:
    """The instance restricted to ``part``: its orders and factories, every material
    and supplier (a part buys only what its orders need), no vehicles (the fleet is
    shared: routing runs on the whole)."""
    orders = set(part.orders)
    factories = set(part.factories)
    return instance.model_copy(
        update={
            "name": f"{instance.name}-part{index}",
            "orders": [o for o in instance.orders if o.id in orders],
            "factories": [f for f in instance.factories if f.id in factories],
            "fleet": Fleet(),
        }
    )


def work(instance: Instance, found: list[Part]) -> list[float]:
    """Each part's expected work, for :func:`slices`: its orders plus its cells (each
    order's capable factories times the periods from its release to the horizon's end,
    an upper bound on its production variables) scaled to the same total.

    Compiling grows with the variables, the greedy start and the diagnosis of unserved
    orders with the orders, and parts differ in variables per order: at 50 000 orders
    (seed 1, 2 cores, 60 s) the largest part has 28 % of the orders but 55 % of the
    variables (54 M), and with a limit by orders (12.8 s) its fixed work alone (5.9 s
    compiling, 4.6 s greedy, about 3 s diagnosis) ran it 4 s past the limit, with no
    time left to search."""
    offers = {f.id: {c.process for c in f.capabilities} for f in instance.factories}
    by_id = {o.id: o for o in instance.orders}
    periods = instance.horizon.periods
    cells = []
    for part in found:
        factories = [offers[f] for f in part.factories]
        capable: dict[tuple[frozenset[str], bool], int] = {}  # per set of processes
        total = 0
        for order_id in part.orders:
            order = by_id[order_id]
            need = _needs(order)
            if need not in capable:
                capable[need] = sum(1 for ps in factories if _offers(ps, *need))
            total += capable[need] * max(1, periods - order.release_period)
        cells.append(total)
    orders = sum(len(part.orders) for part in found)
    scale = orders / max(1, sum(cells))
    return [len(part.orders) + scale * c for part, c in zip(found, cells, strict=True)]


def slices(sizes: Sequence[float], at_once: int, seconds: float) -> list[float]:
    """Each part's time limit, for parts of ``sizes`` (their :func:`work`) run
    ``at_once`` at a time within ``seconds``.

    The executor takes the parts in order (largest first), each when a slot frees. Here
    each goes to the slot with the least work so far, and a slot's parts share
    ``seconds`` by their work, so that every slot ends together when each part keeps
    to its limit. One at a time, the limits are proportional to the sizes; with a
    slot for every part, each part gets all of ``seconds``."""
    loads = [0.0] * max(1, at_once)
    slot_of = []
    for size in sizes:
        k = min(range(len(loads)), key=loads.__getitem__)
        slot_of.append(k)
        loads[k] += max(1, size)
    return [seconds * max(1, size) / loads[k] for size, k in zip(sizes, slot_of, strict=True)]


def solve_part(instance_json: str, params_json: str) -> str:
    """The executor's task: one part solved (its assignment, purchasing and capacity
    sharing), the plan back as JSON. A top-level function of strings, so that any
    worker can run it."""
    # OR-Tools loads in the worker that solves, not in the process that submits.
    from matcher.app.pipeline import plan

    try:
        instance = parse_instance(json.loads(instance_json))
    except InvalidInstanceError as exc:  # cannot happen for a part of a valid instance
        raise TaskError(f"invalid part: {exc.issues[0]}") from None
    # No fairness report: the assembled plan makes its own over every factory.
    params = SolveParams.model_validate_json(params_json)
    return plan(instance, params, report=False).model_dump_json()


@dataclass
class PartOutcome:
    """What one part's task gave: its plan, or why it failed."""

    key: str
    orders: int
    limit_s: float
    plan: Plan | None
    error: str | None
    wall_s: float


def decomposed_plan(
    instance: Instance,
    params: SolveParams,
    executor: Executor,
    progress: ProgressCallback | None = None,
    stop: StopSignal | None = None,
) -> Plan:
    """Solve ``instance`` part by part through ``executor`` and assemble the parts'
    plans into one, routed over the whole fleet.

    The parts get the time limit less :data:`ASSEMBLY_SHARE` and the time spent writing
    them, shared by their :func:`work` over as many at once as ``executor`` runs with
    ``params.workers`` CPUs each (:func:`slices`); the assembly gets what is left, at
    least its share (so the plan may end late by the parts' overrun: their tasks'
    start, JSON and engine import are outside their limits, and their fixed work can
    exceed them). When a
    part's task fails, one whole solve started from the other parts' allocations
    takes over its orders, with at least :data:`FALLBACK_SHARE` of the limit. The
    plan's assignment stage says how each part went."""
    from matcher.app.pipeline import assembled_plan, plan  # OR-Tools: only when solving

    started = time.perf_counter()
    found = parts(instance)
    if len(found) < 2:
        result = plan(instance, params, progress, stop)
        return _noted(result, [_one_part_note(instance)])
    at_once = executor.at_once(params.workers)  # each part asks for its workers' CPUs
    assembly = ASSEMBLY_SHARE[bool(instance.fleet.vehicles)]
    instances = [part_instance(instance, part, i).model_dump_json() for i, part in enumerate(found)]
    # The parts share what is left of theirs once they are written (1.5 s at 50 000 orders).
    share = max(0.0, (1 - assembly) * params.time_limit_s - (time.perf_counter() - started))
    limits = slices(work(instance, found), at_once, share)
    calls = [
        Call(
            f"part{i}",
            (
                instances[i],
                params.model_copy(update={"time_limit_s": limits[i]}).model_dump_json(),
            ),
        )
        for i in range(len(found))
    ]
    index = {call.key: i for i, call in enumerate(calls)}
    outcomes = []
    for outcome in executor.run(solve_part, calls, cpus_per_task=params.workers):
        i = index[outcome.key]
        got = None if outcome.error else Plan.model_validate_json(outcome.value)
        outcomes.append(
            PartOutcome(
                outcome.key, len(found[i].orders), limits[i], got, outcome.error, outcome.wall_s
            )
        )
    outcomes.sort(key=lambda o: index[o.key])
    spent = time.perf_counter() - started
    notes = _part_notes(outcomes, executor, at_once, share, spent)
    if all(o.plan is not None for o in outcomes):
        left = max(assembly * params.time_limit_s, params.time_limit_s - spent)
        pieces = joined_parts(instance, outcomes)
        whole = assembled_plan(
            instance, params.model_copy(update={"time_limit_s": left}), pieces, progress, stop
        )
        return _noted(whole, notes)
    warm: dict[tuple[str, str], dict[int, int]] = {}
    for o in outcomes:
        for a in o.plan.allocations if o.plan is not None else ():
            if a.operation == 0:
                slot = warm.setdefault((a.order, a.factory), {})
                for pq in a.periods:
                    slot[pq.period] = slot.get(pq.period, 0) + pq.quantity
    left = max(FALLBACK_SHARE * params.time_limit_s, params.time_limit_s - spent)
    whole = plan(
        instance, params.model_copy(update={"time_limit_s": left}), progress, stop, None, warm
    )
    return _noted(whole, notes)


def joined_parts(instance: Instance, outcomes: list[PartOutcome]) -> Assembled:
    """The parts' plans as one assignment, purchasing and capacity-sharing analysis:
    their lists joined (each order, factory and purchased material is in one part),
    their sums added, their statistics merged stage by stage."""
    from matcher.app.pipeline import Assembled

    plans = [(o.key, o.plan) for o in outcomes if o.plan is not None]
    position = {order.id: i for i, order in enumerate(instance.orders)}
    allocations = [a for _, p in plans for a in p.allocations]
    allocations.sort(key=lambda a: (a.order, a.factory, a.operation))
    unassigned = [u for _, p in plans for u in p.unassigned]
    unassigned.sort(key=lambda u: position[u.order])
    stages = [
        merged
        for name in ("assignment", "purchasing")
        if (merged := _merged_stage(name, outcomes)) is not None
    ]
    bought = [(k, p.purchasing) for k, p in plans if p.purchasing is not None]
    shared = [(k, p.capacity_sharing) for k, p in plans if p.capacity_sharing is not None]
    return Assembled(
        allocations=allocations,
        unassigned=unassigned,
        transfers=[t for _, p in plans for t in p.transfers],
        credit_units=sum(p.costs.credit for _, p in plans),
        purchasing=_merged_purchasing(bought) if bought else None,
        stages=stages,
        capacity_sharing=_merged_sharing(shared) if shared else None,
    )


_N = TypeVar("_N", int, float)


def _summed(values: list[_N | None]) -> _N | None:
    """The sum, or None when any part has none (a figure the whole then lacks too)."""
    known = [v for v in values if v is not None]
    return sum(known[1:], known[0]) if known and len(known) == len(values) else None


def _merged_stage(name: str, outcomes: list[PartOutcome]) -> StageStats | None:
    """The parts' ``name`` stages as one: the least proven status, objectives and
    bounds added (the parts are independent, so the sums are the whole's), the
    longest part's time; each part's figures in ``extra["parts"]``."""
    found = [
        (o, s) for o in outcomes if o.plan is not None for s in o.plan.stages if s.stage == name
    ]
    if not found:
        return None
    stats = [s for _, s in found]
    objective = _summed([s.objective for s in stats])
    bound = _summed([s.best_bound for s in stats])
    gap = None
    if objective is not None and bound is not None:
        gap = max(0.0, objective - bound) / max(1.0, abs(objective))
    firsts = [s.time_to_first_feasible_s for s in stats]
    extra: dict[str, Any] = {}
    for key in ("candidates", "production_variables"):
        if all(key in s.extra for s in stats):
            extra[key] = sum(int(s.extra[key]) for s in stats)
    if all("compile_s" in s.extra for s in stats):
        extra["compile_s"] = max(float(s.extra["compile_s"]) for s in stats)
    extra["parts"] = [
        {
            "part": o.key,
            "orders": o.orders,
            "status": s.status.value,
            "objective": s.objective,
            "best_bound": s.best_bound,
            "wall_time_s": s.wall_time_s,
        }
        for o, s in found
    ]
    return StageStats(
        stage=name,
        solver=stats[0].solver,
        status=least_proven(s.status for s in stats),
        objective=objective,
        best_bound=bound,
        gap=gap,
        wall_time_s=max(s.wall_time_s for s in stats),
        time_to_first_feasible_s=(
            None if any(t is None for t in firsts) else max(t for t in firsts if t is not None)
        ),
        seed=stats[0].seed,
        workers=stats[0].workers,
        notes=[f"{o.key}: {note}" for o, s in found for note in s.notes],
        extra=extra,
    )


def _merged_purchasing(bought: list[tuple[str, Purchasing]]) -> Purchasing:
    """The parts' purchasing as one: each purchased material is bought by one part, and
    each factory is in one, so purchases, shortages and savings shares join; the
    savings split of independent buying groups is the same apart as together, and the
    worst coalition over every material is the worst over the parts'. When a part's
    purchasing stopped before the stand-alone costs, the whole states no savings or
    split either (a split is of every buyer or of none), and its notes say which."""
    from solvers.purchasing.stage import split_name  # as the stage names one

    items = [p for _, p in bought]
    unsplit = [key for key, p in bought if p.standalone_cents is None]
    method = split_name({p.split_method for p in items})
    cores = [p.core for p in items if p.core is not None]
    worst = max(cores, key=lambda c: c.excess_cents, default=None)
    core = None
    if worst is not None:
        core = worst.model_copy(
            update={
                "coalitions_checked": sum(c.coalitions_checked for c in cores),
                "exhaustive": all(c.exhaustive for c in cores),
            }
        )
    by_material: dict[str, int] = {}
    for p in items:
        by_material.update(p.savings_by_material_cents)
    drawn = [p.permutations for p in items if p.permutations is not None]
    suppliers = [p.max_suppliers_per_material for p in items]
    notes = [f"{key}: {note}" for key, p in bought for note in p.notes]
    if unsplit:
        notes.append(
            f"savings and their split not stated: {', '.join(unsplit)} stopped before "
            "the stand-alone costs"
        )
        by_material, core, drawn = {}, None, []
    return Purchasing(
        purchases=[x for p in items for x in p.purchases],
        shortages=[x for p in items for x in p.shortages],
        collective_cents=sum(p.collective_cents for p in items),
        material_cents=sum(p.material_cents for p in items),
        transport_cents=sum(p.transport_cents for p in items),
        standalone_cents=_summed([p.standalone_cents for p in items]),
        savings_cents=_summed([p.savings_cents for p in items]),
        savings_by_material_cents=by_material,
        max_suppliers_per_material=suppliers[0],
        split_method=method,
        shares=[]
        if unsplit
        else sorted(
            (x.model_copy(update={"method": method}) for p in items for x in p.shares),
            key=lambda x: x.factory,
        ),
        permutations=min(drawn, default=None),
        core=core,
        notes=notes,
    )


def _merged_sharing(shared: list[tuple[str, CapacitySharing]]) -> CapacitySharing:
    """The parts' capacity-sharing analyses as one, ranked as one analysis ranks them
    (:func:`solvers.sharing.analysis.analyse`): no transfer or lend can cross parts,
    since no factory of one part can make another part's orders."""
    from solvers.sharing.analysis import (  # the analysis' own rankings and cut-off
        TOP,
        need_rank,
        offer_rank,
        overloaded_rank,
        transfer_rank,
        under_used_rank,
    )

    items = [c for _, c in shared]
    needs = sorted((n for c in items for n in c.extra_capacity_pays), key=need_rank)
    offers = sorted((o for c in items for o in c.idle_to_offer), key=offer_rank)
    transfers = sorted((t for c in items for t in c.transfers), key=transfer_rank)
    backups = [c.backups for c in items if c.backups is not None]
    methods = list(dict.fromkeys(c.method for c in items))
    return CapacitySharing(
        method="; ".join(methods),
        capacity=[r for c in items for r in c.capacity],
        overloaded=sorted((x for c in items for x in c.overloaded), key=overloaded_rank),
        under_used=sorted((x for c in items for x in c.under_used), key=under_used_rank),
        extra_capacity_pays=needs[:TOP],
        idle_to_offer=offers[:TOP],
        transfers=transfers,
        backups=[b for group in backups for b in group] if backups else None,
        wall_time_s=max(c.wall_time_s for c in items),
        notes=[f"{key}: {note}" for key, c in shared for note in c.notes],
    )


def _one_part_note(instance: Instance) -> str:
    options = instance.fairness
    if (options is not None and options.active) or instance.weights.load_balance:
        return (
            "decomposed solve: one part (fairness options or a load-balance weight couple "
            "every factory): solved whole"
        )
    return "decomposed solve: the instance does not split into independent parts: solved whole"


def _part_notes(
    outcomes: list[PartOutcome],
    executor: Executor,
    at_once: int,
    share: float,
    spent: float,
) -> list[str]:
    failed = [o for o in outcomes if o.plan is None]
    then = (
        "one whole solve started from the others' allocations"
        if failed
        else "their plans assembled into one and routed whole"
    )
    lines = [
        f"decomposed solve ({executor.name} executor, {at_once} at once): "
        f"{len(outcomes)} independent parts sharing {share:.1f}s by their sizes, "
        f"{spent:.1f}s in all; {then}",
    ]
    for o in outcomes:
        if o.plan is None:
            lines.append(
                f"  {o.key} ({o.orders} orders, {o.limit_s:.1f}s limit): failed, its orders "
                + f"left to the whole solve: {o.error}"
            )
            continue
        stage = o.plan.stages[0] if o.plan.stages else None
        figure = (
            "" if stage is None or stage.objective is None else f", objective {stage.objective:.0f}"
        )
        status = "" if stage is None else f" {stage.status}"
        lines.append(
            f"  {o.key} ({o.orders} orders, {o.limit_s:.1f}s limit):{status}{figure}, "
            f"{o.plan.kpis.orders_served} served, {o.wall_s:.1f}s"
        )
    if failed:
        lines.append(f"{len(failed)} part(s) failed")
    return lines


def _noted(result: Plan, notes: list[str]) -> Plan:
    """``result`` with ``notes`` on its assignment stage."""
    if not result.stages:
        return result
    first = result.stages[0]
    stages = [first.model_copy(update={"notes": [*notes, *first.notes]}), *result.stages[1:]]
    return result.model_copy(update={"stages": stages})
