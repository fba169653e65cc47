from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from matcher.app.pipeline import plan
from matcher.domain.entities import ObjectiveWeights
from matcher.domain.events import parse_disruption
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import (
    Allocation,
    Backup,
    BindingCapacity,
    BindingMaterial,
    CapacityNeed,
    CapacityOffer,
    CapacityRow,
    CapacitySharing,
    ConstraintKind,
    ConstraintReport,
    CostBreakdown,
    Displacement,
    FactoryLoad,
    Kpis,
    LoadStatus,
    Move,
    OperationTransfer,
    OrderConstraints,
    PeriodQuantity,
    Plan,
    ReasonCode,
    Recommendation,
    Recommendations,
    Replan,
    ResponsibleConstraint,
    SolveStatus,
    StageStats,
    Transfer,
    TransferKind,
    Unassigned,
)
from matcher.domain.validation import InvalidInstanceError, load_instance, parse_instance
from service.convert import (
    InvalidParamsError,
    disruption_from_proto,
    disruption_to_proto,
    instance_from_proto,
    instance_to_proto,
    message_to_dict,
    order_from_proto,
    order_to_proto,
    params_from_proto,
    params_issues,
    plan_from_proto,
    plan_to_proto,
    recommendations_from_proto,
    recommendations_to_proto,
)
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.conftest import tiny_json


def test_instance_round_trips_through_proto(tiny_instance: Instance, demo: Instance) -> None:
    for instance in (tiny_instance, demo):
        assert instance_from_proto(instance_to_proto(instance)) == instance


def test_plan_round_trips_through_proto(demo: Instance) -> None:
    result = plan(demo, SolveParams(time_limit_s=1, workers=1))
    message = plan_to_proto(result)
    assert message.status == pb.SOLVE_STATUS_OPTIMAL or message.status == pb.SOLVE_STATUS_FEASIBLE
    assert plan_from_proto(message) == result


def test_unset_optional_fields_take_the_domain_default_and_zero_is_kept() -> None:
    data = tiny_json()
    message = instance_to_proto(parse_instance(data))
    message.factories[0].credit.ClearField("score")
    message.factories[1].credit.score = 0
    message.weights.production = 0
    instance = instance_from_proto(message)
    assert instance.factories[0].credit.score == 80
    assert instance.factories[1].credit.score == 0
    assert instance.weights.production == 0
    assert instance.weights.transport == 1


def test_entity_by_entity_conversion_builds_what_the_whole_request_dict_builds() -> None:
    """instance_from_proto validates each entity from its own dict (memory); the
    result must be the instance the whole-request dict gives, for every shipped one."""
    for path in sorted(Path("instances").glob("*.json")):
        message = instance_to_proto(load_instance(path))
        assert instance_from_proto(message) == parse_instance(message_to_dict(message)), path


def test_a_cross_reference_violation_is_reported_as_from_the_json_format() -> None:
    data = tiny_json()
    data["orders"][0]["operations"][0]["process"] = "no_such_process"
    with pytest.raises(InvalidInstanceError) as from_json:
        parse_instance(data)
    message = instance_to_proto(parse_instance(tiny_json()))
    message.orders[0].operations[0].process = "no_such_process"
    with pytest.raises(InvalidInstanceError) as from_proto:
        instance_from_proto(message)
    assert from_proto.value.issues == from_json.value.issues
    assert any(i.path.startswith("orders[0]") for i in from_proto.value.issues)


def test_enum_values_map_to_the_domain_spelling() -> None:
    message = pb.PriceSchedule(type=pb.SCHEDULE_TYPE_INCREMENTAL)
    assert message_to_dict(message) == {"type": "incremental"}
    assert message_to_dict(pb.PriceSchedule()) == {}  # UNSPECIFIED: the default


def test_invalid_instance_reports_the_same_paths_as_the_json_format() -> None:
    data = tiny_json()
    data["orders"][1]["due_period"] = -1
    data["factories"][0]["credit"]["score"] = 101
    with pytest.raises(InvalidInstanceError) as from_json:
        parse_instance(data)
    message = pb.Instance()
    message.CopyFrom(instance_to_proto(parse_instance(tiny_json())))
    message.orders[1].due_period = -1
    message.factories[0].credit.score = 101
    with pytest.raises(InvalidInstanceError) as from_proto:
        instance_from_proto(message)
    assert from_proto.value.issues == from_json.value.issues


