"""FHIR R4 read API over scheduling (issue #5): Practitioner, Schedule, Slot, Appointment.

A clinic's other systems read VoiceAssist's doctors, their free time and the bookings in FHIR
R4 JSON (``application/fhir+json``): ``GET /api/v1/fhir/{type}`` searches and answers a
searchset Bundle, ``GET /api/v1/fhir/{type}/{id}`` reads one resource. The routes call
``voiceassist.scheduling.v1.SchedulingService`` as the caller (their access token goes along),
so the service decides what this caller may see: a clinician reads the appointments of their
practice, an admin all; one they may not see answers 404 like one that does not exist.
domain/fhir.py builds and validates the resources.

Errors stay problem+json, as everywhere else in the gateway (one error shape for every client),
rather than FHIR OperationOutcome: a bad search parameter is a 422 naming it under ``query``.
Reads and searches of appointments are audited (``fhir.appointment.read|search``).

Search parameters (unknown ones are ignored, as FHIR's lenient handling allows):
- Practitioner: ``specialty`` (a VoiceAssist code such as ``cardiology`` or its SNOMED CT
  code), ``language`` (``en``, ``fr``, ``ur``).
- Schedule: ``actor`` (``Practitioner/<id>``), ``specialty``.
- Slot: ``schedule`` (``Schedule/<id>``) or ``specialty``; ``start`` (``ge``/``gt``/``lt``/
  ``le``/``eq`` dates, repeatable; from now for 7 days when absent; at most 31 days);
  ``status`` ``free`` (default) or ``busy`` (booked periods; with ``schedule`` only).
- Appointment: ``practitioner``, ``patient`` (the patient's subject, or ``Patient/<subject>``),
  ``date`` (as ``start``), ``status`` (booked, cancelled, fulfilled, noshow; commas mean "or").
- Every search: ``_count`` (page size, 1 to 500) and ``_page_token`` (from a ``next`` link).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode
from uuid import UUID

import grpc
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fhir.resources.R4B.domainresource import DomainResource
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.exceptions import HTTPException
from voiceassist.common.v1 import paging_pb2, time_window_pb2
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist_common.events import AuditOutcome

from voiceassist_gateway.adapters.scheduling import SchedulingClient
from voiceassist_gateway.domain import fhir
from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.problems import Problem
from voiceassist_gateway.handlers.http.api.grpc_refusals import (
    Backend,
    FieldErrors,
    call_backend,
    problem_of,
    request_refused,
)
from voiceassist_gateway.handlers.http.identity import Caller, Require, gatekeeper_of
from voiceassist_gateway.handlers.http.problem_responses import (
    PROBLEM_MEDIA_TYPE,
    request_id_of,
)

router = APIRouter(prefix="/fhir", tags=["fhir"])

CALL_TIMEOUT_SECONDS = 10.0
"""How long a route waits for the scheduling service."""

DEFAULT_SLOT_SEARCH = timedelta(days=7)
"""The period a Slot search covers when it gives no end (from its start, or now)."""

MAX_COUNT = 500
"""The largest page the scheduling service answers."""

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class FhirResource(StrEnum):
    """The FHIR R4 resources VoiceAssist exposes."""

    PRACTITIONER = "Practitioner"
    SCHEDULE = "Schedule"
    SLOT = "Slot"
    APPOINTMENT = "Appointment"


# The FHIR R4 id type: up to 64 letters, digits, '-' and '.'.
FhirId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


class FhirJsonResponse(JSONResponse):
    """A FHIR resource or Bundle as ``application/fhir+json``, serialized by the FHIR models."""

    media_type = fhir.FHIR_JSON

    def render(self, content: Any) -> bytes:
        """Send JSON the FHIR models already wrote as it is; anything else as JSON."""
        if isinstance(content, str):
            return content.encode()
        return super().render(content)


def scheduling_client(request: Request) -> SchedulingClient:
    """Return the gateway's client of the scheduling service."""
    client: SchedulingClient = request.app.state.scheduling
    return client


Service = Annotated[SchedulingClient, Depends(scheduling_client)]
Reading = Annotated[Caller, Depends(Require(Permission.FHIR_READ))]


