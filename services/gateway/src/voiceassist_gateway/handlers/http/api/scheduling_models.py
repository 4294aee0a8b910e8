"""JSON bodies of the scheduling routes, mirroring ``voiceassist.scheduling.v1`` in snake_case.

As for triage (triage_models.py), the shapes follow the proto so a reader of one reads the
other, with JSON conveniences: enums are lower-case proto names (``"consultation_24"``,
``"cardiology"``, ``"no_show"``), languages are tags (``"en"``, ``"fr"``, ``"ur"``), unset ids
and times are null. Instants go out in UTC with "Z"; slots and appointments also carry
``local_start`` and ``local_end`` in their practice's timezone, so a client shows "09:00" in
Paris without a timezone database of its own. Instants coming in must carry their offset
(RFC 3339): a naive time would be read in some timezone nobody chose.

Each model converts itself to or from its message here, so the routes only call the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Annotated, Literal, Self
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from voiceassist.common.v1 import clinical_pb2, language_pb2, time_window_pb2
from voiceassist.scheduling.v1 import scheduling_pb2
from voiceassist_common.clinical import Specialty
from voiceassist_common.events import UrgencyLevel
from voiceassist_common.tokens import Role

from voiceassist_gateway.handlers.http.api.admin_models import roles_of
from voiceassist_gateway.handlers.http.api.triage_models import urgency_of, urgency_to_proto

LanguageTag = Literal["en", "fr", "ur"]
"""The languages practitioners consult in and the clinic writes in."""

SlotId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=512,
        description="An opaque slot id from /practitioners/match or /slots.",
    ),
]

_LANGUAGE_TO_PROTO: dict[str, language_pb2.Language.ValueType] = {
    "en": language_pb2.LANGUAGE_ENGLISH,
    "fr": language_pb2.LANGUAGE_FRENCH,
    "ur": language_pb2.LANGUAGE_URDU,
}
_LANGUAGE_FROM_PROTO: dict[int, LanguageTag] = {
    language_pb2.LANGUAGE_ENGLISH: "en",
    language_pb2.LANGUAGE_FRENCH: "fr",
    language_pb2.LANGUAGE_URDU: "ur",
}


class AppointmentStatus(StrEnum):
    """Lifecycle of an appointment."""

    BOOKED = "booked"
    CANCELLED = "cancelled"
    FULFILLED = "fulfilled"
    NO_SHOW = "no_show"


class Attendance(StrEnum):
    """Whether the patient came."""

    ATTENDED = "attended"
    NO_SHOW = "no_show"


class MatchOutcome(StrEnum):
    """What came of a match."""

    MATCHED = "matched"
    NO_SLOTS_IN_WINDOW = "no_slots_in_window"
    NO_PRACTITIONERS = "no_practitioners"
    NOT_BOOKABLE = "not_bookable"


class ExceptionKind(StrEnum):
    """Why a practitioner's availability is blocked."""

    HOLIDAY = "holiday"
    LEAVE = "leave"
    OTHER = "other"


def specialty_to_proto(specialty: Specialty | None) -> clinical_pb2.Specialty.ValueType:
    """Return the proto ``Specialty`` (None: unspecified)."""
    if specialty is None:
        return clinical_pb2.SPECIALTY_UNSPECIFIED
    return clinical_pb2.Specialty.Value(f"SPECIALTY_{specialty.name}")


def specialties_of(values: Iterable[int]) -> list[Specialty]:
    """Return the specialties of proto values, leaving out unspecified or unknown ones."""
    known = []
    for value in values:
        name = clinical_pb2.Specialty.Name(clinical_pb2.Specialty.ValueType(value))
        member = Specialty.__members__.get(name.removeprefix("SPECIALTY_"))
        if member is not None:
            known.append(member)
    return known


def language_to_proto(language: LanguageTag | None) -> language_pb2.Language.ValueType:
    """Return the proto ``Language`` of a tag (None: unspecified)."""
    return _LANGUAGE_TO_PROTO[language] if language else language_pb2.LANGUAGE_UNSPECIFIED


def languages_of(values: Iterable[int]) -> list[LanguageTag]:
    """Return the tags of proto languages, leaving out unspecified ones."""
    return [_LANGUAGE_FROM_PROTO[value] for value in values if value in _LANGUAGE_FROM_PROTO]


