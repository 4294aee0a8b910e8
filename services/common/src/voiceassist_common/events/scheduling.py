"""Scheduling events: appointments booked, cancelled and moved.

Work that follows a change of the diary happens off the booking path: reporting in admin and
whoever else subscribes. The events say which appointment, which practitioner and when, by id
and time; the patient appears only as their opaque subject, and whoever needs the reason or
contact details asks scheduling, which checks they may see them. Scheduling writes each event
in the same transaction as the change (a transactional outbox) and a relay publishes it, so
none is lost while NATS is down. Schema version 2 replaced the slot ids of version 1 (slots are
derived from availability, not stored) with practitioner and times.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from voiceassist_common.events.envelope import EventPayload, OpaqueId
from voiceassist_common.events.triage import UrgencyLevel


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
    schema_version = 2
    publisher = "scheduling"
    consumers = ("scheduling", "admin")

    appointment_id: UUID = Field(description="id of the new appointment")
    practitioner_id: UUID = Field(description="the practitioner seeing the patient")
    practice_id: UUID = Field(description="the practice it takes place at")
    start_time: AwareDatetime = Field(description="when it starts (UTC)")
    end_time: AwareDatetime = Field(description="when it ends (UTC)")
    patient_subject: OpaqueId = Field(description="subject of the patient (an opaque user id)")
    urgency: UrgencyLevel | None = Field(
        default=None, description="the urgency triage gave, when the booking followed triage"
    )
    triage_assessment_id: UUID | None = Field(
        default=None, description="the triage assessment that led to the booking, if any"
    )


class AppointmentCancelled(EventPayload):
    """An appointment was cancelled and its slot freed."""

    subject = "scheduling.appointment.cancelled"
    schema_version = 2
    publisher = "scheduling"
    consumers = ("scheduling", "admin")

    appointment_id: UUID = Field(description="id of the cancelled appointment")
    practitioner_id: UUID = Field(description="the practitioner whose slot became free")
    start_time: AwareDatetime = Field(description="start of the freed period (UTC)")
    end_time: AwareDatetime = Field(description="end of the freed period (UTC)")
    reason: CancellationReason = Field(description="why it was cancelled")


class AppointmentRescheduled(EventPayload):
    """An appointment moved to another slot."""

    subject = "scheduling.appointment.rescheduled"
    schema_version = 2
    publisher = "scheduling"
    consumers = ("scheduling", "admin")

    appointment_id: UUID = Field(description="id of the appointment")
    previous_practitioner_id: UUID = Field(description="the practitioner it was with")
    previous_start_time: AwareDatetime = Field(description="where it was (UTC; now free)")
    practitioner_id: UUID = Field(description="the practitioner it is with now")
    start_time: AwareDatetime = Field(description="when it starts now (UTC)")
    end_time: AwareDatetime = Field(description="when it ends now (UTC)")
