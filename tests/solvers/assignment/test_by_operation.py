"""Orders split by operation (docs/model.md): hand-checked routes, lags and costs.

Factories sit on latitude 30; one degree of longitude there is 96.3 km on the
haversine sphere, 125.2 km on the road (x1.3): at 50 km/h that is 150 minutes, so a
transfer between them takes 1 + ceil(150 / 1440) = 2 periods, and one unit of 1 kg
costs floor(125.2 * 30 / 1000 + 0.5) = 4 cents. Two different factories at the same
place are 1 period apart (the lot is complete at the end of its last period) and
move units for free.
"""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan, ReasonCode, SolveStatus
from matcher.domain.validation import parse_instance

PARAMS = SolveParams(time_limit_s=10, workers=1, seed=0, sharing=False)


def _factory(
    fid: str, lon: float, caps: list[tuple[str, int]], minutes: int = 480, groups: bool = False
) -> dict[str, Any]:
    """One machine group ``g`` shared by all processes (or one group per process), one
    unit an hour: ``minutes / 60`` units a period."""
    return {
        "id": fid,
        "location": {"lat": 30.0, "lon": lon},
        "capabilities": [
            {
                "process": p,
                "resource_group": p if groups else "g",
                "unit_cost_cents": cost,
                "seconds_per_unit": 3600,
            }
            for p, cost in caps
        ],
        "resources": [
            {"id": gid, "available_minutes": [minutes] * 10}
            for gid in ([p for p, _ in caps] if groups else ["g"])
        ],
        "credit": {"score": 90},
    }


def _instance(factories: list[dict[str, Any]], **order: Any) -> dict[str, Any]:
    o: dict[str, Any] = {
        "id": "O1",
        "buyer": "b",
        "operations": [{"process": "cut"}, {"process": "sew"}],
        "quantity": 16,
        "due_period": 6,
        "delivery": {"lat": 30.0, "lon": 121.0},
        "split": {"by_operation": True},
        "penalties": {"late_cents_per_unit_period": 50, "unserved_cents": 1_000_000},
    }
    o.update(order)
    return {
        "name": "by-operation",
        "horizon": {"start_date": "2026-01-05", "periods": 10},
        "processes": [{"id": "cut"}, {"id": "sew"}],
        "factories": factories,
        "orders": [o],
    }


def _solve(data: dict[str, Any], params: SolveParams = PARAMS) -> Plan:
    instance = parse_instance(data)
    result = plan(instance, params)
    report = check_plan(instance, result)
    assert report.violations == [], report.violations
    return result


def _rows(p: Plan) -> dict[tuple[int, str], dict[int, int]]:
    return {
        (a.operation, a.factory): {pq.period: pq.quantity for pq in a.periods}
        for a in p.allocations
    }


A = _factory("A", 120.0, [("cut", 100)])
B = _factory("B", 121.0, [("sew", 100)])
C = _factory("C", 120.0, [("cut", 300), ("sew", 300)])


def test_cheapest_route_waits_for_the_transfer() -> None:
    p = _solve(_instance([A, B, C]))
    assert p.status == SolveStatus.OPTIMAL
    rows = _rows(p)
    assert set(rows) == {(0, "A"), (1, "B")}
    (t,) = p.transfers
    assert (t.from_factory, t.to_factory, t.quantity) == ("A", "B", 16)
    assert t.arrive_period == t.ship_period + 2 == max(rows[(0, "A")]) + 2
    assert min(rows[(1, "B")]) >= t.arrive_period
    assert t.transport_cents == 4 * 16
    # 16 x (100 + 100) production, the transfer, nothing to ship from B (at the buyer)
    assert p.costs.production == 3200
    assert p.costs.transport == 64
    assert p.costs.lateness == 0
    assert p.costs.objective == 3264


def test_a_tight_due_date_changes_the_route() -> None:
    """Due in period 3 at 10 000 a unit-period: A -> B finishes cutting in period 1 at
    the earliest and B may sew from period 3: 8 units a period late, 80 000. A -> C
    (same place, lag 1) sews in periods 2 and 3, on time: 1 600 + 4 800 + 4 x 16 to
    the buyer = 6 464. C alone shares one group: cut 0-1, sew 2-3, 9 664."""
    data = _instance([A, B, C], due_period=3, penalties={"late_cents_per_unit_period": 10_000})
    p = _solve(data)
    assert p.status == SolveStatus.OPTIMAL
    rows = _rows(p)
    assert rows == {(0, "A"): {0: 8, 1: 8}, (1, "C"): {2: 8, 3: 8}}
    (t,) = p.transfers
    assert (t.ship_period, t.arrive_period, t.transport_cents) == (1, 2, 0)
    assert p.costs.objective == 6464
    assert p.costs.lateness == 0