def test_parameters_report_every_problem_with_its_path() -> None:
    message = pb.SolveParameters(
        assignment_solver="nope", routing_solver="hgs", strategy="fast", time_limit_s=-1
    )
    with pytest.raises(InvalidParamsError) as err:
        params_from_proto(message)
    paths = sorted(i.path for i in err.value.issues)
    assert paths == [
        "params.assignment_solver",
        "params.routing_solver",
        "params.strategy",
        "params.time_limit_s",
    ]


def test_parameters_default_when_unset() -> None:
    assert params_from_proto(pb.SolveParameters()) == SolveParams()
    given = params_from_proto(pb.SolveParameters(time_limit_s=2.5, seed=3, workers=1))
    assert (given.time_limit_s, given.seed, given.workers) == (2.5, 3, 1)


def test_purchasing_parameters_convert_and_an_unknown_purchasing_solver_is_a_violation() -> None:
    message = pb.SolveParameters(
        purchasing_solver="mip-highs",
        savings_split="proportional",
        shapley_permutations=50,
        max_suppliers_per_material=2,
    )
    params = params_from_proto(message)
    assert (params.purchasing_solver, params.savings_split) == ("mip-highs", "proportional")
    assert (params.shapley_permutations, params.max_suppliers_per_material) == (50, 2)
    issues = params_issues(pb.SolveParameters(purchasing_solver="gurobi"))
    assert [i.path for i in issues] == ["params.purchasing_solver"]
    assert "unknown solver 'gurobi'" in issues[0].message


def test_a_plan_with_every_order_served_round_trips_through_proto() -> None:
    # proto drops empty repeated fields: an empty unassigned list must come back empty
    from matcher.domain.validation import load_instance

    result = plan(load_instance("instances/purchasing.json"), SolveParams(workers=1))
    assert result.unassigned == []
    assert plan_from_proto(plan_to_proto(result)) == result


# ------------------------------------------------------- sharing, re-plan, recommend


def _bare_plan() -> Plan:
    """A small plan built by hand: the conversion, not the engine, is under test."""
    return Plan(
        instance="tiny",
        status=SolveStatus.FEASIBLE,
        weights=ObjectiveWeights(stability=3),
        allocations=[
            Allocation(
                order="O1",
                operation=0,
                process="cnc",
                factory="F1",
                resource_group="line",
                quantity=60,
                periods=[PeriodQuantity(period=0, quantity=60)],
                production_cents=6000,
            )
        ],
        unassigned=[],
        costs=CostBreakdown(production=6000, total=6000, moved_units=7, objective=6021),
        kpis=Kpis(
            orders=1,
            orders_served=1,
            orders_on_time=1,
            orders_late=0,
            orders_unassigned=0,
            fill_rate=1.0,
            unit_fill_rate=1.0,
            on_time_rate=1.0,
            factories_used=1,
            factory_utilisation=[],
            utilisation=[],
        ),
        stages=[StageStats(stage="assignment", solver="cpsat", status=SolveStatus.FEASIBLE)],
    )


