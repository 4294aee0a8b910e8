"""Translate between scheduling's gRPC messages and its domain values, refusing bad fields.

Slot ids are ``<practitioner uuid>.<start, unix seconds>.<minutes>``: opaque to clients, but
self-describing, so booking needs no table of offered slots (slots are derived from weekly
rules, not stored) and the id is also a valid FHIR id (at most 64 of ``[A-Za-z0-9.-]``). Booking
re-derives the practitioner's free slots to check that the id still names one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from google.protobuf import duration_pb2, timestamp_pb2
from voiceassist.common.v1 import clinical_pb2, identity_pb2, language_pb2, time_window_pb2
from voiceassist.scheduling.v1 import scheduling_pb2 as pb
from voiceassist_common.grpc.problems import InvalidField

from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    ExceptionKind,
    Practice,
    Practitioner,
    Slot,
    Specialty,
    UrgencyLevel,
)

__all__ = ["SlotId", "invalid"]

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 2000
_SLOT_ID = re.compile(r"^([0-9a-f-]{36})\.(\d{1,12})\.(\d{1,3})$")
_OPAQUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def invalid(field: str, description: str, reason: str = "invalid_argument") -> InvalidField:
    """Return the refusal of ``field`` (raise it)."""
    return InvalidField(field, description, code=f"scheduling.{reason}")


# --- ids and text ----------------------------------------------------------------------------


def uuid_of(value: str, field: str) -> UUID:
    """Parse a UUID field, refusing it by name."""
    try:
        return UUID(value)
    except ValueError:
        raise invalid(field, "must be a UUID") from None


def subject_of(value: str, field: str) -> str:
    """Check an opaque user subject (no spaces, no '@': never an e-mail or a name)."""
    if not _OPAQUE.match(value):
        raise invalid(field, "must be an opaque subject of at most 128 characters")
    return value


def text_of(value: str, field: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """Check free text: bounded, no control characters other than newlines."""
    if len(value) > limit or any(not c.isprintable() and c not in "\n\t" for c in value):
        raise invalid(field, f"must be at most {limit} printable characters")
    return value


def key_of(value: str, field: str = "idempotency_key") -> str:
    """Check an idempotency key: required, 1 to 128 printable characters."""
    if not value:
        raise invalid(field, "is required (a client-chosen key such as a UUID)", "missing_field")
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise invalid(field, f"must be at most {MAX_ID_LENGTH} printable characters")
    return value


class SlotId:
    """Encode and decode slot ids (see the module docstring)."""

    @staticmethod
    def encode(slot: Slot) -> str:
        """Return the id of ``slot``."""
        minutes = round(slot.duration.total_seconds() / 60)
        return f"{slot.practitioner_id}.{int(slot.start.timestamp())}.{minutes}"

    @staticmethod
    def decode(value: str, field: str = "slot_id") -> tuple[UUID, datetime, datetime]:
        """Return (practitioner id, start, end) of a slot id, refusing malformed ones."""
        found = _SLOT_ID.match(value)
        if not found:
            raise invalid(field, "is not a slot id from Match or ListSlots")
        try:
            practitioner = UUID(found[1])
            start = datetime.fromtimestamp(int(found[2]), UTC)
        except (ValueError, OverflowError, OSError):
            raise invalid(field, "is not a slot id from Match or ListSlots") from None
        minutes = int(found[3])
        if not 1 <= minutes <= 480:
            raise invalid(field, "is not a slot id from Match or ListSlots")
        return practitioner, start, start + timedelta(minutes=minutes)


# --- enums -----------------------------------------------------------------------------------

_LANGUAGES: dict[int, str] = {
    language_pb2.LANGUAGE_ENGLISH: "en",
    language_pb2.LANGUAGE_FRENCH: "fr",
    language_pb2.LANGUAGE_URDU: "ur",
}
_LANGUAGE_CODES: dict[str, language_pb2.Language.ValueType] = {
    code: language_pb2.Language.ValueType(value) for value, code in _LANGUAGES.items()
}


def language_in(value: int, field: str = "language") -> str:
    """Return the ISO 639-1 code of a proto Language; '' for UNSPECIFIED."""
    if value == language_pb2.LANGUAGE_UNSPECIFIED:
        return ""
    if value not in _LANGUAGES:
        raise invalid(field, "is not a supported language")
    return _LANGUAGES[value]


def language_out(code: str) -> language_pb2.Language.ValueType:
    """Return the proto Language of an ISO 639-1 code."""
    return _LANGUAGE_CODES.get(code, language_pb2.LANGUAGE_UNSPECIFIED)


def specialty_in(value: int, field: str = "specialty") -> Specialty | None:
    """Return the domain specialty of a proto Specialty; None for UNSPECIFIED."""
    if value == clinical_pb2.SPECIALTY_UNSPECIFIED:
        return None
    try:
        name = clinical_pb2.Specialty.Name(clinical_pb2.Specialty.ValueType(value))
    except ValueError:
        raise invalid(field, "is not a known specialty") from None
    return Specialty(name.removeprefix("SPECIALTY_").lower())


def specialty_out(specialty: Specialty) -> clinical_pb2.Specialty.ValueType:
    """Return the proto Specialty of a domain specialty."""
    return clinical_pb2.Specialty.Value(f"SPECIALTY_{specialty.name}")


def urgency_in(value: int, field: str = "urgency") -> UrgencyLevel | None:
    """Return the domain urgency of a proto UrgencyLevel; None for UNSPECIFIED."""
    if value == clinical_pb2.URGENCY_LEVEL_UNSPECIFIED:
        return None
    try:
        return UrgencyLevel(value)
    except ValueError:
        raise invalid(field, "is not a known urgency level") from None


def urgency_out(urgency: UrgencyLevel | None) -> clinical_pb2.UrgencyLevel.ValueType:
    """Return the proto UrgencyLevel of a domain urgency."""
    if urgency is None:
        return clinical_pb2.URGENCY_LEVEL_UNSPECIFIED
    return clinical_pb2.UrgencyLevel.ValueType(int(urgency))


_STATUSES = {
    AppointmentStatus.BOOKED: pb.APPOINTMENT_STATUS_BOOKED,
    AppointmentStatus.CANCELLED: pb.APPOINTMENT_STATUS_CANCELLED,
    AppointmentStatus.FULFILLED: pb.APPOINTMENT_STATUS_FULFILLED,
    AppointmentStatus.NO_SHOW: pb.APPOINTMENT_STATUS_NO_SHOW,
}
_STATUS_IN: dict[int, AppointmentStatus] = {value: status for status, value in _STATUSES.items()}


def status_in(value: int, field: str = "statuses") -> AppointmentStatus:
    """Return the domain status of a proto AppointmentStatus."""
    if value not in _STATUS_IN:
        raise invalid(field, "is not a known appointment status")
    return _STATUS_IN[value]


_KINDS: dict[int, ExceptionKind] = {
    pb.EXCEPTION_KIND_HOLIDAY: ExceptionKind.HOLIDAY,
    pb.EXCEPTION_KIND_LEAVE: ExceptionKind.LEAVE,
    pb.EXCEPTION_KIND_OTHER: ExceptionKind.OTHER,
}
_KIND_OUT: dict[ExceptionKind, pb.ExceptionKind.ValueType] = {
    kind: pb.ExceptionKind.ValueType(value) for value, kind in _KINDS.items()
}


def kind_in(value: int, field: str = "exception.kind") -> ExceptionKind:
    """Return the domain kind of a proto ExceptionKind (required)."""
    if value not in _KINDS:
        raise invalid(field, "must be holiday, leave or other")
    return _KINDS[value]


# --- time ------------------------------------------------------------------------------------


def timestamp_out(instant: datetime) -> timestamp_pb2.Timestamp:
    """Return a proto Timestamp of an aware datetime."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(instant.astimezone(UTC))
    return stamp


