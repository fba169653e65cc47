"""Tests of the checker's purchasing section (docs/purchasing.md, matcher/check/purchasing.py).

A tiny instance with a plan whose every figure is computed by hand below; each failing
test changes one thing and expects the matching violation code and path.

Instance: 4 periods; F1 at (0, 0), F2 at (1, 0); suppliers S1 at (0, 1) and S2 at
(1, 1); transport 1.3 road factor, 100 c per tonne-km; resin 1 kg per unit, insert
0.5 kg per unit. F1 holds 5 inserts in stock.

* S1 resin, all-units: 500 c from 10, 400 c from 50; MOQ 10, capacity 50.5 (50 whole
  units), lead time 0.
* S2 resin, incremental: 450 c for units 1..20, 420 c beyond; MOQ 45, capacity 60,
  lead time 1.
* S2 insert, incremental: 100 c for units 1..30, 80 c for 31..60, 60 c beyond; no MOQ,
  capacity 80.5, lead time 1.

Needs (first operation only; O1's assembly rows add nothing):

* O3, 5 units at F1 in period 0, 0.3 resin + 1 insert each: resin 1.5, insert 5.
* O1, 30 units at F1, {1: 10, 3: 20}, 1.25 resin + 2 inserts each: resin 12.5 and 25,
  insert 20 and 40.
* O2, 20 units at F2 in period 2, 2.5 resin each: resin 50.

Cumulative whole units: F1 resin 2, 14, 14, 39 (rounding each period apart would
give 2, 15, 15, 40); F1 insert 0, 20, 20, 60 (5, 25, 25, 65 less the 5 in stock: no
insert can arrive for period 0, S2's lead time is 1, so O3 is made from the stock, as
the material rule of docs/model.md requires); F2 resin 0, 0, 50, 50.

Inbound rates per unit: 1 degree = 111.2 km, the diagonal 157.2 km. Resin (1 kg):
111.2 x 1.3 x 0.1 = 14.46 -> 14 c, 157.2 x 0.13 = 20.44 -> 20 c. Insert (0.5 kg) from
S2 to F1: 10.22 -> 10 c.

The plan (the cheapest one: S2 is 0 or 45..60 units, S1 at most 50 and needed for
F1's period-0 resin, so S1 50 at the 400 c tier plus S2 45 beats every mix):

0. S1 resin, 50 units, tier 1 (all-units, 50 reaches the break), 20000 c; deliveries
   F1 p0 2, F1 p1 12, F2 p2 5, F1 p3 31 (25 needed + 6 surplus with F1's last
   call-off), lead time 0 so order periods = periods; transport 45 x 14 + 5 x 20 = 730.
1. S2 resin, 45 units (its MOQ), tier 1: 20 x 450 + 25 x 420 = 19500 c (incremental);
   F2 p2 45 called off in period 1; transport 45 x 14 = 630.
2. S2 insert, 60 units, tier 1 (incremental: unit 60 is the last of 31..60, so not
   yet tier 2): 30 x 100 + 30 x 80 = 5400 c; F1 p1 20 and p3 40, called off in
   periods 0 and 2; transport 60 x 10 = 600.

No shortage. Material 44900, transport 1960, collective 46860.

Without F1's stock (the shortage tests), its 5 inserts for period 0 cannot arrive: the
plan reports them short (LEAD_TIME), rightly, but making them then breaks the material
rule (MATERIAL_NOT_IN_TIME at O3's row).

Stand-alone (each factory alone, same offers): F2's 50 resin from S1 at 400 c +
20 c transport = 21000; F1's 39 resin from S1 at 500 c + 14 c = 20046, 60 inserts
6000: 26046. Stand-alone 47046, savings 186 (resin 41046 - 40860 = 186, insert 0).
Proportional split, per material: resin 40860 x 20046 / 41046 = 19955.16 to F1 and
20904.84 to F2, the spare cent to F2 (larger remainder): 19955 and 20905; inserts
6000 to F1. Charged 25955 and 20905, saving 91 and 95. (The checker verifies the
split's sums, not its method: the plan does not carry the per-material figures.)

Costs: production 3000 + 1500 + 2000 + 500 = 7000, no order transport (deliveries at
the factories), purchasing 46860, total = objective = 53860.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from matcher.check import (
    CheckReport,
    Violation,
    check_plan,
    cumulative_needs,
    inbound_transport_cents,
)
from matcher.domain.plan import CostBreakdown, Plan
from matcher.domain.validation import parse_instance
from tests.matcher.check.helpers import only, paths, replace_fields

Data = dict[str, Any]


def _instance_data() -> Data:
    def factory(fid: str, lat: float, caps: list[Data], stock: Data | None = None) -> Data:
        groups = sorted({c["resource_group"] for c in caps})
        return {
            "id": fid,
            "location": {"lat": lat, "lon": 0.0},
            "credit": {"score": 100},
            "capabilities": caps,
            "resources": [{"id": g, "available_minutes": [600] * 4} for g in groups],
            "stock": stock or {},
        }

    mould = {
        "process": "mould",
        "resource_group": "press",
        "unit_cost_cents": 100,
        "seconds_per_unit": 60,
    }
    assemble = {
        "process": "assemble",
        "resource_group": "bench",
        "unit_cost_cents": 50,
        "seconds_per_unit": 30,
    }
    return {
        "name": "purchasing-tiny",
        "horizon": {"start_date": "2024-01-01", "periods": 4},
        "processes": [{"id": "mould"}, {"id": "assemble"}],
        "materials": [
            {"id": "resin", "unit": "kg"},
            {"id": "insert", "unit": "pcs", "kg_per_unit": 0.5},
        ],
        "factories": [
            factory("F1", 0.0, [mould, assemble], {"insert": 5}),
            factory("F2", 1.0, [mould]),
        ],
        "orders": [
            {
                "id": "O1",
                "buyer": "B1",
                "operations": [{"process": "mould"}, {"process": "assemble"}],
                "quantity": 30,
                "due_period": 3,
                "delivery": {"lat": 0.0, "lon": 0.0},
                "bill_of_materials": {"resin": 1.25, "insert": 2.0},
            },
            {
                "id": "O2",
                "buyer": "B2",
                "operations": [{"process": "mould"}],
                "quantity": 20,
                "due_period": 3,
                "delivery": {"lat": 1.0, "lon": 0.0},
                "bill_of_materials": {"resin": 2.5},
            },
            {
                "id": "O3",
                "buyer": "B1",
                "operations": [{"process": "mould"}],
                "quantity": 5,
                "due_period": 3,
                "delivery": {"lat": 0.0, "lon": 0.0},
                "bill_of_materials": {"resin": 0.3, "insert": 1.0},
            },
        ],
        "suppliers": [
            {
                "id": "S1",
                "location": {"lat": 0.0, "lon": 1.0},
                "offers": [
                    {
                        "material": "resin",
                        "price": {
                            "type": "all_units",
                            "tiers": [
                                {"min_quantity": 10, "unit_price_cents": 500},
                                {"min_quantity": 50, "unit_price_cents": 400},
                            ],
                        },
                        "moq": 10,
                        "capacity": 50.5,
                        "lead_time_periods": 0,
                    }
                ],
            },
            {
                "id": "S2",
                "location": {"lat": 1.0, "lon": 1.0},
                "offers": [
                    {
                        "material": "resin",
                        "price": {
                            "type": "incremental",
                            "tiers": [
                                {"min_quantity": 0, "unit_price_cents": 450},
                                {"min_quantity": 20, "unit_price_cents": 420},
                            ],
                        },
                        "moq": 45,
                        "capacity": 60,
                        "lead_time_periods": 1,
                    },
                    {
                        "material": "insert",
                        "price": {
                            "type": "incremental",
                            "tiers": [
                                {"min_quantity": 0, "unit_price_cents": 100},
                                {"min_quantity": 30, "unit_price_cents": 80},
                                {"min_quantity": 60, "unit_price_cents": 60},
                            ],
                        },
                        "capacity": 80.5,
                        "lead_time_periods": 1,
                    },
                ],
            },
        ],
        "transport": {"road_factor": 1.3, "cents_per_tonne_km": 100.0},
    }


def _row(
    order: str, operation: int, process: str, factory: str, group: str, periods: dict[int, int]
) -> Data:
    quantity = sum(periods.values())
    return {
        "order": order,
        "operation": operation,
        "process": process,
        "factory": factory,
        "resource_group": group,
        "quantity": quantity,
        "periods": [{"period": t, "quantity": q} for t, q in periods.items()],
        "production_cents": (50 if process == "assemble" else 100) * quantity,
    }


def _util(factory: str, group: str, period: int, used: float) -> Data:
    return {
        "factory": factory,
        "resource_group": group,
        "period": period,
        "used_minutes": used,
        "free_minutes": 600,
    }


def _delivery(factory: str, period: int, order_period: int, quantity: float) -> Data:
    return {
        "factory": factory,
        "period": period,
        "order_period": order_period,
        "quantity": quantity,
    }


def _purchasing_data() -> Data:
    return {
        "purchases": [
            {
                "supplier": "S1",
                "material": "resin",
                "quantity": 50,
                "tier": 1,
                "unit_price_cents": 400,
                "cost_cents": 20000,
                "transport_cents": 730,
                "order_period": 0,
                "surplus": 6,
                "deliveries": [
                    _delivery("F1", 0, 0, 2),
                    _delivery("F1", 1, 1, 12),
                    _delivery("F2", 2, 2, 5),
                    _delivery("F1", 3, 3, 31),
                ],
            },
            {
                "supplier": "S2",
                "material": "resin",
                "quantity": 45,
                "tier": 1,
                "unit_price_cents": 420,
                "cost_cents": 19500,
                "transport_cents": 630,
                "order_period": 1,
                "deliveries": [_delivery("F2", 2, 1, 45)],
            },
            {
                "supplier": "S2",
                "material": "insert",
                "quantity": 60,
                "tier": 1,
                "unit_price_cents": 80,
                "cost_cents": 5400,
                "transport_cents": 600,
                "order_period": 0,
                "deliveries": [_delivery("F1", 1, 0, 20), _delivery("F1", 3, 2, 40)],
            },
        ],
        "shortages": [],
        "collective_cents": 46860,
        "material_cents": 44900,
        "transport_cents": 1960,
        "standalone_cents": 47046,
        "savings_cents": 186,
        "savings_by_material_cents": {"resin": 186, "insert": 0},
        "split_method": "proportional",
        "shares": [
            {
                "factory": "F1",
                "standalone_cents": 26046,
                "charged_cents": 25955,
                "saving_cents": 91,
                "method": "proportional",
            },
            {
                "factory": "F2",
                "standalone_cents": 21000,
                "charged_cents": 20905,
                "saving_cents": 95,
                "method": "proportional",
            },
        ],
        "core": {"coalitions_checked": 3, "exhaustive": True},
    }


def _plan_data() -> Data:
    return {
        "instance": "purchasing-tiny",
        "status": "OPTIMAL",
        "weights": {},
        "allocations": [
            _row("O1", 0, "mould", "F1", "press", {1: 10, 3: 20}),
            _row("O1", 1, "assemble", "F1", "bench", {1: 10, 3: 20}),
            _row("O2", 0, "mould", "F2", "press", {2: 20}),
            _row("O3", 0, "mould", "F1", "press", {0: 5}),
        ],
        "unassigned": [],
        "costs": {"production": 7000, "purchasing": 46860, "total": 53860, "objective": 53860},
        "kpis": {
            "orders": 3,
            "orders_served": 3,
            "orders_on_time": 3,
            "orders_late": 0,
            "orders_unassigned": 0,
            "fill_rate": 1.0,
            "unit_fill_rate": 1.0,
            "on_time_rate": 1.0,
            "factories_used": 2,
            "factory_utilisation": [],
            "utilisation": [
                _util("F1", "press", 0, 5.0),
                _util("F1", "press", 1, 10.0),
                _util("F1", "press", 3, 20.0),
                _util("F1", "bench", 1, 5.0),
                _util("F1", "bench", 3, 10.0),
                _util("F2", "press", 2, 20.0),
            ],
        },
        "stages": [],
        "purchasing": _purchasing_data(),
    }


def _check(instance: Data | None = None, plan: Data | None = None) -> CheckReport:
    return check_plan(
        parse_instance(instance if instance is not None else _instance_data()),
        Plan.model_validate(plan if plan is not None else _plan_data()),
    )


_only, _paths = only, paths

# The shortage tests start from the plan without F1's stock: O3's 5 inserts in period 0
# (allocations[3]) are short for the lead time, and made before any can arrive.
_LEAD_TIME_SHORTAGE = {
    "factory": "F1",
    "material": "insert",
    "period": 0,
    "quantity": 5,
    "reason": "LEAD_TIME",
    "detail": "S2 needs 1 period",
}
_MADE_BEFORE_INSERTS = "allocations[3].periods[0]"


def _mutated(**changes: Any) -> Data:
    """The base plan with ``purchasing`` fields replaced (dotted paths, list indexes)."""
    plan = _plan_data()
    replace_fields(plan["purchasing"], changes)
    return plan


def _short_of_inserts(**changes: Any) -> tuple[Data, Data]:
    """The instance without F1's stock and the base plan with the lead-time shortage of
    O3's inserts, then ``changes`` as :func:`_mutated` makes them."""
    instance = _instance_data()
    instance["factories"][0]["stock"] = {}
    plan = _plan_data()
    plan["purchasing"]["shortages"] = [dict(_LEAD_TIME_SHORTAGE)]
    replace_fields(plan["purchasing"], changes)
    return instance, plan


