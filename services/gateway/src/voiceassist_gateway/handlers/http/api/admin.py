"""REST face of the admin service: users and audit (issue #4), clinic and analytics (#7).

The user and audit routes validate their JSON (admin_models.py), call
``voiceassist.admin.v1.AdminService`` as the caller (their access token and the request id go
along as gRPC metadata) and return the answer as JSON. The admin service checks again that the
caller is an admin, performs the change at the identity provider (the built-in auth service or
Keycloak) and audits every change, read and check of the trail itself, so these routes do not
record a second copy.

Its refusals become problem+json (grpc_refusals.py): INVALID_ARGUMENT is a 422 naming the
field at fault, NOT_FOUND a 404, PERMISSION_DENIED a 403, UNAUTHENTICATED a 401,
FAILED_PRECONDITION and ALREADY_EXISTS a 409, UNAVAILABLE a 503 and a missed deadline a 504.
The service's own wording is not repeated: the gateway words each answer itself.

The practitioner routes manage the clinic through the scheduling service
(``voiceassist.scheduling.v1``), which checks again that the caller is an admin. The analytics
routes read the admin service's summaries (GetTriageSummary, GetBookingConversion,
GetVoiceLatency) over a period given as ``start``/``end`` (RFC 3339; by default the last 30
days, at most 366), as JSON shaped for the web client (analytics_models.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from uuid import UUID

import grpc
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.admin.v1 import admin_pb2
from voiceassist.common.v1 import paging_pb2, time_window_pb2
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist_common.clinical import Specialty
from voiceassist_common.tokens import Role

from voiceassist_gateway.adapters.admin import AdminClient
from voiceassist_gateway.adapters.scheduling import SchedulingClient
from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.problems import Problem
from voiceassist_gateway.handlers.http.api.admin_models import AuditEvent as AuditEventJson
from voiceassist_gateway.handlers.http.api.admin_models import (
    AuditEventList,
    ChainVerification,
    Invitation,
    RoleChange,
    UserList,
    UserResponse,
    roles_to_proto,
)
from voiceassist_gateway.handlers.http.api.admin_models import User as UserJson
from voiceassist_gateway.handlers.http.api.analytics_models import (
    BookingAnalytics,
    TriageAnalytics,
    VoiceAnalytics,
)
from voiceassist_gateway.handlers.http.api.grpc_refusals import (
    QUERY_NAMES,
    Backend,
    FieldErrors,
    call_backend,
    problem_of,
    request_refused,
)
from voiceassist_gateway.handlers.http.api.scheduling import call_scheduling, scheduling_client
from voiceassist_gateway.handlers.http.api.scheduling_models import (
    AddedException,
    AvailabilityRule,
    ClinicPractitioner,
    ClinicPractitionerList,
    ClinicPractitionerResponse,
    LanguageTag,
    NewAvailabilityException,
    NewPractitioner,
    WeeklyAvailability,
    language_to_proto,
    specialty_to_proto,
)
from voiceassist_gateway.handlers.http.api.scheduling_models import (
    AvailabilityException as AvailabilityExceptionJson,
)
from voiceassist_gateway.handlers.http.identity import Caller, Require
from voiceassist_gateway.handlers.http.problem_responses import request_id_of

router = APIRouter(prefix="/admin", tags=["admin"])

CALL_TIMEOUT_SECONDS = 10.0
"""How long a route waits for the admin service (an invitation sends mail; allow for it)."""

Req = TypeVar("Req")
Resp = TypeVar("Resp")

_ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "The admin service is unavailable; retry shortly."},
    504: {"model": Problem, "description": "The admin service did not answer in time."},
}
_NO_USER: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No user has this id."},
    409: {"model": Problem, "description": "The identity provider cannot make this change now."},
}
_SCHEDULING_ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "The scheduling service is unavailable; retry."},
    504: {"model": Problem, "description": "The scheduling service did not answer in time."},
}
_NO_PRACTITIONER: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No practitioner has this id."},
}
_ANALYTICS_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "The period is not valid (end before start, too long)."},
    **_ERRORS,
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "A user has this address, or invitations are off."},
}

# What the gateway says about a request field the admin service refused, by proto field
# (the service names the field first in its refusal; its wording is not passed on).
_FIELD_MESSAGES: Mapping[str, str] = {
    "email": "must be an e-mail address",
    "roles": "holds an unknown or unspecified role",
    "user_id": "is not a user id",
    "page.page_token": "is not valid for these filters; start again from the first page",
    "page_token": "is not valid for these filters; start again from the first page",
    "window.end_time": "must be after start",
}
# Where a proto field sits in the REST request, when the names differ.
_REST_NAMES: Mapping[str, str] = {**QUERY_NAMES, "roles": "role"}


def admin_client(request: Request) -> AdminClient:
    """Return the gateway's client of the admin service."""
    client: AdminClient = request.app.state.admin
    return client


