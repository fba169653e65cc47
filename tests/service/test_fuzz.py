"""A property-based fuzz of the service boundary (issue "reliability").

Hypothesis takes a valid request (``instances/tiny.json`` or ``instances/lead_time.json``
converted with :func:`service.convert.instance_to_proto`, plus fast ``SolveParameters``)
and mutates it, walking the message descriptors: a scalar anywhere in the request set
to an extreme or odd value (huge and negative integers, NaN, infinities, 1e308, empty,
10 000-character and control-character strings, unknown enum numbers, unknown or
duplicated ids), a field cleared, a list entry dropped or duplicated, a list emptied,
a map key added or dropped. Each mutated request goes to ``Validate`` and to ``Solve``
on a real server on port 0, each call with a timeout. Every answer must be OK,
``INVALID_ARGUMENT`` with at least one field violation on a path in the request, or
``RESOURCE_EXHAUSTED`` / ``DEADLINE_EXCEEDED`` where ``docs/service.md`` says so;
never ``INTERNAL``, ``UNKNOWN`` or a timeout.

The default run sends a few hundred requests; ``-m benchmark_suite`` sends 2 000 more.
Both are derandomized: the same examples every run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from matcher.domain.validation import load_instance
from service.client import MatcherClient
from service.convert import instance_to_proto
from service.errors import field_violations
from service.gen.matcher.v1 import matcher_pb2 as pb
from tests.service.conftest import INSTANCES

CALL_TIMEOUT_S = 30.0  # a call not answered by then is a hang


F = FieldDescriptor

# ---------------------------------------------------------------- odd values

_DOUBLES = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    0.0,
    -0.0,
    -1.0,
    5e-324,
    1e18,
    2.0**63,
]
_INT32 = [2**31 - 1, -(2**31), -1, 0, 10**9]
_INT64 = [2**63 - 1, -(2**63), 2**53 + 1, 2**62, -1, 0, 10**15]
_UINT32 = [2**32 - 1, 0]
_UINT64 = [2**64 - 1, 0]
_STRINGS = [
    "",
    "x" * 10_000,
    "UNKNOWN-ID",
    " ",
    "\x00\x01\n\t",
    "é漢字\U0001f600",
    "'quoted' \"id\" [0].x",
    "-1",
    "NaN",
]
_ENUM_EXTRA = [-1, 7, 99, 2**31 - 1, -(2**31)]

_INT_VALUES = {
    F.TYPE_INT32: _INT32,
    F.TYPE_SINT32: _INT32,
    F.TYPE_SFIXED32: _INT32,
    F.TYPE_INT64: _INT64,
    F.TYPE_SINT64: _INT64,
    F.TYPE_SFIXED64: _INT64,
    F.TYPE_UINT32: _UINT32,
    F.TYPE_FIXED32: _UINT32,
    F.TYPE_UINT64: _UINT64,
    F.TYPE_FIXED64: _UINT64,
}


def _odd_values(field: FieldDescriptor, strings_in_request: list[str]) -> list[Any]:
    """Extreme and odd values a scalar ``field`` can hold on the wire."""
    if field.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return _DOUBLES
    if field.type in _INT_VALUES:
        return _INT_VALUES[field.type]
    if field.type == F.TYPE_BOOL:
        return [True, False]
    if field.type == F.TYPE_ENUM:
        defined = [v.number for v in field.enum_type.values]
        return defined + _ENUM_EXTRA
    if field.type == F.TYPE_STRING:
        return _STRINGS + strings_in_request  # another entity's id: a duplicate or a mix-up
    if field.type == F.TYPE_BYTES:
        return [b"", b"\xff" * 100]
    raise AssertionError(f"unhandled field type {field.type} of {field.full_name}")


# ---------------------------------------------------------------- where to mutate


@dataclass(frozen=True)
class Scalar:
    """A scalar slot: ``parent.field``, ``parent.field[index]`` or ``parent.field[key]``."""

    parent: Message
    field: FieldDescriptor
    slot: int | str | None  # None: a singular field; int: a list index; str: a map key
    path: str

    @property
    def value_field(self) -> FieldDescriptor:
        """The descriptor of the value (a map's ``value`` field for a map slot)."""
        if isinstance(self.slot, str):
            return self.field.message_type.fields_by_name["value"]
        return self.field

    def set(self, value: Any) -> None:
        if self.slot is None:
            setattr(self.parent, self.field.name, value)
        else:
            getattr(self.parent, self.field.name)[self.slot] = value


@dataclass(frozen=True)
class Singular:
    """A singular field that can be cleared (a message, or a scalar)."""

    parent: Message
    field: FieldDescriptor
    path: str


@dataclass(frozen=True)
class Container:
    """A repeated field or a map."""

    parent: Message
    field: FieldDescriptor
    path: str


def _is_map(field: FieldDescriptor) -> bool:
    return (
        field.is_repeated
        and field.type == F.TYPE_MESSAGE
        and field.message_type.GetOptions().map_entry
    )


@dataclass
class Slots:
    scalars: list[Scalar]
    singulars: list[Singular]
    containers: list[Container]
    strings: list[str]


def _walk(message: Message, path: str, out: Slots) -> None:
    for field in message.DESCRIPTOR.fields:
        name = f"{path}.{field.name}"
        if _is_map(field):
            out.containers.append(Container(message, field, name))
            mapping = getattr(message, field.name)
            value_field = field.message_type.fields_by_name["value"]
            for key in sorted(mapping):
                if value_field.type == F.TYPE_MESSAGE:
                    _walk(mapping[key], f"{name}.{key}", out)
                else:
                    out.scalars.append(Scalar(message, field, key, f"{name}.{key}"))
                out.strings.append(str(key))
        elif field.is_repeated:
            out.containers.append(Container(message, field, name))
            items = getattr(message, field.name)
            for i, item in enumerate(items):
                if field.type == F.TYPE_MESSAGE:
                    _walk(item, f"{name}[{i}]", out)
                else:
                    out.scalars.append(Scalar(message, field, i, f"{name}[{i}]"))
                    if field.type == F.TYPE_STRING:
                        out.strings.append(item)
        elif field.type == F.TYPE_MESSAGE:
            out.singulars.append(Singular(message, field, name))
            # an unset sub-message too: setting one of its scalars sets it
            _walk(getattr(message, field.name), name, out)
        else:
            out.scalars.append(Scalar(message, field, None, name))
            out.singulars.append(Singular(message, field, name))
            if field.type == F.TYPE_STRING and getattr(message, field.name):
                out.strings.append(getattr(message, field.name))


def slots(request: pb.SolveRequest) -> Slots:
    out = Slots([], [], [], [])
    _walk(request, "", out)
    return out


# ---------------------------------------------------------------- mutations


@st.composite
def mutation(draw: st.DrawFn, request: pb.SolveRequest) -> str:
    """Draw one mutation of ``request`` and apply it in place; return what it did."""
    found = slots(request)
    kinds = ["scalar", "scalar", "scalar", "clear", "container"]
    kind = draw(st.sampled_from(kinds))
    if kind == "scalar" and found.scalars:
        where = draw(st.sampled_from(found.scalars))
        value = draw(st.sampled_from(_odd_values(where.value_field, sorted(set(found.strings)))))
        where.set(value)
        return f"{where.path} = {_short(value)}"
    if kind == "clear" and found.singulars:
        one = draw(st.sampled_from(found.singulars))
        one.parent.ClearField(one.field.name)
        return f"clear {one.path}"
    containers = [c for c in found.containers if len(getattr(c.parent, c.field.name))]
    if not containers:
        return "nothing"
    box = draw(st.sampled_from(containers))
    items = getattr(box.parent, box.field.name)
    if _is_map(box.field):
        keys = sorted(items)
        key = draw(st.sampled_from(keys))
        action = draw(st.sampled_from(["drop", "unknown key", "empty key", "long key", "clear"]))
        if action == "drop":
            del items[key]
        elif action == "clear":
            items.clear()
        else:
            new = {"unknown key": "UNKNOWN-ID", "empty key": "", "long key": "k" * 10_000}[action]
            value_field = box.field.message_type.fields_by_name["value"]
            if value_field.type == F.TYPE_MESSAGE:
                items[new].CopyFrom(items[key])
            else:
                items[new] = items[key]
        return f"{action} {box.path}.{_short(key)}"
    index = draw(st.integers(0, len(items) - 1))
    action = draw(st.sampled_from(["drop", "duplicate", "duplicate", "clear"]))
    if action == "drop":
        del items[index]
    elif action == "clear":
        del items[:]
    elif box.field.type == F.TYPE_MESSAGE:
        items.add().CopyFrom(items[index])
    else:
        items.append(items[index])
    return f"{action} {box.path}[{index}]"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:30]}... ({len(text)} chars)"


