"""A backend's refusal reaches the client as the HTTP answer it means, in the gateway's words.

The admin and triage route tests cover each status through a real service; these pin what they
share: a service's own wording never reaches the client, a conflict is a 409 only where the
service reports conflicts, and the field a service names in its attached Problem is found.
"""

from __future__ import annotations

import logging

import grpc
import pytest
from fastapi.exceptions import RequestValidationError

# googleapis-common-protos ships no type information for its generated modules.
from google.rpc import status_pb2  # type: ignore[import-untyped]
from starlette.exceptions import HTTPException
from voiceassist.common.v1 import problem_pb2
from voiceassist_gateway.handlers.http.api.grpc_refusals import (
    PROBLEM_DETAILS_KEY,
    Backend,
    FieldErrors,
    problem_of,
    refusal,
    request_refused,
)

SERVICE_WORDING = "patient said crushing chest pain since 09:00"


def refused_fields(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
    return request_refused(TRIAGE, location)


TRIAGE = Backend(
    name="triage service", not_found="No assessment has this id.", field_errors=refused_fields
)
ADMIN = Backend(
    name="admin service",
    not_found="No user has this id.",
    field_errors=refused_fields,
    conflicts={grpc.StatusCode.ALREADY_EXISTS: "A user with this e-mail address exists already."},
)


def rpc_error(
    code: grpc.StatusCode, problem: problem_pb2.Problem | None = None
) -> grpc.aio.AioRpcError:
    trailing = grpc.aio.Metadata()
    if problem is not None:
        status = status_pb2.Status(code=code.value[0])
        status.details.add().Pack(problem)
        trailing.add(PROBLEM_DETAILS_KEY, status.SerializeToString())
    return grpc.aio.AioRpcError(
        code, grpc.aio.Metadata(), trailing, details=SERVICE_WORDING, debug_error_string=""
    )


def http_error(backend: Backend, code: grpc.StatusCode) -> HTTPException:
    error = refusal(backend, rpc_error(code), "body")
    assert isinstance(error, HTTPException)
    return error


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (grpc.StatusCode.NOT_FOUND, 404),
        (grpc.StatusCode.PERMISSION_DENIED, 403),
        (grpc.StatusCode.UNAUTHENTICATED, 401),
        (grpc.StatusCode.UNAVAILABLE, 503),
        (grpc.StatusCode.DEADLINE_EXCEEDED, 504),
        (grpc.StatusCode.INTERNAL, 502),
    ],
)
def test_the_service_wording_never_reaches_the_client(code: grpc.StatusCode, status: int) -> None:
    error = http_error(TRIAGE, code)

    assert error.status_code == status
    assert "chest pain" not in error.detail


def test_an_unavailable_service_is_retried_after_a_few_seconds() -> None:
    error = http_error(TRIAGE, grpc.StatusCode.UNAVAILABLE)

    assert error.headers == {"Retry-After": "5"}
    assert error.detail == "The triage service is unavailable; try again shortly."


def test_a_conflict_is_a_409_only_where_the_service_reports_conflicts() -> None:
    assert http_error(ADMIN, grpc.StatusCode.ALREADY_EXISTS).status_code == 409
    assert http_error(TRIAGE, grpc.StatusCode.ALREADY_EXISTS).status_code == 502


def test_an_unexpected_status_is_logged_by_name_without_the_service_wording(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        error = http_error(ADMIN, grpc.StatusCode.DATA_LOSS)

    assert error.detail == "The admin service could not answer; quote the request id."
    [record] = caplog.records
    assert record.getMessage() == "admin service answered DATA_LOSS"
    assert "chest pain" not in caplog.text


def test_the_problem_a_service_attaches_names_the_refused_field() -> None:
    problem = problem_pb2.Problem(code="invalid_argument")
    problem.violations.add(field="evidence[2].evidence_id", description="is not a known evidence")

    found = problem_of(rpc_error(grpc.StatusCode.INVALID_ARGUMENT, problem))

    assert found is not None
    assert [violation.field for violation in found.violations] == ["evidence[2].evidence_id"]
    assert problem_of(rpc_error(grpc.StatusCode.INVALID_ARGUMENT)) is None


def test_a_refusal_naming_no_field_points_at_the_whole_request() -> None:
    error = refusal(TRIAGE, rpc_error(grpc.StatusCode.INVALID_ARGUMENT), "query")

    assert isinstance(error, RequestValidationError)
    assert list(error.errors()) == [
        {
            "loc": ("query",),
            "msg": "the triage service refused the request",
            "type": "invalid_argument",
        }
    ]
