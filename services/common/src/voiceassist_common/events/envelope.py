"""The envelope every VoiceAssist event travels in, and the field types payloads may use.

Events leave the service that wrote them and are kept by JetStream for days, read by services
that did not exist when they were published. So an event carries ids and codes only, never
PHI: no names, no contact details, no transcripts. The constrained types below make that the
easy path: an opaque id cannot hold an e-mail address or spaces, a code is a lower-case token,
and payloads reject fields they do not declare, so a free-text field cannot be smuggled in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Generic, Self, TypeVar, cast
from uuid import UUID, uuid4

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

OpaqueId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"),
    Field(description="an opaque identifier issued by a system (no spaces, no '@')"),
]
"""An identifier issued by another system (an OIDC subject, a resource key); never an MRN."""

Code = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_.-]{0,63}$"),
    Field(description="a lower-case machine code"),
]
"""A machine-readable code from a fixed vocabulary (``chest_pain``, ``appointment.book``)."""

LanguageTag = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"),
    Field(description="BCP 47 language tag, e.g. en-GB"),
]
"""The language a conversation is held in, as a BCP 47 tag."""

ServiceName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,31}$"),
    Field(description="the publishing service, as in SERVICE_NAME"),
]
"""A VoiceAssist service name (``triage``, ``voice-proxy``)."""


class EventPayload(BaseModel):
    """What happened, in ids and codes. Subclasses name their subject and schema version.

    ``schema_version`` changes whenever a field is added, removed or changes meaning. Consumers
    accept every version up to the one they know, so consumers are deployed before publishers.
    """

    # Frozen: an event is a fact. extra=forbid: no undeclared (free-text) fields. Hidden input
    # in errors: a validation error must not echo a value into a log line.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    subject: ClassVar[str]
    """The NATS subject the event is published on, also the envelope's ``type``."""
    schema_version: ClassVar[int] = 1
    publisher: ClassVar[str]
    """The service that publishes this event (documentation, see docs/events.md)."""
    consumers: ClassVar[tuple[str, ...]] = ()
    """Services expected to consume it, each with a durable consumer of its own."""


# Covariant: an Event[TriageCompleted] is an Event[EventPayload] (envelopes are frozen).
PayloadT = TypeVar("PayloadT", bound=EventPayload, covariant=True)
P = TypeVar("P", bound=EventPayload)


class Event(BaseModel, Generic[PayloadT]):
    """The envelope: who published what, when, under which id, with a typed payload."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    event_id: UUID = Field(description="unique per event; the JetStream message id (Nats-Msg-Id)")
    type: str = Field(description="the payload's subject, e.g. triage.completed")
    occurred_at: AwareDatetime = Field(description="when it happened, UTC")
    source: ServiceName
    schema_version: int = Field(ge=1, description="version of the payload schema")
    payload: PayloadT = Field(description="what happened: the subject's fields, below")

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _matches_payload(self) -> Self:
        expected = type(self.payload)
        if self.type != expected.subject:
            raise ValueError(f"type {self.type!r} does not match the payload ({expected.subject})")
        if self.schema_version > expected.schema_version:
            raise ValueError(
                f"{self.type} schema version {self.schema_version} is newer than this consumer "
                f"understands ({expected.schema_version}); deploy consumers before publishers"
            )
        return self

    @property
    def subject(self) -> str:
        """The NATS subject to publish on."""
        return self.type

    def to_json(self) -> bytes:
        """Serialise for the wire (UTF-8 JSON)."""
        return self.model_dump_json().encode()


def new_event(
    payload: P,
    *,
    source: str,
    event_id: UUID | None = None,
    occurred_at: datetime | None = None,
) -> Event[P]:
    """Wrap ``payload`` in an envelope with a fresh id and the current time.

    Pass ``event_id`` when retrying the publication of a fact that already has an id (for
    example one read back from an outbox), so JetStream de-duplicates it.
    """
    # Parametrised by the concrete class so the payload validates as itself, not its base.
    envelope = cast("type[Event[P]]", Event[type(payload)])  # type: ignore[misc]
    return envelope(
        event_id=event_id or uuid4(),
        type=payload.subject,
        occurred_at=occurred_at or datetime.now(UTC),
        source=source,
        schema_version=payload.schema_version,
        payload=payload,
    )
