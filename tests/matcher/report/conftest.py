"""Fixtures of the report tests: a demo plan and its machine schedule (solved once per
session), and Debian's chromium for the browser test, installed when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from matcher.app.pipeline import plan
from matcher.app.schedule import schedule_plan
from matcher.domain.instance import Instance
from matcher.domain.params import SolveParams
from matcher.domain.plan import Plan
from matcher.domain.schedule import Schedule
from matcher.domain.validation import load_instance
from tests.conftest import INSTANCES

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_TIMEOUT_S = 900


@pytest.fixture(scope="session")
def demo() -> Instance:
    return load_instance(INSTANCES / "demo.json")


@pytest.fixture(scope="session")
def demo_plan(demo: Instance) -> Plan:
    # Greedy with one worker: fast and the same plan every run; purchasing, routing and
    # capacity sharing still run, so every section of the report has content.
    params = SolveParams(assignment_solver="greedy", workers=1, seed=0, time_limit_s=5)
    return plan(demo, params)


@pytest.fixture(scope="session")
def demo_schedule(demo: Instance, demo_plan: Plan) -> Schedule:
    factory = demo_plan.kpis.factory_utilisation[0].factory
    return schedule_plan(demo, demo_plan, factory, 5.0, 1, 0, "tardiness")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; installed with apt-get (once per run) when missing and this
    runs as root, else the test is skipped with the reason. Never a downloaded browser
    build: ``playwright install`` cannot reach its download host here."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and apt-get cannot install it (needs root and apt)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
    ):
        try:
            done = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            pytest.skip(f"{' '.join(cmd)} took more than {INSTALL_TIMEOUT_S} s")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            pytest.skip(f"{' '.join(cmd)} failed ({done.returncode}): {' / '.join(tail)}")
    if not CHROMIUM.exists():
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is still missing")
    return CHROMIUM
