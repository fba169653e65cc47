from __future__ import annotations

from service.codegen import stale


def test_generated_code_matches_a_fresh_generation_from_proto() -> None:
    assert stale() == [], "run: .venv/bin/python -m service.codegen"
