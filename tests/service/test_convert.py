from __future__ import annotations

import pytest

from matcher.models import Instance
from matcher.params import SolveParams
from matcher.pipeline import plan
from matcher.validation import InvalidInstanceError, parse_instance
from service.convert import (
    InvalidParamsError,
    instance_from_proto,
    instance_to_proto,
    message_to_dict,
    params_from_proto,
    params_issues,
    plan_from_proto,
    plan_to_proto,
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
    from matcher.validation import load_instance

    result = plan(load_instance("instances/purchasing.json"), SolveParams(workers=1))
    assert result.unassigned == []
    assert plan_from_proto(plan_to_proto(result)) == result