Service = Annotated[AdminClient, Depends(admin_client)]
SchedulingService = Annotated[SchedulingClient, Depends(scheduling_client)]
ClinicAdministrator = Annotated[Caller, Depends(Require(Permission.ADMIN_CLINIC))]
UserAdministrator = Annotated[Caller, Depends(Require(Permission.ADMIN_USERS))]
Auditor = Annotated[Caller, Depends(Require(Permission.ADMIN_AUDIT))]
PeriodStart = Annotated[
    datetime | None,
    Query(description="First instant of the period (RFC 3339); default: 30 days before end."),
]
PeriodEnd = Annotated[
    datetime | None, Query(description="First instant after the period (RFC 3339); default: now.")
]
DEFAULT_PERIOD = timedelta(days=30)
MAX_PERIOD = timedelta(days=366)
PageSize = Annotated[int, Query(ge=0, le=500, description="0: the service's default (50).")]
PageToken = Annotated[str, Query(max_length=2048, description="next_page_token of a page.")]


@router.get(
    "/users",
    summary="List users",
    response_model=UserList,
    responses=_ERRORS,
)
async def list_users(
    request: Request,
    service: Service,
    caller: UserAdministrator,
    role: Annotated[
        list[Role] | None, Query(description="Only users holding any of these (repeat it).")
    ] = None,
    query: Annotated[
        str, Query(max_length=254, description="Case-insensitive prefix of e-mail or name.")
    ] = "",
    enabled: Annotated[
        bool | None, Query(description="Only enabled (true) or disabled (false) users.")
    ] = None,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> UserList:
    """List users with their roles, MFA state and whether they are disabled, by e-mail."""
    message = admin_pb2.ListUsersRequest(
        roles=roles_to_proto(role or []),
        query=query,
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    if enabled is not None:
        message.enabled = enabled
    reply = await _call(request, service.stub.ListUsers, message, caller, location="query")
    return UserList(
        users=[UserJson.of(user) for user in reply.users],
        next_page_token=reply.page_info.next_page_token or None,
        total_size=reply.page_info.total_size if reply.page_info.HasField("total_size") else None,
    )


@router.post(
    "/users/invitations",
    summary="Invite a user",
    status_code=201,
    response_model=UserResponse,
    responses={**_CONFLICT, **_ERRORS},
)
async def invite_user(
    request: Request, body: Invitation, service: Service, caller: UserAdministrator
) -> UserResponse:
    """Invite a clinician, admin or patient by e-mail, with their roles; audited.

    The identity provider creates the account and e-mails the invitation; clinicians and
    admins enrol MFA at their first sign-in. An address already in use answers 409.
    """
    reply = await _call(request, service.stub.InviteUser, body.to_proto(), caller, location="body")
    return UserResponse(user=UserJson.of(reply.user))


@router.put(
    "/users/{user_id}/roles",
    summary="Change roles",
    response_model=UserResponse,
    responses={**_NO_USER, **_ERRORS},
)
async def change_roles(
    request: Request, user_id: UUID, body: RoleChange, service: Service, caller: UserAdministrator
) -> UserResponse:
    """Replace a user's roles (patient, clinician, admin) with the given set; audited."""
    message = admin_pb2.SetUserRolesRequest(user_id=str(user_id), roles=roles_to_proto(body.roles))
    reply = await _call(request, service.stub.SetUserRoles, message, caller, location="body")
    return UserResponse(user=UserJson.of(reply.user))


@router.post(
    "/users/{user_id}/disable",
    summary="Disable a user",
    response_model=UserResponse,
    responses={**_NO_USER, **_ERRORS},
)
async def disable_user(
    request: Request, user_id: UUID, service: Service, caller: UserAdministrator
) -> UserResponse:
    """Disable a user: they can no longer sign in or refresh their sessions; audited."""
    return await _set_enabled(request, user_id, False, service, caller)


@router.post(
    "/users/{user_id}/enable",
    summary="Enable a user",
    response_model=UserResponse,
    responses={**_NO_USER, **_ERRORS},
)
async def enable_user(
    request: Request, user_id: UUID, service: Service, caller: UserAdministrator
) -> UserResponse:
    """Let a disabled user sign in again; audited."""
    return await _set_enabled(request, user_id, True, service, caller)


async def _set_enabled(
    request: Request, user_id: UUID, enabled: bool, service: AdminClient, caller: Caller
) -> UserResponse:
    message = admin_pb2.SetUserEnabledRequest(user_id=str(user_id), enabled=enabled)
    reply = await _call(request, service.stub.SetUserEnabled, message, caller, location="path")
    return UserResponse(user=UserJson.of(reply.user))


@router.post(
    "/users/{user_id}/mfa/reset",
    summary="Reset MFA",
    response_model=UserResponse,
    responses={**_NO_USER, **_ERRORS},
)
async def reset_mfa(
    request: Request, user_id: UUID, service: Service, caller: UserAdministrator
) -> UserResponse:
    """Remove a user's MFA enrolment so they enrol again at next sign-in; audited."""
    message = admin_pb2.ResetUserMfaRequest(user_id=str(user_id))
    reply = await _call(request, service.stub.ResetUserMfa, message, caller, location="path")
    return UserResponse(user=UserJson.of(reply.user))


@router.get(
    "/audit",
    summary="Audit log",
    response_model=AuditEventList,
    responses=_ERRORS,
)
async def list_audit_events(
    request: Request,
    service: Service,
    caller: Auditor,
    start_time: Annotated[
        datetime | None, Query(description="Happened at or after (RFC 3339; UTC if no offset).")
    ] = None,
    end_time: Annotated[datetime | None, Query(description="Happened before.")] = None,
    actor_subject: Annotated[str, Query(max_length=256, description="Only by this actor.")] = "",
    object_type: Annotated[
        str, Query(max_length=128, description='Only on this object type, e.g. "user".')
    ] = "",
    object_id: Annotated[str, Query(max_length=256, description="Only on this object.")] = "",
    action: Annotated[
        str, Query(max_length=128, description='Only this action, e.g. "auth.role_changed".')
    ] = "",
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> AuditEventList:
    """List audit events, newest first: who, role, action, object, outcome, time, request id."""
    message = admin_pb2.ListAuditEventsRequest(
        actor_subject=actor_subject,
        object_type=object_type,
        object_id=object_id,
        action=action,
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    if start_time is not None:
        message.window.start_time.CopyFrom(_timestamp(start_time))
    if end_time is not None:
        message.window.end_time.CopyFrom(_timestamp(end_time))
    reply = await _call(request, service.stub.ListAuditEvents, message, caller, location="query")
    return AuditEventList(
        events=[AuditEventJson.of(event) for event in reply.events],
        next_page_token=reply.page_info.next_page_token or None,
        total_size=reply.page_info.total_size if reply.page_info.HasField("total_size") else None,
    )


@router.get(
    "/audit/verify",
    summary="Verify the audit chain",
    response_model=ChainVerification,
    responses=_ERRORS,
)
async def verify_audit_chain(
    request: Request, service: Service, caller: Auditor
) -> ChainVerification:
    """Recompute the hash chain of the audit log; names the first broken row if any.

    Each row carries the hash of the one before it, so editing, deleting or inserting a row
    anywhere breaks the chain from there on; the answer is 200 either way, with `intact`.
    """
    message = admin_pb2.VerifyAuditChainRequest()
    reply = await _call(request, service.stub.VerifyAuditChain, message, caller, location="query")
    return ChainVerification.of(reply)


@router.get(
    "/practitioners",
    summary="List practitioners",
    response_model=ClinicPractitionerList,
    responses=_SCHEDULING_ERRORS,
)
async def list_practitioners(
    request: Request,
    scheduling: SchedulingService,
    caller: ClinicAdministrator,
    specialty: Annotated[Specialty | None, Query(description="Only this specialty.")] = None,
    language: Annotated[
        LanguageTag | None, Query(description="Only those consulting in it.")
    ] = None,
    city: Annotated[str, Query(max_length=100, description="Only practices in it.")] = "",
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> ClinicPractitionerList:
    """List practitioners with specialties, languages, practice and whether they are active."""
    message = scheduling_pb2.ListPractitionersRequest(
        specialty=specialty_to_proto(specialty),
        language=language_to_proto(language),
        city=city,
        include_inactive=True,
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    rpc = scheduling.stub.ListPractitioners
    reply = await call_scheduling(request, rpc, message, caller, location="query")
    return ClinicPractitionerList(
        practitioners=[ClinicPractitioner.of(item) for item in reply.practitioners],
        next_page_token=reply.page_info.next_page_token or None,
    )


@router.post(
    "/practitioners",
    summary="Add a practitioner",
    status_code=201,
    response_model=ClinicPractitionerResponse,
    responses=_SCHEDULING_ERRORS,
)
async def add_practitioner(
    request: Request,
    body: NewPractitioner,
    scheduling: SchedulingService,
    caller: ClinicAdministrator,
) -> ClinicPractitionerResponse:
    """Add a practitioner; their slots are offered to patients once availability is set."""
    rpc = scheduling.stub.CreatePractitioner
    reply = await call_scheduling(request, rpc, body.to_proto(), caller, location="body")
    return ClinicPractitionerResponse(practitioner=ClinicPractitioner.of(reply.practitioner))


@router.put(
    "/practitioners/{practitioner_id}/availability",
    summary="Set weekly availability",
    response_model=WeeklyAvailability,
    responses={**_NO_PRACTITIONER, **_SCHEDULING_ERRORS},
)
async def set_availability(
    request: Request,
    practitioner_id: UUID,
    body: WeeklyAvailability,
    scheduling: SchedulingService,
    caller: ClinicAdministrator,
) -> WeeklyAvailability:
    """Replace a practitioner's recurring weekly availability; booked appointments stay."""
    message = scheduling_pb2.SetWeeklyAvailabilityRequest(
        practitioner_id=str(practitioner_id), rules=[rule.to_proto() for rule in body.rules]
    )
    rpc = scheduling.stub.SetWeeklyAvailability
    reply = await call_scheduling(request, rpc, message, caller, location="body")
    return WeeklyAvailability(rules=[AvailabilityRule.of(rule) for rule in reply.rules])


@router.post(
    "/practitioners/{practitioner_id}/exceptions",
    summary="Add an availability exception",
    status_code=201,
    response_model=AddedException,
    responses={**_NO_PRACTITIONER, **_SCHEDULING_ERRORS},
)
async def add_exception(
    request: Request,
    practitioner_id: UUID,
    body: NewAvailabilityException,
    scheduling: SchedulingService,
    caller: ClinicAdministrator,
) -> AddedException:
    """Add a holiday or leave during which the practitioner offers no slots.

    Appointments already booked inside it are not cancelled: their ids come back in
    `conflicting_appointment_ids` for staff to move or cancel.
    """
    rpc = scheduling.stub.AddAvailabilityException
    message = body.to_proto(practitioner_id)
    reply = await call_scheduling(request, rpc, message, caller, location="body")
    return AddedException(
        exception=AvailabilityExceptionJson.of(reply.exception),
        conflicting_appointment_ids=list(reply.conflicting_appointment_ids),
    )


@router.get(
    "/analytics/triage",
    summary="Triage analytics",
    response_model=TriageAnalytics,
    responses=_ANALYTICS_ERRORS,
)
async def triage_analytics(
    request: Request,
    service: Service,
    caller: ClinicAdministrator,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> TriageAnalytics:
    """Count triage sessions by urgency level and list the most frequent conditions and flags."""
    message = admin_pb2.GetTriageSummaryRequest(window=_period(start, end))
    reply = await _call(request, service.stub.GetTriageSummary, message, caller, location="query")
    return TriageAnalytics.of(reply)


@router.get(
    "/analytics/bookings",
    summary="Booking analytics",
    response_model=BookingAnalytics,
    responses=_ANALYTICS_ERRORS,
)
async def booking_analytics(
    request: Request,
    service: Service,
    caller: ClinicAdministrator,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> BookingAnalytics:
    """Count how many bookable triage sessions end in a booking, by urgency level."""
    message = admin_pb2.GetBookingConversionRequest(window=_period(start, end))
    rpc = service.stub.GetBookingConversion
    reply = await _call(request, rpc, message, caller, location="query")
    return BookingAnalytics.of(reply)


@router.get(
    "/analytics/voice",
    summary="Voice latency",
    response_model=VoiceAnalytics,
    responses=_ANALYTICS_ERRORS,
)
async def voice_analytics(
    request: Request,
    service: Service,
    caller: ClinicAdministrator,
    start: PeriodStart = None,
    end: PeriodEnd = None,
) -> VoiceAnalytics:
    """Report voice latency percentiles (p50/p95/p99, ms) per stage, from the end of speech."""
    message = admin_pb2.GetVoiceLatencyRequest(window=_period(start, end))
    reply = await _call(request, service.stub.GetVoiceLatency, message, caller, location="query")
    return VoiceAnalytics.of(reply)


def _period(start: datetime | None, end: datetime | None) -> time_window_pb2.TimeWindow:
    """Return the analytics period: by default the last 30 days; at most 366 days long."""
    end = _aware(end) if end is not None else datetime.now(UTC)
    start = _aware(start) if start is not None else end - DEFAULT_PERIOD
    if end <= start:
        _refuse(("query", "end"), "must be after start")
    if end - start > MAX_PERIOD:
        _refuse(("query", "start"), f"must be at most {MAX_PERIOD.days} days before end")
    window = time_window_pb2.TimeWindow()
    window.start_time.CopyFrom(_timestamp(start))
    window.end_time.CopyFrom(_timestamp(end))
    return window


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _refuse(location: tuple[str, ...], message: str) -> None:
    raise RequestValidationError([{"loc": location, "msg": message, "type": "value_error"}])


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp


async def _call(
    request: Request,
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
    message: Req,
    caller: Caller,
    *,
    location: str,
) -> Resp:
    """Call the admin service as the caller, with the request id its audit records carry."""
    request_id = request_id_of(request.scope)
    return await call_backend(
        _ADMIN, rpc, message, caller, location=location, request_id=request_id
    )


def _violations(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
    """Name the refused fields: from the Problem the service attaches, else its first word."""
    problem = problem_of(error)
    if problem is not None and problem.violations:
        fields = [violation.field for violation in problem.violations]
    else:
        # The admin service's refusals start with the field ("email must be ...").
        first = (error.details() or "").split(" ", 1)[0]
        fields = [first] if first in _FIELD_MESSAGES else []
    if not fields:
        return request_refused(_ADMIN, location)
    return [
        {
            "loc": _location(field, location),
            "msg": _FIELD_MESSAGES.get(field, "was refused by the admin service"),
            "type": "invalid_argument",
        }
        for field in fields
    ]


def _location(field: str, location: str) -> tuple[str, ...]:
    """Return where a refused proto field sits in the REST request."""
    if field == "user_id":
        return ("path", field)
    if location == "query":
        return (location, _REST_NAMES.get(field, field))
    return (location, *field.split("."))


_ADMIN = Backend(
    name="admin service",
    not_found="No user has this id.",
    field_errors=_violations,
    conflicts={
        grpc.StatusCode.ALREADY_EXISTS: "A user with this e-mail address exists already.",
        grpc.StatusCode.FAILED_PRECONDITION: (
            "The identity provider cannot make this change in its current state."
        ),
    },
    unavailable="The admin service or its identity provider is unavailable; try again shortly.",
    timeout_seconds=CALL_TIMEOUT_SECONDS,
)
