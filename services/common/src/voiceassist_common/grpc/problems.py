"""INVALID_ARGUMENT answers that name the field at fault, for the gateway's problem+json.

A refusal of a request field travels as a ``voiceassist.common.v1.Problem`` packed in the
``google.rpc.Status`` of the trailing metadata (``grpc-status-details-bin``), one violation per
field, so the gateway can answer 422 naming the field. Messages name fields and rules, never
values: a value may be what the patient said.

A handler raises `InvalidField`; the `answering` decorator turns it into that status. Other
domain errors (`voiceassist_common.errors`) go on to the server interceptor, which maps them.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.protobuf import any_pb2

# googleapis-common-protos ships no type information for its generated modules.
from google.rpc import status_pb2  # type: ignore[import-untyped]
from voiceassist.common.v1 import problem_pb2

from voiceassist_common.errors import InvalidArgument

__all__ = ["PROBLEM_DETAILS_KEY", "VALIDATION_FAILED", "InvalidField", "answering"]

PROBLEM_DETAILS_KEY = "grpc-status-details-bin"
"""Trailing metadata key of the google.rpc.Status carrying a Problem."""

VALIDATION_FAILED = "urn:voiceassist:problem:validation-failed"

R = TypeVar("R")


class InvalidField(InvalidArgument):
    """A request field the service refuses, with a stable machine code (``<service>.<reason>``)."""

    def __init__(self, field: str, description: str, *, code: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description
        self.code_name = code


def problem_status(error: InvalidField) -> bytes:
    """Serialise the google.rpc.Status with the Problem describing ``error``."""
    problem = problem_pb2.Problem(
        type=VALIDATION_FAILED,
        title="Request validation failed",
        status=422,
        detail=error.message,
        code=error.code_name,
        violations=[problem_pb2.FieldViolation(field=error.field, description=error.description)],
    )
    details = any_pb2.Any()
    details.Pack(problem)
    status = status_pb2.Status(
        code=grpc.StatusCode.INVALID_ARGUMENT.value[0], message=error.message, details=[details]
    )
    return bytes(status.SerializeToString())


def answering(handler: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
    """Refuse an `InvalidField` with INVALID_ARGUMENT and a Problem naming the field."""

    @functools.wraps(handler)
    async def answer(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> R:
        try:
            return await handler(self, request, context)
        except InvalidField as error:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                error.message,
                trailing_metadata=((PROBLEM_DETAILS_KEY, problem_status(error)),),
            )
            raise AssertionError("unreachable: abort() raises") from None  # pragma: no cover

    return answer
