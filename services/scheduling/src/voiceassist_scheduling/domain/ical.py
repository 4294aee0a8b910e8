"""Appointments as iCalendar (RFC 5545): the patient's .ics and the practitioner's feed.

Built with the `icalendar` library rather than by hand, so folding, escaping, CRLF line ends and
the VTIMEZONE definitions are right. Times carry the practice's IANA timezone (``TZID``) with its
VTIMEZONE, so a calendar shows 09:00 in Paris as 09:00 on both sides of a daylight-saving change.

What goes in is deliberately little: the practitioner, the practice and the period. The
patient's reason (PHI) never does, and the practitioner's feed names no patient at all (it is a
URL that may end up in a shared calendar). The UID is stable per appointment, so re-importing
an updated file updates the event instead of adding one; SEQUENCE grows with every change to
the appointment (derived from its update time), so a calendar prefers the rescheduled or
cancelled version over an older copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date
from uuid import UUID
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    Practice,
    Practitioner,
)

__all__ = [
    "CALENDAR_METHOD",
    "appointment_calendar",
    "appointment_uid",
    "practitioner_feed",
]

PRODUCT_ID = "-//VoiceAssist//Scheduling//EN"

CALENDAR_METHOD = "PUBLISH"
"""The iTIP method of a patient's .ics; a mail attaching it says the same in its content type.

PUBLISH, not REQUEST: a REQUEST needs an ORGANIZER and ATTENDEEs (the patient's address in the
file) and invites a reply nobody reads.
"""

_SUMMARY = {
    "en": "Appointment with {practitioner}",
    "fr": "Rendez-vous avec {practitioner}",
}
"""Urdu falls back to English until a clinician-reviewed translation exists."""

_FEED_SUMMARY = "Booked consultation"


def appointment_uid(appointment_id: UUID) -> str:
    """Return the UID an appointment keeps in every calendar, whatever changes."""
    return f"{appointment_id}@voiceassist"


def _sequence(appointment: Appointment) -> int:
    # Seconds since creation: 0 for a fresh booking, larger after each cancel or reschedule.
    return max(0, int((appointment.update_time - appointment.create_time).total_seconds()))


def _location(practice: Practice) -> str:
    return ", ".join(part for part in (practice.name, practice.address, practice.city) if part)


def _event(appointment: Appointment, practice: Practice, summary: str) -> Event:
    zone = ZoneInfo(practice.timezone)
    event = Event()
    event.add("uid", appointment_uid(appointment.id))
    # The last change, not "now": the same appointment always gives the same bytes.
    event.add("dtstamp", appointment.update_time.astimezone(UTC))
    event.add("created", appointment.create_time.astimezone(UTC))
    event.add("last-modified", appointment.update_time.astimezone(UTC))
    event.add("sequence", _sequence(appointment))
    event.add("dtstart", appointment.start.astimezone(zone))
    event.add("dtend", appointment.end.astimezone(zone))
    event.add("summary", summary)
    event.add("location", _location(practice))
    event.add(
        "status", "CANCELLED" if appointment.status is AppointmentStatus.CANCELLED else "CONFIRMED"
    )
    event.add("transp", "OPAQUE")
    return event


def _add_timezones(calendar: Calendar, appointments: list[Appointment]) -> None:
    # Only the years the events span (one either side), not icalendar's default 1970-2038:
    # the file stays small and the same appointments always give the same bytes.
    first = min(a.start for a in appointments).year - 1
    last = max(a.end for a in appointments).year + 1
    calendar.add_missing_timezones(date(first, 1, 1), date(last, 12, 31))


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    return calendar


def appointment_calendar(
    appointment: Appointment, practitioner: Practitioner, practice: Practice, *, language: str
) -> bytes:
    """Return the patient's .ics for one appointment (en or fr; other languages get English)."""
    template = _SUMMARY.get(language, _SUMMARY["en"])
    calendar = _calendar()
    calendar.add("method", CALENDAR_METHOD)
    calendar.add_component(
        _event(appointment, practice, template.format(practitioner=practitioner.display_name))
    )
    _add_timezones(calendar, [appointment])
    return bytes(calendar.to_ical())


def practitioner_feed(
    practitioner: Practitioner, practice: Practice, appointments: Iterable[Appointment]
) -> bytes:
    """Return a practitioner's subscribable feed: their booked appointments, naming no patient."""
    calendar = _calendar()
    calendar.add("x-wr-calname", f"{practitioner.display_name} - VoiceAssist")
    calendar.add("x-wr-timezone", practice.timezone)
    booked = sorted(
        (a for a in appointments if a.status is AppointmentStatus.BOOKED),
        key=lambda a: (a.start, str(a.id)),
    )
    for appointment in booked:
        calendar.add_component(_event(appointment, practice, _FEED_SUMMARY))
    if booked:
        _add_timezones(calendar, booked)
    return bytes(calendar.to_ical())