def status_to_proto(status: AppointmentStatus) -> scheduling_pb2.AppointmentStatus.ValueType:
    """Return the proto ``AppointmentStatus``."""
    return scheduling_pb2.AppointmentStatus.Value(f"APPOINTMENT_STATUS_{status.name}")


def _status_of(value: int) -> AppointmentStatus:
    name = scheduling_pb2.AppointmentStatus.Name(scheduling_pb2.AppointmentStatus.ValueType(value))
    return AppointmentStatus.__members__.get(
        name.removeprefix("APPOINTMENT_STATUS_"), AppointmentStatus.BOOKED
    )


def _outcome_of(value: int) -> MatchOutcome:
    name = scheduling_pb2.MatchOutcome.Name(scheduling_pb2.MatchOutcome.ValueType(value))
    return MatchOutcome.__members__.get(
        name.removeprefix("MATCH_OUTCOME_"), MatchOutcome.NOT_BOOKABLE
    )


def _kind_of(value: int) -> ExceptionKind:
    name = scheduling_pb2.ExceptionKind.Name(scheduling_pb2.ExceptionKind.ValueType(value))
    return ExceptionKind.__members__.get(name.removeprefix("EXCEPTION_KIND_"), ExceptionKind.OTHER)


def timestamp(moment: datetime) -> Timestamp:
    """Return ``moment`` (aware) as a Timestamp."""
    stamp = Timestamp()
    stamp.FromDatetime(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    return stamp


def time_window(start: datetime | None, end: datetime | None) -> time_window_pb2.TimeWindow:
    """Return a TimeWindow with the bounds that are given."""
    window = time_window_pb2.TimeWindow()
    if start is not None:
        window.start_time.CopyFrom(timestamp(start))
    if end is not None:
        window.end_time.CopyFrom(timestamp(end))
    return window


def _instant(message: Message, field: str) -> datetime | None:
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _zone(name: str) -> tzinfo:
    """Return the practice's timezone; an unknown name falls back to UTC rather than failing."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    return moment.astimezone(zone) if moment is not None else None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------
# Clinic: practices, practitioners, availability
# --------------------------------------------------------------------------------------------


class Practice(_Model):
    """A place where practitioners see patients."""

    practice_id: str
    name: str
    address: str
    city: str
    timezone: str = Field(description='IANA timezone of all its local times, e.g. "Europe/Paris".')
    latitude: float | None
    longitude: float | None

    @classmethod
    def of(cls, message: scheduling_pb2.Practice) -> Self:
        """Return the JSON of a proto ``Practice``."""
        located = message.HasField("location")
        return cls(
            practice_id=message.practice_id,
            name=message.name,
            address=message.address,
            city=message.city,
            timezone=message.timezone,
            latitude=message.location.latitude if located else None,
            longitude=message.location.longitude if located else None,
        )


class Practitioner(_Model):
    """A doctor or other clinician patients can book."""

    practitioner_id: str
    display_name: str = Field(examples=["Dr Amina Khan"])
    specialties: list[Specialty] = Field(description="The first is the main one.")
    languages: list[LanguageTag] = Field(description="Languages they consult in.")
    practice_id: str
    active: bool = Field(description="Inactive practitioners are never matched or offered.")

    @classmethod
    def of(cls, message: scheduling_pb2.Practitioner) -> Self:
        """Return the JSON of a proto ``Practitioner``."""
        return cls(
            practitioner_id=message.practitioner_id,
            display_name=message.display_name,
            specialties=specialties_of(message.specialties),
            languages=languages_of(message.languages),
            practice_id=message.practice_id,
            active=message.active,
        )


class AvailabilityRule(_Model):
    """Recurring weekly availability: slots cut from start to end, in the practice's time."""

    weekday: int = Field(ge=1, le=7, description="ISO weekday: 1 is Monday, 7 Sunday.")
    start: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Local start, HH:MM.", examples=["09:00"]
    )
    end: str = Field(
        pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Local time by which the last slot has ended, HH:MM.",
        examples=["12:00"],
    )
    slot_minutes: int = Field(ge=5, le=480, description="Length of each slot.", examples=[30])

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def to_proto(self) -> scheduling_pb2.AvailabilityRule:
        """Return the proto ``AvailabilityRule``."""
        start, end = time.fromisoformat(self.start), time.fromisoformat(self.end)
        return scheduling_pb2.AvailabilityRule(
            weekday=scheduling_pb2.Weekday.ValueType(self.weekday),
            start_time=scheduling_pb2.LocalTime(hours=start.hour, minutes=start.minute),
            end_time=scheduling_pb2.LocalTime(hours=end.hour, minutes=end.minute),
            slot_duration=Duration(seconds=self.slot_minutes * 60),
        )

    @classmethod
    def of(cls, message: scheduling_pb2.AvailabilityRule) -> AvailabilityRule:
        """Return the JSON of a proto ``AvailabilityRule``."""
        start, end = message.start_time, message.end_time
        minutes = message.slot_duration.ToTimedelta() // timedelta(minutes=1)
        # Built without validation: what the service stores is what the admin set.
        return cls.model_construct(
            weekday=int(message.weekday),
            start=f"{start.hours:02d}:{start.minutes:02d}",
            end=f"{end.hours:02d}:{end.minutes:02d}",
            slot_minutes=minutes,
        )