def test_same_factory_operations_may_share_a_period() -> None:
    """Lag 0 at one factory: cut and sew 16 units in period 0 (one group each)."""
    d = _factory("D", 121.0, [("cut", 100), ("sew", 100)], minutes=960, groups=True)
    p = _solve(_instance([d], due_period=0))
    assert _rows(p) == {(0, "D"): {0: 16}, (1, "D"): {0: 16}}
    (t,) = p.transfers
    assert (t.from_factory, t.to_factory, t.ship_period, t.arrive_period) == ("D", "D", 0, 0)
    assert t.transport_cents == 0


def test_split_operation_feeds_the_next_one_from_two_factories() -> None:
    """Due in period 3: A1 alone cuts in periods 0-1, so B could sew only from 3 (8
    units late). Split over A1 and A2 (8 units each in period 0), B sews in 2-3 on
    time. Each flow waits for its own sender."""
    a1 = _factory("A1", 120.0, [("cut", 100)], minutes=480)
    a2 = _factory("A2", 120.0, [("cut", 110)], minutes=480)
    data = _instance(
        [a1, a2, B],
        due_period=3,
        split={"by_operation": True, "allowed": True, "max_factories": 2, "min_quantity": 4},
        penalties={"late_cents_per_unit_period": 10_000},
    )
    p = _solve(data)
    rows = _rows(p)
    assert {k for k in rows if k[0] == 0} == {(0, "A1"), (0, "A2")}
    assert sum(rows[(1, "B")].values()) == 16
    assert {t.from_factory for t in p.transfers} == {"A1", "A2"}
    for t in p.transfers:
        assert min(rows[(1, "B")]) >= t.arrive_period
        assert t.arrive_period == t.ship_period + 2
    assert p.costs.lateness == 0


def test_price_ceiling_binds_the_dearest_combination() -> None:
    """Ceiling 350: A (100) + B (100) fits; C's 300 + 300 does not, nor A + C (400)."""
    data = _instance([A, B, C], max_unit_price_cents=350)
    p = _solve(data)
    assert {f for _, f in _rows(p)} == {"A", "B"}
    data = _instance([A, C], max_unit_price_cents=350)
    p = _solve(data)
    assert p.allocations == []
    (u,) = p.unassigned
    assert u.reason == ReasonCode.PRICE_ABOVE_MAX


def test_an_operation_nobody_offers_is_named() -> None:
    p = _solve(_instance([A]))
    (u,) = p.unassigned
    assert u.reason == ReasonCode.NO_CAPABLE_FACTORY
    assert "operation 1 (sew)" in u.detail


def test_unservable_route_is_explained() -> None:
    """Release 8 of 10 periods: cutting ends in 8 at the earliest, B could sew from 10."""
    p = _solve(_instance([A, B], release_period=8, due_period=9, quantity=8))
    (u,) = p.unassigned
    assert u.reason == ReasonCode.DUE_DATE_INFEASIBLE


def test_other_back_ends_and_strategies_refuse() -> None:
    instance = parse_instance(_instance([A, B, C]))
    for params in (
        PARAMS.model_copy(update={"assignment_solver": "mip-scip"}),
        PARAMS.model_copy(update={"strategy": "lns"}),
    ):
        with pytest.raises(ValueError, match="split by operation"):
            plan(instance, params)


def test_greedy_places_a_route_that_checks() -> None:
    p = _solve(_instance([A, B, C]), PARAMS.model_copy(update={"assignment_solver": "greedy"}))
    assert {f for _, f in _rows(p)} == {"A", "B"}
    assert p.costs.objective == 3264


@pytest.mark.parametrize("seed", [1, 2])
def test_generated_instances_split_by_operation_pass_the_checker(seed: int) -> None:
    """Generated orders split by operation (a quarter of them on chains no single
    factory offers), solved with one worker, verified by the independent checker."""
    from matcher.generate import generate

    instance = generate(30, 8, 12, seed, by_operation=0.6)
    split = [o for o in instance.orders if o.split.by_operation and len(o.operations) > 1]
    assert split
    result = plan(instance, SolveParams(time_limit_s=8, workers=1, seed=0, sharing=False))
    assert check_plan(instance, result).violations == []
    served = {a.order for a in result.allocations}
    for o in split:
        if o.id in served:
            rows = [a for a in result.allocations if a.order == o.id]
            assert {a.operation for a in rows} == set(range(len(o.operations)))
    assert result.transfers
