"""Top-level task functions for the executor tests: picklable by reference, so a
spawned process or a Ray worker imports them from here (the repository root must be on
its path: the Ray fixtures put it in PYTHONPATH)."""

from __future__ import annotations

import os
import signal
import time

from matcher.app.executor import TaskError
from matcher.batch.tasks import Solved, solve_and_check
from matcher.domain.params import SolveParams

DOOMED = "doomed"
"""The label whose batch task kills its own worker."""


def square(x: int) -> int:
    return x * x


def pause_then_square(x: int, seconds: float) -> int:
    time.sleep(seconds)
    return x * x


def fail(x: int) -> int:
    raise ValueError(f"no good: {x}")


def fail_plainly(x: int) -> int:
    raise TaskError(f"bad input {x}\nsecond line")


def exit_abruptly(x: int) -> int:
    os._exit(3)


def where() -> str:
    """The Ray node this task runs on."""
    import ray

    node: str = ray.get_runtime_context().get_node_id()
    time.sleep(0.5)  # long enough that two tasks are in flight together
    return node


def solve_unless_doomed(label: str, instance_text: str, params: SolveParams) -> Solved:
    """The batch task, except that the worker solving ``DOOMED`` is killed (SIGKILL), as
    the kernel's OOM killer or an operator would."""
    if label == DOOMED:
        os.kill(os.getpid(), signal.SIGKILL)
    return solve_and_check(label, instance_text, params)
