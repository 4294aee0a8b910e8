"""NATS entry point of the admin service: audit records and the facts the analytics count.

The durable consumer ``admin-audit-trail`` reads ``audit.record.appended`` from the AUDIT stream
and appends each record to the hash-chained trail. Delivery is at least once; the store keeps a
record once by its ``record_id``, so redelivery is harmless. A failure to store (database down)
raises, and the consumer delivers the record again later.

Three more durable consumers feed the analytics (`analytics_consumers`): ``triage.completed``
(TRIAGE), ``scheduling.appointment.*`` (SCHEDULING; booked and cancelled are kept, the rest
acknowledged and dropped) and ``voice.turn.completed`` (VOICE). Each fact is reduced to ids,
levels, times and latencies (no PHI) and stored once by its publisher's id.
"""

from __future__ import annotations

from typing import Protocol

from nats.js import JetStreamContext
from voiceassist_common.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AuditRecordAppended,
    Event,
    EventPayload,
    TriageCompleted,
    VoiceTurnCompleted,
)
from voiceassist_common.messaging import AUDIT, SCHEDULING, TRIAGE, VOICE, DurableConsumer

from voiceassist_admin.domain.analytics import (
    BookingFact,
    CancellationFact,
    TriageFact,
    TurnFact,
)
from voiceassist_admin.domain.audit import AuditEntry, ChainedAuditEntry

DURABLE = "admin-audit-trail"
SUBJECT = AuditRecordAppended.subject


class AuditAppender(Protocol):
    """Where records go: the trail's store."""

    async def append(self, entry: AuditEntry) -> ChainedAuditEntry:
        """Store ``entry`` once."""
        ...


def entry_from_event(event: Event[EventPayload], record: AuditRecordAppended) -> AuditEntry:
    """Translate a published record (``event`` carrying ``record``) into the trail's entry."""
    return AuditEntry(
        record_id=record.record_id,
        event_id=event.event_id,
        # The time of the action, not of a publication that may have waited in a buffer.
        occurred_at=record.occurred_at or event.occurred_at,
        actor_id=record.actor_id,
        actor_kind=record.actor_kind.value,
        actor_role=record.actor_role,
        action=record.action,
        object_type=record.resource_type,
        object_id=record.resource_id,
        outcome=record.outcome.value,
        request_id=record.request_id,
        source=event.source,
        patient_subject=record.patient_subject,
    )


class AuditRecordSink:
    """Handles one delivered audit event by appending it to the trail."""

    def __init__(self, store: AuditAppender) -> None:
        self._store = store

    async def __call__(self, event: Event[EventPayload]) -> None:
        """Store the record; other payloads on the subject cannot occur (parsed by subject)."""
        if isinstance(event.payload, AuditRecordAppended):
            await self._store.append(entry_from_event(event, event.payload))


def audit_consumer(js: JetStreamContext, store: AuditAppender) -> DurableConsumer:
    """Return the durable consumer that feeds the trail from the AUDIT stream."""
    return DurableConsumer(
        js,
        stream=AUDIT.name,
        durable=DURABLE,
        filter_subject=SUBJECT,
        handler=AuditRecordSink(store),
        # A record must not be given up lightly: keep retrying for a long database outage.
        max_deliver=50,
        retry_delay_seconds=1.0,
    )


class AnalyticsRecorder(Protocol):
    """Where analytics facts go: the analytics store."""

    async def add_triage(self, fact: TriageFact) -> bool:
        """Store a completed triage once."""
        ...

    async def add_booking(self, fact: BookingFact) -> bool:
        """Store a booking once."""
        ...

    async def add_cancellation(self, fact: CancellationFact) -> bool:
        """Store a cancellation once."""
        ...

    async def add_turn(self, fact: TurnFact) -> bool:
        """Store a voice turn once."""
        ...


def fact_from_event(
    event: Event[EventPayload],
) -> TriageFact | BookingFact | CancellationFact | TurnFact | None:
    """Reduce a published fact to what the analytics keep; None for payloads they ignore."""
    payload = event.payload
    if isinstance(payload, TriageCompleted):
        return TriageFact(
            assessment_id=payload.assessment_id,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            level=payload.level,
            top_condition_id=payload.conditions[0].condition_id if payload.conditions else None,
            red_flags=tuple(dict.fromkeys(payload.red_flags)),
        )
    if isinstance(payload, AppointmentBooked):
        return BookingFact(
            appointment_id=payload.appointment_id,
            event_id=event.event_id,
            booked_at=event.occurred_at,
            triage_assessment_id=payload.triage_assessment_id,
            urgency=payload.urgency,
        )
    if isinstance(payload, AppointmentCancelled):
        return CancellationFact(
            appointment_id=payload.appointment_id,
            event_id=event.event_id,
            cancelled_at=event.occurred_at,
            reason=payload.reason.value,
        )
    if isinstance(payload, VoiceTurnCompleted):
        latencies = payload.latencies
        return TurnFact(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            session_id=payload.session_id,
            turn_index=payload.turn_index,
            stt_seconds=latencies.stt_seconds,
            reasoning_seconds=latencies.reasoning_seconds,
            tts_first_audio_seconds=latencies.tts_first_audio_seconds,
            interrupted=payload.interrupted,
        )
    return None


class AnalyticsSink:
    """Handles one delivered event by storing the fact it carries (once)."""

    def __init__(self, store: AnalyticsRecorder) -> None:
        self._store = store

    async def __call__(self, event: Event[EventPayload]) -> None:
        """Store the event's fact; a store failure raises so the event is delivered again."""
        fact = fact_from_event(event)
        if isinstance(fact, TriageFact):
            await self._store.add_triage(fact)
        elif isinstance(fact, BookingFact):
            await self._store.add_booking(fact)
        elif isinstance(fact, CancellationFact):
            await self._store.add_cancellation(fact)
        elif isinstance(fact, TurnFact):
            await self._store.add_turn(fact)


ANALYTICS_SOURCES: tuple[tuple[str, str, str], ...] = (
    (TRIAGE.name, "admin-analytics-triage", TriageCompleted.subject),
    (SCHEDULING.name, "admin-analytics-scheduling", "scheduling.appointment.>"),
    (VOICE.name, "admin-analytics-voice", VoiceTurnCompleted.subject),
)
"""(stream, durable name, filter subject) of each analytics consumer."""


def analytics_consumers(js: JetStreamContext, store: AnalyticsRecorder) -> list[DurableConsumer]:
    """Return the durable consumers that feed the analytics tables."""
    sink = AnalyticsSink(store)
    return [
        DurableConsumer(
            js,
            stream=stream,
            durable=durable,
            filter_subject=subject,
            handler=sink,
            # A lost fact skews the charts for good: retry through a database outage.
            max_deliver=50,
            retry_delay_seconds=1.0,
        )
        for stream, durable, subject in ANALYTICS_SOURCES
    ]
