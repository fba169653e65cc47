"""The generator's hubs and line-haul rates (docs/logistics.md): one hub per cluster at
its depot, reaching the factories nearest to it, 5-60 road km away, with plausible
terms; drawn from their own stream, so that an instance made without them is the same
in every other respect but the locations of the few factories gathered into that
range."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from matcher.cli import main
from matcher.domain.entities import Fleet, Transport
from matcher.domain.geo import nearest_hub, road_km
from matcher.domain.instance import Instance
from matcher.domain.validation import load_instance, parse_instance
from matcher.generate import CARRIER_MIN_CENTS, generate, instance_json
from matcher.generate.logistics import HUB_ROAD_KM
from tests.conftest import INSTANCES

# 40 factories or more: the clusters are drawn too (5 to 8 of them), and neighbouring
# clusters (Dongguan, Shenzhen, Foshan) put some factories nearer another cluster's hub.
_ARGS = (300, 60, 21, 7)


@pytest.fixture(scope="module")
def with_hubs() -> Instance:
    return generate(*_ARGS)


@pytest.fixture(scope="module")
def without_hubs() -> Instance:
    return generate(*_ARGS, hubs=False)


def test_hubs_are_on_by_default_and_off_on_request(
    with_hubs: Instance, without_hubs: Instance
) -> None:
    assert with_hubs.fleet.hubs
    assert with_hubs.transport.line_haul is not None
    assert not without_hubs.fleet.hubs
    assert without_hubs.transport.line_haul is None


def _to_nearest_depot(instance: Instance) -> list[float]:
    """Each factory's road km to its nearest depot (where the hubs go)."""
    transport, depots = instance.transport, instance.fleet.depots
    return [
        min(road_km(f.location, d.location, transport) for d in depots) for f in instance.factories
    ]


def _gathered_back(with_hubs: Instance, without: Instance) -> Instance:
    """``with_hubs`` with ``without``'s factory locations: the only other difference
    the generator makes besides the hubs, line-haul and milk-run vehicles."""
    return with_hubs.model_copy(
        update={
            "factories": [
                f.model_copy(update={"location": plain.location})
                for f, plain in zip(with_hubs.factories, without.factories, strict=True)
            ]
        }
    )


def _hub_vans(with_hubs: Instance, without: Instance) -> list[str]:
    """The vans ``draw_hub_vans`` added: the last vehicle of a depot none of whose
    other vehicles (drawn, or the milk-run batch) is a van."""
    drawn = {v.id for v in without.fleet.vehicles}
    added = []
    for depot in with_hubs.fleet.depots:
        mine = [v for v in with_hubs.fleet.vehicles if v.depot == depot.id]
        last = mine[-1]
        is_van = [v.id.startswith(f"{depot.id}-van") for v in mine]
        assert any(is_van), f"{depot.id} has no van"
        if last.id not in drawn and is_van[-1] and not any(is_van[:-1]):
            added.append(last.id)
    return added


def _without_vans(instance: Instance, vans: list[str]) -> Instance:
    fleet = instance.fleet
    kept = [v for v in fleet.vehicles if v.id not in vans]
    return instance.model_copy(update={"fleet": fleet.model_copy(update={"vehicles": kept})})


def test_an_instance_without_hubs_is_the_same_in_every_other_respect(
    with_hubs: Instance, without_hubs: Instance
) -> None:
    # At this size every depot already has a vehicle for each ten factories its hub
    # serves, so hubs add no milk-run vehicle (see the test after the next); a depot
    # without a van gets one (the test after that).
    vans = _hub_vans(with_hubs, without_hubs)
    stripped = _gathered_back(_without_vans(with_hubs, vans), without_hubs).model_copy(
        update={
            "fleet": _without_vans(with_hubs, vans).fleet.model_copy(update={"hubs": []}),
            "transport": with_hubs.transport.model_copy(update={"line_haul": None}),
        }
    )
    assert stripped == without_hubs


