"""The service's Ray tests (test_ray_jobs.py, test_ray_serve.py) in a fresh Python
process of their own.

Ray sessions in a long test process are fragile: a node started in-process after the
suite's gRPC servers exist failed to come up now and then ("The current node timed
out during startup"), and an in-process `ray.init` leaves `RAY_AUTH_MODE=token` (and
more) in `os.environ`, so the actors of a later cluster joined without a token died at
creation. Each was seen in full runs and never when these modules ran alone, so they
run alone: one pytest process for both, from here, without the session's RAY_
variables.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import run_pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")

MODULES = ("tests/service/test_ray_jobs.py", "tests/service/test_ray_serve.py")


def test_the_service_ray_tests_pass_in_a_process_of_their_own() -> None:
    # An in-process ray.init earlier in this session leaves its settings in os.environ
    # (RAY_AUTH_MODE=token among them, which the CLI-started nodes do not use).
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.pop("PYTHONBREAKPOINT", None)
    env["MATCHER_RAY_TESTS"] = "isolated"
    done = run_pytest(*MODULES, env=env)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1], done.stdout[-2000:]
