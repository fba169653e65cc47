"""Tests of the material rule in the checker (docs/model.md, "Materials";
matcher/check/materials.py) and of stock and sourcing in its purchasing section
(docs/purchasing.md, "Needs").

Every instance is tiny and built per test: 4 periods; F1 and F2 and supplier S1 all
at the buyers' delivery point (no transport of any kind, transfers between F1 and F2
take lag 1); credit 100; "make" on "line" at 100 c and "cut" on "saw" at 50 c a unit,
60 s a unit, 600 free minutes a period; every order due in period 3 (never late), 1000 c
unserved. Steel is purchased, paint provided. The figures of the rule are worked out by
hand in each test:

    R(p) = sum over factories of max(0, ceil(used by p - stock - 1e-9))  <=  A(p)

with ``A(p)`` the whole-unit capacities of the usable steel offers with lead time
``<= p`` (infinite once one has no capacity).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from matcher.check import CheckReport, check_plan, cumulative_needs
from matcher.domain.plan import Plan
from matcher.domain.validation import parse_instance
from tests.matcher.check.helpers import only, paths

Data = dict[str, Any]

GROUP = {"make": "line", "cut": "saw"}
CENTS = {"make": 100, "cut": 50}
PENALTY = 1000
HERE = {"lat": 0.0, "lon": 0.0}


def _order(
    oid: str, quantity: int, bom: dict[str, float], *, split: bool = False, release: int = 0
) -> Data:
    """An order of "make" (after "cut" when split by operation)."""
    return {
        "id": oid,
        "buyer": "B1",
        "operations": [{"process": p} for p in (("cut", "make") if split else ("make",))],
        "quantity": quantity,
        "release_period": release,
        "due_period": 3,
        "delivery": HERE,
        "bill_of_materials": bom,
        "split": {"allowed": True, "by_operation": True} if split else {},
        "penalties": {"unserved_cents": PENALTY},
    }


def _offer(
    material: str = "steel",
    *,
    lead: int = 0,
    capacity: float | None = None,
    moq: float = 0.0,
) -> Data:
    offer: Data = {
        "material": material,
        "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 100}]},
        "moq": moq,
        "lead_time_periods": lead,
    }
    if capacity is not None:
        offer["capacity"] = capacity
    return offer


def _factory(fid: str, stock: dict[str, float]) -> Data:
    return {
        "id": fid,
        "location": HERE,
        "credit": {"score": 100},
        "capabilities": [
            {
                "process": p,
                "resource_group": g,
                "unit_cost_cents": CENTS[p],
                "seconds_per_unit": 60,
            }
            for p, g in GROUP.items()
        ],
        "resources": [{"id": g, "available_minutes": [600] * 4} for g in GROUP.values()],
        "stock": stock,
    }


def _instance(
    *orders: Data,
    offers: list[Data] | None = None,
    stock: dict[str, dict[str, float]] | None = None,
) -> Data:
    stock = stock or {}
    return {
        "name": "materials-tiny",
        "horizon": {"start_date": "2024-01-01", "periods": 4},
        "processes": [{"id": "make"}, {"id": "cut"}],
        "materials": [{"id": "steel", "unit": "kg"}, {"id": "paint", "sourcing": "provided"}],
        "factories": [_factory(f, stock.get(f, {})) for f in ("F1", "F2")],
        "orders": list(orders),
        "suppliers": [{"id": "S1", "location": HERE, "offers": offers}] if offers else [],
    }


def _row(
    order: str, factory: str, periods: dict[int, int], operation: int = 0, process: str = "make"
) -> Data:
    quantity = sum(periods.values())
    return {
        "order": order,
        "operation": operation,
        "process": process,
        "factory": factory,
        "resource_group": GROUP[process],
        "quantity": quantity,
        "periods": [{"period": t, "quantity": q} for t, q in periods.items()],
        "production_cents": CENTS[process] * quantity,
    }


def _unassigned(order: str, reason: str = "MATERIAL_UNAVAILABLE") -> Data:
    return {"order": order, "reason": reason, "detail": "", "penalty_cents": PENALTY}


def _plan(
    instance: Data,
    rows: list[Data],
    unassigned: list[Data] | None = None,
    *,
    transfers: list[Data] | None = None,
    purchasing: Data | None = None,
) -> Data:
    """The plan of ``rows``, its costs and KPIs as the docstring's setting makes them:
    100 or 50 c a unit, no transport, never late, 1 minute a unit per period."""
    unassigned = unassigned or []
    orders = {o["id"]: o for o in instance["orders"]}
    served = {r["order"] for r in rows}
    used: dict[tuple[str, str, int], float] = defaultdict(float)
    for r in rows:
        for pq in r["periods"]:
            used[(r["factory"], r["resource_group"], pq["period"])] += pq["quantity"]
    production = sum(r["production_cents"] for r in rows)
    unserved = PENALTY * (len(orders) - len(served))
    bought = purchasing["collective_cents"] if purchasing else 0
    total = production + unserved + bought
    units = sum(o["quantity"] for o in orders.values())
    return {
        "instance": "materials-tiny",
        "status": "OPTIMAL",
        "weights": {},
        "allocations": rows,
        "unassigned": unassigned,
        "transfers": transfers or [],
        "costs": {
            "production": production,
            "unserved": unserved,
            "purchasing": bought,
            "total": total,
            "objective": total,
        },
        "kpis": {
            "orders": len(orders),
            "orders_served": len(served),
            "orders_on_time": len(served),
            "orders_late": 0,
            "orders_unassigned": len(orders) - len(served),
            "fill_rate": len(served) / len(orders),
            "unit_fill_rate": sum(orders[o]["quantity"] for o in served) / units,
            "on_time_rate": 1.0 if served else 0.0,
            "factories_used": len({r["factory"] for r in rows}),
            "factory_utilisation": [],
            "utilisation": [
                {
                    "factory": f,
                    "resource_group": g,
                    "period": t,
                    "used_minutes": m,
                    "free_minutes": 600,
                }
                for (f, g, t), m in sorted(used.items())
            ],
        },
        "stages": [],
        "purchasing": purchasing,
    }


def _check(instance: Data, plan: Data) -> CheckReport:
    return check_plan(parse_instance(instance), Plan.model_validate(plan))


def _violation(report: CheckReport) -> tuple[str, str]:
    """The one violation, a MATERIAL_NOT_IN_TIME: its path and message."""
    (v,) = only(report, "MATERIAL_NOT_IN_TIME")
    return v.path, v.message


# -- the rule ----------------------------------------------------------------------


def test_production_before_the_only_offers_lead_time_is_a_violation() -> None:
    # A: 3 x 0.4 = 1.2 steel at F1 in period 0 -> 2 whole units; the offer arrives from 1.
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=[_offer(lead=1)])
    path, message = _violation(_check(instance, _plan(instance, [_row("A", "F1", {0: 3})])))
    assert path == "allocations[0].periods[0]"
    assert message == (
        "material 'steel' in period 0: production up to then needs 2 whole units after "
        "stock ('F1' 2), the usable offers can deliver 0 by then; nothing arrives before "
        "period 1 (the shortest lead time) (order 'A' is made at 'F1' in period 0)"
    )


def test_the_same_production_once_the_offer_arrives_passes() -> None:
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=[_offer(lead=1)])
    assert _check(instance, _plan(instance, [_row("A", "F1", {1: 3})])).violations == []


def test_stock_covering_the_production_before_the_lead_time_passes() -> None:
    # 1.2 used - 1.2 on hand - 1e-9 -> ceil of a hair below 0 -> no need.
    instance = _instance(
        _order("A", 3, {"steel": 0.4}), offers=[_offer(lead=1)], stock={"F1": {"steel": 1.2}}
    )
    assert _check(instance, _plan(instance, [_row("A", "F1", {0: 3})])).violations == []


def test_stock_at_another_factory_covers_nothing() -> None:
    instance = _instance(
        _order("A", 3, {"steel": 0.4}), offers=[_offer(lead=1)], stock={"F2": {"steel": 5}}
    )
    path, _ = _violation(_check(instance, _plan(instance, [_row("A", "F1", {0: 3})])))
    assert path == "allocations[0].periods[0]"


def test_stock_covering_part_leaves_the_rest_rounded_up_cumulatively() -> None:
    # A at F1 {0: 1, 1: 1, 2: 1}, 0.4 each: used 0.4, 0.8, 1.2 by periods 0, 1, 2.
    # Stock 1: needs 0, 0, ceil(0.2) = 1; one unit from period 2 is enough.
    rows = [_row("A", "F1", {0: 1, 1: 1, 2: 1})]
    offers = [_offer(lead=2, capacity=1.0)]
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=offers, stock={"F1": {"steel": 1}})
    plan = _plan(instance, rows)
    assert cumulative_needs(parse_instance(instance), Plan.model_validate(plan)) == {
        ("F1", "steel"): [0, 0, 1, 1]
    }
    assert _check(instance, plan).violations == []
    # Without the stock: 1, 1, 2 whole units, and nothing arrives before period 2.
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=offers)
    assert cumulative_needs(parse_instance(instance), Plan.model_validate(plan)) == {
        ("F1", "steel"): [1, 1, 2, 2]
    }
    path, message = _violation(_check(instance, _plan(instance, rows)))
    assert path == "allocations[0].periods[0]"
    assert "needs 1 whole units after stock ('F1' 1), the usable offers can deliver 0" in message


def test_stock_leaving_a_fraction_still_needs_a_whole_unit() -> None:
    # 1.2 used, 1 on hand: ceil(0.2) = 1 unit, and the offer sells exactly 1.
    offers = [_offer(lead=0, capacity=1.0)]
    rows = [_row("A", "F1", {0: 3})]
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=offers, stock={"F1": {"steel": 1}})
    assert _check(instance, _plan(instance, rows)).violations == []
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=offers)
    _, message = _violation(_check(instance, _plan(instance, rows)))
    assert "needs 2 whole units after stock ('F1' 2), the usable offers can deliver 1 by then" in (
        message
    )


def test_two_factories_round_up_apart_against_one_capped_offer() -> None:
    # B at F1 and C at F2 in period 1, 0.5 steel each: ceil(0.5) + ceil(0.5) = 2 > 1.
    orders = (_order("B", 1, {"steel": 0.5}), _order("C", 1, {"steel": 0.5}))
    instance = _instance(*orders, offers=[_offer(lead=0, capacity=1.5)])  # 1 whole unit
    plan = _plan(instance, [_row("B", "F1", {1: 1}), _row("C", "F2", {1: 1})])
    path, message = _violation(_check(instance, plan))
    assert path == "allocations[0].periods[0]"
    assert message == (
        "material 'steel' in period 1: production up to then needs 2 whole units after "
        "stock ('F1' 1, 'F2' 1), the usable offers can deliver 1 by then (order 'B' is made "
        "at 'F1' in period 1)"
    )


def test_two_orders_at_one_factory_round_up_together() -> None:
    # The same 0.5 + 0.5 at F1 alone: ceil(1.0) = 1 <= 1.
    orders = (_order("B", 1, {"steel": 0.5}), _order("C", 1, {"steel": 0.5}))
    instance = _instance(*orders, offers=[_offer(lead=0, capacity=1.5)])
    plan = _plan(instance, [_row("B", "F1", {1: 1}), _row("C", "F1", {1: 1})])
    assert _check(instance, plan).violations == []


def test_capacities_of_the_offers_in_time_add_up() -> None:
    # S1 sells 1 unit with lead time 0, S2 1 unit with lead time 1: A = 1, 2, 2, 2.
    orders = (_order("B", 1, {"steel": 0.5}), _order("C", 1, {"steel": 0.5}))
    instance = _instance(*orders, offers=[_offer(lead=0, capacity=1.0)])
    s2 = {"id": "S2", "location": HERE, "offers": [_offer(lead=1, capacity=1.0)]}
    instance["suppliers"].append(s2)
    plan = _plan(instance, [_row("B", "F1", {1: 1}), _row("C", "F2", {1: 1})])
    assert _check(instance, plan).violations == []
    plan = _plan(instance, [_row("B", "F1", {0: 1}), _row("C", "F2", {0: 1})])
    _, message = _violation(_check(instance, plan))
    assert "in period 0:" in message and "needs 2 whole units" in message
    assert "can deliver 1 by then" in message


def test_an_uncapped_offer_with_lead_time_two_allows_anything_from_period_two() -> None:
    instance = _instance(_order("A", 300, {"steel": 7.0}), offers=[_offer(lead=2)])
    assert _check(instance, _plan(instance, [_row("A", "F1", {2: 200, 3: 100})])).violations == []
    plan = _plan(instance, [_row("A", "F1", {1: 100, 2: 200})])
    path, message = _violation(_check(instance, plan))
    assert path == "allocations[0].periods[0]"
    assert "in period 1: production up to then needs 700 whole units" in message
    assert "nothing arrives before period 2 (the shortest lead time)" in message


def test_an_offer_whose_capacity_is_below_its_minimum_purchase_supplies_nothing() -> None:
    # MOQ 5.2 -> at least 6 whole units; capacity 5.9 -> at most 5. (An instance keeps
    # the raw capacity >= the MOQ >= the first break: only the rounding leaves it unusable.)
    offer = _offer(lead=0, capacity=5.9, moq=5.2)
    instance = _instance(_order("A", 1, {"steel": 1.0}), offers=[offer])
    _, message = _violation(_check(instance, _plan(instance, [_row("A", "F1", {3: 1})])))
    assert message.startswith("material 'steel' in period 3: production up to then needs 1")
    assert "can deliver 0 by then; no usable offer" in message


def test_an_offer_selling_exactly_its_minimum_purchase_is_usable() -> None:
    # MOQ 4.5 -> 5 units at least, capacity 5.0 -> 5 at most: usable, 5 units.
    offer = _offer(lead=0, capacity=5.0, moq=4.5)
    instance = _instance(_order("A", 5, {"steel": 1.0}), offers=[offer])
    assert _check(instance, _plan(instance, [_row("A", "F1", {0: 5})])).violations == []


def test_a_purchased_material_nobody_offers_cannot_be_used() -> None:
    instance = _instance(_order("A", 1, {"steel": 0.001}))
    _, message = _violation(_check(instance, _plan(instance, [_row("A", "F1", {3: 1})])))
    assert "needs 1 whole units" in message and "no usable offer" in message


def test_a_provided_material_never_binds() -> None:
    # 50 paint in period 0, no offer and no stock of it.
    instance = _instance(_order("P", 50, {"paint": 1.0}))
    assert _check(instance, _plan(instance, [_row("P", "F1", {0: 50})])).violations == []


def test_each_material_is_reported_once_at_its_first_violating_period() -> None:
    # Steel short in periods 0, 1 and 2 (lead time 3): one violation, period 0.
    instance = _instance(_order("A", 3, {"steel": 0.4}), offers=[_offer(lead=3)])
    path, message = _violation(
        _check(instance, _plan(instance, [_row("A", "F1", {0: 1, 1: 1, 2: 1})]))
    )
    assert path == "allocations[0].periods[0]"
    assert "in period 0:" in message


def test_the_path_names_a_row_whose_production_raised_the_need() -> None:
    # Both make 1 unit in period 1 with 0.5 steel; A's at F2 is covered by F2's stock,
    # B's at F1 needs ceil(0.5) = 1 unit, and nothing arrives before period 3.
    orders = (_order("A", 1, {"steel": 0.5}), _order("B", 1, {"steel": 0.5}))
    instance = _instance(*orders, offers=[_offer(lead=3)], stock={"F2": {"steel": 1}})
    plan = _plan(instance, [_row("A", "F2", {1: 1}), _row("B", "F1", {1: 1})])
    path, message = _violation(_check(instance, plan))
    assert path == "allocations[1].periods[0]"
    assert "in period 1:" in message and "(order 'B' is made at 'F1' in period 1)" in message


def test_an_order_split_by_operation_uses_its_materials_at_operation_zeros_factory() -> None:
    # X: cut at F2 in period 0, make at F1 in period 1 (lag 1); 2 steel, lead time 2.
    instance = _instance(
        _order("X", 2, {"steel": 1.0}, split=True),
        offers=[_offer(lead=2)],
        stock={"F2": {"steel": 2}},
    )
    rows = [_row("X", "F2", {0: 2}, 0, "cut"), _row("X", "F1", {1: 2}, 1, "make")]
    transfers = [
        {
            "order": "X",
            "operation": 0,
            "from_factory": "F2",
            "to_factory": "F1",
            "quantity": 2,
            "ship_period": 0,
            "arrive_period": 1,
            "transport_cents": 0,
        }
    ]
    assert _check(instance, _plan(instance, rows, transfers=transfers)).violations == []
    # The stock at operation 1's factory instead covers nothing.
    instance["factories"][0]["stock"], instance["factories"][1]["stock"] = {"steel": 2}, {}
    path, message = _violation(_check(instance, _plan(instance, rows, transfers=transfers)))
    assert path == "allocations[0].periods[0]"
    assert "('F2' 2)" in message and "(order 'X' is made at 'F2' in period 0)" in message


# -- the reason MATERIAL_UNAVAILABLE --------------------------------------------------


def test_an_order_unassigned_for_its_materials_is_accepted() -> None:
    # B takes the one unit the offer sells; C is left for want of steel.
    orders = (_order("B", 1, {"steel": 0.5}), _order("C", 1, {"steel": 0.5}))
    instance = _instance(*orders, offers=[_offer(lead=0, capacity=1.0)])
    plan = _plan(instance, [_row("B", "F1", {1: 1})], [_unassigned("C")])
    assert _check(instance, plan).violations == []


def test_material_unavailable_for_an_order_without_a_purchased_material_is_a_violation() -> None:
    instance = _instance(_order("P", 1, {"paint": 1.0}))
    report = _check(instance, _plan(instance, [], [_unassigned("P")]))
    (v,) = only(report, "UNASSIGNED_REASON")
    assert v.path == "unassigned[0].reason"
    assert v.message == (
        "order 'P' is unassigned for MATERIAL_UNAVAILABLE, but materials cannot hold it "
        "back: its bill of materials ['paint'] has no purchased material"
    )


def test_material_unavailable_when_an_uncapped_offer_arrives_by_the_release_is_a_violation() -> (
    None
):
    instance = _instance(_order("A", 1, {"steel": 1.0}, release=1), offers=[_offer(lead=1)])
    report = _check(instance, _plan(instance, [], [_unassigned("A")]))
    (v,) = only(report, "UNASSIGNED_REASON")
    assert "every purchased material of it (steel) has a usable offer without a capacity" in (
        v.message
    )
    # Released in period 0, before the offer arrives: the reason may hold.
    instance = _instance(_order("A", 1, {"steel": 1.0}), offers=[_offer(lead=1)])
    assert _check(instance, _plan(instance, [], [_unassigned("A")])).violations == []


# -- stock and sourcing in the purchasing section ------------------------------------


def _purchase(material: str, quantity: int, deliveries: dict[int, int]) -> Data:
    return {
        "supplier": "S1",
        "material": material,
        "quantity": quantity,
        "tier": 0,
        "unit_price_cents": 100,
        "cost_cents": 100 * quantity,
        "transport_cents": 0,
        "order_period": min(deliveries),
        "deliveries": [
            {"factory": "F1", "period": t, "order_period": t, "quantity": q}
            for t, q in deliveries.items()
        ],
    }


def _purchasing(purchases: list[Data], shortages: list[Data] | None = None) -> Data:
    """The section of ``purchases`` (100 c a unit, no transport), F1 its one buyer."""
    cost = sum(p["cost_cents"] for p in purchases)
    return {
        "purchases": purchases,
        "shortages": shortages or [],
        "collective_cents": cost,
        "material_cents": cost,
        "transport_cents": 0,
        "standalone_cents": cost,
        "savings_cents": 0,
        "savings_by_material_cents": {p["material"]: 0 for p in purchases},
        "split_method": "proportional",
        "shares": [
            {
                "factory": "F1",
                "standalone_cents": cost,
                "charged_cents": cost,
                "saving_cents": 0,
                "method": "proportional",
            }
        ],
    }


def _bought(stock: dict[str, float], purchases: list[Data], **kw: Any) -> CheckReport:
    """A: 3 units at F1 in period 1, 0.4 steel and 1 paint each; S1 sells both, lead 0."""
    instance = _instance(
        _order("A", 3, {"steel": 0.4, "paint": 1.0}),
        offers=[_offer(), _offer("paint")],
        stock={"F1": stock},
    )
    plan = _plan(instance, [_row("A", "F1", {1: 3})], purchasing=_purchasing(purchases, **kw))
    return _check(instance, plan)


def test_purchasing_needs_are_what_the_stock_leaves() -> None:
    # 1.2 steel, 1 on hand: 1 unit bought covers it.
    assert _bought({"steel": 1}, [_purchase("steel", 1, {1: 1})]).violations == []


def test_purchasing_needs_without_the_stock_are_not_covered_by_the_same_purchase() -> None:
    report = _bought({}, [_purchase("steel", 1, {1: 1})])
    (v,) = only(report, "MATERIAL_NOT_COVERED")
    assert "'F1' material 'steel': 2 units needed by period 1, 1 delivered" in v.message


def test_stock_covering_every_need_leaves_nothing_to_buy() -> None:
    instance = _instance(
        _order("A", 3, {"steel": 0.4}), offers=[_offer()], stock={"F1": {"steel": 2}}
    )
    plan = _plan(instance, [_row("A", "F1", {1: 3})])
    assert cumulative_needs(parse_instance(instance), Plan.model_validate(plan)) == {
        ("F1", "steel"): [0, 0, 0, 0]
    }


def test_buying_a_provided_material_is_a_violation() -> None:
    purchases = [_purchase("steel", 1, {1: 1}), _purchase("paint", 3, {1: 3})]
    report = _bought({"steel": 1}, purchases)
    assert paths(report) == ["purchasing.purchases[1].material"]
    (v,) = only(report, "MATERIAL_PROVIDED")
    assert v.message == (
        "material 'paint' is provided (brought by the buyer or the factory): it is never bought"
    )


def test_a_shortage_of_a_provided_material_is_a_violation() -> None:
    shortage = {
        "factory": "F1",
        "material": "paint",
        "period": 1,
        "quantity": 3,
        "reason": "NO_SUPPLIER",
        "detail": "",
    }
    report = _bought({"steel": 1}, [_purchase("steel", 1, {1: 1})], shortages=[shortage])
    assert paths(report) == ["purchasing.shortages[0].material"]
    only(report, "MATERIAL_PROVIDED")


def test_a_provided_material_has_no_purchasing_needs() -> None:
    instance = _instance(_order("P", 5, {"paint": 1.0, "steel": 1.0}), offers=[_offer()])
    plan = _plan(instance, [_row("P", "F1", {0: 5})])
    assert cumulative_needs(parse_instance(instance), Plan.model_validate(plan)) == {
        ("F1", "steel"): [5, 5, 5, 5]
    }