@pytest.mark.parametrize("args", [_ARGS, (50, 12, 14, 1), (1000, 100, 28, 1), (10, 3, 7, 4)])
def test_every_hub_s_depot_has_a_van_for_its_milk_runs(args: tuple[int, int, int, int]) -> None:
    """A depot whose drawn vehicles (and milk-run batch) hold no van gets one, drawn
    from its own stream: the vans of the other depots and every other vehicle are as
    drawn before."""
    with_hubs, without = generate(*args), generate(*args, hubs=False)
    drawn = {v.id for v in without.fleet.vehicles}
    for depot in with_hubs.fleet.depots:
        mine = [v for v in with_hubs.fleet.vehicles if v.depot == depot.id]
        assert any(v.id.startswith(f"{depot.id}-van") for v in mine), depot.id
    new_vans = [
        v
        for v in with_hubs.fleet.vehicles
        if v.id not in drawn and v.id.split("-")[-1].startswith("van")
    ]
    for van in new_vans:
        mine = [v for v in with_hubs.fleet.vehicles if v.depot == van.depot]
        assert mine[-1] == van  # numbered on from the depot's others
        assert van.id == f"{van.depot}-van{len(mine)}"
        assert 2000 <= van.capacity["weight_kg"] <= 3500
    if args == (50, 12, 14, 1):  # demo.json: Ningbo's depot had two heavy trucks
        assert [v.id for v in new_vans] == ["D-ningbo-van3"]


@pytest.mark.parametrize("args", [_ARGS, (50, 12, 14, 1), (2000, 300, 14, 3), (100, 40, 7, 11)])
def test_with_hubs_every_factory_is_5_to_60_road_km_from_its_hub(
    args: tuple[int, int, int, int],
) -> None:
    """Scattered about 20 km per axis, about one factory in eleven falls outside; those
    move along their bearing into the range (68 km to 52), and no other factory moves."""
    with_hubs, without = generate(*args), generate(*args, hubs=False)
    lo, hi = HUB_ROAD_KM
    transport, hubs = with_hubs.transport, with_hubs.fleet.hubs
    for factory in with_hubs.factories:
        hub = nearest_hub(factory.location, hubs, transport)
        assert hub is not None
        assert lo <= road_km(factory.location, hub.location, transport) <= hi, factory.id
    before, after = _to_nearest_depot(without), _to_nearest_depot(with_hubs)
    moved = 0
    for f, plain, was, now in zip(
        with_hubs.factories, without.factories, before, after, strict=True
    ):
        if lo <= was <= hi:
            assert f.location == plain.location
        else:
            moved += 1
            assert now == pytest.approx(2 * hi - was if was > hi else 2 * lo - was, abs=0.3)
    assert moved <= 0.2 * len(before)


def test_the_same_seed_draws_the_same_hubs_and_another_seed_other_terms(
    with_hubs: Instance,
) -> None:
    again = generate(*_ARGS)
    assert again.fleet.hubs == with_hubs.fleet.hubs
    assert again.transport.line_haul == with_hubs.transport.line_haul
    other = generate(*_ARGS[:3], _ARGS[3] + 1)
    assert other.transport.line_haul != with_hubs.transport.line_haul


def test_a_hub_serving_many_factories_gets_vehicles_for_its_milk_runs() -> None:
    """With hubs, a depot has at least one vehicle for every ten factories its hub
    serves (docs/logistics.md): the vehicles drawn without hubs, then as many more,
    from the hubs' stream, as the factories need, all of one model (one vehicle type
    for the routing stage); without hubs the drawn fleet alone."""
    with_hubs = generate(200, 150, 7, 5)
    without = generate(200, 150, 7, 5, hubs=False)
    transport, hubs = with_hubs.transport, with_hubs.fleet.hubs
    served = {hub.id: 0 for hub in hubs}
    for f in with_hubs.factories:
        hub = nearest_hub(f.location, hubs, transport)
        assert hub is not None
        served[hub.id] += 1
    added = 0
    vans = set(_hub_vans(with_hubs, without))
    for depot in with_hubs.fleet.depots:
        drawn = [v for v in without.fleet.vehicles if v.depot == depot.id]
        now = [v for v in with_hubs.fleet.vehicles if v.depot == depot.id]
        need = math.ceil(served["H-" + depot.id.removeprefix("D-")] / 10)
        batch = [v for v in now if v.id not in vans]
        assert len(batch) == max(len(drawn), need)
        assert len(now) - len(batch) <= 1  # and a van if it has none
        assert now[: len(drawn)] == drawn
        assert len({v.id for v in now}) == len(now)
        extra = [v.model_dump(exclude={"id"}) for v in batch[len(drawn) :]]
        assert all(terms == extra[0] for terms in extra)
        added += len(batch) - len(drawn)
    assert added > 0
    # Everything else is the instance without hubs.
    stripped = _gathered_back(with_hubs, without).model_copy(
        update={
            "fleet": without.fleet,
            "transport": with_hubs.transport.model_copy(update={"line_haul": None}),
        }
    )
    assert stripped == without