def _sharing(backups: list[Backup] | None) -> CapacitySharing:
    load = FactoryLoad(
        factory="F1",
        status=LoadStatus.OVERLOADED,
        utilisation=0.97,
        used_minutes=2790.5,
        free_minutes=2880,
        orders=["O2"],
        detail="O2 late",
    )
    return CapacitySharing(
        method="lp-dual: GLOP",
        capacity=[
            CapacityRow(
                factory="F1",
                resource_group="line",
                period=0,
                free_minutes=1440,
                used_minutes=1440.0,
                idle_minutes=0.0,
                marginal_cents_per_hour=125.5,
            )
        ],
        overloaded=[load],
        under_used=[
            load.model_copy(update={"factory": "F2", "status": LoadStatus.UNDER_USED, "orders": []})
        ],
        extra_capacity_pays=[
            CapacityNeed(
                factory="F1",
                resource_group="line",
                period=0,
                marginal_cents_per_hour=125.5,
                processes=["cnc"],
            )
        ],
        idle_to_offer=[
            CapacityOffer(
                factory="F2", resource_group="line", processes=["cnc"], periods=[1, 2], idle_hours=9
            )
        ],
        transfers=[
            Transfer(
                kind=TransferKind.MOVE_WORK,
                from_factory="F1",
                to_factory="F2",
                order="O2",
                quantity=10,
                saving_cents=400,
            ),
            Transfer(
                kind=TransferKind.LEND_CAPACITY,
                from_factory="F2",
                to_factory="F1",
                resource_group="line",
                period=0,
                hours=2.5,
                saving_cents=0,
                detail="break-even",
            ),
        ],
        backups=backups,
        wall_time_s=0.25,
        notes=["a note"],
    )


def _replan() -> Replan:
    return Replan(
        now_period=1,
        stability_cents_per_unit=3,
        events=["F1 unavailable in periods 1..2"],
        frozen_units=20,
        released=["O1 at F1 released: F1 unavailable"],
        moves=[
            Move(order="O1", from_factory="F1", to_factory="F2", units=7),
            Move(order="O5", from_factory=None, to_factory="F2", units=4),
            Move(order="O4", from_factory="F1", to_factory=None, units=10),
        ],
        orders_moved=2,
        moved_units=17,
        previous_total_cents=5000,
        total_delta_cents=-120,
        newly_late=["O1"],
        newly_unserved=[
            Unassigned(order="O4", reason=ReasonCode.CAPACITY_EXHAUSTED, detail="F1 line p1..2")
        ],
        conflicts=[],
    )


@pytest.mark.parametrize(
    "backups",
    [
        None,  # not asked for: stays None, not []
        [],  # asked for, no parts: stays []
        [
            Backup(
                order="O1",
                primary_factory="F1",
                quantity=60,
                backup_factory="F2",
                extra_cents=300,
                completion_period=2,
            ),
            Backup(
                order="O2", primary_factory="F1", quantity=40, backup_factory=None, detail="none"
            ),
        ],
    ],
)
def test_a_plan_with_capacity_sharing_and_replan_round_trips_through_proto(
    backups: list[Backup] | None,
) -> None:
    full = _bare_plan().model_copy(
        update={"capacity_sharing": _sharing(backups), "replan": _replan()}
    )
    message = plan_to_proto(full)
    assert message.capacity_sharing.transfers[1].kind == pb.TRANSFER_KIND_LEND_CAPACITY
    assert message.capacity_sharing.HasField("backups") == (backups is not None)
    assert message.costs.moved_units == 7
    assert not message.replan.moves[1].HasField("from_factory")
    assert plan_from_proto(message) == full


def test_an_instance_with_an_order_split_by_operation_round_trips_through_proto() -> None:
    data = tiny_json()
    data["orders"][3]["split"] = {"allowed": True, "max_factories": 2, "by_operation": True}
    data["transport"].update(transfer_speed_kmh=35.5, transfer_handling_minutes=90)
    instance = parse_instance(data)
    message = instance_to_proto(instance)
    assert message.orders[3].split.by_operation
    assert not message.orders[0].split.by_operation
    assert message.transport.transfer_speed_kmh == 35.5
    assert message.transport.transfer_handling_minutes == 90
    assert instance_from_proto(message) == instance


def test_unset_transfer_fields_take_the_domain_defaults_and_zero_handling_is_kept(
    tiny_instance: Instance,
) -> None:
    message = instance_to_proto(tiny_instance)
    message.transport.ClearField("transfer_speed_kmh")
    message.transport.ClearField("transfer_handling_minutes")
    transport = instance_from_proto(message).transport
    assert (transport.transfer_speed_kmh, transport.transfer_handling_minutes) == (50.0, 0)
    message.transport.transfer_handling_minutes = 0
    assert message.transport.HasField("transfer_handling_minutes")
    assert instance_from_proto(message).transport.transfer_handling_minutes == 0


