"""NATS entry point of the admin service: every audit record published on JetStream is stored.

The durable consumer ``admin-audit-trail`` reads ``audit.record.appended`` from the AUDIT stream
and appends each record to the hash-chained trail. Delivery is at least once; the store keeps a
record once by its ``record_id``, so redelivery is harmless. A failure to store (database down)
raises, and the consumer delivers the record again later.
"""

from __future__ import annotations

from typing import Protocol

from nats.js import JetStreamContext
from voiceassist_common.events import AuditRecordAppended, Event, EventPayload
from voiceassist_common.messaging import AUDIT, DurableConsumer

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
