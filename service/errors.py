"""gRPC error statuses with ``google.rpc`` details (the only place that builds them).

An error travels in the call's trailing metadata, which gRPC clients cap (8 KiB by
default in the C core's soft limit and in Java; beyond it the client sees
``RESOURCE_EXHAUSTED`` and loses the detail). So every status built here is bounded,
whatever the request held: a value of the client's echoed back (an id, a name, a
map key in a path) is cut to :data:`MAX_ECHO` characters with its length said; the
status message keeps to :data:`MESSAGE_BUDGET` bytes as sent; a ``BadRequest`` holds
the first violations that fit in :data:`DETAIL_BUDGET` bytes (at most
:data:`MAX_VIOLATIONS`) and then one saying how many more there are. The worst
case, message and detail together as sent, stays under 7 KiB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import NoReturn

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from matcher.domain.consistency import Issue

MAX_ECHO = 100  # characters of a client's value repeated in an error
MAX_FIELD = 300  # characters of a violation's field path
MAX_DESCRIPTION = 400  # characters of a violation's description
MAX_VIOLATIONS = 100  # field violations in one BadRequest (then one saying how many more)
DETAIL_BUDGET = 2560  # bytes of field violations in one BadRequest (serialized)
MAX_LISTED = 20  # violations spelled out in the status message
MESSAGE_BUDGET = 1024  # bytes of a status message as sent (percent-encoded)

# A quoted value, or a run with no separator in it (an id, a map key in a path).
_QUOTED = re.compile(r"'([^']*)'")
_CLIPPED = re.compile(r"(.*)\.\.\. \(\d+ characters\)", re.DOTALL)
_RUN = re.compile(r"[^\s'\".\[\]=,;:()]{" + str(MAX_ECHO + 1) + ",}")


def clip(value: str, limit: int = MAX_ECHO) -> str:
    """``value`` if it is at most ``limit`` characters, else its start, an ellipsis
    and its length: ``xxxx... (10000 characters)``. A value clipped already is kept."""
    if len(value) <= limit:
        return value
    done = _CLIPPED.fullmatch(value)
    if done is not None and len(done.group(1)) <= limit:
        return value
    return f"{value[:limit]}... ({len(value)} characters)"


def bounded(text: str, limit: int) -> str:
    """``text`` with every long value in it clipped (quoted values and runs without
    a separator: ids, map keys in paths), then cut to ``limit`` characters."""
    text = _QUOTED.sub(lambda m: f"'{clip(m.group(1))}'", text)  # linear: no backtracking
    text = _RUN.sub(lambda m: clip(m.group(0)), text)
    return clip(text, limit)


def wire_size(text: str) -> int:
    """Bytes of ``text`` as a ``grpc-message`` header (UTF-8, percent-encoded)."""
    data = text.encode("utf-8", "replace")
    return len(data) + 2 * sum(1 for b in data if b < 0x20 or b > 0x7E or b == 0x25)


def _message(head: str, lines: Sequence[str], more: int) -> str:
    """``head``, then as many of ``lines`` as fit the budget, then how many did not."""
    out = head
    shown = 0
    for line in lines[:MAX_LISTED]:
        candidate = f"{out}\n{line}"
        if wire_size(candidate) > MESSAGE_BUDGET - 80:  # room for the closing line
            break
        out, shown = candidate, shown + 1
    rest = len(lines) - shown + more
    if rest:
        out += f"\n... and {rest} more (see the BadRequest detail)"
    return out


def bad_request_status(issues: Sequence[Issue]) -> grpc.Status:
    """``INVALID_ARGUMENT`` carrying a ``BadRequest`` with one violation per issue (paths
    in the request: ``instance.orders[3].due_period``), as many as the budget allows,
    then one (field ``""``) saying how many more there are. Only the violations sent
    are looked at, so a million issues cost no more than a hundred."""
    detail = error_details_pb2.BadRequest()
    lines: list[str] = []
    used = 0
    for issue in issues[:MAX_VIOLATIONS]:
        field = bounded(issue.path, MAX_FIELD)
        description = bounded(issue.message, MAX_DESCRIPTION)
        violation = error_details_pb2.BadRequest.FieldViolation(
            field=field, description=description
        )
        size = violation.ByteSize() + 3  # the tag and length that frame it
        if used + size > DETAIL_BUDGET and lines:
            break
        detail.field_violations.append(violation)
        lines.append(f"{field}: {description}" if field else description)
        used += size
    more = len(issues) - len(lines)
    if more:
        detail.field_violations.add(
            field="",
            description=f"... and {more} more problem(s) not listed (an error lists at most "
            f"{MAX_VIOLATIONS}, in {DETAIL_BUDGET} bytes); fix these and send the request again",
        )
    head = f"{len(issues)} problem(s) in the request:"
    packed = any_pb2.Any()
    packed.Pack(detail)
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT, message=_message(head, lines, more), details=[packed]
        )
    )


def plain_status(code: grpc.StatusCode, message: str) -> grpc.Status:
    """A status with ``message`` (long values in it clipped, cut to the budget)."""
    text = bounded(message, MESSAGE_BUDGET // 3)
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=text))


def retry_status(code: grpc.StatusCode, message: str, retry_after_s: float) -> grpc.Status:
    """A status with a ``google.rpc.RetryInfo`` saying when to try again."""
    delay = duration_pb2.Duration()
    delay.FromTimedelta(timedelta(seconds=retry_after_s))
    packed = any_pb2.Any()
    packed.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    text = bounded(message, MESSAGE_BUDGET // 3)
    status = status_pb2.Status(code=code.value[0], message=text, details=[packed])
    return rpc_status.to_status(status)


def abort(context: grpc.ServicerContext, status: grpc.Status) -> NoReturn:
    context.abort_with_status(status)
    raise AssertionError("abort_with_status returned")  # it raises; keeps mypy honest


def _status(error: grpc.RpcError) -> status_pb2.Status | None:
    try:
        return rpc_status.from_call(error)
    except ValueError:  # the trailers did not arrive whole (a transport error)
        return None


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The ``(field, description)`` pairs of a ``BadRequest`` detail (client side)."""
    status = _status(error)
    if status is None:
        return []
    out: list[tuple[str, str]] = []
    for packed in status.details:
        if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            detail = error_details_pb2.BadRequest()
            packed.Unpack(detail)
            out += [(v.field, v.description) for v in detail.field_violations]
    return out


def retry_after(error: grpc.RpcError) -> float | None:
    """The delay of a ``RetryInfo`` detail in seconds (client side), if any."""
    status = _status(error)
    if status is None:
        return None
    for packed in status.details:
        if packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            packed.Unpack(info)
            return float(info.retry_delay.ToTimedelta().total_seconds())
    return None
