"""Hubs and line-haul on the wire (docs/logistics.md, docs/service.md): the instance's
``fleet.hubs`` and ``transport.line_haul`` in, the plan's legs, shipments and hub use
out and back (re-plans and recommendations send plans in)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from matcher.check import load_plan
from matcher.domain.entities import Hub, LineHaul, ObjectiveWeights
from matcher.domain.plan import (
    CostBreakdown,
    HubUse,
    Kpis,
    LineHaulShipment,
    Plan,
    RouteStop,
    Routing,
    SolveStatus,
    TransportRequest,
    Unrouted,
    UnroutedReason,
    VehicleRoute,
)
from matcher.domain.validation import InvalidInstanceError, parse_instance
from service.client import MatcherClient
from service.convert import (
    instance_from_proto,
    instance_to_proto,
    message_to_dict,
    plan_from_proto,
    plan_issues,
    plan_to_proto,
)
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.conftest import INSTANCES


def _demo_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INSTANCES / "demo.json").read_text())
    return data


def _with_hubs(data: dict[str, Any], line_haul: dict[str, Any] | None) -> dict[str, Any]:
    data["fleet"]["hubs"] = [
        {
            "id": "H-dongguan",
            "location": {"lat": 23.0, "lon": 113.7, "region": "Dongguan"},
            "reach_km": 80.5,
            "handling_cents_per_kg": 1.25,
            "capacity_kg": 50_000.0,
            "open_minute": 360,
            "close_minute": 1320,
        },
        # every optional field left out: the format's defaults
        {"id": "H-ningbo", "location": {"lat": 29.9, "lon": 121.5}},
    ]
    data["transport"].pop("line_haul", None)
    if line_haul is not None:
        data["transport"]["line_haul"] = line_haul
    return data


def test_an_instance_with_hubs_and_line_haul_round_trips_through_proto() -> None:
    rates = {
        "truck_capacity_kg": 20_000.0,
        "truck_cents_per_km": 175,
        "ltl_cents_per_tonne_km": 9.5,
        "ltl_min_cents": 4_000,
        "stop_cents": 2_500,
    }
    instance = parse_instance(_with_hubs(_demo_json(), rates))
    assert instance.transport.line_haul == LineHaul(**rates)
    message = instance_to_proto(instance)
    hub = message.fleet.hubs[0]
    assert (hub.id, hub.reach_km, hub.handling_cents_per_kg, hub.capacity_kg) == (
        "H-dongguan",
        80.5,
        1.25,
        50_000.0,
    )
    assert (hub.open_minute, hub.close_minute, hub.location.region) == (360, 1320, "Dongguan")
    line_haul = message.transport.line_haul
    assert (line_haul.truck_capacity_kg, line_haul.truck_cents_per_km) == (20_000.0, 175)
    assert (line_haul.ltl_cents_per_tonne_km, line_haul.ltl_min_cents) == (9.5, 4_000)
    assert line_haul.stop_cents == 2_500
    assert instance_from_proto(message) == instance
    # the whole-request conversion (taken for a request with a violation) agrees
    assert parse_instance(message_to_dict(message)) == instance


def test_unset_hub_and_line_haul_fields_stay_absent_or_take_the_defaults() -> None:
    data = _with_hubs(_demo_json(), None)
    instance = parse_instance(data)
    assert instance.transport.line_haul is None
    assert not instance_to_proto(instance).transport.HasField("line_haul")
    assert not instance_to_proto(instance).fleet.hubs[1].HasField("capacity_kg")
    # as a client sends it: the fields left out of the file unset
    message = json_format.Parse(json.dumps(data), pb.Instance())
    bare = message.fleet.hubs[1]
    assert not bare.HasField("capacity_kg") and not bare.HasField("reach_km")
    assert not bare.HasField("close_minute")
    back = instance_from_proto(message)
    assert back == instance
    assert back.transport.line_haul is None
    assert back.fleet.hubs[1] == Hub(id="H-ningbo", location=back.fleet.hubs[1].location)
    assert back.fleet.hubs[1].capacity_kg is None
    assert (back.fleet.hubs[1].open_minute, back.fleet.hubs[1].close_minute) == (0, 1440)
    # line_haul sent empty: set, so LineHaul's defaults (not None)
    message.transport.line_haul.SetInParent()
    assert instance_from_proto(message).transport.line_haul == LineHaul()


def test_an_instance_file_with_hubs_parses_as_proto3_json_to_the_same_instance() -> None:
    data = _with_hubs(_demo_json(), {"ltl_min_cents": 0})
    message = json_format.Parse(json.dumps(data), pb.Instance())
    assert instance_from_proto(message) == parse_instance(data)
    assert instance_from_proto(message).transport.line_haul == LineHaul(ltl_min_cents=0)


BAD_HUBS = {
    # closes before it opens: the hub's own check, at the hub
    "hours": (0, {"open_minute": 900, "close_minute": 600}, ["fleet.hubs[0]"]),
    # the id of another hub: the cross-reference check, at both ids
    "duplicate": (1, {"id": "H-dongguan"}, ["fleet.hubs[0].id", "fleet.hubs[1].id"]),
}


def _bad_hubs(case: str) -> dict[str, Any]:
    index, fields, _ = BAD_HUBS[case]
    data = _with_hubs(_demo_json(), None)
    data["fleet"]["hubs"][index].update(fields)
    return data


@pytest.mark.parametrize("case", sorted(BAD_HUBS))
def test_an_invalid_hub_is_reported_with_its_path_as_from_the_json_format(case: str) -> None:
    with pytest.raises(InvalidInstanceError) as from_json:
        parse_instance(_bad_hubs(case))
    message = json_format.Parse(json.dumps(_bad_hubs(case)), pb.Instance())
    with pytest.raises(InvalidInstanceError) as from_proto:
        instance_from_proto(message)
    assert from_proto.value.issues == from_json.value.issues
    assert [i.path for i in from_proto.value.issues] == BAD_HUBS[case][2]


@pytest.mark.parametrize("case", sorted(BAD_HUBS))
def test_an_invalid_hub_is_invalid_argument_with_its_field_path(
    client: MatcherClient, case: str
) -> None:
    with pytest.raises(InvalidInstanceError) as cli:
        parse_instance(_bad_hubs(case))
    expected = [(f"instance.{i.path}", i.message) for i in cli.value.issues]
    assert [f for f, _ in expected] == [f"instance.{p}" for p in BAD_HUBS[case][2]]
    message = json_format.Parse(json.dumps(_bad_hubs(case)), pb.Instance())
    with pytest.raises(grpc.RpcError) as err:
        client.stub.Validate(pb.ValidateRequest(instance=message))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(err.value) == expected


def test_a_valid_instance_with_hubs_validates(client: MatcherClient) -> None:
    response = client.validate(parse_instance(_with_hubs(_demo_json(), {})))
    assert response.valid


# ----------------------------------------------------------------------- plans


def _request(rid: str, kind: str, origin: str, dest: str, hub: str | None) -> TransportRequest:
    return TransportRequest(
        id=rid,
        kind=kind,
        period=1,
        origin=origin,
        destination=dest,
        order="O1" if kind == "goods" else None,
        material="steel" if kind == "material" else None,
        quantity=40.0,
        load={"weight_kg": 400.0},
        carrier_cents=9_000,
        hub=hub,
    )


def _hub_plan() -> Plan:
    goods = _request("goods:O1:F1@H1", "goods", "F1", "H1", "H1")
    material = _request("material:steel:S1:F1@H1", "material", "H1", "F1", "H1")
    uncarried = _request("goods:O2:F2@H1#1/2", "goods", "F2", "H1", "H1")
    door = _request("goods:O3:F1", "goods", "F1", "O3", None)
    stops = [
        RouteStop(
            request=r,
            action=action,
            place=place,
            arrival_minute=1800,
            start_minute=1810,
            departure_minute=1825,
            load_after={"weight_kg": 400.0},
        )
        for r, action, place in (
            (material.id, "pickup", "H1"),
            (material.id, "delivery", "F1"),
            (goods.id, "pickup", "F1"),
            (goods.id, "delivery", "H1"),
        )
    ]
    routing = Routing(
        requests=[goods, material, uncarried, door],
        routes=[
            VehicleRoute(
                vehicle="V1",
                depot="H1",
                period=1,
                start_minute=1740,
                end_minute=2100,
                stops=stops,
                distance_km=42.5,
                duration_minutes=360.0,
                cost_cents=12_345,
            )
        ],
        unrouted=[
            Unrouted(request=uncarried.id, reason=UnroutedReason.CARRIER_CHEAPER, detail="d"),
            Unrouted(request=door.id, reason=UnroutedReason.OUT_OF_REACH, detail="far"),
        ],
        line_haul=[
            LineHaulShipment(
                kind="goods",
                origin="H1",
                destination="Qingdao",  # a buyers' region
                period=1,
                requests=[goods.id],
                weight_kg=400.0,
                distance_km=812.25,
                drops=2,
                tonne_km=310.5,
                mode="ltl",
                trucks=0,
                cost_cents=5_000,
            ),
            LineHaulShipment(
                kind="material",
                origin="S1",
                destination="H1",
                period=1,
                requests=[material.id],
                weight_kg=30_000.0,
                distance_km=300.0,
                mode="ftl",
                trucks=2,
                cost_cents=90_000,
            ),
        ],
        hub_use=[
            HubUse(hub="H1", period=1, goods_kg=400.0, material_kg=30_000.0, handling_cents=456)
        ],
        fleet_cents=12_345,
        carrier_cents=18_000,
        line_haul_cents=95_000,
        handling_cents=456,
        estimate_cents=200_000,
        vehicles_used=1,
        distance_km=42.5,
        service_minutes=15,
        notes=["1 lane costs more than estimated"],
    )
    return Plan(
        instance="hubs",
        status=SolveStatus.FEASIBLE,
        weights=ObjectiveWeights(),
        allocations=[],
        unassigned=[],
        costs=CostBreakdown(transport=routing.transport_cents, total=routing.transport_cents),
        kpis=Kpis(
            orders=0,
            orders_served=0,
            orders_on_time=0,
            orders_late=0,
            orders_unassigned=0,
            fill_rate=0.0,
            unit_fill_rate=0.0,
            on_time_rate=0.0,
            factories_used=0,
            factory_utilisation=[],
            utilisation=[],
        ),
        stages=[],
        routes=routing,
    )


def test_a_plan_with_line_haul_and_hub_use_carries_every_field_out_and_back() -> None:
    plan = _hub_plan()
    message = plan_to_proto(plan)
    ro = message.routes
    assert [r.hub for r in ro.requests[:3]] == ["H1", "H1", "H1"]
    assert not ro.requests[3].HasField("hub")
    assert (ro.line_haul_cents, ro.handling_cents) == (95_000, 456)
    assert (ro.fleet_cents, ro.carrier_cents) == (12_345, 18_000)
    shipments = [
        (
            s.kind,
            s.origin,
            s.destination,
            s.period,
            list(s.requests),
            s.weight_kg,
            s.distance_km,
            s.drops,
            s.tonne_km if s.HasField("tonne_km") else None,
            s.mode,
            s.trucks,
            s.cost_cents,
        )
        for s in ro.line_haul
    ]
    goods = ["goods:O1:F1@H1"]
    material = ["material:steel:S1:F1@H1"]
    assert shipments == [
        ("goods", "H1", "Qingdao", 1, goods, 400.0, 812.25, 2, 310.5, "ltl", 0, 5_000),
        ("material", "S1", "H1", 1, material, 30_000.0, 300.0, 1, None, "ftl", 2, 90_000),
    ]
    uses = [(u.hub, u.period, u.goods_kg, u.material_kg, u.handling_cents) for u in ro.hub_use]
    assert uses == [("H1", 1, 400.0, 30_000.0, 456)]
    back = plan_from_proto(message)
    assert back == plan
    assert back.routes is not None and back.routes.requests[3].hub is None
    assert back.routes.transport_cents == 12_345 + 18_000 + 95_000 + 456


def test_a_plan_with_hubs_sent_back_by_a_client_is_accepted_as_it_was() -> None:
    plan = _hub_plan()
    back, issues = plan_issues(plan_to_proto(plan), "previous")
    assert issues == [] and back == plan


def test_a_plan_without_hubs_leaves_the_new_fields_empty() -> None:
    plan = _hub_plan()
    assert plan.routes is not None
    routing = plan.routes.model_copy(
        update={
            "requests": [r.model_copy(update={"hub": None}) for r in plan.routes.requests],
            "line_haul": [],
            "hub_use": [],
            "line_haul_cents": 0,
            "handling_cents": 0,
        }
    )
    plain = plan.model_copy(update={"routes": routing})
    message = plan_to_proto(plain)
    assert not message.routes.line_haul and not message.routes.hub_use
    assert not any(r.HasField("hub") for r in message.routes.requests)
    assert plan_from_proto(message) == plain


def test_a_plan_with_hubs_printed_as_proto3_json_is_read_by_the_checker(tmp_path: Path) -> None:
    plan = _hub_plan()
    for options in ({}, {"preserving_proto_field_name": True}):
        path = tmp_path / "plan.json"
        path.write_text(json_format.MessageToJson(plan_to_proto(plan), **options))  # type: ignore[arg-type]
        assert load_plan(path) == plan
