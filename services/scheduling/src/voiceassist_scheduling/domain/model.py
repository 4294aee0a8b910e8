"""The clinic as scheduling sees it: practices, practitioners, weekly rules, bookings and slots.

Plain frozen values, no I/O: the slot allocator and the matcher work on them, the repository
reads and writes them. Every instant is an aware UTC datetime; wall-clock times (weekly rules)
are naive ``time`` values meant in the practice's IANA timezone. Specialties are the lower-case
names of voiceassist.common.v1.Specialty; languages are ISO 639-1 codes (en, fr, ur), as in
triage's assessments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from uuid import UUID

from voiceassist_common.clinical import Specialty, Urgency

__all__ = [
    "Appointment",
    "AppointmentStatus",
    "AvailabilityException",
    "AvailabilityRule",
    "ExceptionKind",
    "Practice",
    "Practitioner",
    "Slot",
    "Specialty",
    "UrgencyLevel",
]


UrgencyLevel = Urgency
"""voiceassist.common.v1.UrgencyLevel; smaller is more urgent (shared with triage)."""


class AppointmentStatus(StrEnum):
    """Lifecycle of an appointment; only BOOKED holds its period."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    NO_SHOW = "no_show"


class ExceptionKind(StrEnum):
    """Why availability is blocked."""

    HOLIDAY = "holiday"
    LEAVE = "leave"
    OTHER = "other"


@dataclass(frozen=True)
class Practice:
    """A place where practitioners see patients; its timezone governs all its local times."""

    id: UUID
    name: str
    city: str
    timezone: str
    address: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Practitioner:
    """A clinician patients can book; the first specialty is the main one."""

    id: UUID
    display_name: str
    specialties: tuple[Specialty, ...]
    languages: tuple[str, ...]
    practice_id: UUID
    active: bool = True
    user_id: str = ""
    email: str = ""
    """Work e-mail of their clinician account, linking it until ``user_id`` is known."""


@dataclass(frozen=True)
class AvailabilityRule:
    """Recurring weekly availability: slots of ``slot_minutes`` cut from start to end, local."""

    weekday: int
    """ISO weekday in the practice timezone: 1 is Monday, 7 Sunday."""
    start_time: time
    end_time: time
    appointment_type: str
    slot_minutes: int

    def __post_init__(self) -> None:
        """Refuse a rule that could produce no sensible slot."""
        if not 1 <= self.weekday <= 7:
            raise ValueError(f"weekday must be 1..7, got {self.weekday}")
        if self.end_time <= self.start_time:
            raise ValueError("an availability rule must end after it starts")
        if self.slot_minutes <= 0:
            raise ValueError("slots must last at least a minute")


@dataclass(frozen=True)
class AvailabilityException:
    """A blocked period (holiday, leave) in UTC, start included, end excluded."""

    id: UUID
    practitioner_id: UUID
    start: datetime
    end: datetime
    kind: ExceptionKind
    note: str = ""


@dataclass(frozen=True)
class Appointment:
    """A consultation as stored; ``reason`` is the patient's words (PHI: never logged)."""

    id: UUID
    patient_subject: str
    practitioner_id: UUID
    start: datetime
    end: datetime
    status: AppointmentStatus
    created_by: str
    create_time: datetime
    update_time: datetime
    reason: str = ""
    urgency: UrgencyLevel | None = None
    triage_assessment_id: UUID | None = None
    cancellation_reason: str = ""


@dataclass(frozen=True)
class Slot:
    """A free bookable period of one practitioner, in UTC, with the practice timezone."""

    practitioner_id: UUID
    start: datetime
    end: datetime
    timezone: str

    @property
    def duration(self) -> timedelta:
        """How long the consultation lasts (real elapsed time)."""
        return self.end - self.start
