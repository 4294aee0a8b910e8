"""What a patient reads in an appointment reminder, in their language, and how it is identified.

Pure functions: the reminder worker builds a `Reminder` from a claimed delivery, a notifier
carries it. The text names the practitioner, the practice and the local time in the practice's
timezone; it never repeats the reason for the visit (PHI that a shared inbox or a lock screen
would show). English and French are written out; Urdu falls back to English until a reviewed
translation exists.

A reminder is identified by (appointment, start, practitioner, channel): a rescheduled
appointment gets a new reminder for its new time (or practitioner), and the e-mail Message-ID
derived from that key is the same on every attempt, so a mail sent twice after a crash is
recognisably one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from voiceassist_scheduling.domain.model import Appointment, Practice, Practitioner

__all__ = [
    "Channel",
    "Reminder",
    "ReminderKey",
    "ReminderMessage",
    "local_time_text",
    "reminder_message",
    "reminder_message_id",
    "sms_text",
]


class Channel(StrEnum):
    """How a reminder reaches the patient."""

    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class ReminderKey:
    """The one reminder due for an appointment at a given start with a practitioner, per channel."""

    appointment_id: UUID
    appointment_start: datetime
    practitioner_id: UUID
    channel: Channel


@dataclass(frozen=True)
class ReminderMessage:
    """Subject and plain-text body of a reminder."""

    subject: str
    body: str


@dataclass(frozen=True)
class Reminder:
    """A reminder due now: to whom (PHI), in which language, and about what.

    Each notifier turns it into its own format (a mail with an .ics, a short text message).
    """

    key: ReminderKey
    recipient: str
    language: str
    appointment: Appointment
    practitioner: Practitioner
    practice: Practice


_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
}
_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}

_SUBJECT = {
    "en": "Reminder: appointment with {practitioner} on {when}",
    "fr": "Rappel : rendez-vous avec {practitioner} le {when}",
}

_BODY = {
    "en": (
        "Hello,\n"
        "\n"
        "This is a reminder of your appointment with {practitioner}\n"
        "on {when} ({timezone} time), for {minutes} minutes.\n"
        "\n"
        "Where: {place}\n"
        "\n"
        "The attached calendar file adds the appointment to your calendar.\n"
        "If you cannot come, please cancel or reschedule it in VoiceAssist,\n"
        "so that another patient can have the time.\n"
        "\n"
        "This message was sent automatically; please do not reply to it.\n"
    ),
    "fr": (
        "Bonjour,\n"
        "\n"
        "Nous vous rappelons votre rendez-vous avec {practitioner}\n"
        "le {when} (heure {timezone}), d'une durée de {minutes} minutes.\n"
        "\n"
        "Lieu : {place}\n"
        "\n"
        "Le fichier de calendrier joint ajoute ce rendez-vous à votre agenda.\n"
        "Si vous ne pouvez pas venir, merci de l'annuler ou de le déplacer dans VoiceAssist,\n"
        "afin qu'un autre patient puisse en bénéficier.\n"
        "\n"
        "Ce message est envoyé automatiquement ; merci de ne pas y répondre.\n"
    ),
}

_SMS = {
    "en": "VoiceAssist reminder: appointment with {practitioner} on {when}, {place}.",
    "fr": "Rappel VoiceAssist : rendez-vous avec {practitioner} le {when}, {place}.",
}


def _language(language: str) -> str:
    return language if language in _BODY else "en"


def local_time_text(moment: datetime, timezone: str, language: str) -> str:
    """Return ``moment`` as the practice's wall clock: "Tuesday 7 December 2026 at 09:00"."""
    language = _language(language)
    local = moment.astimezone(ZoneInfo(timezone))
    weekday = _WEEKDAYS[language][local.weekday()]
    month = _MONTHS[language][local.month - 1]
    joiner = "at" if language == "en" else "à"
    return f"{weekday} {local.day} {month} {local.year} {joiner} {local:%H:%M}"


def _place(practice: Practice) -> str:
    return ", ".join(part for part in (practice.name, practice.address, practice.city) if part)


def reminder_message(
    appointment: Appointment, practitioner: Practitioner, practice: Practice, *, language: str
) -> ReminderMessage:
    """Return the e-mail reminder of ``appointment`` in ``language`` (en, fr; else English)."""
    language = _language(language)
    when = local_time_text(appointment.start, practice.timezone, language)
    minutes = int((appointment.end - appointment.start).total_seconds() // 60)
    return ReminderMessage(
        subject=_SUBJECT[language].format(practitioner=practitioner.display_name, when=when),
        body=_BODY[language].format(
            practitioner=practitioner.display_name,
            when=when,
            timezone=practice.timezone,
            minutes=minutes,
            place=_place(practice),
        ),
    )


def sms_text(
    appointment: Appointment, practitioner: Practitioner, practice: Practice, *, language: str
) -> str:
    """Return the short text-message reminder of ``appointment``."""
    language = _language(language)
    return _SMS[language].format(
        practitioner=practitioner.display_name,
        when=local_time_text(appointment.start, practice.timezone, language),
        place=_place(practice),
    )


def reminder_message_id(key: ReminderKey, domain: str) -> str:
    """Return the RFC 5322 Message-ID of a reminder: the same on every attempt to send it."""
    epoch = int(key.appointment_start.timestamp())
    return (
        f"<reminder.{key.appointment_id}.{epoch}.{key.practitioner_id}.{key.channel.value}"
        f"@{domain}>"
    )
