"""The seeded instance generator: valid, reproducible, and shaped like a real platform."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from itertools import pairwise

import pytest

from matcher.domain.entities import MaterialSourcing
from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance
from matcher.generate import generate


@pytest.fixture(scope="module")
def medium() -> Instance:
    return generate(500, 30, 28, seed=11)


def _capable(instance: Instance) -> list[bool]:
    """Per order: does some factory offer every operation (process, material, grade)?"""
    out = []
    for order in instance.orders:
        ok = False
        for factory in instance.factories:
            caps = {c.process: c for c in factory.capabilities}
            if all(
                (cap := caps.get(op.process)) is not None
                and (op.material is None or not cap.materials or op.material in cap.materials)
                and (op.min_quality_grade is None or cap.quality_grade >= op.min_quality_grade)
                for op in order.operations
            ):
                ok = True
                break
        out.append(ok)
    return out


def _load_ratio(instance: Instance) -> float:
    """Processing minutes the orders need over the free minutes of the groups they use."""
    seconds: dict[str, list[int]] = defaultdict(list)
    for factory in instance.factories:
        for cap in factory.capabilities:
            seconds[cap.process].append(cap.seconds_per_unit)
    mean = {p: sum(v) / len(v) for p, v in seconds.items()}
    demanded = {op.process for o in instance.orders for op in o.operations}
    need = sum(
        o.quantity * sum(mean[op.process] for op in o.operations) / 60 for o in instance.orders
    )
    free = 0
    for factory in instance.factories:
        used = {c.resource_group for c in factory.capabilities if c.process in demanded}
        for res in factory.resources:
            if res.id in used:
                free += sum(res.free_minutes(t) for t in range(instance.horizon.periods))
    return need / free


def test_generate_is_deterministic_for_a_seed() -> None:
    assert generate(60, 12, 14, 3).model_dump() == generate(60, 12, 14, 3).model_dump()


def test_generate_differs_between_seeds() -> None:
    assert generate(60, 12, 14, 3).model_dump() != generate(60, 12, 14, 4).model_dump()


@pytest.mark.parametrize(
    ("orders", "factories", "periods"),
    [(10, 1, 1), (10, 4, 7), (10, 20, 28), (200, 15, 14), (200, 60, 35)],
)
def test_generate_gives_valid_instances_with_the_requested_counts(
    orders: int, factories: int, periods: int
) -> None:
    instance = generate(orders, factories, periods, seed=1)
    assert len(instance.orders) == orders
    assert len(instance.factories) == factories
    assert instance.horizon.periods == periods
    assert len(instance.suppliers) == max(5, factories // 10)
    # What it wrote out reads back through the user-facing validation unchanged.
    assert parse_instance(instance.model_dump(mode="json")) == instance


def test_generate_names_the_instance_after_its_arguments() -> None:
    assert generate(10, 5, 7, 2).name == "gen-o10-f5-p7-s2"
    assert generate(10, 5, 7, 2, name="mine").name == "mine"


def test_generate_rejects_impossible_sizes() -> None:
    with pytest.raises(ValueError, match="factories"):
        generate(10, 0, 7, 0)
    with pytest.raises(ValueError, match="periods"):
        generate(10, 5, 0, 0)
    with pytest.raises(ValueError, match="orders"):
        generate(-1, 5, 7, 0)


def test_calendars_have_one_entry_per_period(medium: Instance) -> None:
    for factory in medium.factories:
        for res in factory.resources:
            assert len(res.available_minutes) == medium.horizon.periods
            assert res.committed_minutes is not None
            assert len(res.committed_minutes) == medium.horizon.periods
            assert all(
                c <= a for a, c in zip(res.available_minutes, res.committed_minutes, strict=True)
            )
            assert max(res.available_minutes) <= res.machines * 3 * 480


def test_weekends_offer_less_capacity_than_weekdays() -> None:
    instance = generate(20, 40, 14, seed=5, start_date=dt.date(2026, 3, 2))
    per_day = [
        sum(r.available_minutes[t] for f in instance.factories for r in f.resources)
        for t in range(14)
    ]
    assert instance.horizon.start_date.weekday() == 0
    assert max(per_day[5], per_day[6]) < min(per_day[0:5])
    assert per_day[6] < per_day[5]


def test_every_process_of_every_industry_is_offered(medium: Instance) -> None:
    offered = {c.process for f in medium.factories for c in f.capabilities}
    assert {p.id for p in medium.processes} <= offered
    industries = {p.industry for p in medium.processes}
    assert len(industries) == 5
    assert {f.industry for f in medium.factories} == industries


def test_few_factories_shrink_the_catalogue_to_what_they_cover() -> None:
    instance = generate(10, 3, 7, seed=0)
    offered = {c.process for f in instance.factories for c in f.capabilities}
    assert {p.id for p in instance.processes} <= offered


def test_factories_hold_processes_of_their_own_industry(medium: Instance) -> None:
    industry = {p.id: p.industry for p in medium.processes}
    for factory in medium.factories:
        assert 1 <= len(factory.capabilities) <= 4
        assert 1 <= len(factory.resources) <= 3
        assert {industry[c.process] for c in factory.capabilities} == {factory.industry}


def test_factories_sit_near_their_cluster(medium: Instance) -> None:
    by_region: dict[str | None, list[tuple[float, float]]] = defaultdict(list)
    for factory in medium.factories:
        by_region[factory.location.region].append((factory.location.lat, factory.location.lon))
    assert 4 <= len(by_region) <= 8
    for points in by_region.values():
        lat = sum(p[0] for p in points) / len(points)
        lon = sum(p[1] for p in points) / len(points)
        for p in points:
            km = math.hypot(p[0] - lat, (p[1] - lon) * math.cos(math.radians(lat))) * 111.2
            assert km < 150


def test_orders_are_released_before_they_are_due_within_the_horizon(medium: Instance) -> None:
    for order in medium.orders:
        assert 0 <= order.release_period <= order.due_period < medium.horizon.periods


def test_order_operations_come_from_one_industry_in_precedence_order(medium: Instance) -> None:
    position = {p.id: i for i, p in enumerate(medium.processes)}
    industry = {p.id: p.industry for p in medium.processes}
    for order in medium.orders:
        procs = [op.process for op in order.operations]
        assert 1 <= len(procs) <= 3
        assert len({industry[p] for p in procs}) == 1
        assert [position[p] for p in procs] == sorted(position[p] for p in procs)
        assert 1 <= len(order.bill_of_materials) <= 3


def test_order_mix_resembles_a_platform(medium: Instance) -> None:
    n = len(medium.orders)
    single = sum(len(o.operations) == 1 for o in medium.orders) / n
    mandatory = sum(o.mandatory for o in medium.orders) / n
    split = sum(o.split.allowed for o in medium.orders) / n
    capped = sum(o.max_unit_price_cents is not None for o in medium.orders) / n
    assert 0.45 <= single <= 0.75
    assert 0.08 <= mandatory <= 0.22
    assert 0.3 <= split <= 0.5
    assert 0.4 <= capped <= 0.6
    buyers = {o.buyer for o in medium.orders}
    assert 5 <= len(buyers) <= 300


def test_about_one_percent_of_orders_have_no_capable_factory(medium: Instance) -> None:
    missing = _capable(medium).count(False)
    assert 1 <= missing <= 0.03 * len(medium.orders)


def test_supplier_tier_breaks_increase_from_zero(medium: Instance) -> None:
    offered = {o.material for s in medium.suppliers for o in s.offers}
    purchased = {m.id for m in medium.materials if m.sourcing == MaterialSourcing.PURCHASED}
    assert purchased <= offered
    for supplier in medium.suppliers:
        materials = [o.material for o in supplier.offers]
        assert 1 <= len(materials) == len(set(materials))
        for offer in supplier.offers:
            breaks = [t.min_quantity for t in offer.price.tiers]
            prices = [t.unit_price_cents for t in offer.price.tiers]
            assert 2 <= len(breaks) <= 6
            assert breaks[0] == 0
            assert all(a < b for a, b in pairwise(breaks))
            assert all(a >= b for a, b in pairwise(prices))
            assert offer.capacity is None or offer.capacity >= offer.moq


def test_fleet_has_a_depot_per_cluster_with_vehicles(medium: Instance) -> None:
    regions = {f.location.region for f in medium.factories}
    depots = {d.location.region for d in medium.fleet.depots}
    assert regions <= depots
    for depot in medium.fleet.depots:
        assert 2 <= sum(v.depot == depot.id for v in medium.fleet.vehicles) <= 6


def test_processing_load_is_a_sizeable_share_of_free_capacity(medium: Instance) -> None:
    assert 0.6 <= _load_ratio(medium) <= 1.0
