"""Materials in the assignment (docs/model.md, "Materials"): no production before its
materials can arrive, in every back-end that claims the problem.

Hand-checked cases on two factories at one place, one process, 10 units a period
each (480 minutes, 48 minutes a unit), 8 periods. Material ``steel``: 0.5 kg a unit
of product, bought from supplier S (whose offer is set per test); F1 makes a unit for
100 cents, F2 for 150.
"""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, ReasonCode
from matcher.domain.validation import parse_instance
from solvers.assignment.greedy import Capacity, fill
from solvers.assignment.materials import whole_units
from solvers.assignment.problem import build_problem

BACKENDS = ["cpsat", "greedy", "mip-highs"]
PLACE = {"lat": 30.0, "lon": 121.0}


def _factory(fid: str, cost: int, stock: float = 0.0) -> dict[str, Any]:
    f: dict[str, Any] = {
        "id": fid,
        "location": PLACE,
        "capabilities": [
            {
                "process": "cut",
                "resource_group": "g",
                "unit_cost_cents": cost,
                "seconds_per_unit": 2880,
            }
        ],
        "resources": [{"id": "g", "available_minutes": [480] * 8}],
    }
    if stock:
        f["stock"] = {"steel": stock}
    return f


def _order(oid: str, quantity: int, due: int, penalty: int = 1_000_000) -> dict[str, Any]:
    return {
        "id": oid,
        "buyer": "b",
        "operations": [{"process": "cut"}],
        "quantity": quantity,
        "due_period": due,
        "delivery": PLACE,
        "penalties": {"late_cents_per_unit_period": 1000, "unserved_cents": penalty},
        "bill_of_materials": {"steel": 0.5},
    }


def _instance(
    orders: list[dict[str, Any]],
    lead: int = 0,
    capacity: float | None = None,
    stock: float = 0.0,
    sourcing: str = "purchased",
) -> Instance:
    offer: dict[str, Any] = {
        "material": "steel",
        "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 10}]},
        "lead_time_periods": lead,
    }
    if capacity is not None:
        offer["capacity"] = capacity
    return parse_instance(
        {
            "name": "materials",
            "horizon": {"start_date": "2026-01-05", "periods": 8},
            "processes": [{"id": "cut"}],
            "materials": [{"id": "steel", "sourcing": sourcing}],
            "factories": [_factory("F1", 100, stock), _factory("F2", 150)],
            "orders": orders,
            "suppliers": [{"id": "S", "location": PLACE, "offers": [offer]}],
        }
    )


def _solve(instance: Instance, solver: str) -> Plan:
    params = SolveParams(assignment_solver=solver, time_limit_s=5, workers=1, seed=0, sharing=False)
    result = plan(instance, params)
    report = check_plan(instance, result)
    assert report.ok, [str(v) for v in report.violations]
    return result


def _periods(result: Plan, order: str) -> dict[tuple[str, int], int]:
    return {
        (a.factory, pq.period): pq.quantity
        for a in result.allocations
        if a.order == order
        for pq in a.periods
    }


@pytest.mark.parametrize("solver", BACKENDS)
def test_nothing_is_made_before_the_only_offer_can_deliver(solver: str) -> None:
    # Lead time 3: steel arrives from period 3, so 20 units due in period 4 are made
    # in periods 3 and 4 at F1 (10 a period), not earlier, and nothing is bought late.
    result = _solve(_instance([_order("A", 20, due=4)], lead=3), solver)
    made = _periods(result, "A")
    assert min(t for _, t in made) >= 3
    assert sum(made.values()) == 20
    assert result.purchasing is not None and not result.purchasing.shortages


@pytest.mark.parametrize("solver", BACKENDS)
def test_stock_lets_a_factory_start_at_once_and_only_as_far_as_it_goes(solver: str) -> None:
    # F1 holds 3 kg: 6 units before the steel arrives in period 6; the order of 16 due
    # in period 6 needs 10 more by then, which F1 (10 a period) makes in period 6 itself.
    instance = _instance([_order("A", 16, due=6, penalty=10_000_000)], lead=6, stock=3.0)
    result = _solve(instance, solver)
    made = _periods(result, "A")
    early = sum(q for (_, t), q in made.items() if t < 6)
    assert early <= 6
    assert all(f == "F1" for f, t in made if t < 6)
    assert sum(made.values()) == 16