# -- a correct plan --------------------------------------------------------------


def test_hand_computed_purchasing_plan_passes_with_purchasing_in_the_total() -> None:
    report = _check()
    assert report.violations == []
    assert report.warnings == []
    assert report.recomputed == CostBreakdown(
        production=7000, purchasing=46860, total=53860, objective=53860
    )


def test_needs_are_rounded_up_cumulatively_from_first_operation_rows() -> None:
    instance = parse_instance(_instance_data())
    needs = cumulative_needs(instance, Plan.model_validate(_plan_data()))
    assert needs == {
        ("F1", "resin"): [2, 14, 14, 39],
        ("F1", "insert"): [0, 20, 20, 60],  # after the 5 in stock
        ("F2", "resin"): [0, 0, 50, 50],
    }
    # Rounding each period apart would need 2 + 13 + 25 = 40 units; the plan buys 39.
    assert sum(math.ceil(x) for x in (1.5, 12.5, 25.0)) == 40


def test_inbound_transport_rate_uses_the_materials_weight_and_rounds_half_up() -> None:
    instance = parse_instance(_instance_data())
    f1, f2 = instance.factories
    s1, s2 = instance.suppliers
    resin, insert = instance.materials
    km = 6371.0 * math.pi / 180  # one degree on the equator
    assert math.floor(km * 1.3 * 1.0 * 100.0 / 1000 + 0.5) == 14
    assert inbound_transport_cents(instance, s1, f1, resin) == 14
    assert inbound_transport_cents(instance, s1, f2, resin) == 20
    assert inbound_transport_cents(instance, s2, f1, resin) == 20
    assert inbound_transport_cents(instance, s2, f2, resin) == 14
    assert inbound_transport_cents(instance, s2, f1, insert) == 10  # 10.22 at 0.5 kg


