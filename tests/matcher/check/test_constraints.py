"""The checker on the constraint report (docs/explain.md): its figures and references
are re-derived from the instance and the plan's rows; a tampered report is caught."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.app.constraints import with_constraints
from matcher.app.pipeline import plan
from matcher.check import check_plan
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from tests.explain_data import explain_instance
from tests.matcher.check.helpers import only, paths, replace_fields

PARAMS = SolveParams(workers=1, seed=0, time_limit_s=5, sharing=False)


@pytest.fixture(scope="module")
def reported() -> Plan:
    """Y at FA, X pushed out: one binding row (FA, g, 0) held by Y."""
    instance = explain_instance()
    result = with_constraints(instance, plan(instance, PARAMS))
    assert check_plan(instance, result).ok
    return result


def _tampered(result: Plan, changes: dict[str, Any]) -> Plan:
    data = result.model_dump(mode="json")
    replace_fields(data["constraints"], changes)
    return Plan.model_validate(data)


@pytest.mark.parametrize(
    ("changes", "code", "path"),
    [
        (
            {"binding__0__used_minutes": 470.0},
            "CONSTRAINTS_FIGURES",
            "constraints.binding[0].used_minutes",
        ),
        (
            {"binding__0__free_minutes": 960},
            "CONSTRAINTS_FIGURES",
            "constraints.binding[0].free_minutes",
        ),
        ({"binding__0__holders": ["X"]}, "CONSTRAINTS_HOLDER", "constraints.binding[0].holders[0]"),
        ({"binding__0__period": 7}, "CONSTRAINTS_ROW_UNKNOWN", "constraints.binding[0]"),
        (
            {"binding__0__pushes_out": ["nope"]},
            "CONSTRAINTS_ORDER",
            "constraints.binding[0].pushes_out[0]",
        ),
        ({"orders__0__state": "late"}, "CONSTRAINTS_ORDER", "constraints.orders[0].state"),
        ({"orders__0__order": "Y"}, "CONSTRAINTS_ORDER", "constraints.orders[0].state"),
    ],
)
def test_a_tampered_report_is_a_violation_with_its_path(
    reported: Plan, changes: dict[str, Any], code: str, path: str
) -> None:
    report = check_plan(explain_instance(), _tampered(reported, changes))
    only(report, code)
    assert paths(report) == [path]
