"""A row of ``bench`` (:mod:`matcher.bench.rows`): the gap to the best-known value."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.bench import gap_pct


@pytest.mark.parametrize(
    ("objective", "bks", "sense", "expected"),
    [
        (110, 100, "min", 10.0),
        (90, 100, "min", -10.0),
        (90, 100, "max", 10.0),
        (110, 100, "max", -10.0),
        (-90, -100, "min", 10.0),
        (0, 0, "min", 0.0),
        (5, 0, "min", None),
        (5, 0, "max", None),
    ],
)
def test_gap_pct_is_worse_is_positive_for_both_senses(
    objective: float, bks: float, sense: Any, expected: float | None
) -> None:
    assert gap_pct(objective, bks, sense) == (None if expected is None else pytest.approx(expected))
