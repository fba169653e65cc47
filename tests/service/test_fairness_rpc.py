"""The fairness options and report over the wire (docs/fairness.md,
docs/fairness-report.md): a real server, the hand-checked instance of
tests/fairness_options_data.py."""

from __future__ import annotations

import grpc
import pytest

from matcher.check import check_plan
from matcher.domain.entities import FairnessOptions
from service.client import MatcherClient
from service.convert import instance_from_proto, instance_to_proto, plan_from_proto
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.fairness_options_data import fairness_instance


def test_an_instance_with_a_fairness_policy_and_new_factories_crosses_the_wire() -> None:
    instance = fairness_instance(fairness={"max_share": 0.5, "min_work_by_factory": {"F3": 5}})
    assert instance.fairness is not None
    assert instance_from_proto(instance_to_proto(instance)) == instance


def test_a_solve_with_a_share_cap_in_its_parameters_honours_it_and_reports_its_price(
    client: MatcherClient,
) -> None:
    instance = fairness_instance()
    response = client.solve_raw(
        instance, time_limit_s=8, workers=1, seed=0, fairness={"max_share": 0.5}
    )
    plan = plan_from_proto(response.plan)
    assert plan.fairness_options == FairnessOptions(max_share=0.5)
    assert plan.costs.total == 440  # two orders at F1, two at F2, by hand
    assert plan.fairness is not None and plan.fairness.units.max_share == 0.5
    price = plan.fairness.price_of_fairness
    assert price is not None and price.cost_without_cents == 400
    assert check_plan(instance, plan).ok


def test_a_bad_fairness_option_is_invalid_argument_with_its_path(client: MatcherClient) -> None:
    request = pb.SolveRequest(
        instance=instance_to_proto(fairness_instance()),
        params=pb.SolveParameters(fairness=pb.FairnessOptions(max_share=1.5, share_measure="x")),
    )
    with pytest.raises(grpc.RpcError) as err:
        client.stub.Solve(request, timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    paths = [f for f, _ in field_violations(err.value)]
    assert "params.fairness.max_share" in paths and "params.fairness.share_measure" in paths
