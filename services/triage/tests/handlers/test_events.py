"""A guest's assessments follow them into the account they sign up or in with.

The consumer reads ``auth.guest.upgraded`` from the AUTH stream of a real NATS server, as the
auth service publishes it; the store is the in-memory one (tests/adapters/test_repository.py
holds PostgreSQL to the same contract, and test_server.py runs the whole process on both).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from nats.js import JetStreamContext
from voiceassist_common.events import GuestSessionUpgraded, new_event
from voiceassist_common.messaging import AUTH, DurableConsumer, connect, ensure_streams, publish
from voiceassist_triage.adapters.repository import (
    AssessmentFilter,
    InMemoryAssessmentRepository,
    StoreUnavailableError,
)
from voiceassist_triage.handlers.events import guest_upgrade_consumer

from ..adapters.test_repository import assessment

pytestmark = pytest.mark.integration

ACCOUNT = "3f1d9c10-0b7d-4e55-9a52-2f6f0b7d6f8e"


def new_guest() -> str:
    return f"guest-{uuid4()}"


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_url, name="triage-guest-upgrades-test", max_wait_seconds=10)
    try:
        context = client.jetstream()
        await ensure_streams(context, (AUTH,))
        yield context
    finally:
        await client.close()


async def announce_upgrade(js: JetStreamContext, guest: str, account: str = ACCOUNT) -> None:
    upgrade = GuestSessionUpgraded(
        guest_subject=guest, user_subject=account, upgraded_at=datetime.now(UTC)
    )
    await publish(js, new_event(upgrade, source="auth"))


async def consumer_for(
    js: JetStreamContext, store: InMemoryAssessmentRepository
) -> DurableConsumer:
    # A durable of its own per test: the AUTH stream on the session's NATS is shared.
    consumer = guest_upgrade_consumer(
        js, store, durable=f"test-{uuid4().hex[:12]}", retry_delay_seconds=0.05
    )
    await consumer.start()
    return consumer


async def drain(
    consumer: DurableConsumer, store: InMemoryAssessmentRepository, subject: str, moved: int
) -> None:
    """Handle events until ``moved`` assessments belong to ``subject``, then until idle.

    Waiting for the effect, not for a quiet spell only, keeps a loaded machine (slow delivery)
    from ending the wait before the event arrives; the idle polls after it catch a redelivery.
    """
    async with asyncio.timeout(30):
        while (
            await store.list(AssessmentFilter(patient_subject=subject), page_size=10)
        ).total_size < moved:
            await consumer.poll(wait_seconds=0.3)
        idle = 0
        while idle < 3:
            idle = idle + 1 if await consumer.poll(wait_seconds=0.3) == 0 else 0


async def test_the_account_reads_what_the_guest_was_told_and_nobody_else_moves(
    js: JetStreamContext,
) -> None:
    guest, account = new_guest(), str(uuid4())
    store = InMemoryAssessmentRepository()
    chest_pain = assessment(subject=guest)
    another_patient = assessment(minutes=1, subject="patient-2")
    for item in (chest_pain, another_patient):
        await store.add(item)
    consumer = await consumer_for(js, store)

    await announce_upgrade(js, guest, account)
    await drain(consumer, store, account, moved=1)

    assert await store.get(chest_pain.id) == replace(chest_pain, patient_subject=account)
    assert await store.get(another_patient.id) == another_patient
    left = await store.list(AssessmentFilter(patient_subject=guest), page_size=10)
    assert left.total_size == 0
    await consumer.close()


async def test_an_upgrade_delivered_twice_moves_the_records_once(js: JetStreamContext) -> None:
    guest = new_guest()
    store = InMemoryAssessmentRepository()
    await store.add(assessment(subject=guest))
    consumer = await consumer_for(js, store)

    await announce_upgrade(js, guest)
    await announce_upgrade(js, guest)  # a retry outside JetStream's duplicate window
    await drain(consumer, store, ACCOUNT, moved=1)

    mine = await store.list(AssessmentFilter(patient_subject=ACCOUNT), page_size=10)
    assert mine.total_size == 1
    await consumer.close()


class FlakyStore(InMemoryAssessmentRepository):
    """The in-memory store, unreachable for its first ``outages`` moves."""

    def __init__(self, outages: int) -> None:
        super().__init__()
        self.outages = outages

    async def reassign_patient(self, from_subject: str, to_subject: str) -> int:
        if self.outages > 0:
            self.outages -= 1
            raise StoreUnavailableError("PostgreSQL is unavailable (OSError)")
        return await super().reassign_patient(from_subject, to_subject)


async def test_an_upgrade_that_meets_a_database_outage_is_finished_once_it_is_back(
    js: JetStreamContext,
) -> None:
    guest = new_guest()
    store = FlakyStore(outages=2)
    await store.add(assessment(subject=guest))
    consumer = await consumer_for(js, store)

    await announce_upgrade(js, guest)
    await drain(consumer, store, ACCOUNT, moved=1)

    assert store.outages == 0
    mine = await store.list(AssessmentFilter(patient_subject=ACCOUNT), page_size=10)
    assert mine.total_size == 1
    await consumer.close()
