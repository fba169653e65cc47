"""The assignment back-ends on tiny, hand-checkable variants of instances/tiny.json."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, ReasonCode, SolveStatus
from matcher.domain.validation import parse_instance

SOLVERS = ["cpsat", "greedy"]


def _solve(instance: Instance, solver: str = "cpsat", **kw: Any) -> Plan:
    return plan(instance, SolveParams(assignment_solver=solver, workers=1, time_limit_s=10, **kw))


def _where(p: Plan) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in p.allocations:
        out.setdefault(a.order, set()).add(a.factory)
    return out


def _reason(p: Plan, order: str) -> ReasonCode:
    return next(u.reason for u in p.unassigned if u.order == order)


def test_cpsat_finds_the_hand_computed_optimum_of_the_tiny_instance(tiny: Instance) -> None:
    # F1 (200 c/unit, 48 units/day) cannot make O1 (60, due day 1) and O2 (40, due day 0)
    # on time; moving O2 to F2 costs 40 x (210 + 4 transport) - 40 x 200 = 560 cents,
    # less than 4 units one day late at 200 cents each (800). O4 needs cutting: nobody.
    p = _solve(tiny)
    assert p.status == SolveStatus.OPTIMAL
    assert _where(p) == {"O1": {"F1"}, "O2": {"F2"}, "O3": {"F1"}}
    assert p.costs.production == 60 * 200 + 40 * 210 + 30 * 200
    assert p.costs.transport == 40 * 4
    assert p.costs.lateness == 0
    assert p.costs.unserved == 5000
    assert p.costs.objective == 31560
    assert p.stages[0].best_bound == pytest.approx(31560)
    assert _reason(p, "O4") == ReasonCode.NO_CAPABLE_FACTORY


def test_greedy_serves_the_tiny_instance_without_proving_a_bound(tiny: Instance) -> None:
    p = _solve(tiny, "greedy")
    assert p.status == SolveStatus.FEASIBLE
    assert set(_where(p)) == {"O1", "O2", "O3"}
    assert p.stages[0].best_bound is None
    assert p.costs.objective >= 31560


@pytest.mark.parametrize("solver", SOLVERS)
def test_credit_price_and_lot_filters_give_their_reason(
    tiny_data: dict[str, Any], solver: str
) -> None:
    tiny_data["orders"][0]["min_credit_score"] = 95
    tiny_data["orders"][2]["max_unit_price_cents"] = 150
    tiny_data["factories"][0]["capabilities"][0]["min_lot"] = 50
    tiny_data["factories"][1]["capabilities"][0]["min_lot"] = 50
    p = _solve(parse_instance(tiny_data), solver)
    assert _reason(p, "O1") == ReasonCode.CREDIT_BELOW_MIN
    assert _reason(p, "O3") == ReasonCode.PRICE_ABOVE_MAX
    assert _reason(p, "O2") == ReasonCode.LOT_SIZE_INFEASIBLE


@pytest.mark.parametrize("solver", SOLVERS)
def test_an_order_too_big_for_its_window_is_due_date_infeasible(
    tiny_data: dict[str, Any], solver: str
) -> None:
    # 200 units need 2000 min; F1 has 3 x 480 = 1440 free and it is the only one with
    # enough credit.
    tiny_data["orders"][2]["quantity"] = 200
    p = _solve(parse_instance(tiny_data), solver)
    assert _reason(p, "O3") == ReasonCode.DUE_DATE_INFEASIBLE


@pytest.mark.parametrize("solver", SOLVERS)
def test_an_order_crowded_out_names_the_binding_resource(
    tiny_data: dict[str, Any], solver: str
) -> None:
    # O3 (F1 only, by credit) needs 30 units; mandatory O2, also F1 only, grows to
    # 144 units: all of F1's three days.
    tiny_data["orders"][1]["quantity"] = 144
    tiny_data["orders"][1]["due_period"] = 2
    tiny_data["orders"][1]["min_credit_score"] = 85
    p = _solve(parse_instance(tiny_data), solver)
    assert _where(p)["O2"] == {"F1"}
    unassigned = {u.order: u for u in p.unassigned}
    assert unassigned["O3"].reason == ReasonCode.CAPACITY_EXHAUSTED
    assert "F1" in unassigned["O3"].detail and "line" in unassigned["O3"].detail


@pytest.mark.parametrize("solver", SOLVERS)
def test_an_order_whose_penalty_is_below_its_cost_is_not_worth_serving(
    tiny_data: dict[str, Any], solver: str
) -> None:
    tiny_data["orders"][2]["penalties"]["unserved_cents"] = 100  # 30 units cost 6000
    p = _solve(parse_instance(tiny_data), solver)
    assert _reason(p, "O3") == ReasonCode.NOT_WORTH_SERVING
    assert p.costs.unserved == 5000 + 100


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_splittable_order_is_made_by_two_factories_when_one_is_too_small(
    tiny_data: dict[str, Any], solver: str
) -> None:
    tiny_data["orders"] = [tiny_data["orders"][0]]
    tiny_data["orders"][0].update(
        quantity=150, due_period=2, split={"allowed": True, "min_quantity": 5, "max_factories": 2}
    )
    p = _solve(parse_instance(tiny_data), solver)
    assert _where(p) == {"O1": {"F1", "F2"}}
    assert sum(a.quantity for a in p.allocations) == 150
    by_factory = {a.factory: a.quantity for a in p.allocations}
    assert by_factory["F1"] == 144  # the cheap factory is filled first


def test_an_unsplittable_order_too_big_for_any_factory_is_not_split(
    tiny_data: dict[str, Any],
) -> None:
    tiny_data["orders"] = [tiny_data["orders"][0]]
    tiny_data["orders"][0].update(quantity=150, due_period=2)
    p = _solve(parse_instance(tiny_data))
    assert p.allocations == []
    assert _reason(p, "O1") == ReasonCode.DUE_DATE_INFEASIBLE


def test_setup_time_is_paid_in_every_period_a_lot_runs(tiny_data: dict[str, Any]) -> None:
    # 120 min setup leaves 360 min = 36 units a day at F1.
    for f in tiny_data["factories"]:
        f["capabilities"][0]["setup_minutes"] = 120
    tiny_data["orders"] = [tiny_data["orders"][2]]  # O3: 30 units, F1 only, due day 2
    tiny_data["orders"][0]["quantity"] = 100
    tiny_data["orders"][0]["penalties"]["unserved_cents"] = 10**6
    p = _solve(parse_instance(tiny_data))
    (alloc,) = p.allocations
    # 100 units need all three days; the two full days hold 36 each.
    assert sorted(pq.quantity for pq in alloc.periods) == [28, 36, 36]


def test_mandatory_orders_are_served_before_optional_ones(tiny_data: dict[str, Any]) -> None:
    # Both need all of F1 on day 0; only the mandatory one (O2) may have it.
    for o in tiny_data["orders"][:2]:
        o.update(quantity=48, due_period=0, min_credit_score=85)
        o["penalties"]["late_cents_per_unit_period"] = 10**6
    tiny_data["orders"][0]["penalties"]["unserved_cents"] = 10**7
    tiny_data["horizon"]["periods"] = 1
    for f in tiny_data["factories"]:
        f["resources"][0]["available_minutes"] = [480]
    for o in tiny_data["orders"]:
        o["due_period"] = 0
    p = _solve(parse_instance(tiny_data))
    assert "O2" in _where(p)
    assert _reason(p, "O1") == ReasonCode.CAPACITY_EXHAUSTED


def test_hard_mandatory_reports_infeasible_instead_of_raising(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][1].update(quantity=500, due_period=2)  # O2 mandatory, too big
    p = _solve(parse_instance(tiny_data), hard_mandatory=True)
    assert p.status == SolveStatus.INFEASIBLE
    assert p.allocations == []


def test_soft_mandatory_keeps_a_plan_and_flags_the_order(tiny_data: dict[str, Any]) -> None:
    tiny_data["orders"][1].update(quantity=500, due_period=2)
    p = _solve(parse_instance(tiny_data))
    assert p.status == SolveStatus.OPTIMAL
    (flagged,) = [u for u in p.unassigned if u.mandatory]
    assert flagged.order == "O2"
    assert flagged.reason == ReasonCode.DUE_DATE_INFEASIBLE


def test_the_same_seed_with_one_worker_gives_the_same_plan(tiny: Instance) -> None:
    timings: dict[str, Any] = {
        "stages": True,
        "capacity_sharing": {"wall_time_s"},
        "fairness": {"wall_time_s"},
    }
    a = _solve(tiny, seed=7).model_dump(exclude=timings)
    b = _solve(tiny, seed=7).model_dump(exclude=timings)
    assert a == b


def test_lateness_is_charged_per_unit_and_period(tiny_data: dict[str, Any]) -> None:
    # One order, F1 only: 100 units due day 0 -> 48 on time, 48 one day late, 4 two days.
    tiny_data["orders"] = [tiny_data["orders"][2]]
    tiny_data["orders"][0].update(quantity=100, due_period=0)
    tiny_data["orders"][0]["penalties"] = {
        "late_cents_per_unit_period": 10,
        "unserved_cents": 10**6,
    }
    p = _solve(parse_instance(tiny_data))
    (alloc,) = p.allocations
    assert [(pq.period, pq.quantity) for pq in alloc.periods] == [(0, 48), (1, 48), (2, 4)]
    assert alloc.late_units == 52
    assert p.costs.lateness == 48 * 10 + 4 * 20
    assert p.kpis.orders_late == 1


def test_unknown_solver_name_is_a_clear_error(tiny: Instance) -> None:
    with pytest.raises(ValueError, match="unknown assignment solver 'nope'"):
        plan(tiny, SolveParams(assignment_solver="nope"))


def test_hard_mandatory_on_a_model_too_big_for_the_whole_model_is_refused_clearly(
    tiny: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    import solvers.assignment.cpsat as cpsat

    monkeypatch.setattr(cpsat, "FULL_MODEL_MAX_VARIABLES", 10)
    with pytest.raises(ValueError, match="hard mandatory orders need the whole model"):
        _solve(tiny, hard_mandatory=True)
    assert _solve(tiny, hard_mandatory=True, strategy="full").status == SolveStatus.OPTIMAL


def test_greedy_refuses_hard_mandatory(tiny: Instance) -> None:
    with pytest.raises(ValueError, match="does not support"):
        _solve(tiny, "greedy", hard_mandatory=True)


def test_a_split_order_that_fits_empty_factories_only_together_is_capacity_exhausted(
    tiny_data: dict[str, Any],
) -> None:
    # 200 units fit F1 and F2 together (144 each over the horizon), never one alone; a
    # mandatory order takes 100 of them first, so what holds it back is capacity.
    big = tiny_data["orders"][0]
    big.update(quantity=200, due_period=2, split={"allowed": True, "max_factories": 2})
    must = {**tiny_data["orders"][2], "id": "O9", "quantity": 100, "due_period": 2}
    must["penalties"] = {"late_cents_per_unit_period": 200}  # mandatory
    tiny_data["orders"] = [big, must]
    p = _solve(parse_instance(tiny_data))
    assert "O9" in _where(p)
    assert _reason(p, "O1") == ReasonCode.CAPACITY_EXHAUSTED  # was DUE_DATE_INFEASIBLE
