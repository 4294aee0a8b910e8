"""Reminders leave through a real SMTP server (aiosmtpd on a loopback port) with their .ics."""

from __future__ import annotations

import email
import email.policy
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from uuid import uuid4

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from icalendar import Calendar
from voiceassist_common.testing import free_port
from voiceassist_scheduling.adapters.notifiers import (
    EmailNotifier,
    MemoryNotifier,
    PermanentDeliveryError,
    RecordingSmsSender,
    SmsNotifier,
)
from voiceassist_scheduling.domain.model import (
    Appointment,
    AppointmentStatus,
    Practice,
    Practitioner,
    Specialty,
)
from voiceassist_scheduling.domain.reminders import Channel, Reminder, ReminderKey

PRACTICE = Practice(uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", "1 rue de la Roquette")
DOCTOR = Practitioner(uuid4(), "Dr Claire Martin", (Specialty.CARDIOLOGY,), ("fr",), PRACTICE.id)
REASON = "chest tightness on stairs"
PATIENT_EMAIL = "alex@example.org"
START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


class Inbox:
    """An SMTP server's mailbox; refuses recipients listed in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    """Return the port of a real SMTP server on loopback, and its inbox."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


def reminder(language: str = "en", recipient: str = PATIENT_EMAIL) -> Reminder:
    appointment = Appointment(
        id=uuid4(),
        patient_subject="patient-alex",
        practitioner_id=DOCTOR.id,
        start=START,
        end=START + timedelta(minutes=30),
        status=AppointmentStatus.BOOKED,
        created_by="patient-alex",
        create_time=START - timedelta(days=3),
        update_time=START - timedelta(days=3),
        reason=REASON,
    )
    return Reminder(
        key=ReminderKey(appointment.id, START, DOCTOR.id, Channel.EMAIL),
        recipient=recipient,
        language=language,
        appointment=appointment,
        practitioner=DOCTOR,
        practice=PRACTICE,
    )


def notifier(port: int) -> EmailNotifier:
    return EmailNotifier("127.0.0.1", port, sender="VoiceAssist <no-reply@clinic.example>")


async def test_the_patient_receives_the_reminder_with_the_calendar_file(
    smtp: tuple[int, Inbox],
) -> None:
    port, inbox = smtp
    sent = reminder(language="fr")

    message_id = await notifier(port).send(sent)

    [mail] = inbox.messages
    assert mail["To"] == PATIENT_EMAIL
    assert mail["Message-ID"] == message_id
    assert message_id.endswith("@clinic.example>")
    assert mail["Subject"].startswith("Rappel : rendez-vous avec Dr Claire Martin")
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "lundi 7 décembre 2026 à 09:00" in body.get_content()
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "appointment.ics"
    ics = attachment.get_payload(decode=True)
    assert isinstance(ics, bytes)
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert event["UID"] == f"{sent.appointment.id}@voiceassist"
    assert REASON not in mail.as_string()


async def test_every_attempt_at_one_reminder_carries_the_same_message_id(
    smtp: tuple[int, Inbox],
) -> None:
    port, inbox = smtp
    sent = reminder()

    await notifier(port).send(sent)
    await notifier(port).send(sent)

    first, second = inbox.messages
    assert first["Message-ID"] == second["Message-ID"]


async def test_a_refused_address_is_a_permanent_failure_that_does_not_name_it(
    smtp: tuple[int, Inbox],
) -> None:
    port, inbox = smtp
    inbox.refuse.add(PATIENT_EMAIL)

    with pytest.raises(PermanentDeliveryError) as refused:
        await notifier(port).send(reminder())

    assert PATIENT_EMAIL not in str(refused.value)
    assert inbox.messages == []


async def test_an_unreachable_server_is_a_failure_worth_retrying() -> None:
    down = EmailNotifier(
        "127.0.0.1", free_port(), sender="no-reply@clinic.example", timeout_seconds=2
    )

    with pytest.raises(Exception) as failed:  # noqa: PT011 - any transient error will do
        await down.send(reminder())

    assert not isinstance(failed.value, PermanentDeliveryError)


async def test_a_text_message_goes_through_the_sms_sender() -> None:
    sender = RecordingSmsSender()

    provider_id = await SmsNotifier(sender).send(reminder(recipient="+33600000000"))

    [(to, text)] = sender.sent
    assert to == "+33600000000"
    assert "Dr Claire Martin" in text
    assert REASON not in text
    assert provider_id == "recorded-1"


async def test_the_development_notifier_keeps_reminders_and_logs_no_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    kept = MemoryNotifier()
    caplog.set_level(logging.INFO)

    await kept.send(reminder())

    assert len(kept.sent) == 1
    assert kept.channel is Channel.EMAIL
    assert PATIENT_EMAIL not in caplog.text
    assert str(kept.sent[0].appointment.id) in caplog.text