def _problem(description: str) -> dict[str, Any]:
    # Given as content rather than a model: FastAPI would file a model under the route's
    # media type (fhir+json), and errors are problem+json like everywhere in the gateway.
    schema = {"$ref": f"#/components/schemas/{Problem.__name__}"}
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": schema}}}


_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: _problem("The scheduling service is unavailable; retry shortly."),
    504: _problem("The scheduling service did not answer in time."),
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _problem("No resource of this type has this id.")
}


@router.get(
    "/{resource_type}",
    summary="Search FHIR resources",
    response_class=FhirJsonResponse,
    response_description="A searchset Bundle (FHIR R4 JSON).",
    responses=_RESPONSES,
)
async def search_fhir(
    request: Request,
    resource_type: FhirResource,
    service: Service,
    caller: Reading,
    specialty: Annotated[
        list[str] | None,
        Query(description="Practitioner, Schedule, Slot: a specialty code (SNOMED CT or local)."),
    ] = None,
    language: Annotated[
        list[str] | None, Query(description="Practitioner: a BCP 47 language tag (en, fr, ur).")
    ] = None,
    actor: Annotated[list[str] | None, Query(description="Schedule: Practitioner/<id>.")] = None,
    schedule: Annotated[list[str] | None, Query(description="Slot: Schedule/<id>.")] = None,
    start: Annotated[
        list[str] | None,
        Query(description="Slot: start dates with prefixes, e.g. ge2026-12-01 (repeatable)."),
    ] = None,
    status: Annotated[
        list[str] | None,
        Query(description="Slot: free or busy. Appointment: booked, cancelled, fulfilled, noshow."),
    ] = None,
    practitioner: Annotated[
        list[str] | None, Query(description="Appointment: Practitioner/<id>.")
    ] = None,
    patient: Annotated[
        list[str] | None, Query(description="Appointment: the patient's subject.")
    ] = None,
    date: Annotated[
        list[str] | None, Query(description="Appointment: start dates with prefixes.")
    ] = None,
    count: Annotated[
        int | None, Query(alias="_count", ge=1, le=MAX_COUNT, description="Page size.")
    ] = None,
    page_token: Annotated[
        str, Query(alias="_page_token", max_length=2048, description="From a next link.")
    ] = "",
) -> Response:
    """Search Practitioner, Schedule, Slot or Appointment resources (a searchset Bundle)."""
    page = paging_pb2.Pagination(page_size=count or 0, page_token=page_token)
    try:
        if resource_type is FhirResource.PRACTITIONER:
            found, next_token = await _practitioners(
                service, caller, page, specialty or [], language or []
            )
        elif resource_type is FhirResource.SCHEDULE:
            found, next_token = await _schedules(
                service, caller, page, actor or [], specialty or []
            )
        elif resource_type is FhirResource.SLOT:
            found, next_token = await _slots(
                service, caller, page, schedule or [], specialty or [], start or [], status or []
            )
        else:
            found, next_token = await _appointments(
                request,
                service,
                caller,
                page,
                (practitioner or [], patient or [], date or [], status or []),
            )
    except fhir.SearchParameterError as error:
        raise RequestValidationError(
            [{"loc": ("query", error.parameter), "msg": error.message, "type": "value_error"}]
        ) from None
    bundle = fhir.searchset(
        found,
        base_url=_base_url(request),
        self_url=_self_url(request),
        next_url=_next_url(request, next_token) if next_token else None,
    )
    return FhirJsonResponse(bundle.model_dump_json())


@router.get(
    "/{resource_type}/{resource_id}",
    summary="Read a FHIR resource",
    response_class=FhirJsonResponse,
    response_description="The resource (FHIR R4 JSON).",
    responses={**_NOT_FOUND, **_RESPONSES},
)
async def read_fhir(
    request: Request,
    resource_type: FhirResource,
    resource_id: FhirId,
    service: Service,
    caller: Reading,
) -> Response:
    """Return one FHIR resource by type and id."""
    resource: DomainResource
    if resource_type is FhirResource.SLOT:
        resource = await _read_slot(service, caller, resource_id)
        return FhirJsonResponse(resource.model_dump_json())
    if not _is_uuid(resource_id):
        raise HTTPException(404, _NOT_FOUND_DETAIL)
    if resource_type is FhirResource.APPOINTMENT:
        resource = await _read_appointment(request, service, caller, resource_id)
        return FhirJsonResponse(resource.model_dump_json())
    reply = await _call(
        service.stub.GetPractitioner,
        scheduling_pb2.GetPractitionerRequest(practitioner_id=resource_id),
        caller,
    )
    if resource_type is FhirResource.PRACTITIONER:
        resource = fhir.practitioner_resource(reply.practitioner, _practice_of(reply))
    else:
        resource = fhir.schedule_resource(reply.practitioner, now=_now())
    return FhirJsonResponse(resource.model_dump_json())


