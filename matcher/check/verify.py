"""The checker's entry points: a plan or a re-plan, from objects or from files.

One check runs the core pass (:mod:`matcher.check.assignment`) and each section in
turn over one shared state, then compares the costs, the objective and the KPIs with
the totals they recomputed.
"""

from __future__ import annotations

import json
import re
import types
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from matcher.check.assignment import Checker
from matcher.check.by_operation import check_by_operation
from matcher.check.codes import CheckReport, PlanFormatError
from matcher.check.constraints import check_constraints
from matcher.check.fairness import check_fairness
from matcher.check.fairness_report import check_fairness_report
from matcher.check.materials import check_materials
from matcher.check.purchasing import check_purchasing
from matcher.check.replan import Previous, check_against_previous
from matcher.check.routing import check_routing
from matcher.check.sharing import check_sharing
from matcher.domain.consistency import Issue
from matcher.domain.events import Disruption, OrderCancelled, load_disruption
from matcher.domain.instance import Instance
from matcher.domain.plan import CostBreakdown, Plan, SolveStatus
from matcher.domain.replanning import prepare
from matcher.domain.validation import format_loc, load_instance

_NO_SOLUTION = (SolveStatus.INFEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.UNKNOWN)


def check_plan(instance: Instance, plan: Plan) -> CheckReport:
    """Verify ``plan`` against ``instance`` under the rules of docs/model.md.

    When the plan has a purchasing section it is verified under docs/purchasing.md
    too, and ``costs.purchasing`` is the collective cost recomputed from it. When it
    has a routes section, that is verified under docs/routing.md (and its legs through
    hubs, line-haul and hubs' use under docs/logistics.md), and then
    ``costs.transport`` is the fleet's route costs plus the carrier's price of every
    load the fleet does not carry, plus the line-haul and the hubs' handling of the
    legs it carries, and ``costs.purchasing`` the materials alone.
    Orders split by operation are checked stage part by stage part, with their
    transfers (``plan.transfers``), whose per-unit estimates ``costs.transport`` adds
    with or without routes. The material rule (docs/model.md, "Materials": no
    production before its purchased materials can arrive) is checked for every plan,
    with or without a purchasing section.

    Parameters
    ----------
    instance
        The validated instance the plan claims to solve.
    plan
        The plan to verify; its weights are the ones the objective is recomputed with.

    Returns
    -------
    CheckReport
        Every violation found (empty when the plan is valid), warnings that do not
        make a plan invalid (an unserved mandatory order), and the costs recomputed
        from the instance and the plan's quantities alone.

    Notes
    -----
    The fairness options the plan echoes (``fairness_options``, docs/fairness.md) are
    the ones in effect, as its weights are: their share cap and hard minimums are
    verified, and ``costs.fairness`` and ``costs.load_balance`` recomputed into the
    objective; options other than the instance's are a solve override, which a
    warning names.

    A capacity-sharing section is verified too (docs/sharing.md), a constraint
    report's figures and references (docs/explain.md), and the fairness report's
    figures, blocking pairs and the plan's side of the price of fairness
    (docs/fairness-report.md). Without the previous
    plan, ``costs.moved_units`` cannot be recomputed: it enters the objective
    (``weights.stability`` per unit) as the plan states it, with a warning when it is
    not zero; :func:`check_replan` verifies it.
    """
    return _check(instance, plan, None)


