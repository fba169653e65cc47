"""Pure conversion between protobuf messages and the domain (no I/O, no gRPC).

The proto messages use the JSON format's field names, so one descriptor-driven
walker maps both ways: a message becomes the dict the JSON format would hold and
goes through :func:`matcher.validation.parse_instance` (every violation reported
with the same path as the CLI's), and a plan's ``model_dump`` becomes a message.
Enum values carry their type's prefix in proto (``SOLVE_STATUS_OPTIMAL``) and not in
the domain (``OPTIMAL``, ``all_units``). Unset fields are left out of the dict so
the domain's defaults apply (see the presence note in the proto).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypeVar

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from matcher.models import Instance
from matcher.params import Progress, SolveParams
from matcher.result import Plan
from matcher.validation import Issue, parse_instance
from service.gen.matcher.v1 import matcher_pb2 as pb

M = TypeVar("M", bound=Message)

STAGES_AVAILABLE = {"assignment", "purchasing", "routing"}
"""Stages whose solver a request may name (the others land with their issues)."""

_LOWER_CASE_ENUMS = {"matcher.v1.ScheduleType"}  # domain values in lower case


def _enum_prefix(enum: EnumDescriptor) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", enum.name).upper() + "_"


def _enum_to_domain(enum: EnumDescriptor, number: int) -> str | None:
    value = enum.values_by_number.get(number)
    if value is None or number == 0:
        return None  # UNSPECIFIED: the domain default
    name = value.name.removeprefix(_enum_prefix(enum))
    return name.lower() if enum.full_name in _LOWER_CASE_ENUMS else name


def _enum_from_domain(enum: EnumDescriptor, value: str) -> int:
    return enum.values_by_name[_enum_prefix(enum) + str(value).upper()].number


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _scalar_to_domain(field: FieldDescriptor, value: Any, empty_lists: bool = False) -> Any:
    if field.enum_type is not None:
        return _enum_to_domain(field.enum_type, value)
    if field.message_type is not None:
        return message_to_dict(value, empty_lists)
    return value


def message_to_dict(message: Message, empty_lists: bool = False) -> Any:
    """The JSON-format value of ``message``, enums without their prefix.

    Fields with presence (messages, ``optional``) and empty lists, maps and strings
    are left out when unset so that the domain's defaults apply; any other scalar is
    its value (proto3 cannot tell 0 from unset, so 0 is a value). ``empty_lists``
    keeps empty lists and maps as values: a plan's lists are always there, possibly
    empty (no order unassigned).
    """
    if isinstance(message, struct_pb2.Struct):
        from google.protobuf.json_format import MessageToDict

        return MessageToDict(message)
    if isinstance(message, timestamp_pb2.Timestamp):
        return message.ToDatetime(tzinfo=dt.UTC).isoformat()
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if _is_map(field) or field.label == FieldDescriptor.LABEL_REPEATED:
            if not value and not empty_lists:
                continue
            if _is_map(field):
                value_field = field.message_type.fields_by_name["value"]
                out[field.name] = {
                    k: _scalar_to_domain(value_field, v, empty_lists) for k, v in value.items()
                }
            else:
                out[field.name] = [_scalar_to_domain(field, v, empty_lists) for v in value]
        elif field.has_presence:
            if message.HasField(field.name):
                converted = _scalar_to_domain(field, value, empty_lists)
                if converted is not None:
                    out[field.name] = converted
        elif field.enum_type is not None:
            converted = _enum_to_domain(field.enum_type, value)
            if converted is not None:
                out[field.name] = converted
        elif value != "":  # a plain scalar is its value, zero included; "" means unset
            out[field.name] = value
    return out


def _fill(message: Message, data: dict[str, Any], path: str) -> None:
    descriptor = message.DESCRIPTOR
    for key, value in data.items():
        field = descriptor.fields_by_name.get(key)
        if field is None:
            raise KeyError(f"{path}{key}: no such field in {descriptor.full_name}")
        if value is None:
            continue
        where = f"{path}{key}"
        if _is_map(field):
            target = getattr(message, key)
            value_field = field.message_type.fields_by_name["value"]
            for k, v in value.items():
                if value_field.message_type is not None:
                    _fill(target[k], v, f"{where}.{k}.")
                else:
                    target[k] = v
        elif field.label == FieldDescriptor.LABEL_REPEATED:
            target = getattr(message, key)
            for i, item in enumerate(value):
                if field.message_type is not None:
                    _fill(target.add(), item, f"{where}[{i}].")
                elif field.enum_type is not None:
                    target.append(_enum_from_domain(field.enum_type, item))
                else:
                    target.append(item)
        elif field.message_type is not None:
            sub = getattr(message, key)
            if isinstance(sub, struct_pb2.Struct):
                sub.update(value)
            else:
                sub.SetInParent()
                _fill(sub, value, f"{where}.")
        elif field.enum_type is not None:
            setattr(message, key, _enum_from_domain(field.enum_type, value))
        else:
            setattr(message, key, value)


def dict_to_message(data: dict[str, Any], message: M) -> M:
    """Fill ``message`` from a JSON-format dict; an unknown key is a ``KeyError`` (a
    domain field the proto lacks is a bug, caught by the round-trip tests)."""
    _fill(message, data, "")
    return message


# --------------------------------------------------------------------- requests


def instance_from_proto(message: pb.Instance) -> Instance:
    """The validated domain instance; raises ``InvalidInstanceError`` listing every
    violation with its path."""
    return parse_instance(message_to_dict(message))


def instance_to_proto(instance: Instance) -> pb.Instance:
    return dict_to_message(instance.model_dump(mode="json", exclude_none=True), pb.Instance())


def params_issues(message: pb.SolveParameters, prefix: str = "params") -> list[Issue]:
    """Problems with the parameters, with their paths (``params.routing_solver``)."""
    from solvers.assignment.base import available
    from solvers.purchasing.solve import available as purchasing_available
    from solvers.routing.base import available as routing_available

    issues: list[Issue] = []
    for stage, names in (
        ("assignment", available()),
        ("purchasing", purchasing_available()),
        ("routing", routing_available()),
    ):
        name = getattr(message, f"{stage}_solver")
        if name and name not in names:
            issues.append(
                Issue(
                    f"{prefix}.{stage}_solver",
                    f"unknown solver '{name}'; available: " + ", ".join(names),
                )
            )
    for stage in ("scheduling",):
        if getattr(message, f"{stage}_solver") and stage not in STAGES_AVAILABLE:
            issues.append(
                Issue(f"{prefix}.{stage}_solver", f"the {stage} stage is not available yet")
            )
    return issues


def params_from_proto(message: pb.SolveParameters, prefix: str = "params") -> SolveParams:
    """Domain parameters; raises ``InvalidParamsError`` listing every violation."""
    from pydantic import ValidationError

    from matcher.validation import pydantic_issues

    issues = params_issues(message, prefix)
    data = message_to_dict(message)
    for key in ("mode", "scheduling_solver"):
        data.pop(key, None)
    try:
        params = SolveParams.model_validate(data)
    except ValidationError as err:
        raise InvalidParamsError(issues + pydantic_issues(err, (prefix,))) from None
    if issues:
        raise InvalidParamsError(issues)
    return params


class InvalidParamsError(Exception):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} problem(s) in the parameters")
        self.issues = issues


# ---------------------------------------------------------------------- results


def plan_to_proto(plan: Plan) -> pb.Plan:
    return dict_to_message(plan.model_dump(mode="json", exclude_none=True), pb.Plan())


def plan_from_proto(message: pb.Plan) -> Plan:
    data = message_to_dict(message, empty_lists=True)
    data.pop("capacity_sharing", None)  # a stage not in the domain plan yet
    return Plan.model_validate(data)


def progress_to_proto(progress: Progress, improvements: int) -> pb.JobProgress:
    out = pb.JobProgress(
        stage=progress.stage,
        solver=progress.solver,
        elapsed_s=progress.elapsed_s,
        improvements=improvements,
    )
    if progress.objective is not None:
        out.objective = progress.objective
    if progress.best_bound is not None:
        out.best_bound = progress.best_bound
    if progress.gap is not None:
        out.gap = progress.gap
    return out


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts
