"""The analytics tables: each fact stored once, and the reports the admin panel charts.

Runs against a real PostgreSQL with the admin migrations applied; a handful of facts in and
around a window, some delivered twice, as JetStream may.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from voiceassist_admin.adapters.analytics_store import PostgresAnalyticsStore
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.domain.analytics import (
    BookingFact,
    CancellationFact,
    LevelConversion,
    LevelCount,
    NamedCount,
    TriageFact,
    TurnFact,
    VoiceStage,
    Window,
)
from voiceassist_common.events import UrgencyLevel
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_localstack.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WINDOW = Window(DAY, DAY + timedelta(days=1))
EMPTY = "TRUNCATE triage_outcomes, bookings, cancellations, voice_turns"


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    """Create a database for this module, with the admin migrations applied once."""
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def store(database: MigratedDatabase) -> AsyncIterator[PostgresAnalyticsStore]:
    async with database.pool("admin-analytics-test", reset=EMPTY) as pool:
        yield PostgresAnalyticsStore(pool)


def triage(
    level: UrgencyLevel,
    *,
    hours: float = 1,
    condition: str | None = "viral_pharyngitis",
    flags: tuple[str, ...] = (),
) -> TriageFact:
    return TriageFact(
        assessment_id=uuid4(),
        event_id=uuid4(),
        occurred_at=DAY + timedelta(hours=hours),
        level=level,
        top_condition_id=condition,
        red_flags=flags,
    )


def booking(assessment: UUID | None, *, hours: float = 2) -> BookingFact:
    return BookingFact(
        appointment_id=uuid4(),
        event_id=uuid4(),
        booked_at=DAY + timedelta(hours=hours),
        triage_assessment_id=assessment,
        urgency=None,
    )


def turn(stt: float, reasoning: float, tts: float, *, hours: float = 1) -> TurnFact:
    return TurnFact(
        event_id=uuid4(),
        occurred_at=DAY + timedelta(hours=hours),
        session_id=uuid4(),
        turn_index=0,
        stt_seconds=stt,
        reasoning_seconds=reasoning,
        tts_first_audio_seconds=tts,
    )


async def test_triage_summary_counts_levels_conditions_and_flags_in_the_window(
    store: PostgresAnalyticsStore,
) -> None:
    facts = [
        triage(UrgencyLevel.SELF_CARE),
        triage(UrgencyLevel.SELF_CARE, condition="common_cold"),
        triage(UrgencyLevel.EMERGENCY_AMBULANCE, condition="stemi", flags=("chest_pain_acs",)),
        triage(UrgencyLevel.CONSULTATION, flags=("chest_pain_acs", "high_fever")),
        triage(UrgencyLevel.CONSULTATION, hours=-1),  # the day before: outside
        triage(UrgencyLevel.CONSULTATION, hours=24),  # the end is exclusive
    ]
    for fact in facts:
        assert await store.add_triage(fact)
    # Redelivery of the first event stores nothing more.
    assert not await store.add_triage(facts[0])

    summary = await store.triage_summary(WINDOW, top_conditions=2)

    assert summary.total_assessments == 4
    assert summary.by_level == (
        LevelCount(UrgencyLevel.EMERGENCY_AMBULANCE, 1),
        LevelCount(UrgencyLevel.CONSULTATION, 1),
        LevelCount(UrgencyLevel.SELF_CARE, 2),
    )
    assert summary.top_conditions == (
        NamedCount("viral_pharyngitis", "Viral pharyngitis", 2),
        NamedCount("common_cold", "Common cold", 1),
    )
    assert summary.red_flags == (
        NamedCount("chest_pain_acs", "Chest pain acs", 2),
        NamedCount("high_fever", "High fever", 1),
    )
    unbounded = await store.triage_summary(Window())
    assert unbounded.total_assessments == 6


async def test_booking_conversion_counts_bookable_assessments_that_led_to_a_booking(
    store: PostgresAnalyticsStore,
) -> None:
    soon = triage(UrgencyLevel.CONSULTATION_24)
    ordinary = triage(UrgencyLevel.CONSULTATION)
    unbooked = triage(UrgencyLevel.CONSULTATION)
    emergency = triage(UrgencyLevel.EMERGENCY)
    for fact in (soon, ordinary, unbooked, emergency):
        await store.add_triage(fact)
    first = booking(soon.assessment_id)
    for booked in (first, first, booking(ordinary.assessment_id, hours=30), booking(None)):
        await store.add_booking(booked)  # the repeat is a redelivery
    cancelled = CancellationFact(uuid4(), uuid4(), DAY + timedelta(hours=3), "patient_request")
    assert await store.add_cancellation(cancelled)
    assert not await store.add_cancellation(cancelled)
    await store.add_cancellation(
        CancellationFact(uuid4(), uuid4(), DAY - timedelta(hours=3), "other")
    )

    conversion = await store.booking_conversion(WINDOW)

    # A booking made after the window still converts an assessment made inside it.
    assert conversion.by_level == (
        LevelConversion(UrgencyLevel.CONSULTATION_24, 1, 1),
        LevelConversion(UrgencyLevel.CONSULTATION, 2, 1),
    )
    assert (conversion.bookable_assessments, conversion.booked) == (3, 2)
    assert conversion.rate == pytest.approx(2 / 3)
    assert conversion.cancelled == 1


async def test_voice_latency_percentiles_accumulate_stages_from_the_end_of_speech(
    store: PostgresAnalyticsStore,
) -> None:
    facts = [turn(0.1 * n, 0.2, 0.3) for n in range(1, 6)]  # stt 0.1 .. 0.5 s
    for fact in (*facts, facts[2], turn(9.0, 9.0, 9.0, hours=-2)):
        await store.add_turn(fact)

    latency = await store.voice_latency(WINDOW)

    stt, text, audio = latency.stages
    assert [stage.stage for stage in latency.stages] == list(VoiceStage)
    assert {stage.count for stage in latency.stages} == {5}
    assert stt.p50 == pytest.approx(0.3)
    # Interpolated, as percentile_cont does: 0.1 + 0.95 * (0.5 - 0.1).
    assert stt.p95 == pytest.approx(0.48)
    assert stt.p99 == pytest.approx(0.496)
    assert text.p50 == pytest.approx(0.5)
    assert audio.p50 == pytest.approx(0.8)
    assert audio.p99 == pytest.approx(0.996)
    assert (await store.voice_latency(Window(DAY + timedelta(days=2)))).stages == ()