def test_early_delivery_covers_a_later_need() -> None:
    # F1's 31 resin for period 3 arrive in period 2 instead.
    plan = _mutated(purchases__0__deliveries__3={**_delivery("F1", 2, 2, 31)})
    assert _check(plan=plan).violations == []


def test_shapley_split_passes_on_its_sums_without_the_proportional_rule() -> None:
    plan = _mutated(split_method="shapley-sampled")
    for share, (charged, saving) in zip(
        plan["purchasing"]["shares"], [(25900, 146), (20960, 40)], strict=True
    ):
        share.update(charged_cents=charged, saving_cents=saving, method="shapley-sampled")
    assert _check(plan=plan).violations == []


def test_capacity_is_rounded_down_and_moq_up_at_their_boundaries() -> None:
    instance = _instance_data()
    instance["suppliers"][0]["offers"][0]["capacity"] = 50.0
    instance["suppliers"][1]["offers"][0]["moq"] = 44.5  # ceil 45: the purchase of 45 is fine
    assert _check(instance).violations == []


# -- one purchase ----------------------------------------------------------------


def test_purchase_below_the_moq_rounded_up_is_a_violation() -> None:
    instance = _instance_data()
    instance["suppliers"][1]["offers"][0]["moq"] = 45.2  # ceil 46 > 45
    report = _check(instance)
    assert _paths(report) == ["purchasing.purchases[1].quantity"]
    _only(report, "PURCHASE_MOQ")


