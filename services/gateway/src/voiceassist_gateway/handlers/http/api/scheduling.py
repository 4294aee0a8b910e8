"""REST face of scheduling and doctor matching (issue #5): match, slots, bookings, calendars.

Each route validates its query or JSON body (scheduling_models.py), calls
``voiceassist.scheduling.v1.SchedulingService`` as the caller (their access token and the request
id go along as gRPC metadata) and returns the answer as JSON. The scheduling service decides
whether *this* caller may see or change *that* appointment: a patient reaches only their own
(another patient's id answers 404, like a missing one), a clinician those of their practice.

Booking, cancelling and rescheduling need an ``Idempotency-Key`` header: the service remembers
the key with its answer, so a client whose response was lost sends the same request again and
gets the same appointment back (200 with ``Idempotent-Replayed: true``) instead of a second one.

Refusals become problem+json (grpc_refusals.py): INVALID_ARGUMENT is a 422 naming the field at
fault, NOT_FOUND a 404, PERMISSION_DENIED a 403, FAILED_PRECONDITION a 409 (the slot is no longer
free), UNAVAILABLE a 503 and a missed deadline a 504. Reads and changes of appointments are
audited here (``scheduling.appointment.*``); what the patient wrote (the reason) never is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Annotated, Any, TypeVar
from uuid import UUID

import grpc
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime
from starlette.exceptions import HTTPException
from voiceassist.common.v1 import paging_pb2
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist_common.clinical import Specialty
from voiceassist_common.events import AuditOutcome, UrgencyLevel

from voiceassist_gateway.adapters.scheduling import SchedulingClient
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
from voiceassist_gateway.handlers.http.api.scheduling_models import (
    Appointment,
    AppointmentDetail,
    AppointmentList,
    AppointmentStatus,
    BookRequest,
    CancelRequest,
    LanguageTag,
    MatchResponse,
    OutcomeRequest,
    Practice,
    PracticeList,
    PractitionerDetail,
    PractitionerList,
    RescheduleRequest,
    Slot,
    SlotList,
    language_to_proto,
    specialty_to_proto,
    status_to_proto,
    time_window,
)
from voiceassist_gateway.handlers.http.api.scheduling_models import (
    Practitioner as PractitionerJson,
)
from voiceassist_gateway.handlers.http.api.triage_models import urgency_to_proto
from voiceassist_gateway.handlers.http.identity import Caller, Require, gatekeeper_of
from voiceassist_gateway.handlers.http.problem_responses import request_id_of

router = APIRouter(prefix="/scheduling", tags=["scheduling"])

CALL_TIMEOUT_SECONDS = 10.0
"""How long a route waits for the scheduling service (a booking takes milliseconds)."""

APPOINTMENTS_PATH = "/api/v1/scheduling/appointments"
"""Where a booked appointment is read, for the Location header."""

REPLAYED_HEADER = "Idempotent-Replayed"

_EMERGENCIES = frozenset({UrgencyLevel.EMERGENCY_AMBULANCE, UrgencyLevel.EMERGENCY})

Req = TypeVar("Req")
Resp = TypeVar("Resp")

_ERRORS: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "The scheduling service is unavailable; retry."},
    504: {"model": Problem, "description": "The scheduling service did not answer in time."},
}
_NO_PRACTITIONER: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No practitioner has this id."}
}
_NO_APPOINTMENT: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No appointment you may see has this id."}
}
_SLOT_TAKEN: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "description": "The slot is no longer free (or, booking, the urgency forbids it).",
    }
}
_CALENDAR: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/calendar": {"schema": {"type": "string"}}},
        "description": "An iCalendar (RFC 5545) file, as an attachment.",
    }
}
_REPLAY_HEADER_DOC = {
    REPLAYED_HEADER: {
        "description": '"true" when this answers a retry with the same Idempotency-Key.',
        "schema": {"type": "string"},
    }
}


def scheduling_client(request: Request) -> SchedulingClient:
    """Return the gateway's client of the scheduling service."""
    client: SchedulingClient = request.app.state.scheduling
    return client