def test_a_plan_with_transfers_of_orders_split_by_operation_round_trips_through_proto() -> None:
    transfers = [
        OperationTransfer(
            order="O4",
            operation=0,
            from_factory="F1",
            to_factory="F2",
            quantity=6,
            ship_period=0,
            arrive_period=2,
            transport_cents=1234,
        ),
        OperationTransfer(  # within one factory: no lag, no cost (0 is a value, not unset)
            order="O4",
            operation=0,
            from_factory="F1",
            to_factory="F1",
            quantity=4,
            ship_period=0,
            arrive_period=0,
            transport_cents=0,
        ),
    ]
    split_plan = _bare_plan().model_copy(update={"transfers": transfers})
    message = plan_to_proto(split_plan)
    assert [(t.from_factory, t.to_factory, t.quantity) for t in message.transfers] == [
        ("F1", "F2", 6),
        ("F1", "F1", 4),
    ]
    assert (message.transfers[0].arrive_period, message.transfers[0].transport_cents) == (2, 1234)
    assert plan_from_proto(message) == split_plan


def test_a_plan_without_the_new_sections_round_trips_with_them_unset() -> None:
    bare = _bare_plan()
    message = plan_to_proto(bare)
    assert not message.HasField("capacity_sharing") and not message.HasField("replan")
    assert plan_from_proto(message) == bare


def test_a_plan_with_a_constraint_report_round_trips_through_proto() -> None:
    """A marginal value of 0 stays 0 and an absent one stays absent; an eligibility
    reason, optional costs and empty lists keep their domain values."""
    report = ConstraintReport(
        marginal_values="none: the plan has no capacity-sharing section",
        binding=[
            BindingCapacity(
                factory="F1",
                resource_group="line",
                period=0,
                used_minutes=60.0,
                free_minutes=60,
                full=True,
                marginal_cents_per_hour=0.0,
                holders=["O1"],
                pushes_out=["O2"],
            ),
            BindingCapacity(
                factory="F1",
                resource_group="line",
                period=1,
                used_minutes=0.0,
                free_minutes=0,
                full=False,
                delays=["O3"],
            ),
        ],
        materials=[BindingMaterial(material="steel", holders=["O1"], holds_back=["O2"])],
        orders=[
            OrderConstraints(
                order="O2",
                state="unassigned",
                reason=ReasonCode.CAPACITY_EXHAUSTED,
                constraints=[
                    ResponsibleConstraint(
                        kind=ConstraintKind.CAPACITY,
                        factories=["F1"],
                        resource_group="line",
                        periods=[0],
                        holders=["O1"],
                        detail="line has 0 min free",
                    ),
                    ResponsibleConstraint(
                        kind=ConstraintKind.ELIGIBILITY,
                        factories=["F2", "F3"],
                        reason=ReasonCode.CREDIT_BELOW_MIN,
                    ),
                    ResponsibleConstraint(
                        kind=ConstraintKind.NOT_WORTH_SERVING,
                        factories=["F4"],
                        cost_cents=0,
                        penalty_cents=500,
                    ),
                ],
            ),
            OrderConstraints(order="O3", state="late"),
        ],
        notes=["one note"],
        wall_time_s=0.01,
    )
    planned = _bare_plan().model_copy(update={"constraints": report})
    message = plan_to_proto(planned)
    assert message.constraints.binding[0].HasField("marginal_cents_per_hour")
    assert not message.constraints.binding[1].HasField("marginal_cents_per_hour")
    assert message.constraints.orders[0].constraints[1].reason == pb.REASON_CODE_CREDIT_BELOW_MIN
    assert plan_from_proto(message) == planned
    assert not plan_to_proto(_bare_plan()).HasField("constraints")


