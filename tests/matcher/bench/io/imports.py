"""What a module imports, read from its source: the verifiers must import only the
standard library, so that no solver code (nor OR-Tools, PyVRP, vrplib) can vouch for
an answer."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from types import ModuleType


def imported_packages(module: ModuleType) -> set[str]:
    """The top-level packages of every import in ``module``, at any depth of its code."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0 and node.module is not None  # no relative imports
            found.add(node.module.split(".")[0])
    return found


def outside_the_standard_library(module: ModuleType) -> list[str]:
    return sorted(imported_packages(module) - set(sys.stdlib_module_names))
