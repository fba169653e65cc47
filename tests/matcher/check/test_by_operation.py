"""Tests of the checker on orders split by operation (docs/model.md, last section).

A tiny instance with a plan whose every figure is computed by hand below; each failing
test changes one thing and expects the matching violation code and path.

Every place is on the equator, so a distance is its longitude difference: one degree
is 6371 x pi / 180 = 111.19492664 km (road factor 1.0). Transport: 30 c per tonne-km;
transfers at 50 km/h with 120 min of handling; periods of 1440 min (8 of them).

* F1 at longitude 0 (credit 90): cut on "saw" 100 c/unit, weld on "welder" 50 c/unit;
* F2 at longitude 1 (credit 80): weld 80 c/unit, paint on "booth" 40 c/unit;
* F3 at longitude 10 (credit 70): cut 90 c/unit, paint 30 c/unit;
* cut and paint take 60 s a unit, weld 30 s; no setup; 480 free minutes a period.

Orders:

* R, split by operation (allowed on at most 2 factories per operation, at least
  5 units a stage part): cut, weld, paint; 20 units of 10 kg, due period 5, delivered
  at longitude 2, at most 190 c a unit, 5 c per unit and period late;
* N, not split by operation: cut, weld; 5 units of 10 kg at F1 in period 4, delivered at
  longitude 1;
* S, one operation (paint) with ``by_operation`` set, planned as usual: 4 units of 1 kg
  at F2 in period 2, delivered at F2.

Lags, ``1 + ceil(m / 1440)`` with ``m = 120 + 60 x km / 50`` between two factories:

* F1-F2, 1 degree: m = 120 + 133.43 = 253.43 min -> lag 2;
* F1-F3, 10 degrees: m = 120 + 1334.34 = 1454.34 min > 1440 -> lag 1 + 2 = 3 (without
  the handling it would be 2);
* F1-F1: lag 0.

Per-unit rates of 10 kg, ``floor(km x 10 x 30 / 1000 + 0.5)``, 33.3585 c a degree:
transfers F1-F2 1 degree -> 33 c, F1-F3 10 degrees 333.58 -> 334 c; to the buyer at
longitude 2 from F2 1 degree -> 33 c, from F3 8 degrees 266.87 -> 267 c; N from F1 to
longitude 1 -> 33 c.

R's plan (row index: operation, factory, periods):

* 0: cut at F1 {0: 10}; 1: cut at F3 {0: 10};
* 2: weld at F1 {3: 20}: from F1 (lag 0, arrives 0) and F3 (lag 3, arrives 0 + 3 = 3);
* 3: paint at F2 {5: 12}: from F1, shipped 3, lag 2, arrives 5;
* 4: paint at F3 {6: 8}: from F1, shipped 3, lag 3, arrives 6; one period late.

Transfers: 10 F1->F1 (0 c), 10 F3->F1 (10 x 334 = 3340), 12 F1->F2 (12 x 33 = 396),
8 F1->F3 (8 x 334 = 2672): 6408 c.

Costs:

* production: R 10 x 100 + 10 x 90 + 20 x 50 + 12 x 40 + 8 x 30 = 3620; N 5 x 100 +
  5 x 50 = 750; S 4 x 40 = 160; total 4530;
* transport: R to the buyer 12 x 33 + 8 x 267 = 396 + 2136 = 2532, transfers 6408;
  N 5 x 33 = 165; S 0; total 9105;
* lateness: R's 8 units at F3 one period late, 8 x 5 = 40 (late units 8);
* credit (weight 1): R's last operation (100 - 80) x 12 + (100 - 70) x 8 = 480; N
  (100 - 90) x 5 = 50; S (100 - 80) x 4 = 80; total 610;
* total 4530 + 9105 + 40 = 13675; objective 13675 + 610 = 14285.

The price ceiling binds the dearest factory of each operation: cut 100 (F1) + weld 50 +
paint 40 (F2) = 190 <= 190, though the path F3-F1-F3 costs 90 + 50 + 30 = 170.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import pytest

from matcher.check import CheckReport, check_plan, check_schedule
from matcher.domain.instance import Instance
from matcher.domain.plan import (
    Allocation,
    CostBreakdown,
    Kpis,
    OperationTransfer,
    PeriodQuantity,
    Plan,
    Routing,
    TransportRequest,
    Unrouted,
    UnroutedReason,
    Utilisation,
)
from matcher.domain.validation import parse_instance
from tests.matcher.check.helpers import only, paths

Data = dict[str, Any]

DEGREE_KM = 6371.0 * math.pi / 180
PERIODS = 8
FREE = 480
SECONDS = {"cut": 60, "weld": 30, "paint": 60}


def _at(lon: float) -> Data:
    return {"lat": 0.0, "lon": lon}


def _cap(process: str, group: str, cents: int) -> Data:
    return {
        "process": process,
        "resource_group": group,
        "unit_cost_cents": cents,
        "seconds_per_unit": SECONDS[process],
    }


def _factory(fid: str, lon: float, score: int, caps: list[Data]) -> Data:
    return {
        "id": fid,
        "location": _at(lon),
        "credit": {"score": score},
        "capabilities": caps,
        "resources": [
            {"id": c["resource_group"], "available_minutes": [FREE] * PERIODS} for c in caps
        ],
    }


def _instance_data() -> Data:
    return {
        "name": "by-operation-tiny",
        "horizon": {"start_date": "2024-01-01", "periods": PERIODS, "period_minutes": 1440},
        "processes": [{"id": "cut"}, {"id": "weld"}, {"id": "paint"}],
        "factories": [
            _factory("F1", 0.0, 90, [_cap("cut", "saw", 100), _cap("weld", "welder", 50)]),
            _factory("F2", 1.0, 80, [_cap("weld", "welder", 80), _cap("paint", "booth", 40)]),
            _factory("F3", 10.0, 70, [_cap("cut", "saw", 90), _cap("paint", "booth", 30)]),
        ],
        "orders": [
            {
                "id": "R",
                "buyer": "B1",
                "operations": [{"process": "cut"}, {"process": "weld"}, {"process": "paint"}],
                "quantity": 20,
                "due_period": 5,
                "delivery": _at(2.0),
                "unit_weight_kg": 10.0,
                "max_unit_price_cents": 190,
                "split": {
                    "allowed": True,
                    "max_factories": 2,
                    "min_quantity": 5,
                    "by_operation": True,
                },
                "penalties": {"late_cents_per_unit_period": 5, "unserved_cents": 100000},
            },
            {
                "id": "N",
                "buyer": "B2",
                "operations": [{"process": "cut"}, {"process": "weld"}],
                "quantity": 5,
                "due_period": 7,
                "delivery": _at(1.0),
                "unit_weight_kg": 10.0,
                "penalties": {"unserved_cents": 1000},
            },
            {
                "id": "S",
                "buyer": "B2",
                "operations": [{"process": "paint"}],
                "quantity": 4,
                "due_period": 7,
                "delivery": _at(1.0),
                "split": {"by_operation": True},
            },
        ],
        "transport": {
            "road_factor": 1.0,
            "cents_per_tonne_km": 30.0,
            "transfer_speed_kmh": 50.0,
            "transfer_handling_minutes": 120,
        },
    }


def _instance(data: Data | None = None) -> Instance:
    return parse_instance(data if data is not None else _instance_data())


def _row(
    order: str,
    operation: int,
    process: str,
    factory: str,
    group: str,
    periods: dict[int, int],
    production: int,
    transport: int = 0,
    lateness: int = 0,
    late_units: int = 0,
) -> Allocation:
    return Allocation(
        order=order,
        operation=operation,
        process=process,
        factory=factory,
        resource_group=group,
        quantity=sum(periods.values()),
        periods=[PeriodQuantity(period=t, quantity=q) for t, q in periods.items()],
        production_cents=production,
        transport_cents=transport,
        lateness_cents=lateness,
        late_units=late_units,
    )


def _transfer(
    operation: int,
    src: str,
    dst: str,
    quantity: int,
    ship: int,
    arrive: int,
    cents: int,
    order: str = "R",
) -> OperationTransfer:
    return OperationTransfer(
        order=order,
        operation=operation,
        from_factory=src,
        to_factory=dst,
        quantity=quantity,
        ship_period=ship,
        arrive_period=arrive,
        transport_cents=cents,
    )


def _rows() -> list[Allocation]:
    return [
        _row("R", 0, "cut", "F1", "saw", {0: 10}, 1000),
        _row("R", 0, "cut", "F3", "saw", {0: 10}, 900),
        _row("R", 1, "weld", "F1", "welder", {3: 20}, 1000),
        _row("R", 2, "paint", "F2", "booth", {5: 12}, 480, 396),
        _row("R", 2, "paint", "F3", "booth", {6: 8}, 240, 2136, 40, 8),
        _row("N", 0, "cut", "F1", "saw", {4: 5}, 500),
        _row("N", 1, "weld", "F1", "welder", {4: 5}, 250, 165),
        _row("S", 0, "paint", "F2", "booth", {2: 4}, 160),
    ]


def _transfers() -> list[OperationTransfer]:
    return [
        _transfer(0, "F1", "F1", 10, 0, 0, 0),
        _transfer(0, "F3", "F1", 10, 0, 3, 3340),
        _transfer(1, "F1", "F2", 12, 3, 5, 396),
        _transfer(1, "F1", "F3", 8, 3, 6, 2672),
    ]


def _utilisation(rows: list[Allocation]) -> list[Utilisation]:
    """The minutes each row uses (seconds a unit x units, no setup), per group and period."""
    used: dict[tuple[str, str, int], float] = defaultdict(float)
    for a in rows:
        for pq in a.periods:
            used[(a.factory, a.resource_group, pq.period)] += SECONDS[a.process] * pq.quantity / 60
    return [
        Utilisation(factory=f, resource_group=g, period=t, used_minutes=m, free_minutes=FREE)
        for (f, g, t), m in sorted(used.items())
    ]


def _plan(
    rows: list[Allocation] | None = None,
    transfers: list[OperationTransfer] | None = None,
    *,
    production: int = 4530,
    transport: int = 9105,
    lateness: int = 40,
    credit: int = 610,
    late_orders: int = 1,
    routes: Routing | None = None,
) -> Plan:
    rows = _rows() if rows is None else rows
    total = production + transport + lateness
    return Plan(
        instance="by-operation-tiny",
        status="OPTIMAL",
        weights={"credit": 1},
        allocations=rows,
        unassigned=[],
        costs=CostBreakdown(
            production=production,
            transport=transport,
            lateness=lateness,
            credit=credit,
            total=total,
            objective=total + credit,
        ),
        kpis=Kpis(
            orders=3,
            orders_served=3,
            orders_on_time=3 - late_orders,
            orders_late=late_orders,
            orders_unassigned=0,
            fill_rate=1.0,
            unit_fill_rate=1.0,
            on_time_rate=(3 - late_orders) / 3,
            factories_used=len({a.factory for a in rows}),
            factory_utilisation=[],
            utilisation=_utilisation(rows),
        ),
        stages=[],
        routes=routes,
        transfers=_transfers() if transfers is None else transfers,
    )


def _check(plan: Plan, data: Data | None = None) -> CheckReport:
    return check_plan(_instance(data), plan)


def _with_rows(changes: dict[int, Allocation], **figures: Any) -> Plan:
    rows = _rows()
    for i, row in changes.items():
        rows[i] = row
    return _plan(rows, **figures)


def _with_transfers(changes: dict[int, OperationTransfer | None]) -> Plan:
    """The base plan with transfers replaced (``None`` drops one; an index past the end
    appends)."""
    transfers: list[OperationTransfer | None] = list(_transfers())
    for k, tr in changes.items():
        if k < len(transfers):
            transfers[k] = tr
        else:
            transfers.append(tr)
    return _plan().model_copy(update={"transfers": [t for t in transfers if t is not None]})


# -- the hand-computed plan ------------------------------------------------------------


def test_hand_computed_by_operation_plan_passes_with_its_costs_recomputed() -> None:
    plan = _plan()
    report = _check(plan)
    assert report.violations == []
    assert report.warnings == []
    assert report.recomputed == plan.costs


def test_hand_figures_follow_the_formulas() -> None:
    def lag(degrees: float) -> int:
        minutes = 120 + 60 * degrees * DEGREE_KM / 50
        return 1 + math.ceil(minutes / 1440)

    def rate(degrees: float) -> int:
        return math.floor(degrees * DEGREE_KM * 10 * 30 / 1000 + 0.5)

    assert (lag(1), lag(10)) == (2, 3)
    assert 1 + math.ceil(60 * 10 * DEGREE_KM / 50 / 1440) == 2  # F1-F3 without handling
    assert (rate(1), rate(10), rate(8)) == (33, 334, 267)


def test_operations_of_an_order_split_by_operation_need_not_share_periods_or_factories() -> None:
    # F1 cuts R in period 0 and welds it in period 3: two stage parts, not one part
    # whose operations must run in the same periods.
    codes = _check(_plan()).codes()
    assert "OPERATION_PERIODS_DIFFER" not in codes
    assert "MISSING_OPERATION" not in codes


def test_an_order_not_split_by_operation_is_checked_as_before() -> None:
    plan = _with_rows({6: _row("N", 1, "weld", "F1", "welder", {3: 5}, 250, 165)})
    (v,) = only(_check(plan), "OPERATION_PERIODS_DIFFER")
    assert v.path == "allocations[5].periods"  # against the last operation's row


def test_an_order_with_one_operation_is_a_part_whatever_its_flag() -> None:
    # S may not be split: a second factory is SPLIT_NOT_ALLOWED for the order as a whole.
    # Its unit painted at F3 costs 30 c and ships 9 degrees at 1 kg: 30.02 -> 30 c.
    rows = [*_rows(), _row("S", 0, "paint", "F3", "booth", {2: 1}, 30, 30)]
    rows[7] = _row("S", 0, "paint", "F2", "booth", {2: 3}, 120)
    plan = _plan(rows, production=4530 - 40 + 30, transport=9105 + 30, credit=610 - 20 + 30)
    report = _check(plan)
    (v,) = only(report, "SPLIT_NOT_ALLOWED")
    assert v.path == "allocations[7]"


# -- transfers: time -------------------------------------------------------------------


def test_receiver_starting_before_the_lot_arrives_is_a_violation() -> None:
    # Weld at F1 starts in period 2; the lot cut at F3 arrives in 0 + 3 = 3. Its last
    # period stays 3, so the transfers it sends are unchanged.
    plan = _with_rows({2: _row("R", 1, "weld", "F1", "welder", {2: 5, 3: 15}, 1000)})
    (v,) = only(_check(plan), "TRANSFER_PRECEDENCE")
    assert v.path == "transfers[1]"
    assert "starts in period 2" in v.message
    assert "arrives in period 3" in v.message


def test_wrong_arrive_period_is_a_violation() -> None:
    # Lag 2 instead of 3: the 120 min of handling push F3 -> F1 past one period.
    plan = _with_transfers({1: _transfer(0, "F3", "F1", 10, 0, 2, 3340)})
    (v,) = only(_check(plan), "TRANSFER_PERIODS")
    assert v.path == "transfers[1].arrive_period"
    assert "lag 3" in v.message


def test_wrong_ship_period_is_a_violation() -> None:
    plan = _with_transfers({2: _transfer(1, "F1", "F2", 12, 4, 5, 396)})
    (v,) = only(_check(plan), "TRANSFER_PERIODS")
    assert v.path == "transfers[2].ship_period"


def test_consecutive_operations_at_one_factory_may_share_a_period() -> None:
    # Cut all 20 at F1 in period 0 and weld them there in period 0 too (lag 0); paint
    # at F2 from 0 + 2 = 2 and at F3 from 0 + 3 = 3, both on time (due 5).
    # production 20 x 100 + 20 x 50 + 480 + 240 + 750 + 160 = 4630; transport 2532 to
    # the buyer + transfers 0 + 396 + 2672 + N's 165 = 5765; no lateness.
    rows = _rows()
    rows[0] = _row("R", 0, "cut", "F1", "saw", {0: 20}, 2000)
    rows[2] = _row("R", 1, "weld", "F1", "welder", {0: 20}, 1000)
    rows[3] = _row("R", 2, "paint", "F2", "booth", {2: 12}, 480, 396)
    rows[4] = _row("R", 2, "paint", "F3", "booth", {3: 8}, 240, 2136)
    del rows[1]
    transfers = [
        _transfer(0, "F1", "F1", 20, 0, 0, 0),
        _transfer(1, "F1", "F2", 12, 0, 2, 396),
        _transfer(1, "F1", "F3", 8, 0, 3, 2672),
    ]
    plan = _plan(rows, transfers, production=4630, transport=5765, lateness=0, late_orders=0)
    report = _check(plan)
    assert report.violations == []
    assert report.recomputed == plan.costs


def test_same_factory_transfer_arriving_a_period_later_is_a_violation() -> None:
    plan = _with_transfers({0: _transfer(0, "F1", "F1", 10, 0, 1, 0)})
    (v,) = only(_check(plan), "TRANSFER_PERIODS")
    assert v.path == "transfers[0].arrive_period"
    assert "lag 0" in v.message


# -- transfers: units and references ---------------------------------------------------


def test_flow_imbalance_is_a_violation_at_both_stage_parts() -> None:
    # 11 of weld's 20 units leave for F2 (11 x 33 = 363 c), which paints 12.
    plan = _with_transfers({2: _transfer(1, "F1", "F2", 11, 3, 5, 363)})
    plan = plan.model_copy(
        update={
            "costs": plan.costs.model_copy(
                update={"transport": 9105 - 33, "total": 13675 - 33, "objective": 14285 - 33}
            )
        }
    )
    report = _check(plan)
    only(report, "TRANSFER_BALANCE")
    assert sorted(paths(report)) == ["allocations[2].quantity", "allocations[3].quantity"]


def test_missing_transfer_is_a_flow_imbalance() -> None:
    plan = _with_transfers({0: None})
    report = _check(plan)
    only(report, "TRANSFER_BALANCE")
    # Cut at F1 sends nothing; weld at F1 receives 10 of its 20.
    assert sorted(paths(report)) == ["allocations[0].quantity", "allocations[2].quantity"]


def test_transfer_to_a_factory_without_the_next_operation_is_a_violation() -> None:
    # F1 does not paint R: weld at F1 now sends 21 units.
    plan = _with_transfers({4: _transfer(1, "F1", "F1", 1, 3, 3, 0)})
    report = _check(plan)
    assert report.codes() == {"TRANSFER_UNKNOWN_PART", "TRANSFER_BALANCE"}
    assert sorted(paths(report)) == ["allocations[2].quantity", "transfers[4].to_factory"]


def test_transfer_from_the_last_operation_is_a_violation() -> None:
    plan = _with_transfers({4: _transfer(2, "F2", "F2", 12, 5, 5, 0)})
    (v,) = only(_check(plan), "OPERATION_OUT_OF_RANGE")
    assert v.path == "transfers[4].operation"


def test_duplicate_transfer_is_a_violation() -> None:
    # The F1 -> F2 flow listed as 6 + 6 units: the units balance, the listing does not.
    plan = _with_transfers(
        {2: _transfer(1, "F1", "F2", 6, 3, 5, 198), 4: _transfer(1, "F1", "F2", 6, 3, 5, 198)}
    )
    (v,) = only(_check(plan), "DUPLICATE_TRANSFER")
    assert v.path == "transfers[4]"


NOT_SPLIT = "TRANSFER_NOT_SPLIT_BY_OPERATION"


@pytest.mark.parametrize(
    ("transfer", "code", "path"),
    [
        (_transfer(0, "F1", "F1", 5, 4, 4, 0, order="N"), NOT_SPLIT, "order"),
        (_transfer(0, "F2", "F2", 4, 2, 2, 0, order="S"), NOT_SPLIT, "order"),
        (_transfer(0, "F1", "F1", 5, 4, 4, 0, order="X"), "UNKNOWN_ORDER", "order"),
        (_transfer(0, "F1", "F9", 5, 0, 0, 0), "UNKNOWN_FACTORY", "to_factory"),
    ],
)
def test_transfer_of_an_order_not_split_by_operation_or_unknown_is_a_violation(
    transfer: OperationTransfer, code: str, path: str
) -> None:
    (v,) = only(_check(_with_transfers({4: transfer})), code)
    assert v.path == f"transfers[4].{path}"


def test_non_positive_transfer_quantity_is_a_violation() -> None:
    # An empty F1 -> F2 flow next to the real one (so also listed twice).
    plan = _with_transfers({4: _transfer(1, "F1", "F2", 0, 3, 5, 0)})
    report = _check(plan)
    assert report.codes() == {"NON_POSITIVE_QUANTITY", "DUPLICATE_TRANSFER"}
    assert sorted(paths(report)) == ["transfers[4]", "transfers[4].quantity"]


# -- transfers and transport -----------------------------------------------------------


def test_wrong_transfer_cost_is_a_violation() -> None:
    plan = _with_transfers({1: _transfer(0, "F3", "F1", 10, 0, 3, 3330)})
    (v,) = only(_check(plan), "TRANSFER_COST_MISMATCH")
    assert v.path == "transfers[1].transport_cents"
    assert "334 per unit x 10 = 3340" in v.message


def test_plan_transport_without_the_transfers_is_a_violation() -> None:
    plan = _plan(transport=9105 - 6408)
    report = _check(plan)
    assert "costs.transport" in paths(report)
    assert report.recomputed.transport == 9105


def test_only_the_last_operation_rows_carry_transport() -> None:
    plan = _with_rows({2: _row("R", 1, "weld", "F1", "welder", {3: 20}, 1000, 5)})
    (v,) = only(_check(plan), "ROW_COST_MISMATCH")
    assert v.path == "allocations[2].transport_cents"


def _routes(carrier: int) -> Routing:
    def request(rid: str, period: int, origin: str, order: str, units: int, kg: float) -> Any:
        return TransportRequest(
            id=rid,
            kind="goods",
            period=period,
            origin=origin,
            destination=order,
            order=order,
            quantity=float(units),
            load={"weight_kg": units * kg},
            carrier_cents=max(500, carrier if rid == "goods:R:F3" else 0),
        )

    requests = [
        request("goods:R:F2", 5, "F2", "R", 12, 10.0),
        request("goods:R:F3", 6, "F3", "R", 8, 10.0),
        request("goods:N:F1", 4, "F1", "N", 5, 10.0),
        request("goods:S:F2", 2, "F2", "S", 4, 1.0),
    ]
    return Routing(
        requests=requests,
        unrouted=[
            Unrouted(request=r.id, reason=UnroutedReason.TOO_HEAVY, detail="") for r in requests
        ],
        carrier_cents=sum(r.carrier_cents for r in requests),
        estimate_cents=sum(r.carrier_cents for r in requests),
        service_minutes=15,
    )


def _fleet_data() -> Data:
    # One vehicle of 0.5 kg: no unit fits it, so every load goes by carrier (TOO_HEAVY),
    # at max(500, units x rate): R from F2 max(500, 396) = 500, R from F3 8 x 267 = 2136,
    # N max(500, 165) = 500, S max(500, 0) = 500; 3636 in all. Only the last operation's
    # stage parts ship goods: R's cuts and weld do not.
    data = _instance_data()
    data["fleet"] = {
        "depots": [{"id": "D", "location": _at(0.0)}],
        "vehicles": [{"id": "V", "depot": "D", "capacity": {"weight_kg": 0.5}}],
    }
    data["transport"]["carrier_min_cents"] = 500
    return data


def test_transfers_stay_in_transport_after_routing() -> None:
    # transport = fleet 0 + carrier 3636 + transfers 6408 = 10044; total 4530 + 10044 +
    # 40 = 14614.
    routes = _routes(2136)
    assert routes.carrier_cents == 3636
    plan = _plan(transport=10044, routes=routes)
    report = _check(plan, _fleet_data())
    assert report.violations == []
    assert report.recomputed == plan.costs


def test_transport_after_routing_without_the_transfers_is_a_violation() -> None:
    plan = _plan(transport=3636, routes=_routes(2136))
    report = _check(plan, _fleet_data())
    assert "costs.transport" in paths(report)
    assert report.recomputed.transport == 10044


# -- stage parts -----------------------------------------------------------------------


def test_operation_without_a_row_is_a_violation() -> None:
    # No weld and no transfers: production 4530 - 1000, transport 9105 - 6408.
    rows = _rows()
    del rows[2]
    plan = _plan(rows, [], production=3530, transport=2697)
    (v,) = only(_check(plan), "MISSING_OPERATION")
    assert v.path == "allocations[0]"
    assert "operation 1" in v.message


def test_operation_short_of_the_order_quantity_is_a_violation() -> None:
    # F3 cuts 9 (9 x 90 = 810 c) and sends 9 (9 x 334 = 3006 c): weld at F1 still makes
    # 20 and receives 19.
    rows = _rows()
    rows[1] = _row("R", 0, "cut", "F3", "saw", {0: 9}, 810)
    transfers = _transfers()
    transfers[1] = _transfer(0, "F3", "F1", 9, 0, 3, 3006)
    plan = _plan(rows, transfers, production=4530 - 90, transport=9105 - 334)
    report = _check(plan)
    assert report.codes() == {"QUANTITY_MISMATCH", "TRANSFER_BALANCE"}
    assert sorted(paths(report)) == ["allocations[0]", "allocations[2].quantity"]


def test_duplicate_row_of_a_stage_part_is_a_violation() -> None:
    # A second paint row at F2 (1 unit: 40 c production, 33 c transport on its row).
    rows = [*_rows(), _row("R", 2, "paint", "F2", "booth", {5: 1}, 40, 33)]
    (v,) = only(_check(_plan(rows, production=4570)), "DUPLICATE_OPERATION")
    assert v.path == "allocations[8]"


@pytest.mark.parametrize(
    ("split", "code"),
    [
        ({"allowed": True, "max_factories": 1, "by_operation": True}, "TOO_MANY_FACTORIES"),
        ({"allowed": False, "by_operation": True}, "SPLIT_NOT_ALLOWED"),
    ],
)
def test_too_many_stage_parts_for_an_operation_is_a_violation(split: Data, code: str) -> None:
    data = _instance_data()
    data["orders"][0]["split"] = split
    report = _check(_plan(), data)
    only(report, code)
    # Cut (rows 0, 1) and paint (rows 3, 4) run at two factories each, weld at one.
    assert sorted(paths(report)) == ["allocations[0]", "allocations[3]"]


def test_price_ceiling_binds_the_dearest_combination() -> None:
    # 100 + 50 + 40 = 190 > 189, though R's cheapest path (F3-F1-F3) costs 170.
    data = _instance_data()
    data["orders"][0]["max_unit_price_cents"] = 189
    (v,) = only(_check(_plan(), data), "BY_OPERATION_PRICE_ABOVE_MAX")
    assert v.path == "allocations[0]"
    assert "costs 190" in v.message


def test_credit_floor_binds_every_factory_of_every_operation() -> None:
    # F3 (70) cuts and paints R: both its stage parts are below 75.
    data = _instance_data()
    data["orders"][0]["min_credit_score"] = 75
    report = _check(_plan(), data)
    only(report, "CREDIT_BELOW_MIN")
    assert sorted(paths(report)) == ["allocations[1]", "allocations[4]"]


def test_stage_part_needs_a_capability_for_its_own_operation() -> None:
    # F3 cannot weld.
    plan = _with_rows({2: _row("R", 1, "weld", "F3", "welder", {3: 20}, 1000)})
    report = _check(plan)
    assert "NO_CAPABILITY" in report.codes()
    assert "allocations[2]" in [v.path for v in report.violations if v.code == "NO_CAPABILITY"]


def test_lot_bounds_are_those_of_the_stage_part_operation() -> None:
    # F2's weld takes at most 5, its paint 12: R's 12 painted units at F2 are within
    # paint's bound (a part of a plain order would be held to min(5, 12)).
    data = _instance_data()
    f2_caps = data["factories"][1]["capabilities"]
    f2_caps[0]["max_lot"] = 5
    f2_caps[1]["max_lot"] = 12
    assert _check(_plan(), data).violations == []
    f2_caps[1]["max_lot"] = 11
    (v,) = only(_check(_plan(), data), "LOT_SIZE_VIOLATED")
    assert v.path == "allocations[3]"


def test_split_minimum_binds_every_stage_part() -> None:
    data = _instance_data()
    data["orders"][0]["split"]["min_quantity"] = 9
    (v,) = only(_check(_plan(), data), "SPLIT_BELOW_MIN_QUANTITY")
    assert v.path == "allocations[4]"  # paint at F3: 8 units


def test_lateness_counts_on_the_last_operation_only() -> None:
    # Cut at F1 in period 6 is after the due period 5, but it is not the last operation;
    # it then ships in 6, so weld (period 3) would start too early: move only the cut
    # row and accept the precedence and period violations, but no lateness.
    plan = _with_rows({0: _row("R", 0, "cut", "F1", "saw", {6: 10}, 1000)})
    report = _check(plan)
    assert report.recomputed.lateness == 40
    assert "LATE_UNITS_MISMATCH" not in report.codes()
    assert report.codes() == {"TRANSFER_PERIODS", "TRANSFER_PRECEDENCE"}


# -- machine schedules -----------------------------------------------------------------


def test_machine_schedule_of_a_by_operation_plan_checks_clean() -> None:
    # Each stage part is scheduled as lots of its own operation (docs/scheduling.md).
    from matcher.app.schedule import schedule_plan

    inst = _instance()
    plan = _plan()
    schedule = schedule_plan(inst, plan, time_limit_s=5, workers=1)
    assert check_schedule(inst, plan, schedule) == []
