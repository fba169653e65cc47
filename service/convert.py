"""Pure conversion between protobuf messages and the domain (no I/O, no gRPC).

The proto messages use the JSON format's field names, so one descriptor-driven
walker maps both ways: a message becomes the dict the JSON format would hold and
goes through :func:`matcher.domain.validation.parse_instance` (every violation reported
with the same path as the CLI's), and a plan's ``model_dump`` becomes a message.
Enum values carry their type's prefix in proto (``SOLVE_STATUS_OPTIMAL``) and not in
the domain (``OPTIMAL``, ``all_units``). Unset fields are left out of the dict so
the domain's defaults apply (see the presence note in the proto).

Two shapes JSON has and proto lacks get one generic rule each: a list that may be
``None`` as well as empty is a message whose only field is ``repeated ... items``
(``BackupList``), and a disruption event's ``type`` is the name of the oneof
member that carries it (``DisruptionEvent.capacity_cut``).

An enum number the proto does not define is a violation with its path (never mapped
to a default), found by one walk over any request message (:func:`enum_issues`).
"""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pydantic import BaseModel, ValidationError

from matcher.app.catalogue import solver_names
from matcher.domain.consistency import Issue, material_need_issues
from matcher.domain.entities import Factory, Material, Order, Process, Supplier
from matcher.domain.events import Disruption, FreezeRef, parse_disruption
from matcher.domain.instance import Instance
from matcher.domain.params import Progress, SolveParams
from matcher.domain.plan import OrderExplanation, Plan, Recommendations
from matcher.domain.validation import (
    InvalidInstanceError,
    order_issues,
    parse_instance,
    plan_instance_issues,
    plan_number_issues,
    pydantic_issues,
    stake_issues,
    stake_of,
)
from service.gen.matcher.v1 import matcher_pb2 as pb

M = TypeVar("M", bound=Message)

STAGES_AVAILABLE = {"assignment", "purchasing", "routing"}
"""Stages whose solver a request may name (the others land with their issues)."""

# Enums whose domain values are lower case. The proto defines those spellings as
# aliases (``all_units = 1``), so that an instance file is proto3 JSON as it is.
_LOWER_CASE_ENUMS = {"matcher.v1.ScheduleType", "matcher.v1.MaterialSourcing"}


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


def _is_list_wrapper(field: FieldDescriptor) -> bool:
    """A message standing for a list that may be absent: its only field is ``items``."""
    if field.message_type is None or field.is_repeated:
        return False
    fields = field.message_type.fields
    return len(fields) == 1 and fields[0].name == "items" and fields[0].is_repeated


def _scalar_to_domain(field: FieldDescriptor, value: Any, empty_lists: bool = False) -> Any:
    if field.enum_type is not None:
        return _enum_to_domain(field.enum_type, value)
    if _is_list_wrapper(field):
        items = value.DESCRIPTOR.fields_by_name["items"]
        return [_scalar_to_domain(items, v, empty_lists) for v in value.items]
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
        return MessageToDict(message)
    if isinstance(message, timestamp_pb2.Timestamp):
        return message.ToDatetime(tzinfo=dt.UTC).isoformat()
    return _fields_to_dict(message, message.DESCRIPTOR.fields, empty_lists)


def _fields_to_dict(
    message: Message, fields: Iterable[FieldDescriptor], empty_lists: bool
) -> dict[str, Any]:
    """:func:`message_to_dict` of some of ``message``'s fields."""
    out: dict[str, Any] = {}
    for field in fields:
        value = getattr(message, field.name)
        if _is_map(field) or field.is_repeated:
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