def window_in(
    window: time_window_pb2.TimeWindow, field: str
) -> tuple[datetime | None, datetime | None]:
    """Return the (start, end) of a TimeWindow, each None when unset; refuse end <= start."""
    start = window.start_time.ToDatetime(UTC) if window.HasField("start_time") else None
    end = window.end_time.ToDatetime(UTC) if window.HasField("end_time") else None
    if start is not None and end is not None and end <= start:
        raise invalid(field, "must end after it starts")
    return start, end


def window_out(start: datetime, end: datetime) -> time_window_pb2.TimeWindow:
    """Return a proto TimeWindow."""
    return time_window_pb2.TimeWindow(start_time=timestamp_out(start), end_time=timestamp_out(end))


_WEEKDAYS = range(pb.WEEKDAY_MONDAY, pb.WEEKDAY_SUNDAY + 1)


def rule_in(rule: pb.AvailabilityRule, field: str) -> tuple[int, time, time, int]:
    """Return (ISO weekday, start, end, slot minutes) of a proto rule, refusing impossible ones."""
    if rule.weekday not in _WEEKDAYS:
        raise invalid(f"{field}.weekday", "must be a day of the week")
    for part, value in (("start_time", rule.start_time), ("end_time", rule.end_time)):
        if value.hours > 23 or value.minutes > 59:
            raise invalid(f"{field}.{part}", "must be a time of day (00:00 to 23:59)")
    start = time(rule.start_time.hours, rule.start_time.minutes)
    end = time(rule.end_time.hours, rule.end_time.minutes)
    if end <= start:
        raise invalid(f"{field}.end_time", "must be after start_time on the same day")
    seconds = rule.slot_duration.seconds
    if seconds % 60 or not 5 * 60 <= seconds <= 480 * 60 or rule.slot_duration.nanos:
        raise invalid(f"{field}.slot_duration", "must be whole minutes, 5 to 480")
    return int(rule.weekday), start, end, seconds // 60