def test_recommendations_round_trip_through_proto() -> None:
    option = Recommendation(
        rank=1,
        factory="F2",
        cost_cents=900,
        production_cents=800,
        transport_cents=100,
        lateness_cents=0,
        completion_period=1,
        late_units=0,
        credit_score=80,
        periods=[PeriodQuantity(period=1, quantity=10)],
        displaced=[
            Displacement(order="O3", from_factory="F2", to_factory="F1", units=5, extra_cents=50)
        ],
        total_cents=950,
    )
    for result in (
        Recommendations(
            order="O9", options=[option], not_possible={"F1": "full"}, wall_time_s=0.01
        ),
        Recommendations(order="O9", options=[], reason="no factory runs cnc9"),
    ):
        assert recommendations_from_proto(recommendations_to_proto(result)) == result


def test_sharing_and_backups_parameters_keep_the_domain_defaults_when_unset() -> None:
    default = params_from_proto(pb.SolveParameters())
    assert (default.sharing, default.backups) == (True, False)
    given = params_from_proto(pb.SolveParameters(sharing=False, backups=True))
    assert (given.sharing, given.backups) == (False, True)


def _disruption_json() -> dict[str, Any]:
    added = dict(tiny_json()["orders"][3], id="O9")
    return {
        "now_period": 1,
        "stability": 0,
        "frozen": ["O1", {"order": "O2", "factory": "F1"}],
        "events": [
            {"type": "factory_unavailable", "factory": "F1", "from_period": 1, "to_period": 2},
            {
                "type": "capacity_cut",
                "factory": "F2",
                "from_period": 1,
                "to_period": 1,
                "fraction": 0.5,
            },
            {"type": "order_added", "order": added},
            {"type": "order_cancelled", "order": "O4"},
            {"type": "order_changed", "order": "O3", "due_period": 2},
        ],
    }


def test_a_disruption_converts_to_and_from_its_json_form(tiny_instance: Instance) -> None:
    expected = parse_disruption(_disruption_json(), tiny_instance)
    message = disruption_to_proto(expected)
    assert [e.WhichOneof("event") for e in message.events] == [
        "factory_unavailable",
        "capacity_cut",
        "order_added",
        "order_cancelled",
        "order_changed",
    ]
    assert message.HasField("stability") and message.stability == 0  # 0 is not unset
    back = disruption_from_proto(message, tiny_instance)
    assert back.events == expected.events
    assert back.frozen_refs() == expected.frozen_refs()
    assert (back.now_period, back.stability) == (1, 0)
    from_json = disruption_from_proto(disruption_to_proto(_disruption_json()), tiny_instance)
    assert from_json.events == expected.events  # the raw JSON form converts too


def test_disruption_violations_carry_their_paths_in_the_message(tiny_instance: Instance) -> None:
    data = _disruption_json()
    data["events"][0]["factory"] = "F9"
    data["events"][4]["order"] = "O77"
    data["frozen"][1]["factory"] = "F8"
    with pytest.raises(InvalidInstanceError) as err:
        disruption_from_proto(disruption_to_proto(data), tiny_instance)
    assert [(i.path, i.message) for i in err.value.issues] == [
        ("events[0].factory_unavailable.factory", "unknown factory F9"),
        ("events[4].order_changed.order", "unknown order O77"),
        ("frozen[1].factory", "unknown factory F8"),
    ]
    message = disruption_to_proto({"frozen": [{"factory": "F1"}]})
    message.events.add()  # no member set
    with pytest.raises(InvalidInstanceError) as err:
        disruption_from_proto(message, None)
    paths = [i.path for i in err.value.issues]
    assert paths == ["events[0]", "frozen[0].order"]


def test_an_order_is_checked_against_the_instance_with_paths_in_the_order(
    tiny_instance: Instance,
) -> None:
    data = dict(tiny_json()["orders"][0], id="O9")
    assert order_from_proto(order_to_proto(data), tiny_instance).id == "O9"
    data["operations"] = [{"process": "cnc9"}]
    data["quantity"] = 0
    with pytest.raises(InvalidInstanceError) as err:
        order_from_proto(order_to_proto(data), tiny_instance)
    assert [i.path for i in err.value.issues] == ["quantity"]  # fields first
    data["quantity"] = 5
    with pytest.raises(InvalidInstanceError) as err:
        order_from_proto(order_to_proto(data), tiny_instance)
    assert [i.path for i in err.value.issues] == ["operations[0].process"]
