"""Scheduling events: appointments booked, cancelled and moved.

Work that follows a change of the diary happens off the booking path: scheduling's own reminder
worker and reporting in admin. The events say which appointment and which slots, by id; whoever
needs the time or the patient's details asks scheduling, which checks they may see them.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from voiceassist_common.events.envelope import EventPayload


class CancellationReason(StrEnum):
    """Why an appointment was cancelled."""

    PATIENT_REQUEST = "patient_request"
    CLINICIAN_UNAVAILABLE = "clinician_unavailable"
    CLINIC_CLOSURE = "clinic_closure"
    DUPLICATE_BOOKING = "duplicate_booking"
    OTHER = "other"


class AppointmentBooked(EventPayload):
    """A patient was given a slot."""

    subject = "scheduling.appointment.booked"
    publisher = "scheduling"
    consumers = ("scheduling", "admin")

    appointment_id: UUID = Field(description="id of the new appointment")
    slot_id: UUID = Field(description="the slot it occupies")
    clinician_id: UUID = Field(description="internal id of the clinician")
    patient_id: UUID = Field(description="internal id of the patient")
    triage_session_id: UUID | None = Field(
        default=None, description="the triage session that led to the booking, if any"
    )


class AppointmentCancelled(EventPayload):
    """An appointment was cancelled and its slot freed."""

    subject = "scheduling.appointment.cancelled"
    publisher = "scheduling"
    consumers = ("scheduling", "admin")

    appointment_id: UUID = Field(description="id of the cancelled appointment")
    slot_id: UUID = Field(description="the slot that became free")
    reason: CancellationReason = Field(description="why it was cancelled")


class AppointmentRescheduled(EventPayload):
    """An appointment moved to another slot."""

    subject = "scheduling.appointment.rescheduled"
    publisher = "scheduling"
    consumers = ("scheduling", "admin")

    appointment_id: UUID = Field(description="id of the appointment")
    previous_slot_id: UUID = Field(description="the slot it left (now free)")
    new_slot_id: UUID = Field(description="the slot it occupies now")