# --- searches ------------------------------------------------------------------------------

Found = tuple[Sequence[DomainResource], str]
"""One page of resources, and the service's token of the next page ("" when none)."""


async def _practitioners(
    service: SchedulingClient,
    caller: Caller,
    page: paging_pb2.Pagination,
    specialty: Sequence[str],
    language: Sequence[str],
) -> Found:
    message = scheduling_pb2.ListPractitionersRequest(
        specialty=fhir.specialty_of(specialty) or 0,  # type: ignore[arg-type]
        language=fhir.language_of(language) or 0,  # type: ignore[arg-type]
        page=page,
    )
    reply = await _call(service.stub.ListPractitioners, message, caller, _SEARCH_NAMES)
    practices = await _practices(service, caller)
    resources = [
        fhir.practitioner_resource(item, practices.get(item.practice_id))
        for item in reply.practitioners
    ]
    return resources, reply.page_info.next_page_token


async def _schedules(
    service: SchedulingClient,
    caller: Caller,
    page: paging_pb2.Pagination,
    actor: Sequence[str],
    specialty: Sequence[str],
) -> Found:
    practitioner_id = fhir.reference_id(actor, "Practitioner", "actor")
    now = _now()
    if practitioner_id is not None:
        if not _is_uuid(practitioner_id):
            return [], ""
        message = scheduling_pb2.GetPractitionerRequest(practitioner_id=practitioner_id)
        try:
            reply = await _call(service.stub.GetPractitioner, message, caller)
        except HTTPException as refused:
            if refused.status_code == 404:
                return [], ""
            raise
        wanted = fhir.specialty_of(specialty)
        if wanted is not None and wanted not in reply.practitioner.specialties:
            return [], ""
        return [fhir.schedule_resource(reply.practitioner, now=now)], ""
    listing = scheduling_pb2.ListPractitionersRequest(
        specialty=fhir.specialty_of(specialty) or 0,  # type: ignore[arg-type]
        page=page,
    )
    found = await _call(service.stub.ListPractitioners, listing, caller, _SEARCH_NAMES)
    resources = [fhir.schedule_resource(item, now=now) for item in found.practitioners]
    return resources, found.page_info.next_page_token


async def _slots(
    service: SchedulingClient,
    caller: Caller,
    page: paging_pb2.Pagination,
    schedule: Sequence[str],
    specialty: Sequence[str],
    start: Sequence[str],
    status: Sequence[str],
) -> Found:
    practitioner_id = fhir.reference_id(schedule, "Schedule", "schedule")
    wanted = fhir.specialty_of(specialty)
    wants = fhir.slot_status(status)
    bounds = fhir.date_bounds("start", start)
    window_start = bounds.start or _now()
    window_end = bounds.end or window_start + DEFAULT_SLOT_SEARCH
    window = time_window_pb2.TimeWindow(
        start_time=_timestamp(window_start), end_time=_timestamp(window_end)
    )
    names = {**_SEARCH_NAMES, "window": "start", "practitioner_id": "schedule"}
    if practitioner_id is not None and not _is_uuid(practitioner_id):
        return [], ""
    if wants == "busy":
        if practitioner_id is None:
            raise fhir.SearchParameterError("schedule", "busy slots are searched by schedule")
        booked = scheduling_pb2.ListAppointmentsRequest(
            practitioner_id=practitioner_id,
            statuses=[scheduling_pb2.AppointmentStatus.APPOINTMENT_STATUS_BOOKED],
            window=window,
            page=page,
        )
        reply = await _call(service.stub.ListAppointments, booked, caller, names)
        busy = [fhir.busy_slot_resource(item) for item in reply.appointments]
        return busy, reply.page_info.next_page_token
    if practitioner_id is not None:
        message = scheduling_pb2.ListSlotsRequest(
            practitioner_id=practitioner_id, window=window, page=page
        )
    elif wanted is not None:
        message = scheduling_pb2.ListSlotsRequest(
            specialty=wanted,  # type: ignore[arg-type]
            window=window,
            page=page,
        )
    else:
        raise fhir.SearchParameterError("schedule", "search slots by schedule or specialty")
    try:
        free = await _call(service.stub.ListSlots, message, caller, names)
    except HTTPException as refused:
        if refused.status_code == 404:  # no such practitioner: nothing matches
            return [], ""
        raise
    return [fhir.slot_resource(item) for item in free.slots], free.page_info.next_page_token


