"""REST face of the triage service (issue #3): parse, diagnose, triage, explain, assessments.

Each route validates its JSON body (triage_models.py), calls ``voiceassist.triage.v1`` and
returns the answer as JSON. The service's refusals become problem+json (grpc_refusals.py):
INVALID_ARGUMENT is a 422 naming the field at fault (from the Problem the service attaches),
NOT_FOUND a 404, UNAVAILABLE a 503 and a missed deadline a 504. Texts from the request are never
repeated in an error: what a patient types is PHI.

Every route needs a signed-in caller (handlers/http/identity.py) whose access token is forwarded
to the triage service, which records a patient's assessments under their own subject and lets
them read only those (another patient's id answers 404, like a missing one). Reads and writes of
assessments are audited here (`triage.assessment.create|read|list`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import grpc
from fastapi import APIRouter, Depends, Query, Request
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.exceptions import HTTPException
from voiceassist.common.v1 import paging_pb2, time_window_pb2
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.events import AuditOutcome, UrgencyLevel

from voiceassist_gateway.adapters.triage import TriageClient
from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.problems import Problem
from voiceassist_gateway.handlers.http.api.grpc_refusals import (
    QUERY_NAMES,
    Backend,
    FieldErrors,
    call_backend,
    problem_of,
    request_refused,
)
from voiceassist_gateway.handlers.http.api.triage_models import (
    Assessment as AssessmentJson,
)
from voiceassist_gateway.handlers.http.api.triage_models import (
    AssessmentList,
    AssessmentResponse,
    DiagnoseRequest,
    DiagnoseResponse,
    ExplainRequest,
    ExplainResponse,
    ParseRequest,
    ParseResponse,
    TriageRequest,
    TriageResponse,
    urgency_to_proto,
)
from voiceassist_gateway.handlers.http.identity import Caller, Require, gatekeeper_of
from voiceassist_gateway.handlers.http.problem_responses import request_id_of

router = APIRouter(prefix="/triage", tags=["triage"])

CALL_TIMEOUT_SECONDS = 10.0
"""How long a route waits for the triage service (a turn normally takes milliseconds)."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "The triage service is unavailable; retry shortly."},
    504: {"model": Problem, "description": "The triage service did not answer in time."},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No assessment has this id."}
}

Req = TypeVar("Req")
Resp = TypeVar("Resp")


def triage_client(request: Request) -> TriageClient:
    """Return the gateway's client of the triage service."""
    client: TriageClient = request.app.state.triage
    return client


Service = Annotated[TriageClient, Depends(triage_client)]
Assessing = Annotated[Caller, Depends(Require(Permission.TRIAGE_ASSESS))]
Reading = Annotated[
    Caller, Depends(Require(Permission.TRIAGE_READ_OWN, Permission.TRIAGE_READ_ANY))
]


async def _audit(
    request: Request,
    caller: Caller,
    action: str,
    resource_id: str,
    outcome: AuditOutcome,
    patient_subject: str | None = None,
) -> None:
    await gatekeeper_of(request).audit.record(
        actor=caller.principal,
        action=action,
        resource_type="triage_assessment",
        resource_id=resource_id,
        outcome=outcome,
        request_id=request_id_of(request.scope),
        patient_subject=patient_subject or None,
    )


@router.post(
    "/parse",
    summary="Free text to evidence",
    response_model=ParseResponse,
    responses=_ERRORS,
)
async def parse(body: ParseRequest, service: Service, caller: Assessing) -> ParseResponse:
    """Turn what the patient said (English or French) into evidence with values and spans.

    Negations ("no fever"), lay terms ("tummy") and numbers ("pain 7 out of 10") are read, and
    age and sex when stated. The text is PHI: it is never logged or stored.
    """
    reply = await _call(service.stub.Parse, body.to_proto(), caller, location="body")
    return ParseResponse.of(reply)


@router.post(
    "/diagnose",
    summary="Next question and ranked conditions",
    response_model=DiagnoseResponse,
    responses=_ERRORS,
)
async def diagnose(body: DiagnoseRequest, service: Service, caller: Assessing) -> DiagnoseResponse:
    """Rank conditions and choose the next question from age, sex and all evidence so far.

    Stateless: send everything known on every turn. Red-flag questions come first when a
    dangerous presentation is plausible; `should_stop` says when to call /triage.
    """
    reply = await _call(service.stub.Diagnose, body.to_proto(), caller, location="body")
    return DiagnoseResponse.of(reply)


@router.post(
    "/triage",
    summary="Urgency level and advice",
    response_model=TriageResponse,
    responses=_ERRORS,
)
async def triage(
    request: Request, body: TriageRequest, service: Service, caller: Assessing
) -> TriageResponse:
    """Decide the urgency: level, red flags that fired, instruction and specialty for booking.

    The outcome is recorded as an assessment (its id comes back to attach to a booking). The two
    emergency levels are never booked: their instruction says to call emergency services now.
    """
    # The service records a patient's triage under their own subject whatever is sent.
    subject = caller.principal.subject
    reply = await _call(service.stub.Triage, body.to_proto(subject), caller, location="body")
    await _audit(
        request,
        caller,
        "triage.assessment.create",
        reply.assessment_id or "unrecorded",
        AuditOutcome.SUCCEEDED,
        subject,
    )
    return TriageResponse.of(reply)


