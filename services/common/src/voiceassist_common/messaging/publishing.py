"""Publishing a typed event to JetStream, at most once per event id, with its trace context.

A publisher that times out waiting for JetStream's acknowledgement cannot tell whether the
event was stored, so it publishes again; the event id travels as ``Nats-Msg-Id`` and JetStream
drops the second copy within the stream's duplicate window. The W3C trace context travels in
the headers too, so the consumer's work joins the trace of the request that caused it.
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import Header, PubAck
from opentelemetry import trace
from prometheus_client import Counter

from voiceassist_common.events import Event, EventPayload
from voiceassist_common.messaging.streams import stream_for
from voiceassist_common.telemetry import inject_context

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

MSG_ID_HEADER = Header.MSG_ID.value
"""``Nats-Msg-Id``: the header JetStream de-duplicates on."""

EVENTS_PUBLISHED = Counter(
    "voiceassist_events_published",
    "Events stored by JetStream, by subject; duplicates are counted apart.",
    ["subject", "duplicate"],
)


async def publish(
    js: JetStreamContext, event: Event[EventPayload], *, ack_wait_seconds: float | None = None
) -> PubAck:
    """Store ``event`` in its stream and return JetStream's acknowledgement.

    ``ack_wait_seconds`` bounds the wait for the acknowledgement (default: the context's).
    Publishing the same event (same ``event_id``) again within the duplicate window stores
    nothing and returns an acknowledgement with ``duplicate=True`` and the first sequence
    number, so retrying after a timeout is always safe.
    """
    stream = stream_for(event.subject).name
    with _tracer.start_as_current_span(
        f"publish {event.subject}",
        kind=trace.SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "send",
            "messaging.destination.name": event.subject,
            "messaging.message.id": str(event.event_id),
        },
    ):
        headers: dict[str, str] = {MSG_ID_HEADER: str(event.event_id)}
        inject_context(headers)
        ack = await js.publish(
            event.subject, event.to_json(), timeout=ack_wait_seconds, stream=stream, headers=headers
        )
    duplicate = bool(ack.duplicate)
    EVENTS_PUBLISHED.labels(subject=event.subject, duplicate=str(duplicate).lower()).inc()
    if duplicate:
        logger.debug(
            "event already stored, publish de-duplicated", extra={"subject": event.subject}
        )
    return ack