def test_purchase_above_the_capacity_rounded_down_is_a_violation() -> None:
    instance = _instance_data()
    instance["suppliers"][0]["offers"][0]["capacity"] = 49.9  # floor 49 < 50
    report = _check(instance)
    assert _paths(report) == ["purchasing.purchases[0].quantity"]
    _only(report, "PURCHASE_CAPACITY")


def test_all_units_purchase_at_the_break_reaches_that_tier() -> None:
    report = _check(plan=_mutated(purchases__0__tier=0))
    assert _paths(report) == ["purchasing.purchases[0].tier"]
    _only(report, "PURCHASE_TIER")


def test_incremental_purchase_at_a_break_stays_in_the_lower_tier() -> None:
    # 60 inserts: unit 60 is the last of tier 1's range 31..60.
    report = _check(plan=_mutated(purchases__2__tier=2))
    assert _paths(report) == ["purchasing.purchases[2].tier"]
    _only(report, "PURCHASE_TIER")


def test_unit_price_other_than_the_tier_reached_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__2__unit_price_cents=60))
    assert _paths(report) == ["purchasing.purchases[2].unit_price_cents"]
    _only(report, "PURCHASE_PRICE")


def test_incremental_cost_priced_all_units_is_a_violation() -> None:
    # 45 x 420 = 18900 instead of 20 x 450 + 25 x 420 = 19500.
    report = _check(plan=_mutated(purchases__1__cost_cents=18900))
    assert _paths(report) == ["purchasing.purchases[1].cost_cents"]
    _only(report, "PURCHASE_COST")


