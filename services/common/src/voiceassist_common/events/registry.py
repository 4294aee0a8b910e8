"""Which payload model belongs to which subject, so a consumer can parse what it receives.

A consumer subscribed to ``triage.>`` gets several kinds of event on one subscription; the
subject (equal to the envelope's ``type``) picks the model. Adding an event means adding its
payload class to `PAYLOAD_TYPES`, and docs/events.md then lists it (see `catalogue`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from voiceassist_common.events.audit import AuditRecordAppended
from voiceassist_common.events.auth import GuestSessionUpgraded
from voiceassist_common.events.envelope import Event, EventPayload
from voiceassist_common.events.scheduling import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
)
from voiceassist_common.events.triage import TriageCompleted, TriageSessionStarted
from voiceassist_common.events.voice import (
    VoiceSessionEnded,
    VoiceSessionStarted,
    VoiceTurnCompleted,
)

PAYLOAD_TYPES: tuple[type[EventPayload], ...] = (
    AuditRecordAppended,
    GuestSessionUpgraded,
    TriageSessionStarted,
    TriageCompleted,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentRescheduled,
    VoiceSessionStarted,
    VoiceSessionEnded,
    VoiceTurnCompleted,
)
"""Every event payload, in the order docs/events.md lists them."""

EVENT_TYPES: Mapping[str, type[EventPayload]] = MappingProxyType(
    {payload.subject: payload for payload in PAYLOAD_TYPES}
)
"""Subject → payload model."""


class EventParseError(ValueError):
    """Bytes that are not a valid event of a known subject.

    The message names the subject and the fields at fault, never their values, so it can be
    logged even when the bytes hold something they should not.
    """


def payload_type(subject: str) -> type[EventPayload]:
    """Return the payload model for ``subject``; EventParseError for an unknown subject."""
    try:
        return EVENT_TYPES[subject]
    except KeyError:
        raise EventParseError(f"no event is registered for subject {subject!r}") from None


def parse_event(data: bytes, *, subject: str | None = None) -> Event[EventPayload]:
    """Parse an event from JSON bytes.

    ``subject`` is the NATS subject the bytes arrived on; when given, the envelope's ``type``
    must match it. Without it the model is chosen by the envelope's ``type``.
    """
    if subject is None:
        subject = _declared_type(data)
    model = payload_type(subject)
    try:
        event: Event[EventPayload] = Event[model].model_validate_json(data)  # type: ignore[valid-type]
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'event'}: {_reason(problem)}"
            for problem in error.errors(include_input=False, include_url=False)
        )
        raise EventParseError(f"invalid {subject} event: {problems}") from None
    return event


def _reason(problem: ErrorDetails) -> str:
    # Our own validators' messages hold no input; pydantic's may quote a piece of it ("found
    # `J`"), so for those only the kind of error is given.
    return problem["msg"] if problem["type"] == "value_error" else problem["type"]


def _declared_type(data: bytes) -> str:
    try:
        declared = json.loads(data).get("type")
    except (ValueError, AttributeError):
        raise EventParseError("not a JSON event envelope") from None
    if not isinstance(declared, str):
        raise EventParseError("event envelope has no type")
    return declared
