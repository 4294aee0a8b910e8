"""Publishes ``triage.completed`` to JetStream after each Triage, never blocking triage on it.

Analytics and audit read outcomes from the TRIAGE stream, but a patient who describes chest pain
must hear "call an ambulance" even when NATS is down. So the service starts without NATS and
keeps dialling in the background; a publish waits for JetStream's acknowledgement only briefly,
and an event that cannot be stored is dropped with a warning (its subject and the reason's type,
nothing about the patient) and counted in ``voiceassist_triage_events_dropped_total``. The
assessment itself is in PostgreSQL either way.

The event id is the assessment id, so a publish retried after a lost acknowledgement is stored
once (JetStream de-duplicates on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol
from uuid import UUID

from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import Counter
from voiceassist_common.events import TriageCompleted, new_event
from voiceassist_common.logging import safe
from voiceassist_common.messaging import (
    TRIAGE,
    NatsUnavailableError,
    connect,
    ensure_streams,
    publish,
)

__all__ = ["EVENTS_DROPPED", "JetStreamOutcomes", "OutcomePublisher"]

logger = logging.getLogger(__name__)

EVENTS_DROPPED = Counter(
    "voiceassist_triage_events_dropped",
    "triage.completed events not stored in JetStream (NATS unreachable or no acknowledgement), "
    "by reason; the assessments are recorded all the same.",
    ["reason"],
)


class OutcomePublisher(Protocol):
    """Tells the rest of the platform that an assessment was recorded."""

    async def completed(self, event: TriageCompleted) -> None:
        """Publish ``event``; never raises (a lost event must not fail the triage call)."""
        ...


class JetStreamOutcomes:
    """`OutcomePublisher` on NATS JetStream, connecting in the background.

    Call `start` once inside the serving event loop and `close` on the way out.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str = "triage",
        source: str = "triage",
        ack_wait_seconds: float = 2.0,
        connect_wait_seconds: float = 30.0,
    ) -> None:
        self._url = url
        self._name = name
        self._source = source
        self._ack_wait = ack_wait_seconds
        self._connect_wait = connect_wait_seconds
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._dialling: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()
        """Set once connected with the TRIAGE stream declared (tests wait on it)."""

    def start(self) -> None:
        """Start connecting in the background; returns at once."""
        if self._dialling is None:
            self._dialling = asyncio.create_task(self._dial(), name="triage-nats-connect")

    async def _dial(self) -> None:
        # connect() waits up to connect_wait_seconds and logs each failed attempt; after that
        # we keep trying, because events published later are still worth delivering.
        while self._client is None:
            try:
                client = await connect(
                    self._url, name=self._name, max_wait_seconds=self._connect_wait
                )
            except NatsUnavailableError as error:
                logger.warning("%s; triage answers without publishing events", safe(str(error)))
                continue
            js = client.jetstream()
            try:
                await ensure_streams(js, (TRIAGE,))
            except Exception as error:
                # The stream may be declared by `make up` or another replica; publishing will
                # tell whether it exists.
                logger.warning(
                    "could not declare the TRIAGE stream (%s)", safe(type(error).__name__)
                )
            self._client, self._js = client, js
            self.ready.set()

    @property
    def jetstream(self) -> JetStreamContext | None:
        """The JetStream context once connected (`ready`), for the service's consumers."""
        return self._js

    async def completed(self, event: TriageCompleted) -> None:
        """Publish ``event`` under the assessment id; count and log a drop instead of raising."""
        js = self._js
        if js is None:
            self._drop(event.assessment_id, "not_connected")
            return
        envelope = new_event(event, source=self._source, event_id=event.assessment_id)
        try:
            await publish(js, envelope, ack_wait_seconds=self._ack_wait)
        except Exception as error:
            self._drop(event.assessment_id, "no_ack", error)

    def _drop(self, assessment_id: UUID, reason: str, error: Exception | None = None) -> None:
        EVENTS_DROPPED.labels(reason=reason).inc()
        logger.warning(
            "%s not published (%s%s); the assessment is recorded",
            safe(TriageCompleted.subject),
            safe(reason),
            safe(f": {type(error).__name__}" if error is not None else ""),
            extra={"assessment_id": str(assessment_id)},
        )

    async def close(self) -> None:
        """Stop connecting and close the connection, flushing what is buffered."""
        if self._dialling is not None:
            self._dialling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dialling
            self._dialling = None
        client, self._client, self._js = self._client, None, None
        self.ready.clear()
        if client is not None and not client.is_closed:
            await client.close()
