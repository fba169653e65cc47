"""The decomposed solve (matcher/app/decompose.py, docs/batch.md): independent parts as
executor tasks, their plans assembled into one and routed whole."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from matcher.app.decompose import (
    Part,
    PartOutcome,
    decomposed_plan,
    joined_parts,
    part_instance,
    parts,
    slices,
    work,
)
from matcher.app.executor import Call, LocalExecutor, TaskOutcome
from matcher.app.pipeline import assembled_plan, plan
from matcher.check import check_plan
from matcher.domain.entities import FairnessOptions
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.validation import load_instance

DEMO = Path(__file__).parents[3] / "instances" / "demo.json"


@pytest.fixture(scope="module")
def demo() -> Instance:
    return load_instance(DEMO)


@pytest.fixture(scope="module")
def executor() -> Iterator[LocalExecutor]:
    ex = LocalExecutor(2)
    yield ex
    ex.close()


def test_the_demo_splits_into_parts_that_share_no_factory_and_no_purchased_material(
    demo: Instance,
) -> None:
    found = parts(demo)
    assert [len(p.orders) for p in found] == [20, 11, 9, 8, 2]
    orders = [o for p in found for o in p.orders]
    factories = [f for p in found for f in p.factories]
    assert sorted(orders) == sorted(o.id for o in demo.orders)  # each order once
    assert sorted(factories) == sorted(f.id for f in demo.factories)
    part_of = {f: i for i, p in enumerate(found) for f in p.factories}
    purchased = {m.id for m in demo.materials if m.sourcing == "purchased"}
    material_part: dict[str, int] = {}
    by_id = {o.id: o for o in demo.orders}
    for i, p in enumerate(found):
        for oid in p.orders:
            order = by_id[oid]
            needs = {op.process for op in order.operations}
            for f in demo.factories:  # every factory able to make it is in its part
                if needs <= {c.process for c in f.capabilities}:
                    assert part_of[f.id] == i, (oid, f.id)
            for m in set(order.bill_of_materials) & purchased:
                assert material_part.setdefault(m, i) == i, m


def test_fairness_options_couple_every_factory_so_there_is_one_part(demo: Instance) -> None:
    capped = demo.model_copy(update={"fairness": FairnessOptions(max_share=0.5)})
    assert len(parts(capped)) == 1
    balanced = demo.model_copy(
        update={"weights": demo.weights.model_copy(update={"load_balance": 1})}
    )
    assert len(parts(balanced)) == 1


def test_the_decomposed_plan_passes_the_checker_and_states_its_parts(
    demo: Instance, executor: LocalExecutor
) -> None:
    params = SolveParams(time_limit_s=6, workers=1, seed=0)
    result = decomposed_plan(demo, params, executor)
    report = check_plan(demo, result)
    assert report.ok, [str(v) for v in report.violations]
    notes = result.stages[0].notes
    assert notes[0].startswith("decomposed solve (local executor, 2 at once): 5 independent")
    assert notes[0].endswith("their plans assembled into one and routed whole")
    assert sum(1 for n in notes if n.startswith("  part")) == 5
    assert result.routes is not None  # the fleet routes the whole plan, not the parts


def test_a_warm_start_is_where_the_whole_solve_begins(demo: Instance) -> None:
    params = SolveParams(time_limit_s=4, workers=1, seed=0, feedback=False, sharing=False)
    first = plan(demo, params)
    warm: dict[tuple[str, str], dict[int, int]] = {}
    for a in first.allocations:
        if a.operation == 0:
            warm[(a.order, a.factory)] = {pq.period: pq.quantity for pq in a.periods}
    again = plan(demo, params.model_copy(update={"time_limit_s": 0.5}), warm=warm)
    assert again.stages[0].objective is not None and first.stages[0].objective is not None
    assert again.stages[0].objective <= first.stages[0].objective


def test_factories_that_can_make_no_order_join_the_largest_part(demo: Instance) -> None:
    model = demo.factories[0]
    idle = model.model_copy(
        update={
            "id": "F-IDLE",
            "capabilities": [model.capabilities[0].model_copy(update={"process": "weaving"})],
            "stock": {},
        }
    )
    widened = demo.model_copy(update={"factories": [*demo.factories, idle]})
    assert not any(op.process == "weaving" for o in demo.orders for op in o.operations)
    found = parts(widened)
    assert "F-IDLE" in found[0].factories
    assert sorted(f for p in found for f in p.factories) == sorted(f.id for f in widened.factories)


@pytest.fixture(scope="module")
def solved_parts(demo: Instance) -> list[PartOutcome]:
    """Each part of the demo solved in this process, as the executor's tasks would."""
    params = SolveParams(time_limit_s=1, workers=1, seed=0)
    outcomes = []
    for i, part in enumerate(parts(demo)):
        got = plan(part_instance(demo, part, i), params)
        outcomes.append(PartOutcome(f"part{i}", len(part.orders), 1.0, got, None, 0.0))
    return outcomes


def test_the_assembled_plan_joins_the_parts_plans_and_routes_them_whole(
    demo: Instance, solved_parts: list[PartOutcome]
) -> None:
    params = SolveParams(time_limit_s=1, workers=1, seed=0)
    outcomes = solved_parts
    pieces = joined_parts(demo, outcomes)
    result = assembled_plan(demo, params.model_copy(update={"time_limit_s": 2}), pieces)
    report = check_plan(demo, result)
    assert report.ok, [str(v) for v in report.violations]
    plans = [o.plan for o in outcomes if o.plan is not None]
    # Every order once, served or not, as its part left it.
    assert len(result.allocations) == sum(len(p.allocations) for p in plans)
    assert {u.order for u in result.unassigned} == {u.order for p in plans for u in p.unassigned}
    assert result.kpis.orders_served == sum(p.kpis.orders_served for p in plans)
    # The parts are independent: the whole's assignment and purchasing are their sums.
    assignment = result.stages[0]
    assert assignment.objective == pytest.approx(
        sum(s.objective for p in plans for s in p.stages[:1] if s.objective is not None)
    )
    assert [x["part"] for x in assignment.extra["parts"]] == [o.key for o in outcomes]
    for term in ("production", "lateness", "unserved", "credit"):
        assert getattr(result.costs, term) == sum(getattr(p.costs, term) for p in plans)
    bought = [p.purchasing for p in plans if p.purchasing is not None]
    assert result.purchasing is not None
    assert len(result.purchasing.purchases) == sum(len(b.purchases) for b in bought)
    assert result.purchasing.material_cents == sum(b.material_cents for b in bought)
    assert result.costs.purchasing == result.purchasing.material_cents  # routes carry them
    # The fleet is shared: the parts have none, the whole routes every load.
    assert all(p.routes is None for p in plans)
    assert result.routes is not None
    assert result.costs.transport == result.routes.transport_cents
    assert result.capacity_sharing is not None
    assert len(result.capacity_sharing.capacity) == sum(
        len(p.capacity_sharing.capacity) for p in plans if p.capacity_sharing is not None
    )


def test_a_part_stopped_before_its_stand_alone_costs_leaves_the_whole_without_a_split(
    demo: Instance, solved_parts: list[PartOutcome]
) -> None:
    first = solved_parts[0].plan
    assert first is not None and first.purchasing is not None and first.purchasing.shares
    # What the purchasing stage gives when the clock stops it before the stand-alone
    # costs: no savings, no split.
    stopped = first.purchasing.model_copy(
        update={
            "standalone_cents": None,
            "savings_cents": None,
            "savings_by_material_cents": {},
            "shares": [],
            "core": None,
        }
    )
    outcomes = [
        replace(solved_parts[0], plan=first.model_copy(update={"purchasing": stopped})),
        *solved_parts[1:],
    ]
    result = assembled_plan(
        demo, SolveParams(time_limit_s=1, workers=1), joined_parts(demo, outcomes)
    )
    report = check_plan(demo, result)
    assert report.ok, [str(v) for v in report.violations]
    assert result.purchasing is not None
    assert result.purchasing.standalone_cents is None and not result.purchasing.shares
    assert result.purchasing.notes[-1].startswith("savings and their split not stated: part0")


class _OnePartSpoiled:
    """A local executor whose second task gets an instance that does not parse, so
    that it fails in its worker the way a broken task does."""

    name = "local"

    def __init__(self, inner: LocalExecutor) -> None:
        self.inner = inner

    @property
    def slots(self) -> int:
        return self.inner.slots

    def at_once(self, cpus_per_task: int) -> int:
        return self.inner.at_once(cpus_per_task)

    def run(
        self, fn: Callable[..., Any], calls: Iterable[Call], cpus_per_task: int = 1
    ) -> Iterator[TaskOutcome]:
        spoiled = [Call(c.key, ("{}", *c.args[1:])) if c.key == "part1" else c for c in calls]
        return self.inner.run(fn, spoiled, cpus_per_task)

    def close(self) -> None:
        pass


def test_a_failed_part_leaves_its_orders_to_a_whole_solve(
    demo: Instance, executor: LocalExecutor
) -> None:
    params = SolveParams(time_limit_s=4, workers=1, seed=0)
    result = decomposed_plan(demo, params, _OnePartSpoiled(executor))
    report = check_plan(demo, result)
    assert report.ok, [str(v) for v in report.violations]
    notes = result.stages[0].notes
    assert notes[0].endswith("one whole solve started from the others' allocations")
    assert any(
        n.startswith("  part1 (11 orders, ") and "failed, its orders left" in n for n in notes
    )
    assert "1 part(s) failed" in notes
    part1 = set(parts(demo)[1].orders)
    assert part1 & {a.order for a in result.allocations}  # the whole solve placed them


def test_a_part_s_work_counts_its_variables_beside_its_orders(demo: Instance) -> None:
    orders = [o.id for o in demo.orders[:10]]
    everywhere = Part(orders, [f.id for f in demo.factories])
    narrow = Part(orders, [demo.factories[0].id])  # the same orders, fewer cells
    wide, small = work(demo, [everywhere, narrow])
    assert wide > small >= len(orders)
    assert wide + small == pytest.approx(4 * len(orders))  # orders + cells scaled to them
    alone = work(demo, [everywhere])
    assert alone == pytest.approx([2 * len(orders)])


def test_parts_share_the_time_by_their_sizes_over_the_slots_that_run_them() -> None:
    # One at a time: proportional to the sizes, adding up to the share.
    assert slices([300, 100], 1, 40.0) == [30.0, 10.0]
    # A slot for every part: each gets all of it.
    assert slices([300, 100, 5], 3, 40.0) == [40.0, 40.0, 40.0]
    # Two slots: the largest alone in one, the others share the second by size.
    got = slices([400, 300, 100], 2, 40.0)
    assert got == [40.0, 30.0, 10.0]
    # An empty part still gets a little time.
    assert slices([10, 0], 1, 11.0) == [10.0, 1.0]
