"""How appointment reminders leave: one `Notifier` per channel, chosen at start-up.

`EmailNotifier` sends a plain-text mail with the appointment's .ics attached over SMTP
(aiosmtplib). Its Message-ID is derived from the reminder's key, so every attempt at one
reminder carries the same id: if a crash makes the worker send a reminder twice, mail servers
and clients that deduplicate by Message-ID see one message. `SmsNotifier` hands a short text to
an `SmsSender`; a real SMS gateway needs a paid provider account that cannot run here, so the
only sender in this repository is the in-memory `RecordingSmsSender` (tests, development), and a
provider is one new class implementing `SmsSender`. `MemoryNotifier` keeps reminders in memory
when no SMTP server is configured (development) and logs appointment ids only.

Notifiers raise on failure: `PermanentDeliveryError` when retrying cannot help (the server
refused the address), anything else when a later attempt may succeed. Error messages name no
recipient: SMTP replies often quote the address, which is PHI.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib
from voiceassist_common.phi import safe

from voiceassist_scheduling.domain.ical import CALENDAR_METHOD, appointment_calendar
from voiceassist_scheduling.domain.reminders import (
    Channel,
    Reminder,
    reminder_message,
    reminder_message_id,
    sms_text,
)

__all__ = [
    "EmailNotifier",
    "MemoryNotifier",
    "Notifier",
    "PermanentDeliveryError",
    "RecordingSmsSender",
    "SmsNotifier",
    "SmsSender",
]

logger = logging.getLogger(__name__)

DEFAULT_MESSAGE_ID_DOMAIN = "voiceassist.local"


class PermanentDeliveryError(Exception):
    """The reminder was refused for good (e.g. a rejected address); retrying will not help."""


class Notifier(Protocol):
    """Delivers reminders on one channel; raises when it could not."""

    @property
    def channel(self) -> Channel:
        """The channel this notifier delivers on."""

    async def send(self, reminder: Reminder) -> str:
        """Deliver ``reminder`` now; return the id the message went out with."""


def _domain_of(sender: str) -> str:
    # "VoiceAssist <no-reply@clinic.example>" -> "clinic.example": ids look like the sender's.
    address = sender.rsplit("<", 1)[-1].rstrip(">").strip()
    _, at, domain = address.rpartition("@")
    return domain if at and domain else DEFAULT_MESSAGE_ID_DOMAIN


class EmailNotifier:
    """Sends reminders by e-mail through an SMTP server, the .ics attached."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        self._starttls = starttls
        self._timeout = timeout_seconds
        self._domain = _domain_of(sender)

    @property
    def channel(self) -> Channel:
        """E-mail."""
        return Channel.EMAIL

    def compose(self, reminder: Reminder) -> EmailMessage:
        """Return the mail of ``reminder``: text in the patient's language, .ics attached."""
        text = reminder_message(
            reminder.appointment,
            reminder.practitioner,
            reminder.practice,
            language=reminder.language,
        )
        calendar = appointment_calendar(
            reminder.appointment,
            reminder.practitioner,
            reminder.practice,
            language=reminder.language,
        )
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = reminder.recipient
        message["Subject"] = text.subject
        message["Message-ID"] = reminder_message_id(reminder.key, self._domain)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Content-Language"] = reminder.language
        # RFC 3834: no vacation responder should answer a reminder.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text.body)
        message.add_attachment(
            calendar,
            maintype="text",
            subtype="calendar",
            filename="appointment.ics",
            params={"method": CALENDAR_METHOD, "charset": "utf-8"},
        )
        return message

    async def send(self, reminder: Reminder) -> str:
        """Send the reminder's mail in one SMTP session; return its Message-ID."""
        message = self.compose(reminder)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                start_tls=self._starttls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused:
            # `from None`: the original error quotes the address.
            raise PermanentDeliveryError("the SMTP server refused the recipient") from None
        except aiosmtplib.SMTPResponseException as error:
            if 500 <= error.code < 600:
                raise PermanentDeliveryError(
                    f"the SMTP server refused the message ({error.code})"
                ) from None
            raise
        return str(message["Message-ID"])


class SmsSender(Protocol):
    """An SMS gateway: sends one text to one phone number, returns the provider's message id.

    No real provider ships with VoiceAssist (SMS needs a paid account that cannot run in the
    test environment); implement this for one, next to `RecordingSmsSender`.
    """

    async def send(self, to: str, text: str) -> str:
        """Send ``text`` to ``to`` (E.164); return the provider's message id."""


@dataclass
class RecordingSmsSender:
    """Keeps texts in memory instead of sending them (tests, development): no real SMS leaves."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    async def send(self, to: str, text: str) -> str:
        """Keep the text; return a made-up id."""
        self.sent.append((to, text))
        return f"recorded-{len(self.sent)}"


class SmsNotifier:
    """Sends reminders as short text messages through an `SmsSender`.

    Appointments do not record a phone number yet, so until booking collects one every SMS
    reminder is recorded as skipped by the worker; the channel exists so a provider can be
    plugged in without touching the worker.
    """

    def __init__(self, sender: SmsSender) -> None:
        self._sender = sender

    @property
    def channel(self) -> Channel:
        """SMS."""
        return Channel.SMS

    async def send(self, reminder: Reminder) -> str:
        """Send the short reminder text; return the provider's id."""
        text = sms_text(
            reminder.appointment,
            reminder.practitioner,
            reminder.practice,
            language=reminder.language,
        )
        return await self._sender.send(reminder.recipient, text)


@dataclass
class MemoryNotifier:
    """Keeps reminders in memory (development without SMTP); logs appointment ids only."""

    delivers: Channel = Channel.EMAIL
    sent: list[Reminder] = field(default_factory=list)

    @property
    def channel(self) -> Channel:
        """The channel it stands in for."""
        return self.delivers

    async def send(self, reminder: Reminder) -> str:
        """Keep ``reminder``; return its would-be Message-ID."""
        self.sent.append(reminder)
        logger.info(
            "reminder for appointment %s kept in memory (no SMTP_HOST set)",
            safe(str(reminder.key.appointment_id)),
        )
        return reminder_message_id(reminder.key, DEFAULT_MESSAGE_ID_DOMAIN)