def enum_issues(message: Message, prefix: str = "") -> list[Issue]:
    """Every enum field of ``message``, at any depth, holding a number its type does not
    define (``price.type = 99``), with its path under ``prefix`` in the JSON format's
    form (``suppliers[0].offers[1].price.type``, map values under their key)."""
    issues: list[Issue] = []

    def visit(msg: Message, path: str) -> None:
        if isinstance(msg, struct_pb2.Struct | timestamp_pb2.Timestamp):
            return
        for field, value in msg.ListFields():
            where = f"{path}.{field.name}" if path else field.name
            if _is_map(field):
                value_field = field.message_type.fields_by_name["value"]
                for key, item in value.items():
                    check(value_field, item, f"{where}.{key}")
            elif field.is_repeated:
                for i, item in enumerate(value):
                    check(field, item, f"{where}[{i}]")
            elif _is_list_wrapper(field):
                for i, item in enumerate(value.items):
                    check(value.DESCRIPTOR.fields_by_name["items"], item, f"{where}[{i}]")
            else:
                check(field, value, where)

    def check(field: FieldDescriptor, value: Any, where: str) -> None:
        enum = field.enum_type
        if enum is not None and value not in enum.values_by_number:
            known = ", ".join(
                v.name
                for v in enum.values
                if v.number != 0 and v.name.startswith(_enum_prefix(enum))  # not the aliases
            )
            issues.append(Issue(where, f"{value} is not a {enum.name}; use one of {known}"))
        elif enum is None and field.message_type is not None:
            visit(value, where)

    visit(message, prefix)
    return issues


def _merged(first: list[Issue], rest: Iterable[Issue]) -> list[Issue]:
    """``first`` and the issues of ``rest`` at other paths (an unknown enum value is
    left out of the dict, so the domain may also call its field missing)."""
    taken = {i.path for i in first}
    return first + [i for i in rest if i.path not in taken]


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
        elif field.is_repeated:
            target = getattr(message, key)
            for i, item in enumerate(value):
                if field.message_type is not None:
                    _fill(target.add(), item, f"{where}[{i}].")
                elif field.enum_type is not None:
                    target.append(_enum_from_domain(field.enum_type, item))
                else:
                    target.append(item)
        elif _is_list_wrapper(field):
            sub = getattr(message, key)
            sub.SetInParent()  # set, even when the list is empty
            _fill(sub, {"items": value}, f"{where}.")
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


