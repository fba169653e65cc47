"""The layers hold (docs/architecture.md): import-linter's contracts and a clean domain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_in_pyproject_are_kept() -> None:
    # The same check as `lint-imports`, so the README's test command enforces it.
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_importing_the_domain_loads_no_engine_transport_or_solver() -> None:
    code = (
        "import json, sys\n"
        "import matcher.domain, matcher.domain.instance, matcher.domain.validation\n"
        "import matcher.domain.plan, matcher.domain.events, matcher.domain.replanning\n"
        "import matcher.domain.schedule, matcher.domain.params, matcher.domain.geo\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    heavy = [
        m
        for m in loaded
        if m.split(".")[0] in {"ortools", "grpc", "pyvrp", "pulp", "solvers", "service"}
        or m.startswith(("matcher.app", "matcher.check", "matcher.cli", "matcher.bench"))
    ]
    assert heavy == []
