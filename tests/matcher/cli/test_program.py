"""The ``matcher`` program: what starting it loads, and the parser's solver choices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matcher.app.catalogue import solver_names
from matcher.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
ENGINES = ("ortools", "pyvrp", "grpc", "google.protobuf", "service.gen")


def test_building_the_parser_loads_neither_or_tools_nor_grpc() -> None:
    code = (
        "import sys\n"
        "from matcher.cli import build_parser\n"
        "build_parser()\n"
        f"print(sorted(m for m in sys.modules if m.startswith({ENGINES!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("stage", "option"),
    [
        ("assignment", "--solver"),
        ("purchasing", "--purchasing-solver"),
        ("routing", "--routing-solver"),
    ],
)
def test_every_solver_of_the_catalogue_is_a_choice_of_solve_and_replan(
    stage: str, option: str
) -> None:
    parser = build_parser()
    dest = option.removeprefix("--").replace("-", "_")
    for name in solver_names()[stage]:
        for argv in (["solve", "i"], ["replan", "i", "p", "e"]):
            assert vars(parser.parse_args([*argv, option, name]))[dest] == name