def test_wrong_inbound_transport_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__0__transport_cents=731))
    assert _paths(report) == ["purchasing.purchases[0].transport_cents"]
    _only(report, "PURCHASE_TRANSPORT")


def test_call_off_not_lead_time_before_the_delivery_is_a_violation() -> None:
    plan = _mutated(purchases__1__deliveries__0={**_delivery("F2", 2, 2, 45)})
    report = _check(plan=plan)
    assert _paths(report) == ["purchasing.purchases[1].deliveries[0].order_period"]
    _only(report, "PURCHASE_LEAD_TIME")


def test_delivery_earlier_than_the_lead_time_allows_is_a_violation() -> None:
    # 20 inserts for period 0 would be called off in period -1.
    plan = _mutated(purchases__2__deliveries__0={**_delivery("F1", 0, -1, 20)})
    report = _check(plan=plan)
    assert sorted(_paths(report)) == [
        "purchasing.purchases[2].deliveries[0].order_period",
        "purchasing.purchases[2].order_period",
    ]
    _only(report, "PURCHASE_LEAD_TIME")


def test_purchase_order_period_other_than_the_first_call_off_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__2__order_period=2))
    assert _paths(report) == ["purchasing.purchases[2].order_period"]
    _only(report, "PURCHASE_LEAD_TIME")


def test_purchase_quantity_other_than_its_deliveries_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__1__quantity=46))
    assert _paths(report) == ["purchasing.purchases[1].quantity"]
    _only(report, "PURCHASE_QUANTITY")


def test_fractional_delivery_is_a_violation() -> None:
    plan = _mutated(purchases__0__deliveries__3={**_delivery("F1", 3, 3, 31.5)})
    plan["purchasing"]["purchases"][0]["quantity"] = 50.5
    report = _check(plan=plan)
    assert "purchasing.purchases[0].deliveries[3].quantity" in _paths(report)
    assert "purchasing.purchases[0].quantity" in _paths(report)
    assert report.codes() == {"PURCHASE_QUANTITY", "PURCHASE_SURPLUS"}  # 6.5 beyond the needs