def test_one_hub_per_cluster_at_its_depot(with_hubs: Instance) -> None:
    fleet = with_hubs.fleet
    assert len(fleet.hubs) == len(fleet.depots) >= 5
    for hub, depot in zip(fleet.hubs, fleet.depots, strict=True):
        assert hub.id == "H-" + depot.id.removeprefix("D-")
        assert hub.location == depot.location
        assert any(v.depot == depot.id for v in fleet.vehicles)


def test_every_factory_has_its_nearest_hub(with_hubs: Instance) -> None:
    transport, hubs = with_hubs.transport, with_hubs.fleet.hubs
    for factory in with_hubs.factories:
        hub = nearest_hub(factory.location, hubs, transport)
        assert hub is not None, factory.id
        nearest = min(hubs, key=lambda h: road_km(factory.location, h.location, transport))
        assert hub is nearest
    # A hub reaches no further than its farthest factory needs (plus a margin of 5 km
    # and rounding to 5 km), and at least 40 km.
    for hub in hubs:
        mine = [
            road_km(f.location, hub.location, transport)
            for f in with_hubs.factories
            if nearest_hub(f.location, hubs, transport) is hub
        ]
        assert hub.reach_km == max(40.0, 5 * math.ceil((max(mine, default=0.0) + 5.0) / 5))


def test_hub_terms_are_plausible(with_hubs: Instance) -> None:
    for hub in with_hubs.fleet.hubs:
        assert 0.5 <= hub.handling_cents_per_kg <= 2.0
        assert hub.capacity_kg is not None and hub.capacity_kg >= 5000.0
        assert hub.open_minute in (300, 360, 420)
        assert hub.close_minute in (1260, 1320, 1380)


def test_hub_capacities_follow_what_their_factories_ship(with_hubs: Instance) -> None:
    """Sized on the kg a period their factories' industries ship and receive: the
    hubs with more (and bigger) factories around them take more."""
    transport, hubs = with_hubs.transport, with_hubs.fleet.hubs
    minutes = {hub.id: 0 for hub in hubs}
    for f in with_hubs.factories:
        hub = nearest_hub(f.location, hubs, transport)
        assert hub is not None
        minutes[hub.id] += sum(sum(r.available_minutes) for r in f.resources)
    busiest = max(hubs, key=lambda h: minutes[h.id])
    quietest = min(hubs, key=lambda h: minutes[h.id])
    assert busiest.capacity_kg is not None and quietest.capacity_kg is not None
    assert busiest.capacity_kg > quietest.capacity_kg


def test_hub_capacities_stay_within_what_their_milk_runs_can_bring() -> None:
    """With many factories a cluster's few vehicles bring only part of what they ship:
    a hub takes at most 2.5 x 2 full loads of its depot's vehicles (to 2 significant
    digits)."""
    instance = generate(1000, 100, 28, 1)
    fleet_kg = {d.id: 0.0 for d in instance.fleet.depots}
    for v in instance.fleet.vehicles:
        fleet_kg[v.depot] += v.capacity["weight_kg"]
    for hub in instance.fleet.hubs:
        most = 5.0 * fleet_kg["D-" + hub.id.removeprefix("H-")]
        assert hub.capacity_kg is not None and 5000.0 <= hub.capacity_kg <= 1.05 * most


def test_line_haul_rates_are_plausible_and_below_the_door_to_door_carrier(
    with_hubs: Instance,
) -> None:
    transport = with_hubs.transport
    rates = transport.line_haul
    assert rates is not None
    assert rates.truck_capacity_kg == 30_000.0
    # LTL: 50-65 % of the door-to-door carrier's rate, a lower minimum.
    carrier = transport.cents_per_tonne_km
    assert 0.49 * carrier <= rates.ltl_cents_per_tonne_km <= 0.66 * carrier
    assert 3000 <= rates.ltl_min_cents <= 6000 < CARRIER_MIN_CENTS
    assert rates.ltl_min_cents % 500 == 0
    # A full truck: 30-50 % cheaper a tonne than LTL, 3.00-4.50 a km.
    assert 300 <= rates.truck_cents_per_km <= 450
    assert rates.truck_cents_per_km % 10 == 0
    full_load = rates.truck_cents_per_km / (rates.truck_capacity_kg / 1000)
    assert 1.28 * full_load <= rates.ltl_cents_per_tonne_km <= 1.52 * full_load