class AvailabilityException(_Model):
    """A period (holiday, leave) when the practitioner offers no slots."""

    exception_id: str
    start: datetime | None
    end: datetime | None
    kind: ExceptionKind
    note: str

    @classmethod
    def of(cls, message: scheduling_pb2.AvailabilityException) -> Self:
        """Return the JSON of a proto ``AvailabilityException``."""
        return cls(
            exception_id=message.exception_id,
            start=_instant(message.window, "start_time"),
            end=_instant(message.window, "end_time"),
            kind=_kind_of(message.kind),
            note=message.note,
        )


class PracticeList(_Model):
    """Practices, by name."""

    practices: list[Practice]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")


class PractitionerList(_Model):
    """Practitioners, by name."""

    practitioners: list[Practitioner]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")


class PractitionerDetail(_Model):
    """One practitioner, their practice and their availability."""

    practitioner: Practitioner
    practice: Practice | None
    weekly_availability: list[AvailabilityRule]
    exceptions: list[AvailabilityException] = Field(
        description="Current and future exceptions, soonest first."
    )

    @classmethod
    def of(cls, message: scheduling_pb2.GetPractitionerResponse) -> Self:
        """Return the JSON of a ``GetPractitionerResponse``."""
        return cls(
            practitioner=Practitioner.of(message.practitioner),
            practice=Practice.of(message.practice) if message.HasField("practice") else None,
            weekly_availability=[AvailabilityRule.of(r) for r in message.weekly_availability],
            exceptions=[AvailabilityException.of(e) for e in message.exceptions],
        )


# --------------------------------------------------------------------------------------------
# Slots and matching
# --------------------------------------------------------------------------------------------


class Slot(_Model):
    """A free, bookable period of one practitioner."""

    slot_id: str = Field(description="Book with it; valid until taken or availability changes.")
    practitioner_id: str
    start_time: datetime | None = Field(description="Start, UTC.")
    end_time: datetime | None = Field(description="End, UTC.")
    timezone: str = Field(description="IANA timezone of the practice.")
    local_start: datetime | None = Field(description="Start in the practice's timezone.")
    local_end: datetime | None = Field(description="End in the practice's timezone.")

    @classmethod
    def of(cls, message: scheduling_pb2.Slot) -> Self:
        """Return the JSON of a proto ``Slot``."""
        zone = _zone(message.timezone)
        start, end = _instant(message, "start_time"), _instant(message, "end_time")
        return cls(
            slot_id=message.slot_id,
            practitioner_id=message.practitioner_id,
            start_time=start,
            end_time=end,
            timezone=message.timezone,
            local_start=_local(start, zone),
            local_end=_local(end, zone),
        )


class SlotList(_Model):
    """Free slots, soonest first."""

    slots: list[Slot]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")


class PractitionerMatch(_Model):
    """A practitioner ranked for the patient, with their earliest free slots."""

    practitioner: Practitioner
    practice: Practice | None
    score: float = Field(description="From 0 to 1; higher is better.")
    distance_km: float | None = Field(description="From the requested place, when known.")
    earliest_slots: list[Slot] = Field(description="Soonest first, within the allowed window.")

    @classmethod
    def of(cls, message: scheduling_pb2.PractitionerMatch) -> Self:
        """Return the JSON of a proto ``PractitionerMatch``."""
        return cls(
            practitioner=Practitioner.of(message.practitioner),
            practice=Practice.of(message.practice) if message.HasField("practice") else None,
            score=message.score,
            distance_km=message.distance_km if message.HasField("distance_km") else None,
            earliest_slots=[Slot.of(slot) for slot in message.earliest_slots],
        )