def test_unknown_supplier_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__2__supplier="S9"))
    assert _paths(report) == ["purchasing.purchases[2].supplier"]
    _only(report, "PURCHASE_UNKNOWN_OFFER")


def test_material_the_supplier_does_not_offer_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__2__supplier="S1"))
    assert _paths(report) == ["purchasing.purchases[2].material"]
    _only(report, "PURCHASE_UNKNOWN_OFFER")


def test_two_purchases_of_one_offer_are_a_violation() -> None:
    plan = _plan_data()
    purchases = plan["purchasing"]["purchases"]
    purchases.append(copy.deepcopy(purchases[2]))
    report = _check(plan=plan)
    assert (
        Violation(
            "DUPLICATE_PURCHASE",
            "purchasing.purchases[3]",
            "supplier 'S2' material 'insert' is already bought in purchasing.purchases[2]",
        )
        in report.violations
    )


def test_delivery_to_an_unknown_factory_is_a_violation() -> None:
    plan = _mutated(purchases__1__deliveries__0={**_delivery("F9", 2, 1, 45)})
    report = _check(plan=plan)
    assert "purchasing.purchases[1].deliveries[0].factory" in _paths(report)
    assert "UNKNOWN_FACTORY" in report.codes()


def test_delivery_after_the_horizon_is_a_violation_and_covers_nothing() -> None:
    plan = _mutated(purchases__0__deliveries__3={**_delivery("F1", 4, 4, 31)})
    report = _check(plan=plan)
    assert report.codes() == {"PERIOD_OUTSIDE_HORIZON", "MATERIAL_NOT_COVERED"}
    assert "purchasing.purchases[0].deliveries[3].period" in _paths(report)


def test_wrong_surplus_is_a_violation() -> None:
    report = _check(plan=_mutated(purchases__0__surplus=0))
    assert _paths(report) == ["purchasing.purchases[0].surplus"]
    _only(report, "PURCHASE_SURPLUS")


# -- coverage and shortages --------------------------------------------------------


def test_late_delivery_does_not_cover_an_earlier_need() -> None:
    # F1's 12 resin for period 1 arrive in period 2: only 2 of 14 there by period 1.
    plan = _mutated(purchases__0__deliveries__1={**_delivery("F1", 2, 2, 12)})
    report = _check(plan=plan)
    (violation,) = _only(report, "MATERIAL_NOT_COVERED")
    assert violation.path == "purchasing.purchases"
    assert "'F1' material 'resin': 14 units needed by period 1, 2 delivered" in violation.message


def test_lead_time_shortage_is_reported_right_but_the_production_breaks_the_material_rule() -> None:
    report = _check(*_short_of_inserts())
    assert _paths(report) == [_MADE_BEFORE_INSERTS]
    _only(report, "MATERIAL_NOT_IN_TIME")


def test_need_dropped_without_a_shortage_is_not_covered() -> None:
    report = _check(*_short_of_inserts(shortages=[]))
    assert report.codes() == {"MATERIAL_NOT_COVERED", "MATERIAL_NOT_IN_TIME"}
    (violation,) = (v for v in report.violations if v.code == "MATERIAL_NOT_COVERED")
    assert "'F1' material 'insert': 5 units needed by period 0" in violation.message


def test_larger_bill_of_materials_is_not_covered_by_the_same_deliveries() -> None:
    instance = _instance_data()
    instance["orders"][0]["bill_of_materials"]["resin"] = 1.3  # F1 needs 15 by period 1
    report = _check(instance)
    assert "MATERIAL_NOT_COVERED" in report.codes()


def test_shortage_claiming_more_than_the_need_is_a_violation() -> None:
    report = _check(*_short_of_inserts(shortages__0__quantity=6))
    assert _paths(report) == [_MADE_BEFORE_INSERTS, "purchasing.shortages[0].quantity"]
    assert report.codes() == {"MATERIAL_NOT_IN_TIME", "SHORTAGE_EXCEEDS_NEED"}


def test_fractional_shortage_is_a_violation() -> None:
    report = _check(*_short_of_inserts(shortages__0__quantity=4.5))
    assert "purchasing.shortages[0].quantity" in _paths(report)
    assert report.codes() == {"SHORTAGE_QUANTITY", "MATERIAL_NOT_COVERED", "MATERIAL_NOT_IN_TIME"}


