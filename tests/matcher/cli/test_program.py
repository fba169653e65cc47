"""The ``matcher`` program: what starting it loads, and the parser's solver choices."""

from __future__ import annotations

import json
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


def _python(code: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter with real standard descriptors, which in-process
    tests (captured by pytest) do not have."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_what_native_code_prints_goes_to_stderr_and_stdout_is_restored_after() -> None:
    code = (
        "import ctypes\n"
        "from matcher.cli.output import native_output_to_stderr\n"
        "libc = ctypes.CDLL(None)\n"
        "with native_output_to_stderr():\n"
        "    libc.printf(b'native chatter\\n')\n"
        "    print('from python')\n"
        "libc.printf(b'after\\n')\n"
        "libc.fflush(None)\n"
    )
    done = _python(code, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "from python\nafter\n"
    assert "native chatter" in done.stderr


def test_a_plan_written_to_stdout_parses_though_native_code_printed_during_the_solve() -> None:
    # HiGHS prints a line of its own to stdout now and then (matcher.cli.output); here
    # a C-level printf stands in for it, between the solve and the plan's writing.
    code = (
        "import ctypes, sys\n"
        "import matcher.cli.solve as solve\n"
        "from matcher.cli import main\n"
        "finish = solve._finish\n"
        "def chatty(*args):\n"
        "    ctypes.CDLL(None).printf(b'HighsMipSolverData tmpSolver.run();\\n')\n"
        "    return finish(*args)\n"
        "solve._finish = chatty\n"
        "sys.exit(main(['solve', 'instances/tiny.json', '-o', '-', '--workers', '1']))\n"
    )
    done = _python(code, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["instance"] == "tiny"
    assert "tmpSolver.run();" in done.stderr