def _base(name: str) -> pb.SolveRequest:
    instance = instance_to_proto(load_instance(INSTANCES / name))
    return pb.SolveRequest(
        instance=instance, params=pb.SolveParameters(time_limit_s=0.5, workers=1, seed=0)
    )


BASES = {name: _base(name).SerializeToString() for name in ("tiny.json", "lead_time.json")}


@st.composite
def mutated_requests(draw: st.DrawFn) -> tuple[pb.SolveRequest, list[str]]:
    name = draw(st.sampled_from(sorted(BASES)))
    request = pb.SolveRequest.FromString(BASES[name])
    done = [name]
    for _ in range(draw(st.integers(1, 3))):
        done.append(draw(mutation(request)))
    return request, done


# ---------------------------------------------------------------- the property

ALLOWED_REFUSALS = {
    # too many orders or list entries, too large a message; a Solve shed by the queue
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}
SOLVE_ONLY_REFUSALS = {
    # a deadline the solve cannot meet, or a stop during compilation before any plan
    grpc.StatusCode.DEADLINE_EXCEEDED,
}


def _check_error(method: str, error: grpc.RpcError, allowed: set[grpc.StatusCode]) -> None:
    code = error.code()
    event(f"{method.split()[0]}: {code.name}")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        violations = field_violations(error)
        paths = [field for field, _ in violations if field]
        assert paths, f"{method}: INVALID_ARGUMENT without a field path: {error.details()!r}"
        for field in paths:
            assert field.startswith(("instance", "params")), (
                f"{method}: violation path {field!r} is not in the request"
            )
        return
    assert code in allowed, f"{method}: {code.name}: {error.details()!r}"


