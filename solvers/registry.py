"""The one registry shape of every stage's back-ends.

Each stage (assignment, purchasing, routing) declares a ``Protocol`` whose members are
``name``, ``supports(problem, ...)``, ``unsupported_reason(problem, ...)`` and
``solve(...)``, and registers its back-ends here by name as ``"module:Class"``. A
back-end's module is imported on first use, so a solver's heavy imports (PyVRP,
OR-Tools routing, PuLP) are paid only by the stages and names that use it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Generic, TypeVar

B = TypeVar("B")


class Registry(Generic[B]):
    """Back-ends of one stage by name, each instantiated from its module on demand."""

    def __init__(self, stage: str, entries: Mapping[str, str]) -> None:
        self.stage = stage
        self._entries = dict(entries)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def get(self, name: str) -> B:
        """A new instance of the back-end registered as ``name``; ``ValueError`` naming
        the stage's back-ends when there is none."""
        try:
            module, cls = self._entries[name].split(":")
        except KeyError:
            raise ValueError(
                f"unknown {self.stage} solver '{name}' (available: {', '.join(self.names())})"
            ) from None
        backend: B = getattr(importlib.import_module(module), cls)()
        return backend