@pytest.mark.parametrize("solver", BACKENDS)
def test_a_supplier_capacity_serves_the_orders_it_can_and_says_why_not_the_rest(
    solver: str,
) -> None:
    # 12 kg in all: 24 units of product. A (20 units) fits, B (20) then cannot.
    orders = [_order("A", 20, due=7, penalty=2_000_000), _order("B", 20, due=7)]
    result = _solve(_instance(orders, capacity=12.0), solver)
    served = {a.order for a in result.allocations}
    assert served == {"A"}
    (left,) = result.unassigned
    assert left.order == "B"
    assert left.reason == ReasonCode.MATERIAL_UNAVAILABLE
    assert "steel" in left.detail


def test_an_order_its_materials_can_never_reach_in_time_is_unassigned_with_the_reason() -> None:
    # Lead time 6 leaves periods 6 and 7: 20 units at 10 a period, but lateness
    # (1 000 a unit-period) past due period 1 costs more than its penalty of 2 000.
    instance = _instance([_order("A", 30, due=1, penalty=2_000)], lead=6)
    problem = build_problem(instance)
    info = problem.orders[0]
    assert info.reason == ReasonCode.MATERIAL_UNAVAILABLE
    assert "steel" in info.detail and "period 6" in info.detail


def test_a_provided_material_never_holds_production_back() -> None:
    instance = _instance([_order("A", 20, due=1)], lead=6, capacity=1.0, sourcing="provided")
    result = _solve(instance, "cpsat")
    assert min(t for _, t in _periods(result, "A")) == 0
    assert result.purchasing is None


def test_each_factory_rounds_its_need_up_to_whole_units() -> None:
    # 1 unit at F1 and 1 at F2 need 0.5 kg each: 1 + 1 = 2 whole units. With 1 kg of
    # capacity, two one-unit orders cannot be made at two factories; F1 makes both.
    orders = [_order("A", 1, due=7), _order("B", 1, due=7)]
    instance = _instance(orders, capacity=1.0)
    for solver in BACKENDS:
        result = _solve(instance, solver)
        assert {a.factory for a in result.allocations} == {"F1"}
        assert len({a.order for a in result.allocations}) == 2


def test_whole_units_round_millionths_up() -> None:
    assert whole_units(0) == 0
    assert whole_units(-5) == 0
    assert whole_units(1) == 1
    assert whole_units(1_000_000) == 1
    assert whole_units(1_000_001) == 2


@pytest.mark.parametrize("strategy", ["full", "lns"])
def test_generated_plans_keep_to_the_material_rule(strategy: str) -> None:
    from matcher.generate import generate

    instance = generate(40, 8, 10, seed=5)
    params = SolveParams(time_limit_s=4, workers=1, seed=0, strategy=strategy, sharing=False)
    result = plan(instance, params)
    report = check_plan(instance, result)
    assert report.ok, [str(v) for v in report.violations]
    if result.purchasing is not None:
        reasons = {s.reason for s in result.purchasing.shortages}
        assert not reasons & {"LEAD_TIME", "SUPPLIER_CAPACITY"}


def test_the_quick_material_test_refuses_only_what_no_fill_can_place() -> None:
    # 12 kg in all and A's 20 units at F1 take 10: 4 more units (2 kg) fit anywhere,
    # a 5th does not. Capacity.may_fit says so without trying each period, and
    # agrees with the period-by-period fill for every quantity.
    instance = _instance([_order("A", 20, due=7), _order("B", 20, due=7)], capacity=12.0)
    problem = build_problem(instance)
    cap = Capacity(problem, window_sums=True)
    a = problem.candidates[problem.orders[0].candidates[0]]
    cap.take(a, fill(problem, cap, a, 20) or {})
    for k in problem.orders[1].candidates:
        cand = problem.candidates[k]
        for need in range(1, 21):
            placed = fill(problem, cap, cand, need)
            assert cap.may_fit(cand, need) == (placed is not None) == (need <= 4)
