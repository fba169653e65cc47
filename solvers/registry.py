"""Back-ends registered by name and imported on first use (a solver's heavy imports,
such as PyVRP or OR-Tools routing, are paid only by the stages that use it)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load(registry: Mapping[str, str], name: str, what: str) -> Any:
    """An instance of the class ``registry[name]`` (``"module:Class"``); ``ValueError``
    naming the ``what`` solvers available when ``name`` is not registered."""
    try:
        module, cls = registry[name].split(":")
    except KeyError:
        raise ValueError(
            f"unknown {what} solver '{name}' (available: {', '.join(sorted(registry))})"
        ) from None
    return getattr(importlib.import_module(module), cls)()