def rule_out(rule: AvailabilityRule) -> pb.AvailabilityRule:
    """Return the proto of a weekly rule."""
    return pb.AvailabilityRule(
        weekday=pb.Weekday.ValueType(rule.weekday),
        start_time=pb.LocalTime(hours=rule.start_time.hour, minutes=rule.start_time.minute),
        end_time=pb.LocalTime(hours=rule.end_time.hour, minutes=rule.end_time.minute),
        slot_duration=duration_pb2.Duration(seconds=rule.slot_minutes * 60),
    )


# --- resources -------------------------------------------------------------------------------


def practice_out(practice: Practice) -> pb.Practice:
    """Return the proto of a practice."""
    message = pb.Practice(
        practice_id=str(practice.id),
        name=practice.name,
        address=practice.address,
        city=practice.city,
        timezone=practice.timezone,
    )
    if practice.latitude is not None and practice.longitude is not None:
        message.location.CopyFrom(
            pb.GeoPoint(latitude=practice.latitude, longitude=practice.longitude)
        )
    return message


def practitioner_out(practitioner: Practitioner, *, with_links: bool) -> pb.Practitioner:
    """Return the proto of a practitioner; account links only for staff (``with_links``)."""
    return pb.Practitioner(
        practitioner_id=str(practitioner.id),
        display_name=practitioner.display_name,
        specialties=[specialty_out(s) for s in practitioner.specialties],
        languages=[language_out(code) for code in practitioner.languages],
        practice_id=str(practitioner.practice_id),
        active=practitioner.active,
        user_id=practitioner.user_id if with_links else "",
        email=practitioner.email if with_links else "",
    )


def slot_out(slot: Slot) -> pb.Slot:
    """Return the proto of a free slot, with its id."""
    return pb.Slot(
        slot_id=SlotId.encode(slot),
        practitioner_id=str(slot.practitioner_id),
        start_time=timestamp_out(slot.start),
        end_time=timestamp_out(slot.end),
        timezone=slot.timezone,
    )


def appointment_out(appointment: Appointment, timezone: str) -> pb.Appointment:
    """Return the proto of an appointment."""
    return pb.Appointment(
        appointment_id=str(appointment.id),
        patient_subject=appointment.patient_subject,
        practitioner_id=str(appointment.practitioner_id),
        start_time=timestamp_out(appointment.start),
        end_time=timestamp_out(appointment.end),
        timezone=timezone,
        status=_STATUSES[appointment.status],
        reason=appointment.reason,
        urgency=urgency_out(appointment.urgency),
        triage_assessment_id=str(appointment.triage_assessment_id or ""),
        created_by=identity_pb2.Actor(subject=appointment.created_by),
        create_time=timestamp_out(appointment.create_time),
        update_time=timestamp_out(appointment.update_time),
        cancellation_reason=appointment.cancellation_reason,
    )


def exception_out(exception: AvailabilityException) -> pb.AvailabilityException:
    """Return the proto of an availability exception."""
    return pb.AvailabilityException(
        exception_id=str(exception.id),
        window=window_out(exception.start, exception.end),
        kind=_KIND_OUT[exception.kind],
        note=exception.note,
    )