def test_no_supplier_shortage_for_an_offered_material_is_a_violation() -> None:
    report = _check(*_short_of_inserts(shortages__0__reason="NO_SUPPLIER"))
    assert _paths(report) == [_MADE_BEFORE_INSERTS, "purchasing.shortages[0].reason"]
    assert report.codes() == {"MATERIAL_NOT_IN_TIME", "SHORTAGE_REASON"}


def test_lead_time_shortage_when_an_offer_is_in_time_is_a_violation() -> None:
    instance, plan = _short_of_inserts()
    instance["suppliers"][1]["offers"][1]["lead_time_periods"] = 0
    report = _check(instance, plan)
    assert "purchasing.shortages[0].reason" in _paths(report)
    assert "SHORTAGE_REASON" in report.codes()


def test_more_suppliers_per_material_than_allowed_is_a_violation() -> None:
    report = _check(plan=_mutated(max_suppliers_per_material=1))
    assert _paths(report) == ["purchasing.purchases[1]"]
    _only(report, "SUPPLIER_LIMIT")


def test_supplier_limit_met_exactly_passes() -> None:
    assert _check(plan=_mutated(max_suppliers_per_material=2)).violations == []


# -- totals, savings and their split ----------------------------------------------


@pytest.mark.parametrize("field", ["material_cents", "transport_cents", "collective_cents"])
def test_wrong_purchasing_total_is_a_violation(field: str) -> None:
    plan = _plan_data()
    plan["purchasing"][field] += 1
    report = _check(plan=plan)
    assert _paths(report) == [f"purchasing.{field}"]
    _only(report, "PURCHASING_TOTALS")


def test_savings_other_than_standalone_minus_collective_are_a_violation() -> None:
    plan = _mutated(savings_cents=187, savings_by_material_cents={"resin": 187, "insert": 0})
    report = _check(plan=plan)
    assert _paths(report) == ["purchasing.savings_cents"]
    _only(report, "SAVINGS_TOTALS")


def test_savings_by_material_not_summing_to_the_savings_are_a_violation() -> None:
    report = _check(plan=_mutated(savings_by_material_cents={"resin": 185, "insert": 0}))
    assert _paths(report) == ["purchasing.savings_by_material_cents"]
    _only(report, "SAVINGS_TOTALS")


def test_share_saving_other_than_standalone_minus_charged_is_a_violation() -> None:
    report = _check(plan=_mutated(shares__1__saving_cents=96))
    assert _paths(report) == ["purchasing.shares[1].saving_cents"]
    _only(report, "SAVINGS_SPLIT")


def test_charges_not_summing_to_the_collective_cost_are_a_violation() -> None:
    plan = _mutated(shares__0__charged_cents=25956, shares__0__saving_cents=90)
    report = _check(plan=plan)
    assert _paths(report) == ["purchasing.shares"]
    _only(report, "SAVINGS_SPLIT")


def test_factory_with_needs_missing_from_the_split_is_a_violation() -> None:
    plan = _plan_data()
    del plan["purchasing"]["shares"][1]
    report = _check(plan=plan)
    assert "purchasing.shares" in _paths(report)
    assert any("no line for factory/factories ['F2']" in v.message for v in report.violations)
    _only(report, "SAVINGS_SPLIT")


def test_share_of_an_unknown_factory_is_a_violation() -> None:
    report = _check(plan=_mutated(shares__1__factory="F9"))
    assert "purchasing.shares[1].factory" in _paths(report)
    assert report.codes() == {"UNKNOWN_FACTORY", "SAVINGS_SPLIT"}  # and F2 has no line


def test_unknown_split_method_is_a_violation() -> None:
    report = _check(plan=_mutated(split_method="equal"))
    assert "purchasing.split_method" in _paths(report)
    _only(report, "SAVINGS_SPLIT")


def test_share_method_other_than_the_split_is_a_violation() -> None:
    report = _check(plan=_mutated(shares__0__method="shapley"))
    assert _paths(report) == ["purchasing.shares[0].method"]
    _only(report, "SAVINGS_SPLIT")


