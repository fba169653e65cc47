"""The fairness report (docs/fairness-report.md) on a three-factory instance whose figures
are computed by hand (tests/fairness_report_data.py), and the price of fairness
re-solved by the pipeline."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from matcher.app.fairness_report import (
    RATE_SLACK,
    _Pairing,
    _Screen,
    _use,
    active_options,
    blocking_pairs,
    fairness_report,
    gini,
    pair_rank,
    small_threshold,
    top_count,
)
from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.entities import FairnessOptions
from matcher.domain.geo import transport_cents_per_unit
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Allocation, BlockingPair, FairnessReport, PeriodQuantity, Plan
from matcher.domain.validation import parse_instance
from matcher.generate.generator import generate
from tests.fairness_report_data import fairness_instance, hand_plan

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=4, sharing=False)


def _report(instance: Instance, placed: Plan) -> FairnessReport:
    """The report of ``placed``, which the independent checker must re-derive exactly
    (the hand plans have no costs or KPIs: only the fairness codes count here)."""
    report = fairness_report(instance, placed)
    checked = check_plan(instance, placed.model_copy(update={"fairness": report}))
    assert not {c for c in checked.codes() if c.startswith("FAIRNESS")}, checked.violations
    return report


def test_gini_is_the_mean_absolute_difference_over_twice_the_mean() -> None:
    # |100-50| + |100-0| + |50-0| = 200 per unordered pair set; ordered: 400.
    assert gini([100, 50, 0]) == pytest.approx(400 / (2 * 9 * 50))
    assert gini([5, 5, 5]) == 0.0
    assert gini([0, 0, 0]) == 0.0
    assert gini([7]) == 0.0
    assert gini([0, 0, 0, 10]) == pytest.approx(3 / 4)  # all to one of n: (n - 1) / n


def test_top_count_and_small_threshold_use_integer_ceilings() -> None:
    assert [top_count(n) for n in (0, 1, 10, 11, 30, 100)] == [0, 1, 1, 2, 3, 10]
    assert small_threshold([120, 600, 1200]) == 120  # the ceil(3/4) = 1st smallest
    assert small_threshold([4, 3, 2, 1, 5]) == 2  # the ceil(5/4) = 2nd smallest
    assert small_threshold([]) == 0


def test_three_factories_give_the_hand_computed_shares_and_gini() -> None:
    instance = fairness_instance()
    # O1 at A, O2 at B, O3 at C: units 100 / 50 / 10; revenue 1000 / 1000 / 300.
    placed = hand_plan(
        instance, {"O1": {0: ("A", 100)}, "O2": {0: ("B", 50)}, "O3": {1: ("C", 10)}}
    )
    report = _report(instance, placed)
    rows = {r.factory: r for r in report.factories}
    assert [r.factory for r in report.factories] == ["A", "B", "C"]
    assert (rows["A"].units, rows["B"].units, rows["C"].units) == (100, 50, 10)
    assert (rows["A"].revenue_cents, rows["C"].revenue_cents) == (1000, 300)
    assert rows["A"].hours == pytest.approx(100 / 60)
    assert rows["A"].units_share == pytest.approx(100 / 160)
    assert rows["C"].revenue_share == pytest.approx(300 / 2300)
    # Gini of [100, 50, 10]: (50 + 90 + 40) x 2 / (2 x 9 x 160 / 3).
    assert report.units.gini == pytest.approx(360 / (2 * 9 * 160 / 3))
    assert report.revenue.gini == pytest.approx((0 + 700 + 700) * 2 / (2 * 9 * 2300 / 3))
    assert report.top_count == 1
    assert report.units.top_share == pytest.approx(100 / 160)
    assert report.units.max_share == pytest.approx(100 / 160)
    # C's 120 declared minutes are the lowest quartile; its 2 records make it new.
    assert report.small_capacity_minutes == 120
    assert (report.small_factories, report.new_factories) == (1, 1)
    assert rows["C"].small and rows["C"].new and not rows["A"].small
    assert report.units.small_share == pytest.approx(10 / 160)
    assert report.revenue.new_share == pytest.approx(300 / 2300)


def test_utilisation_spread_is_over_factories_with_free_capacity() -> None:
    instance = fairness_instance()
    placed = hand_plan(instance, {"O1": {0: ("A", 100)}, "O2": {0: ("B", 50)}})
    report = _report(instance, placed)
    rates = [100 / 1200, 50 / 600, 0.0]
    assert [r.utilisation for r in report.factories] == pytest.approx(rates)
    assert report.utilisation_factories == 3
    assert report.utilisation_spread == pytest.approx(100 / 1200)
    assert report.utilisation_std == pytest.approx(statistics.pstdev(rates))


def test_a_blocking_pair_constructed_on_purpose_is_found_and_ranked_by_saving() -> None:
    instance = fairness_instance()
    # O1 and O2 at B (2 000 and 1 000) although A would make them for half, with room;
    # O3 unserved: every factory with room for it is a pair.
    placed = hand_plan(instance, {"O1": {0: ("B", 100)}, "O2": {0: ("B", 50)}})
    report = _report(instance, placed)
    listed = [(p.order, p.factory, p.saving_cents) for p in report.blocking_listed]
    assert listed == [
        ("O1", "A", 1000),
        ("O2", "A", 500),
        ("O3", "A", None),  # unserved: cheapest there first
        ("O3", "B", None),
        ("O3", "C", None),
    ]
    assert (report.blocking_pairs, report.blocking_unserved, report.blocking_orders) == (5, 3, 3)
    first = report.blocking_listed[0]
    assert (first.price_now_cents, first.price_cents, first.setups) == (2000, 1000, 1)


def test_no_blocking_pair_when_every_order_is_at_its_cheapest_factory() -> None:
    instance = fairness_instance()
    placed = hand_plan(
        instance, {"O1": {0: ("A", 100)}, "O2": {0: ("A", 50)}, "O3": {1: ("A", 10)}}
    )
    report = _report(instance, placed)
    assert report.blocking_pairs == 0 and report.blocking_listed == []


def test_a_cheaper_factory_without_room_by_the_due_date_forms_no_pair() -> None:
    instance = fairness_instance()
    # With 60 minutes a period, A holds O1 (60 + 40) and O3 (10): 10 minutes are left,
    # too few for O2's 50 units, so O2 at B (dearer) blocks nothing; with 600 it does.
    narrow = instance.model_copy(
        update={
            "factories": [
                instance.factories[0].model_copy(
                    update={
                        "resources": [
                            instance.factories[0]
                            .resources[0]
                            .model_copy(update={"available_minutes": [60, 60]})
                        ]
                    }
                ),
                *instance.factories[1:],
            ]
        }
    )
    placed = hand_plan(
        narrow, {"O1": {0: ("A", 60), 1: ("A", 40)}, "O2": {0: ("B", 50)}, "O3": {1: ("A", 10)}}
    )
    assert _report(narrow, placed).blocking_pairs == 0
    roomy = hand_plan(instance, {"O1": {0: ("A", 100)}, "O2": {0: ("B", 50)}, "O3": {1: ("A", 10)}})
    pairs = _report(instance, roomy).blocking_listed
    assert [(p.order, p.factory) for p in pairs] == [("O2", "A")]


def test_every_plan_carries_a_report_the_checker_accepts() -> None:
    instance = fairness_instance()
    result = plan(instance, PARAMS)
    assert result.fairness is not None
    assert result.fairness.price_of_fairness is None  # no options in force
    # The credit weight sends O1 and O2 to B: A forms a pair with each.
    assert {(p.order, p.factory) for p in result.fairness.blocking_listed} >= {
        ("O1", "A"),
        ("O2", "A"),
    }
    assert check_plan(instance, result).ok


def test_the_price_of_fairness_is_re_solved_without_the_options() -> None:
    # No credit weight: without options A makes O1 and O2 (1 000 + 500) and O3 stays
    # out (50): 1 550. A cap of 70 % of the served units keeps A from both: O1 at A,
    # O2 at B (1 000 + 1 000 + 50 = 2 050): the price is 500, 32.3 %.
    instance = fairness_instance(credit_weight=0)
    options = FairnessOptions(max_share=0.7)
    result = plan(instance, PARAMS.model_copy(update={"fairness": options}))
    assert result.fairness is not None
    price = result.fairness.price_of_fairness
    assert price is not None
    assert (price.cost_with_cents, price.cost_without_cents) == (2050, 1550)
    assert price.difference_cents == 500
    assert price.percentage == pytest.approx(100 * 500 / 1550)
    assert price.gini_units_with == pytest.approx(4 / 9)  # [100, 50, 0]
    assert price.gini_units_without == pytest.approx(2 / 3)  # [150, 0, 0]
    assert price.time_limit_s == pytest.approx(PARAMS.time_limit_s / 4)
    assert price.options == ["max_share 0.7 of the served units"]
    assert check_plan(instance, result).ok


def test_a_factory_the_materials_cannot_reach_by_the_due_date_forms_no_pair() -> None:
    # O3 needs m, which arrives 2 periods after it is bought: after O3's due period 1.
    # Only C, with m in stock, could still make it.
    base = fairness_instance()
    supplier = {
        "id": "S",
        "location": {"lat": 30.0, "lon": 120.0},
        "offers": [
            {
                "material": "m",
                "price": {"tiers": [{"min_quantity": 0, "unit_price_cents": 1}]},
                "lead_time_periods": 2,
            }
        ],
    }
    data = base.model_dump(mode="json")
    data["materials"] = [{"id": "m"}]
    data["suppliers"] = [supplier]
    data["orders"][2]["bill_of_materials"] = {"m": 1.0}
    data["factories"][2]["stock"] = {"m": 10.0}
    instance = parse_instance(data)
    placed = hand_plan(instance, {"O1": {0: ("A", 100)}, "O2": {0: ("A", 50)}})
    pairs = _report(instance, placed).blocking_listed
    assert [(p.order, p.factory) for p in pairs] == [("O3", "C")]


def test_a_load_balance_weight_alone_is_priced_too() -> None:
    instance = fairness_instance(credit_weight=0)
    weights = instance.weights.model_copy(update={"load_balance": 1})
    result = plan(instance, PARAMS.model_copy(update={"weights": weights}))
    assert result.fairness is not None
    price = result.fairness.price_of_fairness
    assert price is not None and price.options == ["load_balance weight 1"]
    assert price.cost_without_cents == 1550  # A makes O1 and O2, O3 out
    assert price.difference_cents == price.cost_with_cents - 1550
    assert check_plan(instance, result).ok


def test_the_options_in_force_are_stated_one_line_each() -> None:
    options = FairnessOptions(
        max_share=0.2,
        share_measure="hours",
        min_work_by_factory={"A": 5.0, "B": 0.0},
        exploration_share=0.1,
    )
    assert active_options(options, 2) == [
        "max_share 0.2 of the served hours",
        "min_work 0 hours per factory (1 set per factory) (soft, 5000 cents per hour short)",
        "exploration_share 0.1 of the served hours to new factories (fewer than 5 records)",
        "load_balance weight 2",
    ]
    assert active_options(FairnessOptions(), 0) == []
    assert active_options(None, 0) == []


# ------------------------------------------------ the screen before the exact tests


def _dear_plan(instance: Instance) -> Plan:
    """Two orders in three at the dearest factory offering all their processes, in their
    due period (rows only; capacity overrun on purpose), the third unserved: served
    orders with cheaper factories, with and without room."""
    caps = {f.id: {c.process: c for c in f.capabilities} for f in instance.factories}
    last = instance.horizon.periods - 1
    rows: list[Allocation] = []
    for i, order in enumerate(instance.orders):
        able = [
            f
            for f in instance.factories
            if all(op.process in caps[f.id] for op in order.operations)
        ]
        if i % 3 == 2 or not able:
            continue
        factory = max(
            able,
            key=lambda f: (
                sum(caps[f.id][op.process].unit_cost_cents for op in order.operations),
                f.id,
            ),
        )
        rate = transport_cents_per_unit(
            factory.location, order.delivery, instance.transport, order.unit_weight_kg
        )
        q = order.quantity
        for k, op in enumerate(order.operations):
            cap = caps[factory.id][op.process]
            rows.append(
                Allocation(
                    order=order.id,
                    operation=k,
                    process=op.process,
                    factory=factory.id,
                    resource_group=cap.resource_group,
                    quantity=q,
                    periods=[PeriodQuantity(period=min(order.due_period, last), quantity=q)],
                    production_cents=cap.unit_cost_cents * q,
                    transport_cents=rate * q if k == len(order.operations) - 1 else 0,
                )
            )
    served = {a.order for a in rows}
    empty = hand_plan(instance, {})
    return empty.model_copy(
        update={
            "allocations": rows,
            "unassigned": [u for u in empty.unassigned if u.order not in served],
        }
    )


def _every_pair(instance: Instance, placed: Plan) -> list[BlockingPair]:
    """The blocking pairs by the exact test of every (order, factory) pair: what the
    screen may not change."""
    use = _use(instance, placed)
    pairing = _Pairing(instance, use)
    pairs = [
        pair
        for order in instance.orders
        if not (order.split.by_operation and len(order.operations) >= 2)
        for factory in instance.factories
        if factory.id not in use.at.get(order.id, set())
        and (pair := pairing.pair(order, factory)) is not None
    ]
    return sorted(pairs, key=pair_rank)


@pytest.mark.parametrize("seed", [4, 11])
def test_the_screen_lets_every_blocking_pair_through(seed: int) -> None:
    # Generated instances (materials, grades, credit, ceilings, lots, share limits,
    # groups shared by operations), factories' capacity and prices varied after the plan.
    data = generate(240, 30, 10, seed=seed).model_dump(mode="json")
    for i, f in enumerate(data["factories"]):
        for c in f["capabilities"]:
            c["unit_cost_cents"] = c["unit_cost_cents"] * (1 + i % 4) // 4
        for r in f["resources"]:
            r["available_minutes"] = [m // (1 + i % 3) for m in r["available_minutes"]]
    instance = parse_instance(data)
    placed = _dear_plan(instance)
    pairs = blocking_pairs(instance, placed)
    assert pairs == _every_pair(instance, placed)
    assert sum(1 for p in pairs if not p.unserved) > 20 and any(p.unserved for p in pairs)
    _report(instance, placed)  # the checker's sieve finds the same


def test_figures_past_int64_do_not_overflow_the_screen() -> None:
    # 25 operations of a billion units: B is paid 25 x 10^9 x 10^9 = 2.5e19 cents, A
    # would take 2.375e19, past 2^64: the screen's int64 products must step aside. (Past
    # the stake limit of parse_instance too: the models alone validate it.)
    data = fairness_instance(credit_weight=0).model_dump(mode="json")
    for f, unit in zip(data["factories"], (950_000_000, 10**9, 10**9), strict=True):
        f["capabilities"][0].update(unit_cost_cents=unit, seconds_per_unit=0)
    data["orders"][0].update(operations=[{"process": "p"}] * 25, quantity=10**9)
    instance = Instance.model_validate(data)
    q = 10**9
    rows = [
        Allocation(
            order="O1",
            operation=k,
            process="p",
            factory="B",
            resource_group="g",
            quantity=q,
            periods=[PeriodQuantity(period=0, quantity=q)],
            production_cents=10**9 * q,
        )
        for k in range(25)
    ]
    empty = hand_plan(instance, {})
    placed = empty.model_copy(update={"allocations": rows, "unassigned": empty.unassigned[1:]})
    pairs = _report(instance, placed).blocking_listed
    assert pairs[0] == BlockingPair(
        order="O1",
        factory="A",
        unserved=False,
        price_now_cents=25 * 10**18,
        price_cents=23_750_000_000_000_000_000,
        saving_cents=1_250_000_000_000_000_000,
        setups=1,
    )
    assert pairs == _every_pair(instance, placed)


def test_the_screens_transport_rate_is_never_above_the_exact_one() -> None:
    # Places on one spot, a hair apart, across the date line, at the poles, antipodal,
    # with heavy units and dear tonne-km (past the stake limit: the models alone
    # validate it): the rate the screen prices with is at most the exact one, and at
    # most two cents and its slack below it.
    spots = [(30.0, 120.0), (30.0, 120.0 + 1e-9), (30.000001, 120.0), (0.0, 0.0), (0.0, 180.0)]
    spots += [(45.5, 179.999999), (45.5, -179.999999), (90.0, 0.0), (-90.0, 37.0)]
    spots += [(-33.8688, 151.2093), (51.5072, -0.1276), (40.7128, -74.006), (1.3521, 103.8198)]
    data = fairness_instance().model_dump(mode="json")
    template = data["factories"][0]
    data["factories"] = [
        {**template, "id": f"F{i}", "location": {"lat": lat, "lon": lon}}
        for i, (lat, lon) in enumerate(spots)
    ]
    data["orders"] = [
        {
            **data["orders"][0],
            "id": f"O{i}",
            "delivery": {"lat": lat, "lon": lon},
            "unit_weight_kg": kg,
        }
        for i, ((lat, lon), kg) in enumerate(
            (spot, kg) for spot in spots for kg in (0.001, 1.0, 37.7, 10**6)
        )
    ]
    for transport in (
        {"cents_per_tonne_km": 30.0},
        {"road_factor": 5.0, "cents_per_tonne_km": 10**6},
    ):
        data["transport"] = transport
        instance = Instance.model_validate(data)
        pairing = _Pairing(instance, _use(instance, hand_plan(instance, {})))
        index = np.arange(len(instance.factories), dtype=np.int64)
        screened = _Screen(instance, pairing)._rate_below(instance.orders, index)
        for i, order in enumerate(instance.orders):
            for j, factory in enumerate(instance.factories):
                exact = transport_cents_per_unit(
                    factory.location, order.delivery, instance.transport, order.unit_weight_kg
                )
                bound = int(screened[i, j])
                assert bound <= exact
                assert exact - bound <= 2 + exact * RATE_SLACK


def test_pairs_on_the_edge_of_every_rule_still_block() -> None:
    # At A: O1's 100 units its max_lot, its 6 000 s of processing all the free time
    # (50 minutes a period), its credit floor A's score; O3's ceiling A's unit price.
    # O1 split 99 at B, 1 at C pays 2 010: D, at B's 20 a unit, saves it 10 cents only.
    data = fairness_instance().model_dump(mode="json")
    a = data["factories"][0]
    a["capabilities"][0]["max_lot"] = 100
    a["resources"][0]["available_minutes"] = [50, 50]
    data["factories"].append({**data["factories"][1], "id": "D"})
    data["orders"][0]["min_credit_score"] = 50
    data["orders"][2]["max_unit_price_cents"] = 10
    instance = parse_instance(data)
    placed = hand_plan(instance, {"O1": {0: ("B", 99), 1: ("C", 1)}, "O2": {1: ("B", 50)}})
    pairs = _report(instance, placed).blocking_listed
    assert [(p.order, p.factory, p.saving_cents, p.setups) for p in pairs] == [
        ("O1", "A", 1010, 2),
        ("O2", "A", 500, 1),
        ("O1", "D", 10, 1),
        ("O3", "A", None, 1),
    ]
    assert pairs == _every_pair(instance, placed)