def check_replan(
    instance: Instance, previous: Plan, disruption: Disruption, plan: Plan
) -> CheckReport:
    """Verify the re-plan ``plan`` of ``previous`` after ``disruption`` (docs/sharing.md).

    The plan is checked as by :func:`check_plan` against the instance after the events
    (with the split policy of orders whose frozen work the events released relaxed, as
    :func:`matcher.domain.replanning.prepare` derives it; that data preparation is shared on
    purpose, the rest is verified from the plans alone). On top of that:

    - the fixed work (made before ``now_period``, or frozen) is made, at least, at the
      same factory in the same periods, and nothing else before ``now_period``; an
      unserved order that loses fixed work is a warning, and must be listed in
      ``replan.conflicts``;
    - an order the events cancel appears nowhere, an order they add appears;
    - ``costs.moved_units`` is recomputed: the units of each previous part (at most the
      order's new quantity) no longer made at its factory; the objective counts
      ``weights.stability`` per unit: the weight the plan states, which
      ``replan.stability_cents_per_unit`` must repeat. Events that name another
      ``stability`` are no violation (a caller may override them, as ``matcher replan
      --stability`` does): a warning says which weight the plan used;
    - the ``replan`` report: its moves reconcile the previous and the new units per
      order and factory, and its figures and lists agree with both plans.

    Parameters
    ----------
    instance
        The instance ``previous`` was made for, before the events.
    previous
        The plan before the events.
    disruption
        The events, ``now_period`` and the frozen work.
    plan
        The re-plan to verify.

    Returns
    -------
    CheckReport
        As :func:`check_plan`, ``recomputed.moved_units`` included.

    Raises
    ------
    matcher.domain.validation.InvalidInstanceError
        When ``previous`` does not belong to ``instance`` or the events contradict the
        work already done (as :func:`matcher.domain.replanning.prepare`).
    """
    setup = prepare(instance, previous, disruption)
    return _check(setup.instance, plan, Previous(instance, previous, disruption, setup))


def _check(instance: Instance, plan: Plan, previous: Previous | None) -> CheckReport:
    if plan.status in _NO_SOLUTION and not plan.allocations and not plan.unassigned:
        # A failed solve returns an empty plan by design; nothing in it to verify.
        return CheckReport(
            violations=[],
            warnings=[f"plan has status {plan.status.value} and no solution; nothing checked"],
            recomputed=CostBreakdown(),
        )
    checker = Checker(instance, plan)
    if plan.instance != instance.name:
        checker.warnings.append(
            f"plan is for instance '{plan.instance}', checked against '{instance.name}'"
        )
    if previous is not None:
        known = {o.id for o in instance.orders}
        checker.cancelled = {
            e.order
            for e in previous.disruption.events
            if isinstance(e, OrderCancelled) and e.order not in known
        }
    checker.check_rows()
    checker.check_parts()
    check_by_operation(checker)
    checker.check_orders()
    checker.check_coverage()
    checker.check_capacity()
    check_fairness(checker)
    check_materials(checker)
    check_purchasing(checker)
    check_routing(checker)
    check_sharing(checker)
    check_constraints(checker)
    check_fairness_report(checker)
    if previous is None:
        checker.claim_moved_units()
    else:
        checker.moved = check_against_previous(checker, previous)
    recomputed = checker.recomputed()
    checker.check_costs(recomputed)
    checker.check_kpis()
    return CheckReport(
        violations=checker.violations, warnings=checker.warnings, recomputed=recomputed
    )


