"""REST face of scheduling and doctor matching (issue #5), and its FHIR R4 read API."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path

from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.capabilities import FHIR_API, SCHEDULING, PendingCapabilityError
from voiceassist_gateway.handlers.http.api.pending import pending
from voiceassist_gateway.handlers.http.identity import needs

router = APIRouter(prefix="/scheduling", tags=["scheduling"])
fhir_router = APIRouter(prefix="/fhir", tags=["fhir"])


@router.get(
    "/practitioners/match",
    summary="Match practitioners",
    **pending(SCHEDULING),
    dependencies=needs(Permission.SCHEDULING_SEARCH),
)
async def match_practitioners() -> None:
    """Rank practitioners for a specialty, urgency, language and place, with free slots."""
    raise PendingCapabilityError(SCHEDULING)


@router.get(
    "/slots",
    summary="Free slots",
    **pending(SCHEDULING),
    dependencies=needs(Permission.SCHEDULING_SEARCH),
)
async def list_slots() -> None:
    """List free slots of a practitioner or a specialty within a window."""
    raise PendingCapabilityError(SCHEDULING)


@router.get(
    "/appointments",
    summary="My appointments",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_READ_OWN, Permission.APPOINTMENTS_READ_PRACTICE),
)
async def list_appointments() -> None:
    """List the caller's appointments (clinicians: their practice's upcoming ones)."""
    raise PendingCapabilityError(SCHEDULING)


@router.post(
    "/appointments",
    summary="Book an appointment",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_BOOK),
)
async def book_appointment() -> None:
    """Book a free slot; an Idempotency-Key header makes retries return the same booking."""
    raise PendingCapabilityError(SCHEDULING)


@router.get(
    "/appointments/{appointment_id}",
    summary="One appointment",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_READ_OWN, Permission.APPOINTMENTS_READ_PRACTICE),
)
async def read_appointment(appointment_id: UUID) -> None:
    """Return one appointment the caller may see."""
    raise PendingCapabilityError(SCHEDULING)


@router.post(
    "/appointments/{appointment_id}/cancel",
    summary="Cancel",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_BOOK, Permission.APPOINTMENTS_MANAGE_PRACTICE),
)
async def cancel_appointment(appointment_id: UUID) -> None:
    """Cancel an appointment; its slot is offered again."""
    raise PendingCapabilityError(SCHEDULING)


@router.post(
    "/appointments/{appointment_id}/reschedule",
    summary="Reschedule",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_BOOK, Permission.APPOINTMENTS_MANAGE_PRACTICE),
)
async def reschedule_appointment(appointment_id: UUID) -> None:
    """Move an appointment to another free slot, idempotently."""
    raise PendingCapabilityError(SCHEDULING)


@router.post(
    "/appointments/{appointment_id}/outcome",
    summary="Record fulfilled or no-show",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_MANAGE_PRACTICE),
)
async def record_outcome(appointment_id: UUID) -> None:
    """Mark an appointment fulfilled or no-show (clinicians of its practice)."""
    raise PendingCapabilityError(SCHEDULING)


@router.get(
    "/appointments/{appointment_id}/ical",
    summary="Appointment as iCalendar",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_READ_OWN, Permission.APPOINTMENTS_READ_PRACTICE),
)
async def appointment_ical(appointment_id: UUID) -> None:
    """Return the appointment as an .ics file."""
    raise PendingCapabilityError(SCHEDULING)


@router.get(
    "/practitioners/{practitioner_id}/ical",
    summary="Practitioner's calendar feed",
    **pending(SCHEDULING),
    dependencies=needs(Permission.APPOINTMENTS_READ_PRACTICE),
)
async def practitioner_ical(practitioner_id: UUID) -> None:
    """Return a practitioner's appointments as an iCalendar feed."""
    raise PendingCapabilityError(SCHEDULING)


class FhirResource(StrEnum):
    """The FHIR R4 resources VoiceAssist exposes."""

    PRACTITIONER = "Practitioner"
    SCHEDULE = "Schedule"
    SLOT = "Slot"
    APPOINTMENT = "Appointment"


# The FHIR R4 id type: up to 64 letters, digits, '-' and '.'.
FhirId = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]


@fhir_router.get(
    "/{resource_type}",
    summary="Search FHIR resources",
    **pending(FHIR_API),
    dependencies=needs(Permission.FHIR_READ),
)
async def search_fhir(resource_type: FhirResource) -> None:
    """Search Practitioner, Schedule, Slot or Appointment resources (a searchset Bundle)."""
    raise PendingCapabilityError(FHIR_API)


@fhir_router.get(
    "/{resource_type}/{resource_id}",
    summary="Read a FHIR resource",
    **pending(FHIR_API),
    dependencies=needs(Permission.FHIR_READ),
)
async def read_fhir(resource_type: FhirResource, resource_id: FhirId) -> None:
    """Return one FHIR resource by type and id."""
    raise PendingCapabilityError(FHIR_API)
