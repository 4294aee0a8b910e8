"""Calling a backend service over gRPC as the caller, and turning its refusals into HTTP answers.

The admin and triage routes both call their service with the caller's access token and a
deadline, and both must answer a refusal as the HTTP error it means: INVALID_ARGUMENT a 422
naming the field at fault, NOT_FOUND a 404, PERMISSION_DENIED a 403, UNAUTHENTICATED a 401,
the conflicts a service can report a 409, UNAVAILABLE a 503 to retry and a missed deadline a
504; anything else a 502 with the request id to quote. The gateway words each answer itself: a
service's wording may describe the failure in its own terms or repeat what a patient typed.

This is that mapping, once. A route module describes its service in a `Backend` (what "not
found" means there, which conflicts it reports, where a refused proto field sits in the REST
request) and calls it through `call_backend`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from fastapi.exceptions import RequestValidationError

# googleapis-common-protos ships no type information for its generated modules.
from google.rpc import status_pb2  # type: ignore[import-untyped]
from starlette.exceptions import HTTPException
from voiceassist.common.v1 import problem_pb2
from voiceassist_common.grpc.principal import bearer_metadata
from voiceassist_common.logging import safe

from voiceassist_gateway.handlers.http.identity import Caller

logger = logging.getLogger(__name__)

PROBLEM_DETAILS_KEY = "grpc-status-details-bin"
"""Trailing metadata in which a service attaches a ``google.rpc.Status`` holding a Problem."""

REQUEST_ID_KEY = "x-request-id"

QUERY_NAMES: Mapping[str, str] = {
    "page.page_size": "page_size",
    "page.page_token": "page_token",
    "window.start_time": "start_time",
    "window.end_time": "end_time",
    "window": "start_time",
}
"""Where the shared request fields (paging, time window) of a proto sit in a REST query."""

FieldErrors = list[dict[str, Any]]
"""Rows of a RequestValidationError: ``loc``, ``msg`` and ``type`` of each refused field."""

Req = TypeVar("Req")
Resp = TypeVar("Resp")


@dataclass(frozen=True, slots=True)
class Backend:
    """A service behind the REST routes, and what the gateway says when it refuses a call."""

    name: str
    """The service in the client's words, e.g. "triage service"."""
    not_found: str
    """The 404 detail: what is missing when the service answers NOT_FOUND."""
    field_errors: Callable[[grpc.aio.AioRpcError, str], FieldErrors]
    """Names the refused fields of an INVALID_ARGUMENT, given where the request put them."""
    conflicts: Mapping[grpc.StatusCode, str] = field(default_factory=dict)
    """The 409 detail for each status this service uses to report a conflict."""
    unavailable: str = ""
    """The 503 detail, when more than the service itself may be down."""
    timeout_seconds: float = 10.0
    """How long a route waits for the service."""


async def call_backend(
    backend: Backend,
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
    message: Req,
    caller: Caller,
    *,
    location: str,
    request_id: str | None = None,
) -> Resp:
    """Call the service as the caller; a refusal becomes the HTTP error to show.

    ``location`` is where a refused field sits in the REST request ("path", "query", "body");
    ``request_id``, when given, goes along so the service's audit records and logs carry it.
    """
    metadata = bearer_metadata(caller.access_token)
    if request_id:
        metadata += ((REQUEST_ID_KEY, request_id),)
    try:
        return await rpc(message, timeout=backend.timeout_seconds, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        raise refusal(backend, error, location) from None


def refusal(backend: Backend, error: grpc.aio.AioRpcError, location: str) -> Exception:
    """Return the HTTP error that answers ``backend``'s refusal, in the gateway's words."""
    code = error.code()
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return RequestValidationError(backend.field_errors(error, location))
    if code is grpc.StatusCode.NOT_FOUND:
        return HTTPException(404, backend.not_found)
    if code is grpc.StatusCode.PERMISSION_DENIED:
        return HTTPException(403, "Your role does not allow this.")
    if code is grpc.StatusCode.UNAUTHENTICATED:
        return HTTPException(401, f"The {backend.name} did not accept your sign-in.")
    if code in backend.conflicts:
        return HTTPException(409, backend.conflicts[code])
    if code is grpc.StatusCode.UNAVAILABLE:
        return HTTPException(
            503,
            backend.unavailable or f"The {backend.name} is unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        )
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return HTTPException(504, f"The {backend.name} did not answer in time.")
    # The service's wording may describe the failure in its own terms; the client gets the
    # request id to quote, the log gets the status.
    logger.warning("%s answered %s", safe(backend.name), safe(code.name))
    return HTTPException(502, f"The {backend.name} could not answer; quote the request id.")


def problem_of(error: grpc.aio.AioRpcError) -> problem_pb2.Problem | None:
    """Return the Problem a service attached to its refusal, if it attached one."""
    metadata: Any = error.trailing_metadata() or ()
    for key, value in metadata:
        if key != PROBLEM_DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            problem = problem_pb2.Problem()
            if detail.Unpack(problem):
                return problem
    return None


def request_refused(backend: Backend, location: str) -> FieldErrors:
    """Return the one row to show when a service refused a request naming no field."""
    refused = f"the {backend.name} refused the request"
    return [{"loc": (location,), "msg": refused, "type": "invalid_argument"}]