class MatchResponse(_Model):
    """Ranked practitioners, or why none is offered."""

    outcome: MatchOutcome = Field(
        description=(
            "matched; no_slots_in_window (for consultation_24: none within 24 hours); "
            "no_practitioners; not_bookable (an emergency: call emergency services now)."
        )
    )
    advice: str = Field(description="What to tell the patient when nothing is offered.")
    matches: list[PractitionerMatch] = Field(description="Best first; empty unless matched.")

    @classmethod
    def of(cls, message: scheduling_pb2.MatchResponse) -> Self:
        """Return the JSON of a ``MatchResponse``."""
        return cls(
            outcome=_outcome_of(message.outcome),
            advice=message.advice,
            matches=[PractitionerMatch.of(match) for match in message.matches],
        )


# --------------------------------------------------------------------------------------------
# Appointments
# --------------------------------------------------------------------------------------------


class Actor(_Model):
    """Who did something: the patient, a clinician, or a service acting for them."""

    subject: str
    roles: list[Role]
    guest: bool


class Appointment(_Model):
    """A booked consultation."""

    appointment_id: str = Field(description="Kept across reschedules.")
    patient_subject: str
    practitioner_id: str
    start_time: datetime | None = Field(description="Start, UTC.")
    end_time: datetime | None = Field(description="End, UTC.")
    timezone: str = Field(description="IANA timezone of the practice.")
    local_start: datetime | None = Field(description="Start in the practice's timezone.")
    local_end: datetime | None = Field(description="End in the practice's timezone.")
    status: AppointmentStatus
    reason: str = Field(description="The patient's words (PHI).")
    urgency: UrgencyLevel | None
    triage_assessment_id: str | None
    created_by: Actor | None
    create_time: datetime | None
    update_time: datetime | None
    cancellation_reason: str

    @classmethod
    def of(cls, message: scheduling_pb2.Appointment) -> Self:
        """Return the JSON of a proto ``Appointment``."""
        zone = _zone(message.timezone)
        start, end = _instant(message, "start_time"), _instant(message, "end_time")
        urgent = message.urgency != clinical_pb2.URGENCY_LEVEL_UNSPECIFIED
        creator = message.created_by
        return cls(
            appointment_id=message.appointment_id,
            patient_subject=message.patient_subject,
            practitioner_id=message.practitioner_id,
            start_time=start,
            end_time=end,
            timezone=message.timezone,
            local_start=_local(start, zone),
            local_end=_local(end, zone),
            status=_status_of(message.status),
            reason=message.reason,
            urgency=urgency_of(message.urgency) if urgent else None,
            triage_assessment_id=message.triage_assessment_id or None,
            created_by=(
                Actor(subject=creator.subject, roles=roles_of(creator.roles), guest=creator.guest)
                if message.HasField("created_by")
                else None
            ),
            create_time=_instant(message, "create_time"),
            update_time=_instant(message, "update_time"),
            cancellation_reason=message.cancellation_reason,
        )


class AppointmentDetail(_Model):
    """One appointment with its practitioner and practice."""

    appointment: Appointment
    practitioner: Practitioner | None
    practice: Practice | None

    @classmethod
    def of(cls, message: scheduling_pb2.GetAppointmentResponse) -> Self:
        """Return the JSON of a ``GetAppointmentResponse``."""
        return cls(
            appointment=Appointment.of(message.appointment),
            practitioner=(
                Practitioner.of(message.practitioner) if message.HasField("practitioner") else None
            ),
            practice=Practice.of(message.practice) if message.HasField("practice") else None,
        )


class AppointmentList(_Model):
    """Appointments, by start time."""

    appointments: list[Appointment]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")


class BookRequest(_Model):
    """What to book, for whom, and why."""

    slot_id: SlotId
    patient_subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The patient; default the caller. Patients may only book for themselves.",
    )
    reason: str = Field(
        default="", max_length=1000, description="Reason in the patient's words (PHI)."
    )
    urgency: UrgencyLevel | None = Field(default=None, description="The level triage gave.")
    triage_assessment_id: UUID | None = Field(
        default=None, description="The assessment the booking follows."
    )
    language: LanguageTag | None = Field(
        default=None, description="Language of the patient's reminders; default English."
    )

    def to_proto(self, idempotency_key: str, subject: str) -> scheduling_pb2.BookRequest:
        """Return the proto request, booking for ``subject`` unless a patient is named."""
        return scheduling_pb2.BookRequest(
            idempotency_key=idempotency_key,
            slot_id=self.slot_id,
            patient_subject=self.patient_subject or subject,
            reason=self.reason,
            urgency=(
                urgency_to_proto(self.urgency)
                if self.urgency is not None
                else clinical_pb2.URGENCY_LEVEL_UNSPECIFIED
            ),
            triage_assessment_id=str(self.triage_assessment_id or ""),
            language=language_to_proto(self.language),
        )


