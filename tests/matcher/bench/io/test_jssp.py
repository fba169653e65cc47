"""The JSPLIB reader and the independent schedule verifier (:mod:`matcher.bench.io.jssp`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from matcher.bench.io import jssp
from matcher.bench.io.jssp import JsspData, JsspFormatError
from tests.conftest import DATA
from tests.matcher.bench.io.imports import outside_the_standard_library

FT06 = DATA / "jssp" / "ft06.txt"

# Two jobs on two machines. Job 0: 3 on M0, then 2 on M1; job 1: 4 on M1, then 1 on M0.
# Starts [[0, 4], [0, 4]] give makespan 6, the optimum (M1 carries 6).
TINY = "# tiny\n2 2\n0 3 1 2\n1 4 0 1\n"
TINY_OPTIMUM = [[0, 4], [0, 4]]


def _write(tmp_path: Path, text: str, name: str = "case.txt") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def ft06() -> JsspData:
    return jssp.read(FT06)


@pytest.fixture()
def tiny(tmp_path: Path) -> JsspData:
    return jssp.read(_write(tmp_path, TINY))


# --- reading ------------------------------------------------------------------------


def test_ft06_is_read_as_six_jobs_on_six_machines_in_technological_order(ft06: JsspData) -> None:
    assert (ft06.name, ft06.n_jobs, ft06.n_machines, ft06.n_operations) == ("ft06", 6, 6, 36)
    assert ft06.jobs[0] == ((2, 1), (0, 3), (1, 6), (3, 7), (5, 3), (4, 6))
    assert ft06.jobs[5] == ((1, 3), (3, 3), (5, 9), (0, 10), (4, 4), (2, 1))
    assert ft06.horizon == 197
    # Every job visits every machine once (the classic job shop).
    assert all(sorted(m for m, _ in job) == list(range(6)) for job in ft06.jobs)


def test_the_name_can_be_given_and_comments_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    text = "# header\n\n  2 2   # jobs machines\n# a comment between jobs\n0 3 1 2\n\n1 4 0 1\n"
    data = jssp.read(_write(tmp_path, text), name="entry")
    assert data == JsspData("entry", 2, (((0, 3), (1, 2)), ((1, 4), (0, 1))))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "case.txt: no 'jobs machines' line (the file has only comments)"),
        ("# nothing\n", "case.txt: no 'jobs machines' line (the file has only comments)"),
        ("2\n0 1\n0 1\n", "case.txt, line 1: expected 'jobs machines' (two positive integers), "),
        ("0 2\n", "case.txt, line 1: expected 'jobs machines' (two positive integers), got '0 2'"),
        ("# c\n2 x\n", "case.txt, line 2: 'x' is not an integer"),
        (
            "2 2\n0 3 1 2\n",
            "case.txt: the header announces 2 jobs, the file has 1 job lines (fewer than",
        ),
        ("1 2\n0 3 1 2\n1 1 0 1\n", "the header announces 1 jobs, the file has 2 job lines (more"),
        (
            "1 2\n0 3 1\n",
            "case.txt, line 2 (job 0): 3 values, expected 4 (2 machine-duration pairs)",
        ),
        ("1 2\n0 3 2 2\n", "case.txt, line 2 (job 0, operation 1): machine 2 is not in 0..1"),
        ("1 2\n0 3 1 -2\n", "case.txt, line 2 (job 0, operation 1): negative duration -2"),
        ("1 2\n0 3 1 2.5\n", "case.txt, line 2: '2.5' is not an integer"),
    ],
)
def test_format_errors_name_the_file_the_line_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(JsspFormatError, match=re.escape(message)) as info:
        jssp.read(_write(tmp_path, text))
    assert str(info.value).startswith(str(tmp_path))


def test_a_binary_or_missing_file_is_refused(tmp_path: Path) -> None:
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(JsspFormatError, match=re.escape("binary.txt: not a text file")):
        jssp.read(binary)
    with pytest.raises(FileNotFoundError):
        jssp.read(tmp_path / "nowhere.txt")


# --- the verifier -----------------------------------------------------------------------


def test_a_feasible_schedule_passes_with_its_makespan(tiny: JsspData) -> None:
    assert jssp.verify(tiny, TINY_OPTIMUM) == (6, [])
    assert jssp.verify(tiny, [[10, 20], [0, 4]]) == (22, [])  # idle time is allowed


def test_two_operations_overlapping_on_a_machine_are_caught(tiny: JsspData) -> None:
    # Job 0's second operation [3, 5) on M1 while job 1's first [0, 4) runs there.
    assert jssp.verify(tiny, [[0, 3], [0, 4]]) == (
        5,
        ["machine 1: job 1 operation 0 [0, 4) overlaps job 0 operation 1 [3, 5)"],
    )


def test_an_operation_starting_before_its_predecessor_ends_is_caught(tiny: JsspData) -> None:
    # Job 1's second operation at 3 (M0 is free then), its first ends at 4.
    assert jssp.verify(tiny, [[0, 4], [0, 3]]) == (
        6,
        ["job 1 operation 1 starts at 3, before operation 0 ends at 4"],
    )


def test_a_negative_start_is_caught(tiny: JsspData) -> None:
    assert jssp.verify(tiny, [[-1, 4], [0, 4]])[1] == [
        "job 0 operation 0 starts at -1, before time 0"
    ]


def test_every_operation_a_long_one_overlaps_is_named(tmp_path: Path) -> None:
    # One machine: a 10-long operation at 0, and two 1-long ones at 2 and 5 inside it.
    data = jssp.read(_write(tmp_path, "3 1\n0 10\n0 1\n0 1\n"))
    makespan, problems = jssp.verify(data, [[0], [2], [5]])
    assert makespan == 10
    assert problems == [
        "machine 0: job 0 operation 0 [0, 10) overlaps job 1 operation 0 [2, 3)",
        "machine 0: job 0 operation 0 [0, 10) overlaps job 2 operation 0 [5, 6)",
    ]


def test_a_zero_duration_operation_occupies_no_machine_time(tmp_path: Path) -> None:
    data = jssp.read(_write(tmp_path, "2 1\n0 5\n0 0\n"))
    assert jssp.verify(data, [[0], [2]]) == (5, [])


@pytest.mark.parametrize(
    ("starts", "problems"),
    [
        ([[0, 4]], ["the schedule has 1 jobs, the instance 2"]),
        ([[0, 4], [0, 4], [0, 0]], ["the schedule has 3 jobs, the instance 2"]),
        ([[0], [0, 4]], ["job 0 has 1 starts, the instance 2 operations"]),
        ([[0, 4], [0, 4, 6]], ["job 1 has 3 starts, the instance 2 operations"]),
        ([[0, 4.0], [0, 4]], ["job 0 operation 1: start 4.0 is not an integer"]),
        ([[0, 4], [True, 4]], ["job 1 operation 0: start True is not an integer"]),
    ],
)
def test_a_schedule_of_the_wrong_shape_is_refused_without_a_makespan(
    tiny: JsspData, starts: list[list[int]], problems: list[str]
) -> None:
    assert jssp.verify(tiny, starts) == (0, problems)


def test_the_verifier_imports_only_the_standard_library() -> None:
    assert outside_the_standard_library(jssp) == []