def _without_hub_keys(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    del data["fleet"]["hubs"]
    del data["transport"]["line_haul"]
    return data


def test_the_cli_writes_the_same_file_but_hubs_with_and_without_no_hubs(tmp_path: Path) -> None:
    argv = ["generate", "--orders", "40", "--factories", "10", "--periods", "10", "--seed", "3"]
    plain, hubs = tmp_path / "plain.json", tmp_path / "hubs.json"
    assert main([*argv, "--no-hubs", "-o", str(plain)]) == 0
    assert main([*argv, "-o", str(hubs)]) == 0
    text = plain.read_text()
    # Without hubs the file has no trace of them: files made before hubs re-make
    # byte for byte.
    assert '"hubs"' not in text and '"line_haul"' not in text
    assert text == instance_json(generate(40, 10, 10, 3, hubs=False)) + "\n"
    plain_data, hub_data = json.loads(text), _without_hub_keys(hubs.read_text())
    for f, g in zip(hub_data["factories"], plain_data["factories"], strict=True):
        f["location"] = g["location"]  # the few gathered within 5-60 km of their hub
    drawn = {v["id"] for v in plain_data["fleet"]["vehicles"]}
    vans = [v["id"] for v in hub_data["fleet"]["vehicles"] if v["id"] not in drawn]
    assert all("-van" in v for v in vans)  # a van for a hub's depot that had none
    hub_data["fleet"]["vehicles"] = [v for v in hub_data["fleet"]["vehicles"] if v["id"] in drawn]
    assert hub_data == plain_data


def test_instance_json_round_trips_hubs_and_line_haul(with_hubs: Instance) -> None:
    assert parse_instance(json.loads(instance_json(with_hubs))) == with_hubs


def test_an_instance_without_orders_or_with_one_factory_still_gets_hubs() -> None:
    no_orders = generate(0, 3, 7, 2)
    assert len(no_orders.fleet.hubs) == len(no_orders.fleet.depots) == 5
    # Nothing to ship: every hub gets the least capacity, and a hub without factories
    # the least reach.
    assert {h.capacity_kg for h in no_orders.fleet.hubs} == {5000.0}
    assert min(h.reach_km for h in no_orders.fleet.hubs) == 40.0
    one = generate(5, 1, 7, 2)
    assert len(one.fleet.hubs) == len(one.fleet.depots)


@pytest.mark.parametrize("name", ["demo.json", "medium.json"])
def test_the_shipped_instances_carry_hubs_reaching_every_factory(name: str) -> None:
    """Every factory is 5-60 road km from its hub."""
    instance = load_instance(INSTANCES / name)
    fleet: Fleet = instance.fleet
    transport: Transport = instance.transport
    assert fleet.hubs and transport.line_haul is not None
    km = []
    for factory in instance.factories:
        hub = nearest_hub(factory.location, fleet.hubs, transport)
        assert hub is not None
        km.append(road_km(factory.location, hub.location, transport))
    assert min(km) >= 5.0 and max(km) <= 60.0


def test_the_file_leaves_the_default_stop_charge_out_and_writes_any_other(
    with_hubs: Instance,
) -> None:
    """``stop_cents`` came after the shipped files: at its default it is left out, so they
    re-make byte for byte; set to anything else it is written and read back."""
    assert "stop_cents" not in instance_json(with_hubs)
    assert with_hubs.transport.line_haul is not None
    rates = with_hubs.transport.line_haul.model_copy(update={"stop_cents": 7_000})
    changed = with_hubs.model_copy(
        update={"transport": with_hubs.transport.model_copy(update={"line_haul": rates})}
    )
    text = instance_json(changed)
    assert json.loads(text)["transport"]["line_haul"]["stop_cents"] == 7_000
    assert parse_instance(json.loads(text)).transport.line_haul_rates.stop_cents == 7_000