def _nullable(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _restore_nones(annotation: Any, value: Any) -> None:
    """Put back, in place, the ``None`` of fields the domain requires but allows to be
    ``None`` (``Move.from_factory``): the dump leaves them out and proto cannot say
    "set to nothing", so an unset field comes back missing."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, dict):
            for name, info in annotation.model_fields.items():
                if name in value:
                    _restore_nones(info.annotation, value[name])
                elif info.is_required() and _nullable(info.annotation):
                    value[name] = None
    elif origin is Annotated:
        _restore_nones(get_args(annotation)[0], value)
    elif origin is list and isinstance(value, list):
        for item in value:
            _restore_nones(get_args(annotation)[0], item)
    elif origin is dict and isinstance(value, dict):
        for item in value.values():
            _restore_nones(get_args(annotation)[1], item)
    elif origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:  # X | None; a true union cannot tell which member it is
            _restore_nones(members[0], value)


def _result_from_proto(model: type[BaseModel], message: Message) -> Any:
    """A domain result (plan, recommendations): every list present, ``None``s back."""
    data = message_to_dict(message, empty_lists=True)
    _restore_nones(model, data)
    return model.model_validate(data)


# --------------------------------------------------------------------- requests


# The instance's lists of entities, converted entry by entry (_instance_by_entity).
_ENTITY_LISTS: dict[str, type[BaseModel]] = {
    "processes": Process,
    "materials": Material,
    "factories": Factory,
    "orders": Order,
    "suppliers": Supplier,
}


def instance_from_proto(message: pb.Instance) -> Instance:
    """The validated domain instance; raises ``InvalidInstanceError`` listing every
    violation with its path."""
    enums = enum_issues(message)
    if not enums and (instance := _instance_by_entity(message)) is not None:
        return instance
    try:
        instance = parse_instance(message_to_dict(message))
    except InvalidInstanceError as err:
        raise InvalidInstanceError(_merged(enums, err.issues)) from None
    if enums:
        raise InvalidInstanceError(enums)
    return instance


def _instance_by_entity(message: pb.Instance) -> Instance | None:
    """The instance, each entity validated from its own small dict, or ``None`` at
    the first violation (the whole-request conversion then reports every one).

    The JSON-form dict of a whole request costs about as much memory as the domain
    instance it becomes (docs/service.md, "Memory"); built one entity at a time, it
    never exists whole, so a valid request's peak is the instance and the message.
    """
    entity_fields = [f for f in message.DESCRIPTOR.fields if f.name in _ENTITY_LISTS]
    other_fields = [f for f in message.DESCRIPTOR.fields if f.name not in _ENTITY_LISTS]
    data: dict[str, Any] = _fields_to_dict(message, other_fields, empty_lists=False)
    try:
        for field in entity_fields:
            model = _ENTITY_LISTS[field.name]
            entries = [
                model.model_validate(message_to_dict(e)) for e in getattr(message, field.name)
            ]
            if entries:
                data[field.name] = entries
        instance = Instance.model_validate(data)
    except ValidationError:
        return None
    return None if stake_issues(instance) else instance


def instance_to_proto(instance: Instance) -> pb.Instance:
    return dict_to_message(instance.model_dump(mode="json", exclude_none=True), pb.Instance())


def order_from_proto(message: pb.Order, instance: Instance | None = None) -> Order:
    """A validated domain order (a new one: it need not be in ``instance``), checked
    against the instance's processes, materials and horizon when given, and with it
    within the limit on what the instance's plans can cost; raises
    ``InvalidInstanceError`` with paths relative to the order (``operations[0].process``).
    """
    enums = enum_issues(message)
    try:
        order = Order.model_validate(message_to_dict(message))
    except ValidationError as err:
        raise InvalidInstanceError(_merged(enums, pydantic_issues(err))) from None
    issues = list(enums)
    if instance is not None:
        issues += [
            Issue(i.path.removeprefix("."), i.message) for i in order_issues("", order, instance)
        ]
        if not issues:
            issues = _with_order_issues(instance, order)
    if issues:
        raise InvalidInstanceError(issues)
    return order


def _with_order_issues(instance: Instance, order: Order) -> list[Issue]:
    """The limits on what the instance's plans can cost and on material needs, with
    ``order`` added (or in place of the order of its id), at the order's path ``""``."""
    others = [o for o in instance.orders if o.id != order.id]
    combined = instance.model_copy(update={"orders": [*others, order]})
    stake = stake_of(combined)
    own = bool(stake.shares) and stake.shares[0][0] == f"orders[{len(others)}]"
    issues = [] if stake.within_limit else [stake.issue("", here=own)]
    heavy = material_need_issues(
        combined.horizon.periods, enumerate(combined.materials), enumerate(combined.orders)
    )
    return issues + [Issue("", i.message) for i in heavy]


def order_to_proto(order: Order | Mapping[str, Any]) -> pb.Order:
    data = order.model_dump(mode="json", exclude_none=True) if isinstance(order, Order) else order
    return dict_to_message(dict(data), pb.Order())


# ------------------------------------------------------------------ disruptions

_EVENT_ONEOF = "event"


def disruption_to_proto(disruption: Disruption | Mapping[str, Any]) -> pb.Disruption:
    """The message of a disruption, or of its JSON form (unvalidated: the server
    checks it). A bare order id in ``frozen`` becomes ``FreezeRef(order=ID)``."""
    if isinstance(disruption, Disruption):
        data: dict[str, Any] = disruption.model_dump(mode="json", exclude_none=True)
    else:
        data = dict(disruption)
    data["frozen"] = [{"order": f} if isinstance(f, str) else f for f in data.get("frozen", [])]
    events = []
    for event in data.get("events", []):
        fields = dict(event)
        kind = fields.pop("type", None)
        events.append({kind: fields} if kind else {})
    data["events"] = events
    return dict_to_message(data, pb.Disruption())


def _disruption_dict(message: pb.Disruption) -> dict[str, Any]:
    """The JSON form (an event with no oneof member set is ``{}``)."""
    data = message_to_dict(message)
    events = []
    for event in message.events:
        kind = event.WhichOneof(_EVENT_ONEOF)
        events.append({"type": kind, **message_to_dict(getattr(event, kind))} if kind else {})
    if events:
        data["events"] = events
    return data


_DISRUPTION_FIELDS = re.compile(r"^(now_period|stability|frozen|events)(?=$|[.\[])")


def is_disruption_path(path: str) -> bool:
    """Whether a domain path (``events[2].quantity``) is about a disruption."""
    return bool(_DISRUPTION_FIELDS.match(path))


def disruption_issues(message: pb.Disruption, issues: Iterable[Issue]) -> list[Issue]:
    """Issues of a disruption in its JSON form (``events[2].factory``, as
    :func:`matcher.domain.events.parse_disruption` and the re-plan report them) with their
    paths in ``message`` (``events[2].factory_unavailable.factory``)."""
    kinds = [event.WhichOneof(_EVENT_ONEOF) for event in message.events]
    return [i for i in (_disruption_issue(i, kinds) for i in issues) if i is not None]


def _disruption_issue(issue: Issue, kinds: list[str | None]) -> Issue | None:
    """The domain's path (``events[2].factory``) as a path in the message
    (``events[2].factory_unavailable.factory``); ``None`` drops a pydantic artefact."""
    path = issue.path
    if m := re.match(r"^events\[(\d+)\](.*)$", path):
        index, rest = int(m.group(1)), m.group(2)
        kind = kinds[index] if index < len(kinds) else None
        if kind is None:
            if not rest:
                return Issue(path, "no event set; set one of " + ", ".join(_event_kinds()))
        elif rest and not re.match(rf"^\.{kind}(?=$|[.\[])", rest):
            path = f"events[{index}].{kind}{rest}"
    elif m := re.match(r"^frozen\[(\d+)\]\.([^.\[]+)(.*)$", path):
        # refs are sent as FreezeRef dicts: drop the bare-id member's complaints
        member, rest = m.group(2), m.group(3)
        if member == FreezeRef.__name__:
            path = f"frozen[{m.group(1)}]{rest}"
        elif member not in FreezeRef.model_fields:
            return None
    return Issue(path, issue.message)


def _event_kinds() -> list[str]:
    return [f.name for f in pb.DisruptionEvent.DESCRIPTOR.oneofs_by_name[_EVENT_ONEOF].fields]


def disruption_from_proto(message: pb.Disruption, instance: Instance | None) -> Disruption:
    """The validated disruption; raises ``InvalidInstanceError`` with paths in the
    message. Without an instance (it was invalid) only the fields are checked."""
    data = _disruption_dict(message)
    enums = enum_issues(message)
    try:
        if instance is None:
            try:
                disruption = Disruption.model_validate(data)
            except ValidationError as err:
                raise InvalidInstanceError(pydantic_issues(err)) from None
        else:
            disruption = parse_disruption(data, instance)
    except InvalidInstanceError as err:
        issues = _merged(enums, disruption_issues(message, err.issues))
        raise InvalidInstanceError(issues) from None
    if enums:
        raise InvalidInstanceError(enums)
    return disruption


def params_issues(message: pb.SolveParameters, prefix: str = "params") -> list[Issue]:
    """Problems with the parameters, with their paths (``params.routing_solver``)."""
    issues = enum_issues(message, prefix)
    for stage, names in solver_names().items():
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
    issues = params_issues(message, prefix)
    data = message_to_dict(message)
    for key in ("mode", "scheduling_solver"):
        data.pop(key, None)
    try:
        params = SolveParams.model_validate(data)
    except ValidationError as err:
        raise InvalidParamsError(_merged(issues, pydantic_issues(err, (prefix,)))) from None
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
    """The domain plan; raises pydantic's ``ValidationError`` for a malformed one."""
    plan: Plan = _result_from_proto(Plan, message)
    return plan


def plan_issues(
    message: pb.Plan, prefix: str, instance: Instance | None = None
) -> tuple[Plan | None, list[Issue]]:
    """A plan sent by a client, or its problems with their paths (``previous.status``):
    unknown enum values, numbers that are not finite or out of range, and, given the
    instance it was made for, references the instance does not hold
    (``previous.allocations[3].resource_group``)."""
    enums = enum_issues(message, prefix)
    try:
        plan = plan_from_proto(message)
    except ValidationError as err:
        return None, _merged(enums, pydantic_issues(err, (prefix,)))
    issues = enums + plan_number_issues(plan, prefix)
    if instance is not None:
        issues += plan_instance_issues(plan, instance, prefix)
    return (None, issues) if issues else (plan, [])


def recommendations_to_proto(recommendations: Recommendations) -> pb.Recommendations:
    return dict_to_message(
        recommendations.model_dump(mode="json", exclude_none=True), pb.Recommendations()
    )


def recommendations_from_proto(message: pb.Recommendations) -> Recommendations:
    result: Recommendations = _result_from_proto(Recommendations, message)
    return result


def explanation_to_proto(explanation: OrderExplanation) -> pb.OrderExplanation:
    return dict_to_message(
        explanation.model_dump(mode="json", exclude_none=True), pb.OrderExplanation()
    )


def explanation_from_proto(message: pb.OrderExplanation) -> OrderExplanation:
    result: OrderExplanation = _result_from_proto(OrderExplanation, message)
    return result


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
