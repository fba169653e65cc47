"""The decomposed solve (matcher/app/decompose.py, docs/batch.md): independent parts as
executor tasks, then the whole from them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from matcher.app.decompose import decomposed_plan, parts
from matcher.app.executor import LocalExecutor
from matcher.app.pipeline import plan
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
