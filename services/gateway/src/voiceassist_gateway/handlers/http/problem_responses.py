"""Turns every error the HTTP stack can raise into an RFC 9457 problem+json response.

FastAPI and Starlette answer errors in their own shapes (`{"detail": ...}`, plain text for
some). The handlers here replace all of them, so a client sees one shape whatever failed:
routing (404, 405), validation (422, every field at fault, never the input itself, which may
hold patient data), a capability from a later issue (501), or any other HTTP error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from voiceassist_gateway.domain.capabilities import PendingCapabilityError
from voiceassist_gateway.domain.problems import (
    FieldError,
    Problem,
    capability_pending_problem,
    http_problem,
    validation_problem,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Details for errors raised by the framework itself, whose own detail is only the phrase.
_FRAMEWORK_DETAILS: Mapping[int, str] = {
    404: "There is nothing at this path. The API is under /api/v1; see /docs.",
    405: "This path does not accept this method; the Allow header lists those it does.",
}


class ProblemResponse(JSONResponse):
    """A JSON response with the problem+json media type."""

    media_type = PROBLEM_MEDIA_TYPE


def problem_response(problem: Problem, headers: Mapping[str, str] | None = None) -> ProblemResponse:
    """Render ``problem`` with its status, leaving out fields that are not set."""
    return ProblemResponse(
        problem.to_json(),
        status_code=problem.status,
        headers=dict(headers) if headers else None,
    )


def request_id_of(scope: Scope) -> str | None:
    """Return the request id the request-id middleware stored for this request, if any."""
    state: Any = scope.get("state") or {}
    request_id = state.get("request_id") if isinstance(state, dict) else None
    return request_id if isinstance(request_id, str) else None


async def _http_error(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, HTTPException):
        raise exc
    detail: str | None = exc.detail if isinstance(exc.detail, str) else None
    if detail is None or detail == http_problem(exc.status_code).title:
        detail = _FRAMEWORK_DETAILS.get(exc.status_code)
    problem = http_problem(exc.status_code, detail, request_id_of(request.scope))
    return problem_response(problem, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, RequestValidationError):
        raise exc
    errors = [
        FieldError(
            location=list(error.get("loc", ())),
            message=str(error.get("msg", "invalid")),
            kind=str(error.get("type", "invalid")),
        )
        for error in exc.errors()
    ]
    return problem_response(validation_problem(errors, request_id_of(request.scope)))


async def _capability_pending(request: Request, exc: Exception) -> ProblemResponse:
    if not isinstance(exc, PendingCapabilityError):
        raise exc
    return problem_response(
        capability_pending_problem(exc.capability, request_id_of(request.scope))
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer HTTP errors, validation errors and pending capabilities with problem+json."""
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(PendingCapabilityError, _capability_pending)