class CancelRequest(_Model):
    """Why the appointment is cancelled."""

    reason: str = Field(
        default="", max_length=1000, description='e.g. "feeling better" (PHI: never logged).'
    )


class RescheduleRequest(_Model):
    """Where to move the appointment."""

    new_slot_id: SlotId


class OutcomeRequest(_Model):
    """Whether the patient came."""

    attendance: Attendance

    def to_proto(self) -> scheduling_pb2.Attendance.ValueType:
        """Return the proto ``Attendance``."""
        return scheduling_pb2.Attendance.Value(f"ATTENDANCE_{self.attendance.name}")


# --------------------------------------------------------------------------------------------
# Administration (under /api/v1/admin)
# --------------------------------------------------------------------------------------------


class ClinicPractitioner(Practitioner):
    """A practitioner as an administrator sees them, with their clinician account link."""

    user_id: str | None = Field(description="User id of their clinician account, if linked.")
    email: str | None = Field(description="Work e-mail linking a clinician account.")

    @classmethod
    def of(cls, message: scheduling_pb2.Practitioner) -> Self:
        """Return the JSON of a proto ``Practitioner``."""
        return cls(
            **Practitioner.of(message).model_dump(),
            user_id=message.user_id or None,
            email=message.email or None,
        )


class ClinicPractitionerList(_Model):
    """Practitioners, active or not, by name."""

    practitioners: list[ClinicPractitioner]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")


class ClinicPractitionerResponse(_Model):
    """One practitioner, after the change."""

    practitioner: ClinicPractitioner


class NewPractitioner(_Model):
    """A practitioner to register; they start active, offering slots once availability is set."""

    display_name: str = Field(min_length=1, max_length=200, examples=["Dr Amina Khan"])
    specialties: list[Specialty] = Field(
        min_length=1, max_length=10, description="The first is the main one."
    )
    languages: list[LanguageTag] = Field(min_length=1, max_length=3)
    practice_id: UUID
    email: str | None = Field(
        default=None,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Work e-mail; a clinician signing in with it is linked to this practitioner.",
    )

    def to_proto(self) -> scheduling_pb2.CreatePractitionerRequest:
        """Return the proto request."""
        return scheduling_pb2.CreatePractitionerRequest(
            practitioner=scheduling_pb2.Practitioner(
                display_name=self.display_name,
                specialties=[specialty_to_proto(s) for s in self.specialties],
                languages=[language_to_proto(tag) for tag in self.languages],
                practice_id=str(self.practice_id),
                active=True,
                email=self.email or "",
            )
        )


class WeeklyAvailability(_Model):
    """The complete set of weekly rules; periods of one weekday must not overlap."""

    rules: list[AvailabilityRule] = Field(max_length=100)


class NewAvailabilityException(_Model):
    """A period to block in a practitioner's availability."""

    start: AwareDatetime = Field(description="RFC 3339 with offset.")
    end: AwareDatetime = Field(description="RFC 3339 with offset; after start.")
    kind: ExceptionKind
    note: str = Field(
        default="", max_length=200, description='e.g. "Easter Monday"; never patient data.'
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def to_proto(self, practitioner_id: UUID) -> scheduling_pb2.AddAvailabilityExceptionRequest:
        """Return the proto request."""
        return scheduling_pb2.AddAvailabilityExceptionRequest(
            practitioner_id=str(practitioner_id),
            exception=scheduling_pb2.AvailabilityException(
                window=time_window(self.start, self.end),
                kind=scheduling_pb2.ExceptionKind.Value(f"EXCEPTION_KIND_{self.kind.name}"),
                note=self.note,
            ),
        )


class AddedException(_Model):
    """The recorded exception, and the bookings inside it that staff must move or cancel."""

    exception: AvailabilityException
    conflicting_appointment_ids: list[str] = Field(
        description="Booked appointments in the blocked period; they are not cancelled."
    )
