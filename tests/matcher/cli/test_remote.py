"""``matcher remote``: every verb of the parser has a call (the calls against a real
service are in ``tests/service``)."""

from __future__ import annotations

import argparse

from matcher.cli import build_parser
from matcher.cli.remote_verbs import VERBS


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_remote_verb_of_the_parser_has_a_call_and_no_call_lacks_a_verb() -> None:
    remote = _choices(build_parser())["remote"]
    assert set(_choices(remote)) == set(VERBS)
