"""Publishes the outbox to JetStream: appointment events reach NATS even if it was down at commit.

The repository writes each event in the transaction of the change it announces; this relay
reads unpublished rows oldest first, publishes each with its event id as the JetStream message
id (``Nats-Msg-Id``), and marks it published once JetStream acknowledged it. A crash between the
acknowledgement and the mark publishes the row again on the next pass, and the stream's
duplicate window drops the copy, so subscribers see each event once. While NATS is unreachable
the rows wait; `voiceassist_scheduling_outbox_pending` shows how many.

Events of one appointment keep their order: a pass stops at the first failure instead of
skipping ahead to later rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import Counter, Gauge
from voiceassist_common.logging import safe
from voiceassist_common.messaging import (
    MSG_ID_HEADER,
    SCHEDULING,
    NatsUnavailableError,
    connect,
    ensure_streams,
    stream_for,
)

from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository

__all__ = ["OUTBOX_PENDING", "OUTBOX_PUBLISHED", "OutboxRelay"]

logger = logging.getLogger(__name__)

OUTBOX_PUBLISHED = Counter(
    "voiceassist_scheduling_outbox_published",
    "Appointment events the outbox relay stored in JetStream, by subject.",
    ["subject"],
)
OUTBOX_PENDING = Gauge(
    "voiceassist_scheduling_outbox_pending",
    "Appointment events written but not yet acknowledged by JetStream (at the last pass).",
)

BATCH = 100


class OutboxRelay:
    """Moves outbox rows to JetStream; `run` until cancelled, or `publish_pending` once."""

    def __init__(
        self,
        repository: PostgresSchedulingRepository,
        nats_url: str,
        *,
        name: str = "scheduling",
        poll_seconds: float = 1.0,
        ack_wait_seconds: float = 2.0,
        connect_wait_seconds: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._repository = repository
        self._url = nats_url
        self._name = name
        self._poll = poll_seconds
        self._ack_wait = ack_wait_seconds
        self._connect_wait = connect_wait_seconds
        self._clock = clock
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._wake = asyncio.Event()

    def poke(self) -> None:
        """Ask for a pass now (after a commit) instead of at the next poll."""
        self._wake.set()

    async def _jetstream(self) -> JetStreamContext | None:
        if self._js is not None and self._client is not None and self._client.is_connected:
            return self._js
        try:
            client = await connect(self._url, name=self._name, max_wait_seconds=self._connect_wait)
        except NatsUnavailableError as error:
            logger.warning("outbox waits for NATS: %s", safe(str(error)))
            return None
        js = client.jetstream()
        try:
            await ensure_streams(js, (SCHEDULING,))
        except Exception as error:
            logger.warning("could not declare SCHEDULING (%s)", safe(type(error).__name__))
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
        self._client, self._js = client, js
        return js

    async def publish_pending(self) -> int:
        """Publish what is waiting, oldest first; return how many JetStream acknowledged."""
        rows = await self._repository.unpublished_events(BATCH)
        OUTBOX_PENDING.set(len(rows))
        if not rows:
            return 0
        js = await self._jetstream()
        if js is None:
            return 0
        published = 0
        for row in rows:
            try:
                await js.publish(
                    row.subject,
                    row.payload,
                    timeout=self._ack_wait,
                    stream=stream_for(row.subject).name,
                    headers={MSG_ID_HEADER: str(row.event_id)},
                )
            except Exception as error:
                await self._repository.note_publish_failure(row.event_id)
                logger.warning(
                    "outbox event not published yet (%s); retrying later",
                    safe(type(error).__name__),
                    extra={"event_id": str(row.event_id)},
                )
                break
            await self._repository.mark_published(row.event_id, self._clock())
            OUTBOX_PUBLISHED.labels(subject=row.subject).inc()
            published += 1
        OUTBOX_PENDING.set(len(rows) - published)
        return published

    async def run(self) -> None:
        """Relay until cancelled; a failed pass is logged and retried at the next poll."""
        while True:
            try:
                while await self.publish_pending() == BATCH:
                    pass
            except Exception as error:
                logger.warning("outbox pass failed (%s)", safe(type(error).__name__))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def close(self) -> None:
        """Close the NATS connection, if any."""
        client, self._client, self._js = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