async def _appointments(
    request: Request,
    service: SchedulingClient,
    caller: Caller,
    page: paging_pb2.Pagination,
    terms: tuple[Sequence[str], Sequence[str], Sequence[str], Sequence[str]],
) -> Found:
    """Search appointments; ``terms`` are the practitioner, patient, date and status values."""
    practitioner, patient, date, status = terms
    practitioner_id = fhir.reference_id(practitioner, "Practitioner", "practitioner")
    subject = fhir.reference_id(patient, "Patient", "patient")
    bounds = fhir.date_bounds("date", date)
    message = scheduling_pb2.ListAppointmentsRequest(
        practitioner_id=practitioner_id or "",
        patient_subject=subject or "",
        statuses=fhir.appointment_statuses(status),  # type: ignore[arg-type]
        page=page,
    )
    if practitioner_id is not None and not _is_uuid(practitioner_id):
        return [], ""
    if bounds.start is not None or bounds.end is not None:
        window = time_window_pb2.TimeWindow()
        if bounds.start is not None:
            window.start_time.CopyFrom(_timestamp(bounds.start))
        if bounds.end is not None:
            window.end_time.CopyFrom(_timestamp(bounds.end))
        message.window.CopyFrom(window)
    names = {
        **_SEARCH_NAMES,
        "window": "date",
        "practitioner_id": "practitioner",
        "patient_subject": "patient",
    }
    reply = await _call(service.stub.ListAppointments, message, caller, names)
    await _audit(request, caller, "fhir.appointment.search", "search", subject)
    resources = [fhir.appointment_resource(item) for item in reply.appointments]
    return resources, reply.page_info.next_page_token


async def _practices(
    service: SchedulingClient, caller: Caller
) -> Mapping[str, scheduling_pb2.Practice]:
    """Return every practice by id (a clinic has a handful), to give practitioners an address."""
    practices: dict[str, scheduling_pb2.Practice] = {}
    token = ""
    while True:
        message = scheduling_pb2.ListPracticesRequest(
            page=paging_pb2.Pagination(page_size=MAX_COUNT, page_token=token)
        )
        reply = await _call(service.stub.ListPractices, message, caller)
        practices.update((item.practice_id, item) for item in reply.practices)
        token = reply.page_info.next_page_token
        if not token:
            return practices


# --- reads ---------------------------------------------------------------------------------


async def _read_slot(service: SchedulingClient, caller: Caller, resource_id: str) -> DomainResource:
    """Return the Slot an id names: free if it is still offered, busy if it is booked."""
    key = fhir.slot_key(resource_id)
    if key is None:
        raise HTTPException(404, _NOT_FOUND_DETAIL)
    window = time_window_pb2.TimeWindow(
        start_time=_timestamp(key.start), end_time=_timestamp(key.end)
    )
    offered = scheduling_pb2.ListSlotsRequest(practitioner_id=key.practitioner_id, window=window)
    free = await _call(service.stub.ListSlots, offered, caller)
    for slot in free.slots:
        resource = fhir.slot_resource(slot)
        if resource.id == resource_id:
            return resource
    booked = scheduling_pb2.ListAppointmentsRequest(
        practitioner_id=key.practitioner_id,
        statuses=[scheduling_pb2.AppointmentStatus.APPOINTMENT_STATUS_BOOKED],
        window=window,
    )
    try:
        taken = await _call(service.stub.ListAppointments, booked, caller)
    except HTTPException as refused:
        if refused.status_code == 403:  # may not see this practice's bookings
            raise HTTPException(404, _NOT_FOUND_DETAIL) from None
        raise
    for appointment in taken.appointments:
        resource = fhir.busy_slot_resource(appointment)
        if resource.id == resource_id:
            return resource
    raise HTTPException(404, _NOT_FOUND_DETAIL)


