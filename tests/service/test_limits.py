"""Numbers no engine can carry, enum values the proto does not define and plans that
do not belong to their instance: INVALID_ARGUMENT with the field's path, never
INTERNAL, through a real server on port 0 (the inputs of the "reliability" issue)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from matcher.domain import entities as lim
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.validation import parse_instance
from service.client import MatcherClient
from service.convert import instance_to_proto, order_to_proto, plan_from_proto, plan_to_proto
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb
from service.server import RunningServer
from tests.matcher.domain.test_limits import AT_LIMITS, at_limits
from tests.service.conftest import tiny_json

INF, NAN = float("inf"), float("nan")
HUGE = 2**62
FAST = {"time_limit_s": 2.0, "workers": 1, "seed": 0}

Edit = Callable[[pb.Instance], None]


def _material(message: pb.Instance) -> int:
    """A purchased material some order of the demo needs."""
    used = {m for o in message.orders for m in o.bill_of_materials}
    return next(i for i, m in enumerate(message.materials) if m.id in used)


def _bom(message: pb.Instance) -> str:
    order = message.orders[0]
    return f"instance.orders[0].bill_of_materials.{next(iter(order.bill_of_materials))}"


def _set_bom(message: pb.Instance, value: float) -> None:
    bom = message.orders[0].bill_of_materials
    bom[next(iter(bom))] = value


# (what is sent, the field path it must be reported at)
INSTANCE_CASES: dict[str, tuple[Edit, str | Callable[[pb.Instance], str]]] = {
    "unit_weight_kg inf": (
        lambda m: setattr(m.orders[0], "unit_weight_kg", INF),
        "instance.orders[0].unit_weight_kg",
    ),
    "unit_weight_kg 1e308": (
        lambda m: setattr(m.orders[0], "unit_weight_kg", 1e308),
        "instance.orders[0].unit_weight_kg",
    ),
    "unit_volume_m3 nan": (
        lambda m: setattr(m.orders[0], "unit_volume_m3", NAN),
        "instance.orders[0].unit_volume_m3",
    ),
    "cents_per_tonne_km 1e308": (
        lambda m: setattr(m.transport, "cents_per_tonne_km", 1e308),
        "instance.transport.cents_per_tonne_km",
    ),
    "bill of materials 1e308": (lambda m: _set_bom(m, 1e308), _bom),
    "bill of materials nan": (lambda m: _set_bom(m, NAN), _bom),
    "vehicle capacity 1e308": (
        lambda m: m.fleet.vehicles[0].capacity.__setitem__("weight_kg", 1e308),
        "instance.fleet.vehicles[0].capacity.weight_kg",
    ),
    "kg_per_unit 1e308": (
        lambda m: setattr(m.materials[_material(m)], "kg_per_unit", 1e308),
        lambda m: f"instance.materials[{_material(m)}].kg_per_unit",
    ),
    "kg_per_unit 1e18": (
        lambda m: setattr(m.materials[_material(m)], "kg_per_unit", 1e18),
        lambda m: f"instance.materials[{_material(m)}].kg_per_unit",
    ),
    "unit cost 2^62": (
        lambda m: setattr(m.factories[0].capabilities[0], "unit_cost_cents", HUGE),
        "instance.factories[0].capabilities[0].unit_cost_cents",
    ),
    "unserved penalty 2^62": (
        lambda m: setattr(m.orders[0].penalties, "unserved_cents", HUGE),
        "instance.orders[0].penalties.unserved_cents",
    ),
    "late penalty 2^62": (
        lambda m: setattr(m.orders[0].penalties, "late_cents_per_unit_period", HUGE),
        "instance.orders[0].penalties.late_cents_per_unit_period",
    ),
    "tier price 2^62": (
        lambda m: setattr(m.suppliers[0].offers[0].price.tiers[0], "unit_price_cents", HUGE),
        "instance.suppliers[0].offers[0].price.tiers[0].unit_price_cents",
    ),
    "weight 2^62": (
        lambda m: setattr(m.weights, "production", HUGE),
        "instance.weights.production",
    ),
    "available minutes 2^62": (
        lambda m: m.factories[0].resources[0].available_minutes.__setitem__(0, HUGE),
        "instance.factories[0].resources[0].available_minutes[0]",
    ),
    "offer capacity 1e308": (
        lambda m: setattr(m.suppliers[0].offers[0], "capacity", 1e308),
        "instance.suppliers[0].offers[0].capacity",
    ),
    "vehicle speed nan": (
        lambda m: setattr(m.fleet.vehicles[0], "speed_kmh", NAN),
        "instance.fleet.vehicles[0].speed_kmh",
    ),
    "price type 99": (
        lambda m: setattr(m.suppliers[0].offers[0].price, "type", 99),
        "instance.suppliers[0].offers[0].price.type",
    ),
    "material sourcing 99": (
        lambda m: setattr(m.materials[0], "sourcing", 99),
        "instance.materials[0].sourcing",
    ),
    "orders whose plans could cost more than the limit": (
        lambda m: _grow_every_order(m),
        "instance.orders[",  # at the order with the largest share
    ),
}


def _grow_every_order(message: pb.Instance) -> None:
    """Each order within its own limits, their sum past the limit on what plans cost."""
    for o in message.orders:
        o.quantity = lim.MAX_UNITS
        o.penalties.late_cents_per_unit_period = lim.MAX_UNIT_CENTS


PARAMS_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "seed 2^63-1": ({"seed": 2**63 - 1}, "params.seed"),
    "mode 99": ({"mode": 99}, "params.mode"),
    "time limit nan": ({"time_limit_s": NAN}, "params.time_limit_s"),
    "relative gap inf": ({"relative_gap": INF}, "params.relative_gap"),
    "weights 2^62": ({"weights": pb.ObjectiveWeights(unserved=HUGE)}, "params.weights.unserved"),
}


def _call(
    client: MatcherClient, rpc: str, instance: pb.Instance, params: pb.SolveParameters
) -> Any:
    if rpc == "Validate":
        return client.stub.Validate(pb.ValidateRequest(instance=instance, params=params))
    if rpc == "Solve":
        return client.stub.Solve(pb.SolveRequest(instance=instance, params=params), timeout=60)
    return client.stub.SubmitJob(pb.SubmitJobRequest(instance=instance, params=params))


def _refused(call: Callable[[], Any]) -> list[tuple[str, str]]:
    """The field violations of an INVALID_ARGUMENT (anything else fails the test)."""
    with pytest.raises(grpc.RpcError) as err:
        call()
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert "Traceback" not in (err.value.details() or "")
    violations = field_violations(err.value)
    assert violations
    return violations


@pytest.fixture(scope="module")
def demo_message(demo: Instance) -> pb.Instance:
    return instance_to_proto(demo)


@pytest.mark.parametrize("rpc", ["Validate", "Solve", "SubmitJob"])
@pytest.mark.parametrize("case", sorted(INSTANCE_CASES))
def test_an_instance_number_or_enum_no_engine_can_carry_is_invalid_argument_with_its_path(
    client: MatcherClient, demo_message: pb.Instance, case: str, rpc: str
) -> None:
    edit, where = INSTANCE_CASES[case]
    message = pb.Instance()
    message.CopyFrom(demo_message)
    edit(message)
    path = where if isinstance(where, str) else where(message)
    violations = _refused(lambda: _call(client, rpc, message, pb.SolveParameters()))
    assert any(field.startswith(path) for field, _ in violations), violations
    if not path.endswith("["):
        assert path in [field for field, _ in violations]


@pytest.mark.parametrize("rpc", ["Validate", "Solve", "SubmitJob"])
@pytest.mark.parametrize("case", sorted(PARAMS_CASES))
def test_a_parameter_no_engine_can_carry_is_invalid_argument_with_its_path(
    client: MatcherClient, tiny_instance: Instance, case: str, rpc: str
) -> None:
    fields, path = PARAMS_CASES[case]
    params = pb.SolveParameters(**fields)
    violations = _refused(lambda: _call(client, rpc, instance_to_proto(tiny_instance), params))
    assert [field for field, _ in violations] == [path]


def test_an_unknown_enum_value_is_named_with_the_values_there_are(
    client: MatcherClient, demo_message: pb.Instance
) -> None:
    message = pb.Instance()
    message.CopyFrom(demo_message)
    message.suppliers[0].offers[0].price.type = 99  # type: ignore[assignment]  # open enum
    violations = _refused(lambda: client.stub.Validate(pb.ValidateRequest(instance=message)))
    assert violations == [
        (
            "instance.suppliers[0].offers[0].price.type",
            "99 is not a ScheduleType; use one of SCHEDULE_TYPE_ALL_UNITS, "
            "SCHEDULE_TYPE_INCREMENTAL",
        )
    ]


@pytest.mark.parametrize("case", sorted(AT_LIMITS))
def test_an_instance_at_the_limits_is_valid(client: MatcherClient, case: str) -> None:
    instance = parse_instance(at_limits(case))
    response = client.validate(instance)
    assert response.valid


def test_an_instance_at_the_limits_is_solved_and_its_plan_sent(client: MatcherClient) -> None:
    instance = parse_instance(at_limits("money"))
    response = client.solve_raw(instance, timeout=60, **FAST)
    assert response.plan.status in (pb.SOLVE_STATUS_OPTIMAL, pb.SOLVE_STATUS_FEASIBLE)
    assert plan_from_proto(response.plan).costs.objective > 10**16


# ------------------------------------------------------------ Replan, Recommend


@pytest.fixture(scope="module")
def tiny_plan(server: RunningServer, tiny_instance: Instance) -> Plan:
    with MatcherClient(f"127.0.0.1:{server.port}") as client:
        return client.solve(tiny_instance, **FAST)


def _previous(plan: Plan, edit: Callable[[pb.Plan], Any]) -> pb.Plan:
    message = plan_to_proto(plan)
    edit(message)
    return message


OUTAGE: dict[str, Any] = {
    "events": [{"type": "factory_unavailable", "factory": "F1", "from_period": 1, "to_period": 2}]
}

PLAN_CASES: dict[str, tuple[Callable[[pb.Plan], Any], str]] = {
    "objective nan": (lambda m: setattr(m.stages[0], "objective", NAN), "stages[0].objective"),
    "status 99": (lambda m: setattr(m, "status", 99), "status"),
    "reason 99": (lambda m: setattr(m.unassigned[0], "reason", 99), "unassigned[0].reason"),
    "total -2^63": (lambda m: setattr(m.costs, "total", -(2**63)), "costs.total"),
    "units 2^62": (
        lambda m: setattr(m.allocations[0].periods[0], "quantity", HUGE),
        "allocations[0].periods[0].quantity",
    ),
    "weight 2^62": (lambda m: setattr(m.weights, "production", HUGE), "weights.production"),
    "used minutes inf": (
        lambda m: setattr(m.kpis.utilisation[0], "used_minutes", INF),
        "kpis.utilisation[0].used_minutes",
    ),
}


@pytest.mark.parametrize("case", sorted(PLAN_CASES))
def test_a_previous_plan_holding_what_no_plan_can_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan, case: str
) -> None:
    edit, path = PLAN_CASES[case]
    previous = _previous(tiny_plan, edit)
    violations = _refused(lambda: client.replan_raw(tiny_instance, previous, OUTAGE, **FAST))
    assert f"previous.{path}" in [field for field, _ in violations], violations


@pytest.mark.parametrize("case", sorted(PLAN_CASES))
def test_a_plan_to_recommend_against_holding_what_no_plan_can_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan, case: str
) -> None:
    edit, path = PLAN_CASES[case]
    plan = _previous(tiny_plan, edit)
    order = dict(tiny_json()["orders"][2], id="O9")
    violations = _refused(lambda: client.recommend_raw(tiny_instance, plan, order))
    assert f"plan.{path}" in [field for field, _ in violations], violations


DISRUPTION_CASES: dict[str, tuple[dict[str, Any], str]] = {
    "fraction nan": (
        {"capacity_cut": pb.CapacityCut(factory="F1", from_period=1, to_period=2, fraction=NAN)},
        "disruption.events[0].capacity_cut.fraction",
    ),
    "minutes 2^62": (
        {
            "capacity_cut": pb.CapacityCut(
                factory="F1", from_period=1, to_period=2, available_minutes=HUGE
            )
        },
        "disruption.events[0].capacity_cut.available_minutes",
    ),
    "quantity 2^62": (
        {"order_changed": pb.OrderChanged(order="O1", quantity=HUGE)},
        "disruption.events[0].order_changed.quantity",
    ),
    "added order weighing inf": (
        {"order_added": pb.OrderAdded(order=pb.Order(id="O9", unit_weight_kg=INF))},
        "disruption.events[0].order_added.order.unit_weight_kg",
    ),
}


@pytest.mark.parametrize("case", sorted(DISRUPTION_CASES))
def test_a_disruption_number_no_engine_can_carry_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan, case: str
) -> None:
    member, path = DISRUPTION_CASES[case]
    disruption = pb.Disruption(events=[pb.DisruptionEvent(**member)])
    if "order_added" in member:  # an order valid but for its weight
        added = disruption.events[0].order_added.order
        added.MergeFrom(order_to_proto(dict(tiny_json()["orders"][2], id="O9")))
        added.unit_weight_kg = INF
    violations = _refused(lambda: client.replan_raw(tiny_instance, tiny_plan, disruption, **FAST))
    assert path in [field for field, _ in violations], violations


def test_a_disruption_stability_beyond_the_weights_limit_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    disruption = {**OUTAGE, "stability": HUGE}
    violations = _refused(lambda: client.replan_raw(tiny_instance, tiny_plan, disruption, **FAST))
    assert [field for field, _ in violations] == ["disruption.stability"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("unit_weight_kg", NAN), ("quantity", HUGE), ("unit_volume_m3", INF)],
)
def test_an_order_to_recommend_for_that_no_engine_can_carry_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan, field: str, value: Any
) -> None:
    order = order_to_proto(dict(tiny_json()["orders"][2], id="O9"))
    setattr(order, field, value)
    violations = _refused(lambda: client.recommend_raw(tiny_instance, tiny_plan, order))
    assert [f for f, _ in violations] == [f"order.{field}"]


def test_an_order_that_would_take_the_plans_past_the_limit_on_cost_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan
) -> None:
    order = dict(tiny_json()["orders"][2], id="O9", quantity=lim.MAX_UNITS)
    order["penalties"] = {"late_cents_per_unit_period": lim.MAX_UNIT_CENTS}
    violations = _refused(lambda: client.recommend_raw(tiny_instance, tiny_plan, order))
    assert len(violations) == 1 and violations[0][0] == "order"
    assert "above the limit of 1e+14" in violations[0][1]


DANGLING: dict[str, tuple[Callable[[pb.Plan], Any], str]] = {
    "process": (lambda m: setattr(m.allocations[0], "process", "cutting"), "process"),
    "resource group": (
        lambda m: setattr(m.allocations[0], "resource_group", "nope"),
        "resource_group",
    ),
    "factory": (lambda m: setattr(m.allocations[0], "factory", "F9"), "factory"),
}


@pytest.mark.parametrize("case", sorted(DANGLING))
def test_a_previous_plan_naming_what_the_instance_lacks_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan, case: str
) -> None:
    edit, field = DANGLING[case]
    previous = _previous(tiny_plan, edit)
    request = pb.ReplanRequest(
        instance=instance_to_proto(tiny_instance),
        previous=previous,
        disruption=pb.Disruption(),
        params=pb.SolveParameters(mode=pb.SOLVE_MODE_VALIDATE_ONLY),
    )
    violations = _refused(lambda: client.stub.Replan(request))
    assert [f for f, _ in violations] == [f"previous.allocations[0].{field}"]


@pytest.mark.parametrize("case", sorted(DANGLING))
def test_a_plan_to_recommend_against_naming_what_the_instance_lacks_is_invalid_argument(
    client: MatcherClient, tiny_instance: Instance, tiny_plan: Plan, case: str
) -> None:
    edit, field = DANGLING[case]
    plan = _previous(tiny_plan, edit)
    order = dict(tiny_json()["orders"][2], id="O9")
    violations = _refused(lambda: client.recommend_raw(tiny_instance, plan, order))
    assert [f for f, _ in violations] == [f"plan.allocations[0].{field}"]


# ------------------------------------------------------------ item 1: a worker that never stopped


def test_a_vehicle_cost_past_what_the_router_can_carry_is_refused(
    client: MatcherClient, demo_message: pb.Instance
) -> None:
    # 2^53 + 1 cents a km once left a solve worker in PyVRP's local search for minutes.
    message = pb.Instance()
    message.CopyFrom(demo_message)
    message.fleet.vehicles[0].cost_per_km_cents = 2**53 + 1
    violations = _refused(lambda: _call(client, "Solve", message, pb.SolveParameters()))
    assert "instance.fleet.vehicles[0].cost_per_km_cents" in [f for f, _ in violations]


def test_the_largest_vehicle_costs_allowed_are_routed_and_the_worker_answers(
    client: MatcherClient, demo_message: pb.Instance
) -> None:
    message = pb.Instance()
    message.CopyFrom(demo_message)
    for v in message.fleet.vehicles:
        v.cost_per_km_cents = lim.MAX_RATE_CENTS
        v.cost_per_hour_cents = lim.MAX_RATE_CENTS
    # A hang check, not a speed target: the solve has 1 s, the call a minute.
    response = client.stub.Solve(
        pb.SolveRequest(instance=message, params=pb.SolveParameters(time_limit_s=1.0, workers=1)),
        timeout=60,
    )
    assert any(s.stage == "routing" for s in response.plan.stages)