def check_request(client: MatcherClient, request: pb.SolveRequest, what: list[str]) -> None:
    note = " / ".join(what)
    validate = pb.ValidateRequest(instance=request.instance, params=request.params)
    try:
        answer = client.stub.Validate(validate, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as error:
        assert error.code() != grpc.StatusCode.DEADLINE_EXCEEDED, f"Validate hung: {note}"
        _check_error(f"Validate [{note}]", error, ALLOWED_REFUSALS)
    else:
        event("Validate: OK")
        assert answer.valid, note
    start = time.monotonic()
    try:
        solved = client.stub.Solve(request, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as error:
        hung = time.monotonic() - start > CALL_TIMEOUT_S - 1
        assert not (error.code() == grpc.StatusCode.DEADLINE_EXCEEDED and hung), (
            f"Solve hung: {note}"
        )
        _check_error(f"Solve [{note}]", error, ALLOWED_REFUSALS | SOLVE_ONLY_REFUSALS)
    else:
        event("Solve: OK")
        assert solved.validated_only or solved.HasField("plan"), note


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        print_blob=False,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one client for every example is intended
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


@fuzz(300)
@given(case=mutated_requests())
def test_mutated_requests_are_answered_or_refused_with_a_path(
    client: MatcherClient, case: tuple[pb.SolveRequest, list[str]]
) -> None:
    check_request(client, *case)


@pytest.mark.benchmark_suite
@fuzz(2000)
@given(case=mutated_requests())
def test_mutated_requests_at_scale(
    client: MatcherClient, case: tuple[pb.SolveRequest, list[str]]
) -> None:
    check_request(client, *case)


def test_the_mutations_reach_every_kind_of_field() -> None:
    """The walk finds scalars of every type the request uses, clearable fields and lists."""
    found = slots(pb.SolveRequest.FromString(BASES["lead_time.json"]))
    types = {s.field.type for s in found.scalars}
    assert {F.TYPE_DOUBLE, F.TYPE_INT32, F.TYPE_INT64, F.TYPE_STRING, F.TYPE_ENUM} <= types
    assert any(s.path.startswith(".params.") for s in found.scalars)
    assert any(isinstance(s.slot, str) for s in found.scalars)  # map values
    assert len(found.containers) > 5 and len(found.singulars) > 5
