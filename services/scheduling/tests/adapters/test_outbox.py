"""Appointment events reach JetStream even when NATS was down when the booking committed.

Against a real PostgreSQL and a real nats-server that the test stops and starts: a booking
made while NATS is down is kept in the outbox, and published once NATS is back; publishing it
twice (a relay that crashed after the acknowledgement) stores it once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg
import nats
import pytest
from voiceassist_common.messaging import SCHEDULING
from voiceassist_common.testing import free_port
from voiceassist_localstack.nats import NatsServer
from voiceassist_scheduling.adapters.outbox import OutboxRelay
from voiceassist_scheduling.adapters.repository import BookingRequest, PostgresSchedulingRepository
from voiceassist_scheduling.domain.model import AvailabilityRule, Practice, Practitioner, Specialty

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MONDAY_NINE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def nats_down(tmp_path: Path) -> Iterator[NatsServer]:
    """Prepare a nats-server of this test alone, not started yet."""
    server = NatsServer(
        tmp_path / "nats",
        port=free_port(),
        monitor_port=free_port(),
        server_name=f"outbox-test-{os.getpid()}",
    )
    try:
        yield server
    finally:
        server.stop()


async def a_booking(repository: PostgresSchedulingRepository) -> None:
    practice = await repository.add_practice(
        Practice(uuid4(), "Cabinet Outbox", "Paris", "Europe/Paris")
    )
    doctor = await repository.add_practitioner(
        Practitioner(uuid4(), "Dr Outbox", (Specialty.GENERAL_PRACTICE,), ("fr",), practice.id)
    )
    await repository.ensure_appointment_type("consultation", "Consultation", 30)
    await repository.set_weekly_availability(
        doctor.id, [AvailabilityRule(1, time(9), time(12), "consultation", 30)]
    )
    await repository.book(
        BookingRequest(
            "patient-1",
            doctor.id,
            MONDAY_NINE,
            MONDAY_NINE + timedelta(minutes=30),
            created_by="patient-1",
        ),
        idempotency_key="outbox-1",
        now=NOW,
    )


async def stored_events(url: str) -> list[str]:
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        info = await js.stream_info(SCHEDULING.name)
        subjects = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(SCHEDULING.name, sequence)
            subjects.append(str(message.subject))
        return subjects
    finally:
        await client.close()


async def test_an_event_written_while_nats_is_down_is_published_when_it_returns(
    scheduling_pool: asyncpg.Pool[asyncpg.Record], nats_down: NatsServer
) -> None:
    repository = PostgresSchedulingRepository(scheduling_pool)
    await a_booking(repository)  # the booking commits: NATS plays no part in it
    relay = OutboxRelay(repository, nats_down.url, connect_wait_seconds=0.5)
    try:
        assert await relay.publish_pending() == 0
        assert len(await repository.unpublished_events()) == 1

        nats_down.start()
        assert await relay.publish_pending() == 1
        assert await repository.unpublished_events() == []
        assert await stored_events(nats_down.url) == ["scheduling.appointment.booked"]

        # A relay that crashed after the acknowledgement publishes the row again: JetStream
        # keeps one copy, because the event id is the message id.
        await scheduling_pool.execute("UPDATE outbox SET publish_time = NULL")
        assert await relay.publish_pending() == 1
        assert await stored_events(nats_down.url) == ["scheduling.appointment.booked"]
    finally:
        await relay.close()