def load_plan(path: str | Path) -> Plan:
    """Read a plan JSON file: the plan format, or the proto3 JSON of a ``matcher.v1.Plan``
    (what a gRPC tool prints, ``json_format.MessageToJson``), read back to the same plan.

    Proto3 JSON is recognised by its ``status`` (``SOLVE_STATUS_OPTIMAL``) or a
    camelCase key at the top; then, model by model, camelCase keys take their field
    names, enum values lose their type's prefix, a ``{"items": [...]}`` list wrapper
    becomes its list, and a required field left out (proto3 JSON omits zeros, empty
    lists and unset ``None``-able fields) is its zero, ``[]``, ``{}`` or ``None``.
    The mapping is the service's (``service/convert.py``), re-derived from the domain
    models alone: the checker does not import the service.

    Raises
    ------
    PlanFormatError
        If the file is missing, not JSON, or not a valid plan; every issue has a path.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanFormatError([Issue("", f"file not found: {p}")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanFormatError([Issue("", f"cannot read {p}: {exc}")]) from None
    try:
        data = json.loads(text)
    except ValueError:
        data = None  # pydantic reports it below, as it always has
    if _is_proto3_json(data):
        text = json.dumps(_from_proto3(Plan, data))
    try:
        return Plan.model_validate_json(text)
    except ValidationError as err:
        # Invalid JSON arrives here too, as one error without a location.
        issues = [
            Issue(format_loc(e["loc"]), e["msg"] if e["loc"] else f"{p}: {e['msg']}")
            for e in err.errors(include_url=False)
        ]
        raise PlanFormatError(issues) from None


_PROTO3_STATUS = "SOLVE_STATUS_"


def _camel(name: str) -> str:
    """The proto3 JSON name of a field (``resource_group`` -> ``resourceGroup``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _enum_prefix(enum: type[StrEnum]) -> str:
    """The proto's prefix of an enum's values (``ReasonCode`` -> ``REASON_CODE_``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.__name__).upper() + "_"


def _is_proto3_json(data: Any) -> bool:
    if not isinstance(data, dict):
        return False
    status = data.get("status")
    if isinstance(status, str) and status.startswith(_PROTO3_STATUS):
        return True
    return any(_camel(name) in data for name in Plan.model_fields if _camel(name) != name)


def _members(annotation: Any) -> tuple[Any, bool]:
    """``annotation`` without ``Annotated`` and ``| None``, and whether it allowed ``None``."""
    nullable = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            nullable = nullable or len(members) < len(get_args(annotation))
            if len(members) != 1:  # a true union: its member cannot be told
                return annotation, nullable
            annotation = members[0]
        else:
            return annotation, nullable


_ZEROS: dict[Any, Any] = {int: 0, float: 0.0, str: "", bool: False}


def _zero(annotation: Any) -> tuple[bool, Any]:
    """Proto3's value of a field it left out, when the domain requires the field:
    ``None`` for a ``None``-able one, else the scalar's zero or an empty list or map.
    A message or an enum left out was unset, and stays missing (as in the service)."""
    bare, nullable = _members(annotation)
    if nullable:
        return True, None
    if get_origin(bare) is list:
        return True, []
    if get_origin(bare) is dict:
        return True, {}
    if bare in _ZEROS:
        return True, _ZEROS[bare]
    return False, None


def _from_proto3(annotation: Any, value: Any) -> Any:
    """``value`` of proto3 JSON in the plan format's form, led by the domain's types."""
    bare, _ = _members(annotation)
    origin = get_origin(bare)
    if isinstance(bare, type) and issubclass(bare, BaseModel) and isinstance(value, dict):
        fields = bare.model_fields
        names = {_camel(name): name for name in fields}
        out: dict[str, Any] = {}
        for key, item in value.items():
            given = str(key)
            field = given if given in fields else names.get(given, given)
            info = fields.get(field)
            out[field] = _from_proto3(info.annotation, item) if info is not None else item
        for field, info in fields.items():
            if field not in out and info.is_required():
                known, zero = _zero(info.annotation)
                if known:
                    out[field] = zero
        return out
    if origin is list:
        if isinstance(value, dict) and set(value) <= {"items"}:  # a list wrapper message
            value = value.get("items", [])
        if isinstance(value, list):
            return [_from_proto3(get_args(bare)[0], item) for item in value]
        return value
    if origin is dict and isinstance(value, dict):
        return {k: _from_proto3(get_args(bare)[1], v) for k, v in value.items()}
    if isinstance(bare, type) and issubclass(bare, StrEnum) and isinstance(value, str):
        name = value.removeprefix(_enum_prefix(bare))
        for member in bare:
            if member.value in (name, name.lower()):
                return member.value
    return value


def check_files(instance_path: str | Path, plan_path: str | Path) -> CheckReport:
    """Load an instance and a plan from JSON files and check one against the other.

    Raises
    ------
    matcher.domain.validation.InvalidInstanceError
        If the instance file is not a valid instance.
    PlanFormatError
        If the plan file is not a valid plan.
    """
    instance = load_instance(instance_path)
    return check_plan(instance, load_plan(plan_path))


def check_replan_files(
    instance_path: str | Path,
    plan_path: str | Path,
    previous_path: str | Path,
    events_path: str | Path,
) -> CheckReport:
    """Load a re-plan, the plan before it, its instance and its events, and check it.

    Raises
    ------
    matcher.domain.validation.InvalidInstanceError
        If the instance or the events file is not valid (or they contradict the
        previous plan).
    PlanFormatError
        If either plan file is not a valid plan.
    """
    instance = load_instance(instance_path)
    plan = load_plan(plan_path)
    previous = load_plan(previous_path)
    disruption = load_disruption(events_path, instance)
    return check_replan(instance, previous, disruption, plan)
