"""The joint reference against the other engines on generated instances.

Without bills of materials there is nothing to buy, so the joint model is the
assignment model and must reach ``cpsat``'s proven optimum to the cent. With
materials, a proven joint optimum can only be at or below the default pipeline's
total, and the pipeline's purchasing stage, buying for the joint plan's allocations,
finds the purchasing cost the joint model reported or less. The fleets are removed:
routing replaces the per-unit transport estimates both engines optimise.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, SolveStatus
from matcher.generate import generate
from solvers.joint.backend import purchasing_part

pytestmark = [pytest.mark.slow]

BASE = SolveParams(workers=1, seed=0, relative_gap=0.0, sharing=False)
JOINT = BASE.model_copy(
    update={"assignment_solver": "joint", "time_limit_s": 30, "feedback": False}
)
# (orders, factories, periods, seed)
WITHOUT_MATERIALS = [(10, 4, 7, 11), (15, 5, 7, 12), (20, 6, 7, 13)]
WITH_MATERIALS = [(10, 4, 7, 1), (15, 5, 7, 5), (20, 6, 7, 7), (15, 4, 14, 116)]


@functools.cache
def _instance(orders: int, factories: int, periods: int, seed: int, materials: bool) -> Instance:
    data: dict[str, Any] = generate(
        orders=orders, factories=factories, periods=periods, seed=seed
    ).model_dump()
    data["fleet"] = {}
    if not materials:
        for o in data["orders"]:
            o["bill_of_materials"] = {}
    return Instance.model_validate(data)


def _proven(p: Plan) -> float:
    stage = p.stages[0]
    assert stage.status == SolveStatus.OPTIMAL, stage.notes
    assert stage.objective is not None and stage.best_bound is not None
    assert stage.best_bound == pytest.approx(stage.objective, abs=1.0)
    return stage.objective


def _verified(instance: Instance, p: Plan) -> Plan:
    report = check_plan(instance, p)
    assert report.ok, [str(v) for v in report.violations]
    return p


@pytest.mark.parametrize("spec", WITHOUT_MATERIALS)
def test_without_materials_the_joint_optimum_is_cpsats(spec: tuple[int, int, int, int]) -> None:
    instance = _instance(*spec, materials=False)
    cpsat = plan(instance, BASE.model_copy(update={"strategy": "full", "time_limit_s": 30}))
    joint = plan(instance, JOINT)
    assert _proven(joint) == _proven(cpsat)
    assert joint.costs.objective == cpsat.costs.objective
    _verified(instance, joint)


@pytest.mark.parametrize("spec", WITH_MATERIALS)
def test_with_materials_the_joint_total_is_at_most_the_default_pipelines(
    spec: tuple[int, int, int, int],
) -> None:
    instance = _instance(*spec, materials=True)
    joint = _verified(instance, plan(instance, JOINT))
    _proven(joint)
    default = plan(instance, BASE.model_copy(update={"time_limit_s": 10}))
    if default.purchasing is not None and default.purchasing.shortages:
        pytest.xfail("the default plan leaves needs uncovered: its total leaves them out")
    assert joint.costs.total <= default.costs.total
    assert joint.costs.objective <= default.costs.objective


@pytest.mark.parametrize("spec", WITH_MATERIALS)
def test_the_purchasing_stage_buys_the_joint_plan_for_what_the_joint_model_said(
    spec: tuple[int, int, int, int],
) -> None:
    instance = _instance(*spec, materials=True)
    joint = plan(instance, JOINT)
    reported = purchasing_part(joint.stages[0].notes)
    assert reported is not None
    bought = 0 if joint.purchasing is None else joint.purchasing.collective_cents
    assert joint.purchasing is None or not joint.purchasing.shortages
    assert joint.purchasing is None or joint.stages[1].status == SolveStatus.OPTIMAL
    assert bought == reported
    assert joint.costs.objective == joint.stages[0].objective
