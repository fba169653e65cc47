"""The generator's material draws: lead times, capacities, stock and provided materials
that make materials bind sometimes while most orders stay servable."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

import matcher.generate.generator as generator
from matcher.domain.entities import MaterialSourcing, Offer
from matcher.domain.instance import Instance
from matcher.domain.validation import parse_instance
from matcher.generate import generate, instance_json
from matcher.generate.catalogue import INDUSTRIES

_ARGS = (500, 30, 28, 11)
_SPEC = {m.id: m for ind in INDUSTRIES for m in ind.materials}
_INDUSTRY = {m.id: ind.id for ind in INDUSTRIES for m in ind.materials}


@pytest.fixture(scope="module")
def instance() -> Instance:
    return generate(*_ARGS)


def _purchased(instance: Instance) -> set[str]:
    return {m.id for m in instance.materials if m.sourcing == MaterialSourcing.PURCHASED}


def _offers(instance: Instance) -> dict[str, list[Offer]]:
    out: dict[str, list[Offer]] = {}
    for supplier in instance.suppliers:
        for offer in supplier.offers:
            out.setdefault(offer.material, []).append(offer)
    return out


def _arrivable(offers: list[Offer], period: int) -> float:
    """``A_m(period)`` of docs/model.md: whole units the usable offers deliver by then."""
    total = 0.0
    for offer in offers:
        minimum = math.ceil(max(offer.moq, offer.price.tiers[0].min_quantity) - 1e-9)
        if offer.lead_time_periods > period:
            continue
        if offer.capacity is None:
            return math.inf
        if math.floor(offer.capacity + 1e-9) >= minimum:
            total += math.floor(offer.capacity + 1e-9)
    return total


def _stock(instance: Instance) -> dict[str, float]:
    out: dict[str, float] = {}
    for factory in instance.factories:
        for material, quantity in factory.stock.items():
            out[material] = out.get(material, 0.0) + quantity
    return out


def test_the_material_draws_are_the_same_for_a_seed() -> None:
    a, b = generate(60, 12, 14, 3), generate(60, 12, 14, 3)
    assert a.materials == b.materials
    assert [f.stock for f in a.factories] == [f.stock for f in b.factories]
    assert a.suppliers == b.suppliers


def test_the_material_draws_leave_orders_factories_and_the_fleet_as_they_were(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "draw_material_terms", lambda *args: None)
    before = generate(*_ARGS)
    assert instance.orders == before.orders
    # The hubs' capacities count the purchased materials, the rest of the fleet is as it
    # was.
    assert instance.fleet.model_copy(update={"hubs": []}) == before.fleet.model_copy(
        update={"hubs": []}
    )
    unsized = [h.model_copy(update={"capacity_kg": None}) for h in instance.fleet.hubs]
    assert unsized == [h.model_copy(update={"capacity_kg": None}) for h in before.fleet.hubs]
    assert [f.model_copy(update={"stock": {}}) for f in instance.factories] == before.factories
    # The offers that stay keep their tiers, MOQ and schedule type.
    tiers = {(s.id, o.material): (o.price, o.moq) for s in before.suppliers for o in s.offers}
    for supplier in instance.suppliers:
        for offer in supplier.offers:
            key = (supplier.id, offer.material)
            assert key not in tiers or tiers[key] == (offer.price, offer.moq)


def test_a_few_consigned_materials_are_provided_and_no_longer_offered(
    instance: Instance,
) -> None:
    provided = {m.id for m in instance.materials} - _purchased(instance)
    assert 1 <= len(provided) <= 0.2 * len(instance.materials)
    assert all(_SPEC[m].consigned for m in provided)
    assert not provided & set(_offers(instance))
    assert any(set(o.bill_of_materials) & provided for o in instance.orders)


def test_common_materials_have_several_offers_with_short_lead_times_and_one_uncapped(
    instance: Instance,
) -> None:
    offers = _offers(instance)
    common = [m for m in _purchased(instance) if not _SPEC[m].speciality]
    assert len(common) >= 10
    for material in common:
        assert len(offers[material]) >= 2
        assert all(o.lead_time_periods <= 3 for o in offers[material])
        assert any(o.capacity is None for o in offers[material])
    capped = sum(o.capacity is not None for m in common for o in offers[m])
    assert capped >= 1


def test_speciality_materials_have_one_supplier_with_a_long_lead_or_a_tight_capacity() -> None:
    long_lead, tight = 0, 0
    for seed in range(4):
        instance = generate(300, 20, 21, seed)
        offers, stock = _offers(instance), _stock(instance)
        demand: dict[str, float] = {}
        for order in instance.orders:
            for m, per in order.bill_of_materials.items():
                demand[m] = demand.get(m, 0.0) + per * order.quantity
        for material in _purchased(instance):
            mine = offers[material]
            if not _SPEC[material].speciality:
                assert max(o.lead_time_periods for o in mine) <= 3
                continue
            assert len(mine) == 1
            (offer,) = mine
            if offer.capacity is None:
                assert 5 <= offer.lead_time_periods <= 10
                long_lead += 1
            else:
                assert 1 <= offer.lead_time_periods <= 3
                tight += demand.get(material, 0.0) > offer.capacity + stock.get(material, 0.0)
    assert long_lead >= 4
    assert tight >= 4


def test_long_lead_times_leave_at_least_half_the_horizon() -> None:
    instance = generate(40, 12, 6, seed=1)
    assert all(o.lead_time_periods <= 3 for s in instance.suppliers for o in s.offers)


def test_some_factories_hold_a_few_days_of_their_own_industrys_materials(
    instance: Instance,
) -> None:
    holders = [f for f in instance.factories if f.stock]
    assert 0.15 * len(instance.factories) <= len(holders) <= 0.6 * len(instance.factories)
    purchased = _purchased(instance)
    for factory in holders:
        assert 1 <= len(factory.stock) <= 2
        for material, quantity in factory.stock.items():
            assert material in purchased
            assert _INDUSTRY[material] == factory.industry
            assert quantity > 0
    speciality = [m for f in holders for m in f.stock if _SPEC[m].speciality]
    assert speciality


def test_materials_bind_some_orders_but_few_can_never_arrive_in_time(instance: Instance) -> None:
    """The rule of docs/model.md order by order: a purchased material nobody stocks
    whose offers all arrive after the due period, or that cannot arrive in the
    quantity the order alone needs within the horizon, however much stock there is."""
    offers, stock = _offers(instance), _stock(instance)
    purchased = _purchased(instance)
    last = instance.horizon.periods - 1
    shortened = blocked = 0
    for order in instance.orders:
        mine = [m for m in order.bill_of_materials if m in purchased]
        need = {m: math.ceil(order.bill_of_materials[m] * order.quantity - 1e-9) for m in mine}
        if any(
            (m not in stock and _arrivable(offers[m], order.due_period) == 0)
            or _arrivable(offers[m], last) + stock.get(m, 0.0) < need[m]
            for m in mine
        ):
            blocked += 1
        if any(_arrivable(offers[m], order.release_period) == 0 for m in mine):
            shortened += 1
    n = len(instance.orders)
    assert sum(bool(set(o.bill_of_materials) & purchased) for o in instance.orders) >= 0.9 * n
    assert shortened >= 0.05 * n  # their materials cannot be there at release
    assert blocked <= 0.05 * n


def test_instance_json_writes_sourcing_and_stock_only_where_they_differ_from_the_defaults(
    instance: Instance,
) -> None:
    text = instance_json(instance)
    assert '"sourcing": "provided"' in text
    assert '"sourcing": "purchased"' not in text
    assert '"stock": {}' not in text
    data: dict[str, Any] = json.loads(text)
    assert sum("stock" in f for f in data["factories"]) == sum(
        bool(f.stock) for f in instance.factories
    )
    assert parse_instance(data) == instance


def test_the_share_split_by_operation_changes_no_sourcing_and_no_stock(
    instance: Instance,
) -> None:
    by_op = generate(*_ARGS, by_operation=0.5)
    assert by_op.materials == instance.materials
    assert [f.stock for f in by_op.factories] == [f.stock for f in instance.factories]
