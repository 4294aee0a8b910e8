"""The patient's .ics and the practitioner's feed, read back as a calendar application would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event
from voiceassist_scheduling.domain.ical import appointment_calendar, practitioner_feed
from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    Practice,
    Practitioner,
    Specialty,
)

PARIS = ZoneInfo("Europe/Paris")
PRACTICE = Practice(uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", "1 rue de la Roquette")
DOCTOR = Practitioner(
    uuid4(), "Dr Claire Martin", (Specialty.CARDIOLOGY,), ("fr", "en"), PRACTICE.id
)
REASON = "chest tightness on stairs"
BOOKED_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def appointment(
    start: datetime,
    *,
    status: AppointmentStatus = AppointmentStatus.BOOKED,
    updated: datetime = BOOKED_AT,
    patient: str = "patient-alex",
) -> Appointment:
    return Appointment(
        id=uuid4(),
        patient_subject=patient,
        practitioner_id=DOCTOR.id,
        start=start,
        end=start + timedelta(minutes=30),
        status=status,
        created_by=patient,
        create_time=BOOKED_AT,
        update_time=updated,
        reason=REASON,
    )


def only_event(document: bytes) -> Event:
    [event] = Calendar.from_ical(document).events
    return event


def test_the_patient_file_says_who_where_and_when_and_nothing_of_the_reason() -> None:
    booked = appointment(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))

    document = appointment_calendar(booked, DOCTOR, PRACTICE, language="en")
    event = only_event(document)

    assert event["UID"] == f"{booked.id}@voiceassist"
    assert str(event["SUMMARY"]) == "Appointment with Dr Claire Martin"
    assert str(event["LOCATION"]) == "Cabinet Bastille, 1 rue de la Roquette, Paris"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == booked.start
    assert event.decoded("DTEND") == booked.end
    assert REASON.encode() not in document
    assert b"patient-alex" not in document
    assert Calendar.from_ical(document)["METHOD"] == "PUBLISH"


def test_lines_end_with_crlf_as_rfc_5545_requires() -> None:
    document = appointment_calendar(
        appointment(datetime(2026, 12, 7, 8, 0, tzinfo=UTC)), DOCTOR, PRACTICE, language="en"
    )

    assert document.startswith(b"BEGIN:VCALENDAR\r\n")
    assert document.count(b"\n") == document.count(b"\r\n")


def test_a_french_patient_reads_a_french_summary_and_urdu_falls_back_to_english() -> None:
    booked = appointment(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))

    french = only_event(appointment_calendar(booked, DOCTOR, PRACTICE, language="fr"))
    urdu = only_event(appointment_calendar(booked, DOCTOR, PRACTICE, language="ur"))

    assert str(french["SUMMARY"]) == "Rendez-vous avec Dr Claire Martin"
    assert str(urdu["SUMMARY"]) == "Appointment with Dr Claire Martin"


@pytest.mark.parametrize(
    ("local_day", "utc_hour"),
    [((2026, 7, 6), 7), ((2026, 12, 7), 8)],
    ids=["summer-cest", "winter-cet"],
)
def test_nine_in_paris_stays_nine_across_daylight_saving(
    local_day: tuple[int, int, int], utc_hour: int
) -> None:
    start = datetime(*local_day, 9, 0, tzinfo=PARIS)
    booked = appointment(start.astimezone(UTC))
    assert booked.start.hour == utc_hour

    calendar = Calendar.from_ical(appointment_calendar(booked, DOCTOR, PRACTICE, language="en"))
    [event] = calendar.walk("VEVENT")

    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    local_start = event.decoded("DTSTART")
    assert (local_start.hour, local_start.minute) == (9, 0)
    assert local_start.astimezone(UTC).hour == utc_hour
    # The file carries its own definition of the zone, so any calendar resolves it.
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Paris"]


def test_a_cancelled_appointment_keeps_its_uid_and_supersedes_the_booked_version() -> None:
    booked = appointment(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    cancelled = Appointment(
        **{
            **booked.__dict__,
            "status": AppointmentStatus.CANCELLED,
            "update_time": BOOKED_AT + timedelta(hours=2),
        }
    )

    before = only_event(appointment_calendar(booked, DOCTOR, PRACTICE, language="en"))
    after = only_event(appointment_calendar(cancelled, DOCTOR, PRACTICE, language="en"))

    assert after["UID"] == before["UID"]
    assert str(after["STATUS"]) == "CANCELLED"
    assert after.sequence > before.sequence


def test_the_same_appointment_always_gives_the_same_file() -> None:
    booked = appointment(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))

    assert appointment_calendar(booked, DOCTOR, PRACTICE, language="en") == appointment_calendar(
        booked, DOCTOR, PRACTICE, language="en"
    )


def test_the_practitioner_feed_lists_booked_appointments_and_names_no_patient() -> None:
    monday = appointment(datetime(2026, 12, 7, 8, 0, tzinfo=UTC), patient="patient-alex")
    tuesday = appointment(datetime(2026, 12, 8, 9, 0, tzinfo=UTC), patient="patient-sam")
    cancelled = appointment(
        datetime(2026, 12, 9, 9, 0, tzinfo=UTC), status=AppointmentStatus.CANCELLED
    )

    document = practitioner_feed(DOCTOR, PRACTICE, [tuesday, cancelled, monday])
    events = Calendar.from_ical(document).walk("VEVENT")

    assert [event["UID"] for event in events] == [
        f"{monday.id}@voiceassist",
        f"{tuesday.id}@voiceassist",
    ]
    assert {str(event["SUMMARY"]) for event in events} == {"Booked consultation"}
    for secret in (b"patient-alex", b"patient-sam", REASON.encode()):
        assert secret not in document
    assert document.count(b"\n") == document.count(b"\r\n")


def test_an_empty_feed_is_still_a_valid_calendar() -> None:
    calendar = Calendar.from_ical(practitioner_feed(DOCTOR, PRACTICE, []))

    assert calendar.walk("VEVENT") == []
    assert str(calendar["VERSION"]) == "2.0"
