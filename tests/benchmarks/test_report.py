"""docs/scale.md from the scale benchmark's figures (benchmarks/report.py)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.report import BEGIN, END, render, write_page
from benchmarks.sizes import REFERENCES

FIGURES = {
    "1k": {
        "size": "1k",
        "orders": 1000,
        "solved": True,
        "status": "FEASIBLE",
        "plan_objective": REFERENCES["1k"].plan_objective_cents * 1.1,
    },
    "5k": {"size": "5k", "orders": 5000, "solved": True, "plan_objective": 5},
}


def test_each_row_states_its_gap_to_the_best_known_plan_or_that_there_is_none() -> None:
    page = render(FIGURES)
    row_1k = next(line for line in page.splitlines() if line.startswith("| 1k |"))
    row_5k = next(line for line in page.splitlines() if line.startswith("| 5k |"))
    assert "| +10.0 |" in row_1k
    assert "| 5 | – |" in row_5k  # no 5k reference yet


def test_a_rewrite_keeps_what_the_page_holds_outside_the_generated_part(tmp_path: Path) -> None:
    page = tmp_path / "scale.md"
    page.write_text(f"{BEGIN}\nold table\n{END}\n\n## Reference runs\nkept by hand\n")
    write_page(page, FIGURES)
    text = page.read_text()
    assert "old table" not in text and "| +10.0 |" in text
    assert text.endswith("\n## Reference runs\nkept by hand\n")
    assert text.count(BEGIN) == text.count(END) == 1


def test_a_size_is_flagged_shared_by_the_cpus_others_used_not_by_the_load_average() -> None:
    """The 1-minute load average still counts the solve before for a minute or more, so
    every size after the first looked shared; what other work took of the CPUs just
    before the solve decides, and the load average only where that was not measured."""
    quiet = {"size": "1k", "solved": True, "load_avg_1m": 1.2, "others_busy_pct": 1.5}
    busy = {"size": "5k", "solved": True, "load_avg_1m": 0.3, "others_busy_pct": 48.0}
    unmeasured = {"size": "10k", "solved": True, "load_avg_1m": 0.9}
    page = render({"1k": quiet, "5k": busy, "10k": unmeasured})
    assert "**5k, 10k shared the machine**" in page
    assert "1k 1.5 %, 5k 48.0 %, 10k ? %" in page
