"""The fairness options as declared (docs/fairness.md): ranges, cross-references and
which factories count as new."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from matcher.domain.entities import Credit, FairnessOptions
from matcher.domain.params import SolveParams
from matcher.domain.validation import InvalidInstanceError, parse_instance
from tests.fairness_options_data import fairness_data


def _issues(fairness: Any) -> list[str]:
    with pytest.raises(InvalidInstanceError) as exc:
        parse_instance(fairness_data(fairness=fairness))
    return [str(i) for i in exc.value.issues]


def test_an_instance_declares_its_fairness_and_every_option_is_off_by_default() -> None:
    instance = parse_instance(fairness_data(fairness={"max_share": 0.2}))
    assert instance.fairness == FairnessOptions(max_share=0.2)
    assert not FairnessOptions().active
    assert parse_instance(fairness_data()).fairness is None


def test_out_of_range_and_unknown_options_are_reported_with_their_paths() -> None:
    issues = _issues({"max_share": 1.5, "exploration_share": -0.1, "cap": 1})
    assert issues == [
        "fairness.cap: Extra inputs are not permitted",
        "fairness.exploration_share: Input should be greater than or equal to 0 (got -0.1)",
        "fairness.max_share: Input should be less than or equal to 1 (got 1.5)",
    ]


def test_a_minimum_for_an_unknown_factory_is_reported_with_its_path() -> None:
    assert _issues({"min_work_by_factory": {"F9": 5}}) == [
        "fairness.min_work_by_factory.F9: unknown factory 'F9'"
    ]


def test_a_solve_override_of_the_fairness_is_validated_too() -> None:
    with pytest.raises(ValidationError, match="share_measure"):
        SolveParams(fairness={"share_measure": "weight"})


def test_per_factory_minimums_override_the_general_one_and_zero_exempts() -> None:
    opts = FairnessOptions(min_work=10, min_work_by_factory={"F2": 0, "F3": 4})
    assert [opts.min_work_of(f) for f in ("F1", "F2", "F3")] == [10, 0, 4]


def test_penalties_default_by_measure() -> None:
    assert FairnessOptions().shortfall_cents == 100
    assert FairnessOptions(share_measure="hours").shortfall_cents == 5000
    assert FairnessOptions(share_measure="revenue").exploration_cents == 1
    assert FairnessOptions(min_work_penalty=7).shortfall_cents == 7


def test_a_declared_credit_has_no_record_count() -> None:
    assert Credit().records is None
    assert Credit(records=3).records == 3
