"""The reminder a patient reads: their language, the practice's local time, never the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    Practice,
    Practitioner,
    Specialty,
)
from voiceassist_scheduling.domain.reminders import (
    Channel,
    ReminderKey,
    local_time_text,
    reminder_message,
    reminder_message_id,
    sms_text,
)

PRACTICE = Practice(uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", "1 rue de la Roquette")
DOCTOR = Practitioner(uuid4(), "Dr Claire Martin", (Specialty.CARDIOLOGY,), ("fr",), PRACTICE.id)
REASON = "chest tightness on stairs"
MONDAY_NINE_PARIS = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def appointment(start: datetime = MONDAY_NINE_PARIS) -> Appointment:
    return Appointment(
        id=uuid4(),
        patient_subject="patient-alex",
        practitioner_id=DOCTOR.id,
        start=start,
        end=start + timedelta(minutes=30),
        status=AppointmentStatus.BOOKED,
        created_by="patient-alex",
        create_time=start - timedelta(days=3),
        update_time=start - timedelta(days=3),
        reason=REASON,
    )


def test_the_english_reminder_gives_the_local_time_practitioner_and_place() -> None:
    message = reminder_message(appointment(), DOCTOR, PRACTICE, language="en")

    assert message.subject == (
        "Reminder: appointment with Dr Claire Martin on Monday 7 December 2026 at 09:00"
    )
    assert "Monday 7 December 2026 at 09:00 (Europe/Paris time), for 30 minutes" in message.body
    assert "Cabinet Bastille, 1 rue de la Roquette, Paris" in message.body


def test_the_french_reminder_is_in_french() -> None:
    message = reminder_message(appointment(), DOCTOR, PRACTICE, language="fr")

    assert message.subject == (
        "Rappel : rendez-vous avec Dr Claire Martin le lundi 7 décembre 2026 à 09:00"
    )
    assert "Bonjour" in message.body
    assert "lundi 7 décembre 2026 à 09:00 (heure Europe/Paris)" in message.body


def test_an_urdu_speaker_gets_english_until_a_reviewed_translation_exists() -> None:
    assert reminder_message(appointment(), DOCTOR, PRACTICE, language="ur") == reminder_message(
        appointment(), DOCTOR, PRACTICE, language="en"
    )


def test_no_reminder_repeats_the_reason_for_the_visit() -> None:
    booked = appointment()
    for language in ("en", "fr", "ur"):
        message = reminder_message(booked, DOCTOR, PRACTICE, language=language)
        assert REASON not in message.subject + message.body
        assert REASON not in sms_text(booked, DOCTOR, PRACTICE, language=language)


def test_local_time_follows_daylight_saving() -> None:
    summer = datetime(2026, 7, 6, 7, 0, tzinfo=UTC)

    assert local_time_text(summer, "Europe/Paris", "en") == "Monday 6 July 2026 at 09:00"
    assert local_time_text(MONDAY_NINE_PARIS, "Europe/Paris", "en") == (
        "Monday 7 December 2026 at 09:00"
    )


def test_the_text_message_is_short_and_complete() -> None:
    text = sms_text(appointment(), DOCTOR, PRACTICE, language="fr")

    assert text.startswith("Rappel VoiceAssist : rendez-vous avec Dr Claire Martin le lundi")
    assert len(text) < 160 * 2


def test_a_reminder_keeps_its_message_id_and_a_rescheduled_one_gets_another() -> None:
    appointment_id = uuid4()
    key = ReminderKey(appointment_id, MONDAY_NINE_PARIS, DOCTOR.id, Channel.EMAIL)
    moved = ReminderKey(
        appointment_id, MONDAY_NINE_PARIS + timedelta(days=1), DOCTOR.id, Channel.EMAIL
    )
    other_doctor = ReminderKey(appointment_id, MONDAY_NINE_PARIS, uuid4(), Channel.EMAIL)

    first = reminder_message_id(key, "clinic.example")

    assert first == reminder_message_id(key, "clinic.example")
    assert first.startswith("<")
    assert first.endswith("@clinic.example>")
    assert reminder_message_id(moved, "clinic.example") != first
    assert reminder_message_id(other_doctor, "clinic.example") != first
