"""Durable, pull-based consumption of typed events, with retries and a poison-message limit.

A durable consumer remembers on the server what it has acknowledged, so a service that restarts
or loses its connection carries on where it stopped, without seeing handled events again.
Delivery is at least once: an event whose handler failed, or whose acknowledgement was lost, is
delivered again, so handlers must be idempotent (the event id is the natural key). An event
that keeps failing is given up after ``max_deliver`` attempts and logged without its payload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import context as otel_context
from opentelemetry import trace
from prometheus_client import Counter

from voiceassist_common.events import Event, EventParseError, EventPayload, parse_event
from voiceassist_common.logging import log_context, safe
from voiceassist_common.telemetry import extract_context

logger = logging.getLogger(__name__)
_tracer = trace.get_tracer(__name__)

EventHandler = Callable[[Event[EventPayload]], Awaitable[None]]
"""Handles one event; raising means "not done, deliver it again later"."""

EVENTS_HANDLED = Counter(
    "voiceassist_events_handled",
    "Events a durable consumer finished with, by outcome: acked, retried or terminated.",
    ["consumer", "subject", "outcome"],
)

_MAX_RETRY_DELAY_SECONDS = 60.0


class DurableConsumer:
    """Pulls events matching ``filter_subject`` from ``stream`` and hands each to ``handler``.

    The handler gets the parsed, typed event and runs inside the trace context the publisher
    sent. Success acknowledges the event. Failure asks for redelivery after a delay that doubles
    with each attempt (from ``retry_delay_seconds``); at the ``max_deliver``-th failure the event
    is terminated, never delivered again. An event that cannot be parsed is terminated at once.
    If the handler runs longer than ``ack_wait_seconds`` JetStream delivers the event again.

    Use ``run()`` as a long-lived task and ``stop()`` to end it, or ``start()`` and ``poll()``
    to drive it step by step.
    """

    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        durable: str,
        filter_subject: str,
        handler: EventHandler,
        max_deliver: int = 5,
        ack_wait_seconds: float = 30.0,
        retry_delay_seconds: float = 1.0,
        batch_size: int = 10,
        poll_seconds: float = 5.0,
    ) -> None:
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        self._js = js
        self.stream = stream
        self.durable = durable
        self.filter_subject = filter_subject
        self._handler = handler
        self.max_deliver = max_deliver
        self.ack_wait_seconds = ack_wait_seconds
        self.retry_delay_seconds = retry_delay_seconds
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._stopping = asyncio.Event()

    def config(self) -> ConsumerConfig:
        """Return the JetStream consumer configuration this consumer runs with."""
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"{self.durable} reading {self.filter_subject}",
            filter_subject=self.filter_subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_seconds,
            max_deliver=self.max_deliver,
        )

    async def start(self) -> None:
        """Create the consumer on the server (or update its settings) and subscribe to it."""
        await self._subscribed()

    async def _subscribed(self) -> JetStreamContext.PullSubscription:
        if self._subscription is None:
            await self._js.add_consumer(self.stream, self.config())
            self._subscription = await self._js.pull_subscribe_bind(
                durable=self.durable, stream=self.stream
            )
        return self._subscription

    async def poll(self, *, wait_seconds: float | None = None) -> int:
        """Fetch one batch, waiting up to ``wait_seconds`` (default ``poll_seconds``); handle it.

        Returns how many events were delivered (handled, retried or terminated).
        """
        subscription = await self._subscribed()
        try:
            messages = await subscription.fetch(
                self.batch_size, timeout=wait_seconds or self.poll_seconds
            )
        except (nats.errors.TimeoutError, TimeoutError):
            # nats-py raises its own TimeoutError when nothing came, but a plain asyncio one
            # when the fetch's deadline passes while it waits under load: both mean "nothing
            # this time", and the second must not end the consumer's run loop.
            return 0
        for message in messages:
            await self._handle(message)
        return len(messages)

    async def run(self) -> None:
        """Handle events until `stop()` is called, riding out NATS outages."""
        self._stopping.clear()
        pause = 0.5
        while not self._stopping.is_set():
            try:
                await self.poll()
                pause = 0.5
            except (nats.errors.Error, OSError) as error:
                # Disconnected or reconnecting: the client reconnects on its own; wait for it.
                logger.warning(
                    "consumer %s cannot fetch (%s); retrying in %.1fs",
                    safe(self.durable),
                    safe(type(error).__name__),
                    pause,
                )
                await self._sleep_unless_stopped(pause)
                pause = min(pause * 2, 10.0)

    def stop(self) -> None:
        """Ask `run()` to return after the batch in hand."""
        self._stopping.set()

    async def close(self) -> None:
        """Unsubscribe; the durable consumer and its position stay on the server."""
        self.stop()
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.unsubscribe()

    async def _sleep_unless_stopped(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _handle(self, message: Msg) -> None:
        metadata = message.metadata
        delivery = metadata.num_delivered
        where = {
            "consumer": self.durable,
            "subject": message.subject,
            "stream_sequence": metadata.sequence.stream,
            "delivery": delivery,
        }
        try:
            event = parse_event(message.data, subject=message.subject)
        except EventParseError as error:
            logger.error(
                "terminating an event that cannot be parsed: %s",
                safe(str(error)),
                extra=where,
            )
            await message.term()
            self._count(message.subject, "terminated")
            return

        token = otel_context.attach(extract_context(message.headers or {}))
        try:
            with (
                _tracer.start_as_current_span(
                    f"process {message.subject}",
                    kind=trace.SpanKind.CONSUMER,
                    attributes={
                        "messaging.system": "nats",
                        "messaging.operation.type": "process",
                        "messaging.destination.name": message.subject,
                        "messaging.message.id": str(event.event_id),
                        "messaging.consumer.group.name": self.durable,
                        "messaging.message.delivery_count": delivery,
                    },
                ) as span,
                log_context(event_id=str(event.event_id), event_type=event.type),
            ):
                try:
                    await self._handler(event)
                except Exception as error:  # any failure means "try again later"
                    # Only the type: an exception message may quote the data it choked on.
                    span.set_status(trace.StatusCode.ERROR, type(error).__name__)
                    await self._failed(message, delivery, where)
                    return
        finally:
            otel_context.detach(token)
        try:
            await message.ack_sync(timeout=5)
        except (nats.errors.Error, TimeoutError) as error:
            # The handler's work is done; JetStream will redeliver and the handler, being
            # idempotent, will do nothing the second time.
            logger.warning(
                "could not acknowledge an event (%s)", safe(type(error).__name__), extra=where
            )
        else:
            self._count(message.subject, "acked")

    async def _failed(self, message: Msg, delivery: int, where: dict[str, object]) -> None:
        if delivery >= self.max_deliver:
            logger.error(
                "giving up on an event after %d failed deliveries; it will not be delivered again",
                delivery,
                extra=where,
                exc_info=True,
            )
            await message.term()
            self._count(message.subject, "terminated")
            return
        delay = min(self.retry_delay_seconds * 2 ** (delivery - 1), _MAX_RETRY_DELAY_SECONDS)
        logger.warning(
            "event handler failed; delivering again in %.1fs", delay, extra=where, exc_info=True
        )
        await message.nak(delay=delay)
        self._count(message.subject, "retried")

    def _count(self, subject: str, outcome: str) -> None:
        EVENTS_HANDLED.labels(consumer=self.durable, subject=subject, outcome=outcome).inc()
