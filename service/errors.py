"""gRPC error statuses with ``google.rpc`` details (the only place that builds them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from matcher.domain.consistency import Issue

MAX_LISTED = 20  # violations spelled out in the status message (all are in the detail)


def bad_request_status(issues: Sequence[Issue]) -> grpc.Status:
    """``INVALID_ARGUMENT`` carrying a ``BadRequest`` with one violation per issue (paths
    in the request: ``instance.orders[3].due_period``)."""
    detail = error_details_pb2.BadRequest()
    lines = []
    for issue in issues:
        detail.field_violations.add(field=issue.path, description=issue.message)
        lines.append(str(issue))
    shown = lines[:MAX_LISTED]
    if len(lines) > MAX_LISTED:
        shown.append(f"... and {len(lines) - MAX_LISTED} more (all in the BadRequest detail)")
    message = f"{len(lines)} problem(s) in the request:\n" + "\n".join(shown)
    packed = any_pb2.Any()
    packed.Pack(detail)
    return rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[packed])
    )


def plain_status(code: grpc.StatusCode, message: str) -> grpc.Status:
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=message))


def abort(context: grpc.ServicerContext, status: grpc.Status) -> NoReturn:
    context.abort_with_status(status)
    raise AssertionError("abort_with_status returned")  # it raises; keeps mypy honest


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """The ``(field, description)`` pairs of a ``BadRequest`` detail (client side)."""
    status = rpc_status.from_call(error)
    if status is None:
        return []
    out: list[tuple[str, str]] = []
    for packed in status.details:
        if packed.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            detail = error_details_pb2.BadRequest()
            packed.Unpack(detail)
            out += [(v.field, v.description) for v in detail.field_violations]
    return out
