"""The input files of ``replan`` and ``recommend``, read the same way whether the
command runs here or calls the service, so both report a bad file with the same
paths before anything is sent."""

from __future__ import annotations

import argparse
from pathlib import Path

from matcher.app.recommend import load_order
from matcher.check import load_plan
from matcher.domain.consistency import Issue
from matcher.domain.entities import Order
from matcher.domain.events import Disruption, load_disruption
from matcher.domain.instance import Instance
from matcher.domain.plan import Plan
from matcher.domain.schedule import Schedule
from matcher.domain.validation import InvalidInstanceError, load_instance


def replan_inputs(args: argparse.Namespace) -> tuple[Instance, Plan, Disruption]:
    """The instance, previous plan and disruption of ``replan`` (local or remote)."""
    instance = load_instance(args.instance)
    previous = load_plan(args.plan)
    disruption = load_disruption(args.events, instance)
    if args.stability is not None:
        disruption = disruption.model_copy(update={"stability": args.stability})
    return instance, previous, disruption


def recommend_inputs(args: argparse.Namespace) -> tuple[Instance, Plan, Order]:
    """The instance, plan and new order of ``recommend`` (local or remote)."""
    instance = load_instance(args.instance)
    return instance, load_plan(args.plan), load_order(args.order, instance)


def load_schedule(path: str) -> Schedule:
    """A schedule file (``matcher schedule``'s output); a problem reading it is an
    invalid input with the path ``schedule``."""
    try:
        return Schedule.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInstanceError([Issue("schedule", f"cannot read {path}: {exc}")]) from None