Service = Annotated[SchedulingClient, Depends(scheduling_client)]
Searching = Annotated[Caller, Depends(Require(Permission.SCHEDULING_SEARCH))]
Reading = Annotated[
    Caller,
    Depends(Require(Permission.APPOINTMENTS_READ_OWN, Permission.APPOINTMENTS_READ_PRACTICE)),
]
Booking = Annotated[Caller, Depends(Require(Permission.APPOINTMENTS_BOOK))]
Changing = Annotated[
    Caller,
    Depends(Require(Permission.APPOINTMENTS_BOOK, Permission.APPOINTMENTS_MANAGE_PRACTICE)),
]
Managing = Annotated[Caller, Depends(Require(Permission.APPOINTMENTS_MANAGE_PRACTICE))]
PracticeReading = Annotated[Caller, Depends(Require(Permission.APPOINTMENTS_READ_PRACTICE))]

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x20-\x7E]+$",
        description="Client-chosen key (e.g. a UUID); a retry with it returns the first answer.",
    ),
]
PageSize = Annotated[int, Query(ge=0, le=500, description="0: the service's default.")]
PageToken = Annotated[str, Query(max_length=2048, description="next_page_token of a page.")]
Start = Annotated[AwareDatetime | None, Query(description="From (RFC 3339 with offset).")]
End = Annotated[AwareDatetime | None, Query(description="Until, excluded (RFC 3339).")]
City = Annotated[str, Query(max_length=100, description="Only practices in this city.")]
Language = Annotated[LanguageTag | None, Query(description="Only practitioners consulting in it.")]


# --------------------------------------------------------------------------------------------
# Search: practices, practitioners, matching, slots
# --------------------------------------------------------------------------------------------


@router.get(
    "/practitioners/match",
    summary="Match practitioners",
    response_model=MatchResponse,
    responses=_ERRORS,
)
async def match_practitioners(
    request: Request,
    service: Service,
    caller: Searching,
    urgency: Annotated[UrgencyLevel, Query(description="The level triage gave.")],
    specialty: Annotated[
        Specialty | None, Query(description="From triage; unset for general practice.")
    ] = None,
    language: Annotated[
        LanguageTag | None, Query(description="Preferred consultation language.")
    ] = None,
    city: Annotated[str, Query(max_length=100, description="Where to be seen.")] = "",
    latitude: Annotated[float | None, Query(ge=-90, le=90, description="Or coordinates.")] = None,
    longitude: Annotated[float | None, Query(ge=-180, le=180)] = None,
    start: Start = None,
    end: End = None,
    max_practitioners: Annotated[int, Query(ge=0, le=20, description="0: three.")] = 0,
    slots_per_practitioner: Annotated[int, Query(ge=0, le=20, description="0: three.")] = 0,
) -> MatchResponse:
    """Rank practitioners for a specialty, urgency, language and place, with free slots.

    `consultation_24` offers only slots within the next 24 hours (`no_slots_in_window` with
    advice to seek urgent care when there are none); the two emergency levels are never offered
    a booking (`not_bookable`, advice to call emergency services now).
    """
    if (latitude is None) != (longitude is None):
        missing = "longitude" if longitude is None else "latitude"
        _refuse(("query", missing), "give latitude and longitude together")
    if city and latitude is not None:
        _refuse(("query", "city"), "give a city or coordinates, not both")
    message = scheduling_pb2.MatchRequest(
        specialty=specialty_to_proto(specialty),
        urgency=urgency_to_proto(urgency),
        language=language_to_proto(language),
        max_practitioners=max_practitioners,
        slots_per_practitioner=slots_per_practitioner,
    )
    if city:
        message.city = city
    elif latitude is not None and longitude is not None:
        message.location.CopyFrom(scheduling_pb2.GeoPoint(latitude=latitude, longitude=longitude))
    if start is not None or end is not None:
        message.preferred_window.CopyFrom(time_window(start, end))
    reply = await _call(request, _SCHEDULING, service.stub.Match, message, caller, "query")
    return MatchResponse.of(reply)


