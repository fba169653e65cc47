"""Helpers shared by the checker's mutation tests."""

from __future__ import annotations

from typing import Any

from matcher.check import CheckReport, Violation


def only(report: CheckReport, code: str) -> list[Violation]:
    """Assert every violation has ``code``; return them."""
    assert {v.code for v in report.violations} == {code}, report.violations
    return report.violations


def paths(report: CheckReport) -> list[str]:
    return [v.path for v in report.violations]


def replace_fields(section: Any, changes: dict[str, Any]) -> None:
    """Replace fields of ``section`` in place: keys joined by ``__``, list indexes as numbers."""
    for dotted, value in changes.items():
        node = section
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
