"""Durable consumers handle each event once, retry failures, give up on poison, survive restarts.

When all goes well an event is handled once; when the handler fails it is delivered again, but
not endlessly; and neither a new connection nor a NATS restart brings handled events back.
"""

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from nats.js import JetStreamContext
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from voiceassist_common.events import (
    Event,
    EventPayload,
    TriageCompleted,
    UrgencyLevel,
    new_event,
)
from voiceassist_common.messaging import DurableConsumer, connect, ensure_streams, publish
from voiceassist_localstack.nats import NatsServer
from voiceassist_localstack.ports import free_port

pytestmark = pytest.mark.integration

SUBJECT = "triage.completed"


def completed() -> Event[TriageCompleted]:
    payload = TriageCompleted(
        assessment_id=uuid4(),
        level=UrgencyLevel.CONSULTATION_24,
        red_flags=("cardiac_chest_pain",),
        language="en",
        questions_asked=3,
        knowledge_version="2026.12.0",
    )
    return new_event(payload, source="triage")


class Journal:
    """Records the events of this test a handler saw; events of earlier tests are acked."""

    def __init__(self, ours: set[UUID], *, fail: Callable[[int], bool] = lambda _: False) -> None:
        self.ours = ours
        self.fail = fail
        self.seen: list[UUID] = []
        self.changed = asyncio.Event()

    async def __call__(self, event: Event[EventPayload]) -> None:
        if event.event_id not in self.ours:
            return
        self.seen.append(event.event_id)
        self.changed.set()
        if self.fail(self.seen.count(event.event_id)):
            raise RuntimeError("the handler's database is down")


def consumer(
    js: JetStreamContext,
    handler: Journal,
    *,
    max_deliver: int = 5,
    retry_delay_seconds: float = 1.0,
    poll_seconds: float = 5.0,
) -> DurableConsumer:
    return DurableConsumer(
        js,
        stream="TRIAGE",
        durable=f"test-{uuid4().hex[:12]}",
        filter_subject=SUBJECT,
        handler=handler,
        max_deliver=max_deliver,
        retry_delay_seconds=retry_delay_seconds,
        poll_seconds=poll_seconds,
    )


async def poll_until(consumer: DurableConsumer, done: Callable[[], bool]) -> None:
    """Poll until ``done()``; the timeout only guards against a hang."""
    async with asyncio.timeout(60):
        while not done():
            await consumer.poll(wait_seconds=0.5)


async def test_each_event_is_handled_once_and_acknowledged(js: JetStreamContext) -> None:
    events = [completed(), completed()]
    journal = Journal({event.event_id for event in events})
    reader = consumer(js, journal)
    for event in events:
        await publish(js, event)

    await poll_until(reader, lambda: len(journal.seen) == 2)
    await reader.poll(wait_seconds=0.5)

    assert journal.seen == [event.event_id for event in events]
    info = await js.consumer_info("TRIAGE", reader.durable)
    assert info.num_ack_pending == 0
    assert info.num_pending == 0
    await reader.close()