@router.get(
    "/practices",
    summary="Practices",
    response_model=PracticeList,
    responses=_ERRORS,
)
async def list_practices(
    request: Request,
    service: Service,
    caller: Searching,
    city: City = "",
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> PracticeList:
    """List the places where practitioners see patients, with city and timezone, by name."""
    message = scheduling_pb2.ListPracticesRequest(
        city=city, page=paging_pb2.Pagination(page_size=page_size, page_token=page_token)
    )
    reply = await _call(request, _SCHEDULING, service.stub.ListPractices, message, caller, "query")
    return PracticeList(
        practices=[Practice.of(practice) for practice in reply.practices],
        next_page_token=reply.page_info.next_page_token or None,
    )


@router.get(
    "/practitioners",
    summary="Practitioners",
    response_model=PractitionerList,
    responses=_ERRORS,
)
async def list_practitioners(
    request: Request,
    service: Service,
    caller: Searching,
    specialty: Annotated[Specialty | None, Query(description="Only this specialty.")] = None,
    language: Language = None,
    city: City = "",
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> PractitionerList:
    """List active practitioners by specialty, language and city, by name."""
    message = scheduling_pb2.ListPractitionersRequest(
        specialty=specialty_to_proto(specialty),
        language=language_to_proto(language),
        city=city,
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    rpc = service.stub.ListPractitioners
    reply = await _call(request, _SCHEDULING, rpc, message, caller, "query")
    return PractitionerList(
        practitioners=[PractitionerJson.of(item) for item in reply.practitioners],
        next_page_token=reply.page_info.next_page_token or None,
    )


@router.get(
    "/practitioners/{practitioner_id}",
    summary="One practitioner",
    response_model=PractitionerDetail,
    responses={**_NO_PRACTITIONER, **_ERRORS},
)
async def read_practitioner(
    request: Request, practitioner_id: UUID, service: Service, caller: Searching
) -> PractitionerDetail:
    """Return a practitioner, their practice, weekly availability and coming exceptions."""
    message = scheduling_pb2.GetPractitionerRequest(practitioner_id=str(practitioner_id))
    rpc = service.stub.GetPractitioner
    reply = await _call(request, _PRACTITIONERS, rpc, message, caller, "path")
    return PractitionerDetail.of(reply)


@router.get(
    "/slots",
    summary="Free slots",
    response_model=SlotList,
    responses=_ERRORS,
)
async def list_slots(
    request: Request,
    service: Service,
    caller: Searching,
    start: Annotated[AwareDatetime, Query(description="From (RFC 3339 with offset).")],
    end: Annotated[AwareDatetime, Query(description="Until, excluded; at most 31 days later.")],
    practitioner_id: Annotated[UUID | None, Query(description="One practitioner's.")] = None,
    specialty: Annotated[
        Specialty | None, Query(description="Or every active practitioner of a specialty.")
    ] = None,
    language: Language = None,
    city: City = "",
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> SlotList:
    """List free slots of a practitioner or a specialty within a window, soonest first.

    A booked slot is gone from the next answer; give `practitioner_id` or `specialty`.
    """
    if (practitioner_id is None) == (specialty is None):
        _refuse(("query", "practitioner_id"), "give practitioner_id or specialty (one of them)")
    message = scheduling_pb2.ListSlotsRequest(
        window=time_window(start, end),
        language=language_to_proto(language),
        city=city,
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    if practitioner_id is not None:
        message.practitioner_id = str(practitioner_id)
    else:
        message.specialty = specialty_to_proto(specialty)
    reply = await _call(request, _SCHEDULING, service.stub.ListSlots, message, caller, "query")
    return SlotList(
        slots=[Slot.of(slot) for slot in reply.slots],
        next_page_token=reply.page_info.next_page_token or None,
    )


# --------------------------------------------------------------------------------------------
# Appointments
# --------------------------------------------------------------------------------------------


@router.get(
    "/appointments",
    summary="My appointments",
    response_model=AppointmentList,
    responses=_ERRORS,
)
async def list_appointments(
    request: Request,
    service: Service,
    caller: Reading,
    patient_subject: Annotated[str, Query(max_length=256, description="Only this patient.")] = "",
    practitioner_id: Annotated[UUID | None, Query(description="Only this practitioner.")] = None,
    practice_id: Annotated[UUID | None, Query(description="Only this practice.")] = None,
    status: Annotated[
        list[AppointmentStatus] | None, Query(description="Only these (repeat the parameter).")
    ] = None,
    start: Start = None,
    end: End = None,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> AppointmentList:
    """List the caller's appointments (clinicians: their practice's), by start time."""
    message = scheduling_pb2.ListAppointmentsRequest(
        patient_subject=patient_subject,
        practitioner_id=str(practitioner_id or ""),
        practice_id=str(practice_id or ""),
        statuses=[status_to_proto(item) for item in status or ()],
        page=paging_pb2.Pagination(page_size=page_size, page_token=page_token),
    )
    if start is not None or end is not None:
        message.window.CopyFrom(time_window(start, end))
    rpc = service.stub.ListAppointments
    reply = await _call(request, _APPOINTMENTS, rpc, message, caller, "query")
    await _audit(request, caller, "list", "list", AuditOutcome.SUCCEEDED, patient_subject)
    return AppointmentList(
        appointments=[Appointment.of(item) for item in reply.appointments],
        next_page_token=reply.page_info.next_page_token or None,
    )


@router.post(
    "/appointments",
    summary="Book an appointment",
    status_code=201,
    response_model=Appointment,
    responses={
        201: {
            "description": "Booked.",
            "headers": {
                "Location": {"description": "Where to read it.", "schema": {"type": "string"}}
            },
        },
        200: {
            "model": Appointment,
            "description": "A retry with the same Idempotency-Key: the appointment booked first.",
            "headers": _REPLAY_HEADER_DOC,
        },
        **_SLOT_TAKEN,
        **_ERRORS,
    },
)
async def book_appointment(
    request: Request,
    response: Response,
    body: BookRequest,
    idempotency_key: IdempotencyKey,
    service: Service,
    caller: Booking,
) -> Appointment:
    """Book a free slot; an Idempotency-Key header makes retries return the same booking.

    Patients book for themselves (`patient_subject` defaults to the caller). A slot taken in
    the meantime answers 409; the same key sent with a different request answers 422.
    """
    if body.urgency is not None and body.urgency in _EMERGENCIES:
        # Said here in the gateway's words: this answer must never read as "try another slot".
        raise HTTPException(409, "Emergencies are never booked: call emergency services now.")
    message = body.to_proto(idempotency_key, caller.principal.subject)
    reply = await _call(request, _BOOKING, service.stub.Book, message, caller, "body")
    appointment = reply.appointment
    response.headers["Location"] = f"{APPOINTMENTS_PATH}/{appointment.appointment_id}"
    if reply.replayed:
        response.status_code = 200
        response.headers[REPLAYED_HEADER] = "true"
    else:
        await _audit(
            request,
            caller,
            "create",
            appointment.appointment_id,
            AuditOutcome.SUCCEEDED,
            appointment.patient_subject,
        )
    return Appointment.of(appointment)


@router.get(
    "/appointments/{appointment_id}",
    summary="One appointment",
    response_model=AppointmentDetail,
    responses={**_NO_APPOINTMENT, **_ERRORS},
)
async def read_appointment(
    request: Request, appointment_id: UUID, service: Service, caller: Reading
) -> AppointmentDetail:
    """Return one appointment the caller may see, with its practitioner and practice.

    Patients read only their own; another patient's appointment answers 404.
    """
    message = scheduling_pb2.GetAppointmentRequest(appointment_id=str(appointment_id))
    rpc = service.stub.GetAppointment
    reply = await _audited(request, caller, "read", appointment_id, rpc, message, "path")
    await _audit(
        request,
        caller,
        "read",
        str(appointment_id),
        AuditOutcome.SUCCEEDED,
        reply.appointment.patient_subject,
    )
    return AppointmentDetail.of(reply)


@router.post(
    "/appointments/{appointment_id}/cancel",
    summary="Cancel",
    response_model=Appointment,
    responses={
        200: {"description": "Cancelled (or a retry of it).", "headers": _REPLAY_HEADER_DOC},
        **_NO_APPOINTMENT,
        409: {"model": Problem, "description": "The appointment can no longer be cancelled."},
        **_ERRORS,
    },
)
async def cancel_appointment(
    request: Request,
    response: Response,
    appointment_id: UUID,
    idempotency_key: IdempotencyKey,
    service: Service,
    caller: Changing,
    body: CancelRequest | None = None,
) -> Appointment:
    """Cancel an appointment; its slot is offered again at once."""
    message = scheduling_pb2.CancelRequest(
        idempotency_key=idempotency_key,
        appointment_id=str(appointment_id),
        reason=body.reason if body is not None else "",
    )
    rpc = service.stub.Cancel
    reply = await _audited(request, caller, "cancel", appointment_id, rpc, message, "body")
    return await _changed(request, response, caller, "cancel", reply)


@router.post(
    "/appointments/{appointment_id}/reschedule",
    summary="Reschedule",
    response_model=Appointment,
    responses={
        200: {"description": "Moved (or a retry of it).", "headers": _REPLAY_HEADER_DOC},
        **_NO_APPOINTMENT,
        **_SLOT_TAKEN,
        **_ERRORS,
    },
)
async def reschedule_appointment(
    request: Request,
    response: Response,
    appointment_id: UUID,
    body: RescheduleRequest,
    idempotency_key: IdempotencyKey,
    service: Service,
    caller: Changing,
) -> Appointment:
    """Move an appointment to another free slot, keeping its id, idempotently."""
    message = scheduling_pb2.RescheduleRequest(
        idempotency_key=idempotency_key,
        appointment_id=str(appointment_id),
        new_slot_id=body.new_slot_id,
    )
    rpc = service.stub.Reschedule
    reply = await _audited(
        request, caller, "reschedule", appointment_id, rpc, message, "body", _RESCHEDULING
    )
    return await _changed(request, response, caller, "reschedule", reply)


@router.post(
    "/appointments/{appointment_id}/outcome",
    summary="Record fulfilled or no-show",
    response_model=Appointment,
    responses={
        **_NO_APPOINTMENT,
        409: {"model": Problem, "description": "The appointment is not in a state to record."},
        **_ERRORS,
    },
)
async def record_outcome(
    request: Request,
    appointment_id: UUID,
    body: OutcomeRequest,
    service: Service,
    caller: Managing,
) -> Appointment:
    """Mark an appointment fulfilled or no-show (clinicians of its practice)."""
    message = scheduling_pb2.RecordAttendanceRequest(
        appointment_id=str(appointment_id), attendance=body.to_proto()
    )
    rpc = service.stub.RecordAttendance
    reply = await _audited(request, caller, "outcome", appointment_id, rpc, message, "body")
    appointment = reply.appointment
    await _audit(
        request,
        caller,
        "outcome",
        appointment.appointment_id,
        AuditOutcome.SUCCEEDED,
        appointment.patient_subject,
    )
    return Appointment.of(appointment)


@router.get(
    "/appointments/{appointment_id}/ical",
    summary="Appointment as iCalendar",
    response_class=Response,
    responses={**_CALENDAR, **_NO_APPOINTMENT, **_ERRORS},
)
async def appointment_ical(
    request: Request,
    appointment_id: UUID,
    service: Service,
    caller: Reading,
    language: Annotated[LanguageTag | None, Query(description="Of the event's text.")] = None,
) -> Response:
    """Return the appointment as an .ics file to add to the patient's own calendar."""
    message = scheduling_pb2.GetAppointmentCalendarRequest(
        appointment_id=str(appointment_id), language=language_to_proto(language)
    )
    rpc = service.stub.GetAppointmentCalendar
    reply = await _audited(request, caller, "read", appointment_id, rpc, message, "path")
    await _audit(request, caller, "read", str(appointment_id), AuditOutcome.SUCCEEDED)
    return _calendar_response(reply.calendar, f"appointment-{appointment_id}.ics")


@router.get(
    "/practitioners/{practitioner_id}/ical",
    summary="Practitioner's calendar feed",
    response_class=Response,
    responses={**_CALENDAR, **_NO_PRACTITIONER, **_ERRORS},
)
async def practitioner_ical(
    request: Request,
    practitioner_id: UUID,
    service: Service,
    caller: PracticeReading,
    start: Start = None,
    end: End = None,
) -> Response:
    """Return a practitioner's booked appointments as an iCalendar feed naming no patient.

    Without a window: from 7 days ago to 8 weeks ahead.
    """
    message = scheduling_pb2.GetPractitionerCalendarRequest(practitioner_id=str(practitioner_id))
    if start is not None or end is not None:
        message.window.CopyFrom(time_window(start, end))
    rpc = service.stub.GetPractitionerCalendar
    reply = await _call(request, _PRACTITIONERS, rpc, message, caller, "query")
    return _calendar_response(reply.calendar, f"practitioner-{practitioner_id}.ics")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_SAFE_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _calendar_response(calendar: scheduling_pb2.CalendarFile, fallback: str) -> Response:
    """Answer the service's .ics bytes as an attachment, with its media type."""
    filename = calendar.filename if _SAFE_FILENAME.fullmatch(calendar.filename) else fallback
    return Response(
        content=calendar.content,
        media_type=calendar.media_type or "text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _refuse(location: tuple[str, ...], message: str) -> None:
    raise RequestValidationError([{"loc": location, "msg": message, "type": "value_error"}])


async def _changed(
    request: Request,
    response: Response,
    caller: Caller,
    action: str,
    reply: scheduling_pb2.CancelResponse | scheduling_pb2.RescheduleResponse,
) -> Appointment:
    appointment = reply.appointment
    if reply.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    else:
        await _audit(
            request,
            caller,
            action,
            appointment.appointment_id,
            AuditOutcome.SUCCEEDED,
            appointment.patient_subject,
        )
    return Appointment.of(appointment)


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
        action=f"scheduling.appointment.{action}",
        resource_type="appointment",
        resource_id=resource_id,
        outcome=outcome,
        request_id=request_id_of(request.scope),
        patient_subject=patient_subject or None,
    )


async def _audited(
    request: Request,
    caller: Caller,
    action: str,
    appointment_id: UUID,
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
    message: Req,
    location: str,
    backend: Backend | None = None,
) -> Resp:
    """Call the service about one appointment; a miss or refusal is recorded too.

    A 404 may be a probe for someone else's appointment: it is worth a record.
    """
    try:
        return await _call(request, backend or _APPOINTMENTS, rpc, message, caller, location)
    except HTTPException as refused:
        if refused.status_code in {403, 404}:
            denied = refused.status_code == 403
            outcome = AuditOutcome.DENIED if denied else AuditOutcome.FAILED
            await _audit(request, caller, action, str(appointment_id), outcome)
        raise


async def _call(
    request: Request,
    backend: Backend,
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
    message: Req,
    caller: Caller,
    location: str,
) -> Resp:
    """Call the scheduling service as the caller; a refusal becomes the HTTP error to show."""
    request_id = request_id_of(request.scope)
    return await call_backend(
        backend, rpc, message, caller, location=location, request_id=request_id
    )


async def call_scheduling(
    request: Request,
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
    message: Req,
    caller: Caller,
    *,
    location: str,
) -> Resp:
    """Call the scheduling service about a practitioner (the admin routes use it too)."""
    return await _call(request, _PRACTITIONERS, rpc, message, caller, location)


# Where a proto field the service refused sits in the REST request.
_FIXED_LOCATIONS: Mapping[str, tuple[str, ...]] = {
    "idempotency_key": ("header", "Idempotency-Key"),
    "appointment_id": ("path", "appointment_id"),
}
_QUERY_FIELDS: Mapping[str, str] = {
    **QUERY_NAMES,
    "window.start_time": "start",
    "window.end_time": "end",
    "window": "start",
    "preferred_window.start_time": "start",
    "preferred_window.end_time": "end",
    "preferred_window": "start",
    "location.latitude": "latitude",
    "location.longitude": "longitude",
    "location": "latitude",
    "offered_by": "practitioner_id",
}
_BODY_FIELDS: Mapping[str, str] = {
    "exception.window.start_time": "start",
    "exception.window.end_time": "end",
    "exception.window": "start",
    "start_time": "start",
    "end_time": "end",
    "slot_duration": "slot_minutes",
    "attendance": "attendance",
}
_SEGMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>\d+)\])?")


def _rest_location(field: str, location: str) -> tuple[str | int, ...]:
    """Turn a refused proto field ("rules[1].start_time") into its place in the REST request."""
    if field in _FIXED_LOCATIONS:
        return _FIXED_LOCATIONS[field]
    if field == "practitioner_id" and location != "query":
        return ("path", field)
    if location == "query":
        field = _QUERY_FIELDS.get(field, field)
        if field.startswith("statuses"):
            field = "status"
        return (location, field)
    field = _BODY_FIELDS.get(field, field)
    for prefix in ("practitioner.", "exception."):
        field = field.removeprefix(prefix)
    path: list[str | int] = [location]
    for segment in field.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            path.append(segment)
            continue
        path.append(_BODY_FIELDS.get(match["name"], match["name"]))
        if match["index"] is not None:
            path.append(int(match["index"]))
    return tuple(path)


def _violations(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
    problem = problem_of(error)
    if problem is None or not problem.violations:
        return request_refused(_SCHEDULING, location)
    return [
        {
            "loc": _rest_location(violation.field, location),
            "msg": violation.description,
            "type": problem.code or "invalid_argument",
        }
        for violation in problem.violations
    ]


_SCHEDULING = Backend(
    name="scheduling service",
    not_found="No practitioner, practice or slot has this id.",
    field_errors=_violations,
    conflicts={
        grpc.StatusCode.FAILED_PRECONDITION: "This slot is no longer free; choose another one.",
    },
    timeout_seconds=CALL_TIMEOUT_SECONDS,
)
_BOOKING = replace(
    _SCHEDULING,
    not_found="No slot or assessment has this id.",
    conflicts={
        grpc.StatusCode.FAILED_PRECONDITION: (
            "This slot is no longer free (or too far off for an urgent consultation); "
            "choose another one."
        ),
    },
)
_APPOINTMENTS = replace(
    _SCHEDULING,
    not_found="No appointment you may see has this id.",
    conflicts={
        grpc.StatusCode.FAILED_PRECONDITION: "The appointment can no longer change this way.",
    },
)
_RESCHEDULING = replace(_SCHEDULING, not_found="No appointment you may see has this id.")
_PRACTITIONERS = replace(_SCHEDULING, not_found="No practitioner has this id.")