@router.post(
    "/explain",
    summary="Evidence for and against",
    response_model=ExplainResponse,
    responses=_ERRORS,
)
async def explain(body: ExplainRequest, service: Service, caller: Assessing) -> ExplainResponse:
    """Give the evidence for and against each ranked (or each named) condition."""
    reply = await _call(service.stub.Explain, body.to_proto(), caller, location="body")
    return ExplainResponse.of(reply)


@router.get(
    "/assessments/{assessment_id}",
    summary="One recorded assessment",
    response_model=AssessmentResponse,
    responses={**_NOT_FOUND, **_ERRORS},
)
async def read_assessment(
    request: Request, assessment_id: UUID, service: Service, caller: Reading
) -> AssessmentResponse:
    """Return a recorded assessment with the findings a clinician reads, in its language.

    Patients read only their own; another patient's assessment answers 404.
    """
    message = triage_pb2.GetAssessmentRequest(assessment_id=str(assessment_id))
    try:
        reply = await _call(service.stub.GetAssessment, message, caller, location="path")
    except HTTPException as refused:
        if refused.status_code == 404:
            # A miss may be a probe for someone else's id: it is worth a record.
            await _audit(
                request, caller, "triage.assessment.read", str(assessment_id), AuditOutcome.FAILED
            )
        raise
    await _audit(
        request,
        caller,
        "triage.assessment.read",
        str(assessment_id),
        AuditOutcome.SUCCEEDED,
        reply.assessment.patient_subject,
    )
    return AssessmentResponse(
        assessment=AssessmentJson.of(reply.assessment), disclaimer=reply.disclaimer
    )


@router.get(
    "/assessments",
    summary="Recorded assessments",
    response_model=AssessmentList,
    responses=_ERRORS,
)
async def list_assessments(
    request: Request,
    service: Service,
    caller: Reading,
    patient_subject: Annotated[
        str | None, Query(max_length=256, description="Only this patient's assessments.")
    ] = None,
    start_time: Annotated[
        datetime | None, Query(description="Recorded at or after (RFC 3339; UTC if no offset).")
    ] = None,
    end_time: Annotated[datetime | None, Query(description="Recorded before.")] = None,
    level: Annotated[
        list[UrgencyLevel] | None, Query(description="Only these levels (repeat the parameter).")
    ] = None,
    page_size: Annotated[int, Query(ge=0, le=500, description="0: the default (50).")] = 0,
    page_token: Annotated[str, Query(max_length=2048)] = "",
) -> AssessmentList:
    """List recorded assessments, newest first, filtered and paged (patients: their own)."""
    message = triage_pb2.ListAssessmentsRequest(
        patient_subject=patient_subject or "",
        levels=[urgency_to_proto(item) for item in level or ()],
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    if start_time is not None or end_time is not None:
        window = time_window_pb2.TimeWindow()
        if start_time is not None:
            window.start_time.CopyFrom(_timestamp(start_time))
        if end_time is not None:
            window.end_time.CopyFrom(_timestamp(end_time))
        message.window.CopyFrom(window)
    reply = await _call(service.stub.ListAssessments, message, caller, location="query")
    await _audit(
        request,
        caller,
        "triage.assessment.list",
        "list",
        AuditOutcome.SUCCEEDED,
        patient_subject,
    )
    return AssessmentList(
        assessments=[AssessmentJson.of(item) for item in reply.assessments],
        next_page_token=reply.page_info.next_page_token or None,
        total_size=(reply.page_info.total_size if reply.page_info.HasField("total_size") else None),
    )


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp


async def _call(
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], message: Req, caller: Caller, *, location: str
) -> Resp:
    """Call the triage service as the caller; a refusal becomes the HTTP error to show."""
    return await call_backend(_TRIAGE, rpc, message, caller, location=location)


def _violations(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
    problem = problem_of(error)
    if problem is None or not problem.violations:
        return request_refused(_TRIAGE, location)
    return [
        {
            "loc": (location, *_rest_path(violation.field, location)),
            "msg": violation.description,
            "type": problem.code or "invalid_argument",
        }
        for violation in problem.violations
    ]


_SEGMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?")


def _rest_path(field: str, location: str) -> list[str | int]:
    """Turn a proto field path ("evidence[2].evidence_id") into its JSON location."""
    if location == "query":
        field = QUERY_NAMES.get(field, field)
        if field.startswith("levels["):
            field = "level" + field.removeprefix("levels")
    path: list[str | int] = []
    for segment in field.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            path.append(segment)
            continue
        path.append(match["name"])
        if match["index"] is not None:
            path.append(int(match["index"]))
    # An evidence is {"id": ...} in JSON, {evidence_id: ...} in the proto.
    if len(path) == 3 and path[0] == "evidence" and path[2] == "evidence_id":
        path[2] = "id"
    return path


_TRIAGE = Backend(
    name="triage service",
    not_found="No assessment has this id.",
    field_errors=_violations,
    timeout_seconds=CALL_TIMEOUT_SECONDS,
)
