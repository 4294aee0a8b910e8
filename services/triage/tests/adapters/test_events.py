"""triage.completed reaches the TRIAGE stream once per assessment; a missing NATS costs only events.

Publishing never raises, and a service started before NATS connects once NATS comes up.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from prometheus_client import REGISTRY
from voiceassist_common.events import (
    ConditionProbability,
    TriageCompleted,
    UrgencyLevel,
    parse_event,
)
from voiceassist_common.messaging import MSG_ID_HEADER, connect, ensure_streams
from voiceassist_localstack.nats import NatsServer
from voiceassist_localstack.ports import free_port
from voiceassist_triage.adapters.events import JetStreamOutcomes

pytestmark = pytest.mark.integration

SUBJECT = "triage.completed"


def completed() -> TriageCompleted:
    return TriageCompleted(
        assessment_id=uuid4(),
        level=UrgencyLevel.EMERGENCY_AMBULANCE,
        red_flags=("cardiac_chest_pain",),
        conditions=(ConditionProbability(condition_id="unstable_angina", probability=0.4),),
        present_evidence_ids=("E_53", "E_55"),
        absent_evidence_ids=("E_91",),
        language="en",
        questions_asked=3,
        knowledge_version="2026.12.0+720fb639af",
    )


def dropped(reason: str) -> float:
    labels = {"reason": reason}
    return REGISTRY.get_sample_value("voiceassist_triage_events_dropped_total", labels) or 0.0


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_url, name="triage-events-test", max_wait_seconds=10)
    try:
        context = client.jetstream()
        await ensure_streams(context)
        yield context
    finally:
        await client.close()


@pytest.fixture
async def outcomes(nats_url: str) -> AsyncIterator[JetStreamOutcomes]:
    publisher = JetStreamOutcomes(nats_url, name="triage-test")
    publisher.start()
    try:
        async with asyncio.timeout(30):
            await publisher.ready.wait()
        yield publisher
    finally:
        await publisher.close()


async def test_the_event_is_stored_under_the_assessment_id(
    outcomes: JetStreamOutcomes, js: JetStreamContext
) -> None:
    event = completed()

    await outcomes.completed(event)

    stored = await js.get_last_msg("TRIAGE", SUBJECT)
    assert stored.headers is not None
    assert stored.headers[MSG_ID_HEADER] == str(event.assessment_id)
    assert stored.data is not None
    envelope = parse_event(stored.data, subject=SUBJECT)
    assert envelope.event_id == event.assessment_id
    assert envelope.source == "triage"
    assert envelope.payload == event


async def test_the_same_assessment_announced_twice_is_stored_once(
    outcomes: JetStreamOutcomes, js: JetStreamContext
) -> None:
    event = completed()
    before = (await js.stream_info("TRIAGE")).state.messages

    await outcomes.completed(event)
    await outcomes.completed(event)

    assert (await js.stream_info("TRIAGE")).state.messages == before + 1


async def test_before_nats_answers_an_event_is_dropped_and_counted_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    publisher = JetStreamOutcomes(f"nats://127.0.0.1:{free_port()}", connect_wait_seconds=1)
    publisher.start()
    before = dropped("not_connected")
    try:
        with caplog.at_level(logging.WARNING):
            await publisher.completed(completed())
    finally:
        await publisher.close()

    assert dropped("not_connected") == before + 1
    assert "triage.completed not published (not_connected)" in caplog.text


async def test_a_service_started_before_nats_publishes_once_nats_is_up() -> None:
    directory = Path(tempfile.mkdtemp(prefix="va-triage-nats-"))
    server = NatsServer(
        directory / "nats", port=free_port(), monitor_port=free_port(), server_name="triage-late"
    )
    publisher = JetStreamOutcomes(server.url, connect_wait_seconds=2)
    publisher.start()
    try:
        await publisher.completed(completed())  # dropped: nothing listens yet
        await asyncio.to_thread(server.start)
        async with asyncio.timeout(60):
            await publisher.ready.wait()
        event = completed()

        await publisher.completed(event)

        client = await connect(server.url, name="triage-late-reader")
        try:
            stored = await client.jetstream().get_last_msg("TRIAGE", SUBJECT)
        finally:
            await client.close()
        assert stored.data is not None
        assert parse_event(stored.data).event_id == event.assessment_id
    finally:
        await publisher.close()
        await asyncio.to_thread(server.stop)
        shutil.rmtree(directory, ignore_errors=True)
