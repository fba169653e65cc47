"""The decomposed solve (``matcher solve --executor local|ray``, docs/batch.md): an
instance whose orders fall into independent parts is solved part by part as
executor tasks, then once whole from the parts' plan.

Two orders are in the same part when they could share a factory (a factory offers
every process of both) or a purchased material (collective purchasing and the
materials' arrival limits couple the factories that buy it). Parts so made share no
capacity row, buyer share, material limit or purchase, so the assignment and the
purchasing of the whole are exactly those of the parts solved apart: the parts are
not an approximation, only a way to solve them on more cores or machines. What does
couple them comes after: the shared fleet, and the capacity-sharing analysis. So the
parts' allocations start one whole solve (its assignment from them, then purchasing,
routing and sharing over every order). Fairness options couple every factory (shares
of the whole platform's work): with them, or with a load-balance weight, there is one
part. Generated platforms split by industry (5 parts at 1 000 and 10 000 orders).
"""

from __future__ import annotations

import json
import math
import time
from collections import defaultdict
from dataclasses import dataclass

from matcher.app.executor import Call, Executor, TaskError
from matcher.domain.entities import Fleet, Order
from matcher.domain.instance import Instance
from matcher.domain.params import ProgressCallback, SolveParams, StopSignal
from matcher.domain.plan import Plan
from matcher.domain.validation import InvalidInstanceError, parse_instance

PARTS_SHARE = 0.5
"""Of the time limit: the parts' solves (in waves of as many as the executor runs at
once); the rest is the whole solve started from them."""
MIN_PART_ORDERS = 1
"""A part of fewer orders is still solved on its own (it costs one task)."""


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
    purchased materials they hold in stock. Orders no factory can make stay with the
    largest part (the whole solve reports why)."""
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
    seen: dict[tuple[frozenset[str], bool], list[str]] = {}
    for order in instance.orders:
        for fid in _capable(order, offers, seen):
            joined.join(("order", order.id), ("factory", fid))
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
    return found


def _capable(
    order: Order, offers: dict[str, set[str]], seen: dict[tuple[frozenset[str], bool], list[str]]
) -> list[str]:
    """The factories offering every process of ``order`` (one of them, for an order
    split by operation); ``seen`` caches the answer per set of processes."""
    needs = frozenset(op.process for op in order.operations)
    split = order.split.by_operation and len(order.operations) > 1
    key = (needs, split)
    if key not in seen:
        seen[key] = [f for f, ps in offers.items() if (ps & needs if split else needs <= ps)]
    return seen[key]


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


def solve_part(instance_json: str, params_json: str) -> str:
    """The executor's task: one part solved (its assignment and purchasing), the plan
    back as JSON. A top-level function of strings, so that any worker can run it."""
    # OR-Tools loads in the worker that solves, not in the process that submits.
    from matcher.app.pipeline import plan

    try:
        instance = parse_instance(json.loads(instance_json))
    except InvalidInstanceError as exc:  # cannot happen for a part of a valid instance
        raise TaskError(f"invalid part: {exc.issues[0]}") from None
    return plan(instance, SolveParams.model_validate_json(params_json)).model_dump_json()


@dataclass
class PartOutcome:
    """What one part's task gave: its plan, or why it failed."""

    key: str
    orders: int
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
    """Solve ``instance`` part by part through ``executor``, then whole from the parts'
    allocations: :data:`PARTS_SHARE` of ``params.time_limit_s`` for the parts (in waves
    of as many as ``executor`` runs at once with ``params.workers`` CPUs each), the rest
    for the whole solve, which keeps at least its share even when the parts overran
    theirs (so the whole may end late by their overrun). A part whose task fails leaves
    its orders to the whole solve; the plan's assignment stage says how it went."""
    from matcher.app.pipeline import plan  # OR-Tools: only when solving

    started = time.perf_counter()
    found = parts(instance)
    if len(found) < 2:
        result = plan(instance, params, progress, stop)
        return _noted(result, [_one_part_note(instance)])
    at_once = executor.at_once(params.workers)  # each part asks for its workers' CPUs
    waves = math.ceil(len(found) / at_once)
    part_s = PARTS_SHARE * params.time_limit_s / waves
    part_params = params.model_copy(
        update={"time_limit_s": part_s, "sharing": False, "backups": False}
    ).model_dump_json()
    calls = [
        Call(f"part{i}", (part_instance(instance, part, i).model_dump_json(), part_params))
        for i, part in enumerate(found)
    ]
    sizes = {f"part{i}": len(part.orders) for i, part in enumerate(found)}
    outcomes = []
    for outcome in executor.run(solve_part, calls, cpus_per_task=params.workers):
        got = None if outcome.error else Plan.model_validate_json(outcome.value)
        outcomes.append(
            PartOutcome(outcome.key, sizes[outcome.key], got, outcome.error, outcome.wall_s)
        )
    warm: dict[tuple[str, str], dict[int, int]] = {}
    for o in outcomes:
        for a in o.plan.allocations if o.plan is not None else ():
            if a.operation == 0:
                slot = warm.setdefault((a.order, a.factory), {})
                for pq in a.periods:
                    slot[pq.period] = slot.get(pq.period, 0) + pq.quantity
    spent = time.perf_counter() - started
    # The whole solve keeps its share even when the parts overran theirs (their tasks'
    # start, JSON and engine import are outside their limits): it must compile the
    # whole instance (14 s at 50 000 orders) to give any plan at all.
    left = max((1 - PARTS_SHARE) * params.time_limit_s, params.time_limit_s - spent)
    whole = plan(
        instance, params.model_copy(update={"time_limit_s": left}), progress, stop, None, warm
    )
    return _noted(whole, _part_notes(outcomes, executor, at_once, waves, part_s, spent))


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
    waves: int,
    part_s: float,
    spent: float,
) -> list[str]:
    failed = [o for o in outcomes if o.plan is None]
    lines = [
        f"decomposed solve ({executor.name} executor, {at_once} at once): "
        f"{len(outcomes)} independent parts in {waves} wave(s) of {part_s:.1f}s, "
        f"{spent:.1f}s in all; the whole solve started from their allocations",
    ]
    for o in sorted(outcomes, key=lambda o: o.key):
        if o.plan is None:
            lines.append(
                f"  {o.key} ({o.orders} orders): failed, its orders left to the whole "
                + f"solve: {o.error}"
            )
            continue
        stage = o.plan.stages[0] if o.plan.stages else None
        figure = (
            "" if stage is None or stage.objective is None else f", objective {stage.objective:.0f}"
        )
        status = "" if stage is None else f" {stage.status}"
        lines.append(
            f"  {o.key} ({o.orders} orders):{status}{figure}, {o.plan.kpis.orders_served} served, "
            f"{o.wall_s:.1f}s"
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