def test_negative_core_excess_is_a_violation() -> None:
    report = _check(plan=_mutated(core__excess_cents=-5))
    assert _paths(report) == ["purchasing.core.excess_cents"]
    _only(report, "CORE_CHECK")


def test_blocking_coalition_outside_the_split_is_a_violation() -> None:
    plan = _mutated(core__blocking_coalition=["F1", "F3"], core__excess_cents=10)
    report = _check(plan=plan)
    assert _paths(report) == ["purchasing.core.blocking_coalition[1]"]
    _only(report, "CORE_CHECK")


def test_blocking_coalition_of_a_material_its_members_need_passes() -> None:
    plan = _mutated(core={**_purchasing_data()["core"], "material": "resin"})
    plan["purchasing"]["core"].update(blocking_coalition=["F1", "F2"], excess_cents=10)
    assert _check(plan=plan).violations == []


def test_blocking_coalition_member_not_needing_its_material_is_a_violation() -> None:
    plan = _mutated(core={**_purchasing_data()["core"], "material": "insert"})
    plan["purchasing"]["core"].update(blocking_coalition=["F1", "F2"], excess_cents=10)
    report = _check(plan=plan)
    assert _paths(report) == ["purchasing.core.blocking_coalition[1]"]
    _only(report, "CORE_CHECK")


def test_split_not_computed_before_a_stop_passes_without_savings() -> None:
    plan = _mutated(
        standalone_cents=None, savings_cents=None, savings_by_material_cents={}, shares=[]
    )
    plan["purchasing"]["core"] = None
    assert _check(plan=plan).violations == []


def test_savings_without_a_standalone_cost_are_a_violation() -> None:
    plan = _mutated(standalone_cents=None, shares=[])
    report = _check(plan=plan)
    assert _paths(report) == ["purchasing.savings_cents"]
    _only(report, "SAVINGS_TOTALS")


# -- the plan's costs ----------------------------------------------------------------


def test_purchasing_cost_is_recomputed_not_taken_from_the_plan() -> None:
    plan = _plan_data()
    plan["costs"]["purchasing"] = 46000
    report = _check(plan=plan)
    assert report.recomputed.purchasing == 46860
    assert _paths(report) == ["costs.purchasing"]
    _only(report, "COST_MISMATCH")


def test_total_without_purchasing_is_a_violation() -> None:
    plan = _plan_data()
    plan["costs"]["total"] = 7000
    report = _check(plan=plan)
    assert _paths(report) == ["costs.total"]
    _only(report, "COST_MISMATCH")


def test_no_supplier_shortage_is_right_when_the_only_offer_cannot_sell_a_whole_unit() -> None:
    # Glue from S1: MOQ 10.2 -> at least 11 units, capacity 10.5 -> at most 10. The
    # shortage's reason is right; making O2 with glue nobody can sell breaks the
    # material rule (docs/model.md), which a usable offer then satisfies.
    instance = _instance_data()
    instance["materials"].append({"id": "glue"})
    instance["suppliers"][0]["offers"].append(
        {
            "material": "glue",
            "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 50}]},
            "moq": 10.2,
            "capacity": 10.5,
        }
    )
    instance["orders"][1]["bill_of_materials"]["glue"] = 0.1  # F2: 2 units by period 2
    shortage = {
        "factory": "F2",
        "material": "glue",
        "period": 2,
        "quantity": 2,
        "reason": "NO_SUPPLIER",
        "detail": "S1's offer cannot be used",
    }
    plan = _plan_data()
    plan["purchasing"]["shortages"].append(shortage)
    report = _check(instance, plan)
    assert _paths(report) == ["allocations[2].periods[0]"]  # O2 at F2 in period 2
    (violation,) = _only(report, "MATERIAL_NOT_IN_TIME")
    assert "material 'glue' in period 2" in violation.message
    assert "can deliver 0 by then; no usable offer" in violation.message
    instance["suppliers"][0]["offers"][1]["capacity"] = 11.0
    report = _check(instance, plan)
    assert _paths(report) == ["purchasing.shortages[0].reason"]
    _only(report, "SHORTAGE_REASON")