async def test_a_fetch_that_times_out_under_load_is_an_empty_poll(
    js: JetStreamContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under load nats-py's fetch can end in a plain asyncio TimeoutError rather than its own
    # (seen in CI): that is "nothing this time", not a reason to stop consuming.
    reader = consumer(js, Journal(set()))
    subscription = await reader._subscribed()

    async def slow_fetch(*_: object, **__: object) -> list[object]:
        raise TimeoutError

    monkeypatch.setattr(subscription, "fetch", slow_fetch)
    assert await reader.poll(wait_seconds=0.1) == 0


async def test_a_failed_event_is_delivered_again_until_it_succeeds(js: JetStreamContext) -> None:
    event = completed()
    journal = Journal({event.event_id}, fail=lambda attempt: attempt == 1)
    reader = consumer(js, journal, retry_delay_seconds=0.1)
    await publish(js, event)

    await poll_until(reader, lambda: len(journal.seen) == 2)

    assert journal.seen == [event.event_id, event.event_id]
    info = await js.consumer_info("TRIAGE", reader.durable)
    assert info.num_ack_pending == 0
    assert info.num_redelivered == 0  # acknowledged: nothing left waiting for redelivery
    await reader.close()


async def test_a_poison_event_is_given_up_after_max_deliver_and_logged_without_payload(
    js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    poison = completed()
    healthy = completed()
    journal = Journal(
        {poison.event_id, healthy.event_id},
        fail=lambda _: journal.seen[-1] == poison.event_id,
    )
    reader = consumer(js, journal, max_deliver=3, retry_delay_seconds=0.1)
    await publish(js, poison)
    await publish(js, healthy)

    with caplog.at_level(logging.WARNING, logger="voiceassist_common.messaging"):
        await poll_until(reader, lambda: journal.seen.count(poison.event_id) == 3)
        await poll_until(reader, lambda: healthy.event_id in journal.seen)
        for _ in range(3):
            await reader.poll(wait_seconds=0.3)

    assert journal.seen.count(poison.event_id) == 3
    assert journal.seen.count(healthy.event_id) == 1
    info = await js.consumer_info("TRIAGE", reader.durable)
    assert info.num_ack_pending == 0
    given_up = [record for record in caplog.records if "giving up" in record.getMessage()]
    assert len(given_up) == 1
    assert given_up[0].__dict__["delivery"] == 3
    assert str(poison.payload.assessment_id) not in caplog.text
    assert "cardiac_chest_pain" not in caplog.text
    outcomes = {
        outcome: REGISTRY.get_sample_value(
            "voiceassist_events_handled_total",
            {"consumer": reader.durable, "subject": SUBJECT, "outcome": outcome},
        )
        for outcome in ("acked", "retried", "terminated")
    }
    assert outcomes["retried"] == 2
    assert outcomes["terminated"] == 1
    assert outcomes["acked"] is not None
    assert outcomes["acked"] >= 1
    await reader.close()


async def test_bytes_that_are_not_an_event_are_terminated_at_once(
    js: JetStreamContext, caplog: pytest.LogCaptureFixture
) -> None:
    marker = completed()
    journal = Journal({marker.event_id})
    reader = consumer(js, journal)
    await js.publish(SUBJECT, b'{"caller": "Jane Doe", "phone": "555-0142"}', stream="TRIAGE")
    await publish(js, marker)

    with caplog.at_level(logging.ERROR, logger="voiceassist_common.messaging"):
        await poll_until(reader, lambda: marker.event_id in journal.seen)

    assert journal.seen == [marker.event_id]
    assert any("cannot be parsed" in record.getMessage() for record in caplog.records)
    assert "Jane" not in caplog.text
    assert "555" not in caplog.text
    info = await js.consumer_info("TRIAGE", reader.durable)
    assert info.num_ack_pending == 0
    await reader.close()


async def test_a_new_connection_resumes_after_the_last_acknowledged_event(
    js: JetStreamContext, nats_url: str
) -> None:
    first, second = completed(), completed()
    ours = {first.event_id, second.event_id}
    before = Journal(ours)
    reader = consumer(js, before)
    await publish(js, first)
    await poll_until(reader, lambda: before.seen == [first.event_id])
    await reader.close()

    await publish(js, second)
    client = await connect(nats_url, name="voiceassist-common-tests-2")
    try:
        after = Journal(ours)
        resumed = DurableConsumer(
            client.jetstream(),
            stream="TRIAGE",
            durable=reader.durable,
            filter_subject=SUBJECT,
            handler=after,
        )
        await poll_until(resumed, lambda: after.seen == [second.event_id])
        await resumed.poll(wait_seconds=0.5)
        assert after.seen == [second.event_id]
        await resumed.close()
    finally:
        await client.close()


@pytest.fixture
def own_nats_server() -> Iterator[NatsServer]:
    """Run a NATS server of this test's own, which the test may restart."""
    # Not tmp_path: pytest's root-owned base directory is shared; this one is ours alone.
    directory = Path(tempfile.mkdtemp(prefix="va-nats-restart-"))
    server = NatsServer(
        directory / "nats", port=free_port(), monitor_port=free_port(), server_name="restart-test"
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


async def publish_when_back(js: JetStreamContext, event: Event[EventPayload]) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                await publish(js, event, ack_wait_seconds=1)
                return
            except Exception:
                await asyncio.sleep(0.2)


async def test_a_running_consumer_rides_out_a_server_restart(own_nats_server: NatsServer) -> None:
    client = await connect(own_nats_server.url, name="voiceassist-restart-test")
    try:
        js = client.jetstream()
        await ensure_streams(js)
        first, second = completed(), completed()
        journal = Journal({first.event_id, second.event_id})
        reader = consumer(js, journal, poll_seconds=0.5)
        running = asyncio.create_task(reader.run())
        await publish(js, first)
        await wait_for(journal, lambda: journal.seen == [first.event_id])

        await asyncio.to_thread(own_nats_server.stop)
        await asyncio.to_thread(own_nats_server.start)
        await publish_when_back(js, second)
        await wait_for(journal, lambda: second.event_id in journal.seen)

        reader.stop()
        await running
        assert journal.seen == [first.event_id, second.event_id]
        await reader.close()
    finally:
        await client.close()


async def wait_for(journal: Journal, done: Callable[[], bool]) -> None:
    async with asyncio.timeout(60):
        while not done():
            journal.changed.clear()
            await journal.changed.wait()


async def test_the_handler_runs_in_the_publishers_trace(
    js: JetStreamContext, spans: InMemorySpanExporter
) -> None:
    event = completed()
    seen_in: list[trace.SpanContext] = []

    async def handler(received: Event[EventPayload]) -> None:
        if received.event_id == event.event_id:
            seen_in.append(trace.get_current_span().get_span_context())

    reader = DurableConsumer(
        js,
        stream="TRIAGE",
        durable=f"test-{uuid4().hex[:12]}",
        filter_subject=SUBJECT,
        handler=handler,
    )
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("caller finishes triage") as request:
        await publish(js, event)
    await poll_until(reader, lambda: bool(seen_in))

    assert seen_in[0].trace_id == request.get_span_context().trace_id
    finished = {span.name: span for span in spans.get_finished_spans()}
    publish_span = finished[f"publish {SUBJECT}"]
    process_span = finished[f"process {SUBJECT}"]
    assert process_span.parent is not None
    assert process_span.parent.span_id == publish_span.context.span_id
    assert process_span.kind is trace.SpanKind.CONSUMER
    await reader.close()