async def _read_appointment(
    request: Request, service: SchedulingClient, caller: Caller, appointment_id: str
) -> DomainResource:
    message = scheduling_pb2.GetAppointmentRequest(appointment_id=appointment_id)
    try:
        reply = await _call(service.stub.GetAppointment, message, caller)
    except HTTPException as refused:
        if refused.status_code == 404:
            # A miss may be a probe for another practice's booking: it is worth a record.
            await _audit(
                request, caller, "fhir.appointment.read", appointment_id, None, AuditOutcome.FAILED
            )
        raise
    await _audit(
        request, caller, "fhir.appointment.read", appointment_id, reply.appointment.patient_subject
    )
    practitioner = reply.practitioner if reply.HasField("practitioner") else None
    return fhir.appointment_resource(reply.appointment, practitioner)


# --- plumbing ------------------------------------------------------------------------------

_NOT_FOUND_DETAIL = "No resource of this type has this id."

_SEARCH_NAMES: Mapping[str, str] = {
    "page.page_size": "_count",
    "page.page_token": "_page_token",
}
"""Where a proto field the service refused sits among the FHIR search parameters."""


def _field_errors(names: Mapping[str, str]) -> Callable[[grpc.aio.AioRpcError, str], FieldErrors]:
    def violations(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
        problem = problem_of(error)
        if problem is None or not problem.violations:
            return request_refused(_backend({}), location)
        return [
            {
                "loc": (location, names.get(item.field, item.field.split("[")[0])),
                "msg": item.description,
                "type": problem.code or "invalid_argument",
            }
            for item in problem.violations
        ]

    return violations


def _backend(names: Mapping[str, str]) -> Backend:
    return Backend(
        name="scheduling service",
        not_found=_NOT_FOUND_DETAIL,
        field_errors=_field_errors(names),
        timeout_seconds=CALL_TIMEOUT_SECONDS,
    )


async def _call(
    rpc: grpc.aio.UnaryUnaryMultiCallable[Req, Resp],
    message: Req,
    caller: Caller,
    names: Mapping[str, str] | None = None,
) -> Resp:
    """Call the scheduling service as the caller; a refusal becomes the HTTP error to show."""
    location = "query" if names is not None else "path"
    return await call_backend(_backend(names or {}), rpc, message, caller, location=location)


async def _audit(
    request: Request,
    caller: Caller,
    action: str,
    resource_id: str,
    patient_subject: str | None,
    outcome: AuditOutcome = AuditOutcome.SUCCEEDED,
) -> None:
    await gatekeeper_of(request).audit.record(
        actor=caller.principal,
        action=action,
        resource_type="appointment",
        resource_id=resource_id,
        outcome=outcome,
        request_id=request_id_of(request.scope),
        patient_subject=patient_subject or None,
    )


def _practice_of(reply: scheduling_pb2.GetPractitionerResponse) -> scheduling_pb2.Practice | None:
    return reply.practice if reply.HasField("practice") else None


def _public_url(request: Request, path: str, query: str = "") -> str:
    """Return ``path`` on the gateway's public origin, as clients reach it (not as proxied)."""
    origin: str = request.app.state.public_base_url
    return f"{origin.rstrip('/')}{path}" + (f"?{query}" if query else "")


def _base_url(request: Request) -> str:
    """Return the FHIR base URL of this API, which every ``fullUrl`` starts with."""
    return _public_url(request, request.url.path.rsplit("/", 1)[0])


def _self_url(request: Request) -> str:
    return _public_url(request, request.url.path, request.url.query)


def _next_url(request: Request, token: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "_page_token"]
    query.append(("_page_token", token))
    return _public_url(request, request.url.path, urlencode(query))


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _now() -> datetime:
    return datetime.now(UTC)


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp
