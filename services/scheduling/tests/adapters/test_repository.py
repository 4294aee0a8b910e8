"""The scheduling store, against a real PostgreSQL with the service's migrations applied.

What a patient would notice: a slot can be booked once, whatever the race; a retried booking
returns the same appointment; a cancelled slot is free again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from uuid import uuid4

import asyncpg
import pytest
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_scheduling.adapters.repository import (
    BookingRequest,
    IdempotencyKeyReusedError,
    PostgresSchedulingRepository,
    SlotTakenError,
)
from voiceassist_scheduling.domain.model import (
    AppointmentStatus,
    AvailabilityException,
    AvailabilityRule,
    ExceptionKind,
    Practice,
    Practitioner,
    Specialty,
    UrgencyLevel,
)
from voiceassist_scheduling.domain.slots import free_slots

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MONDAY_NINE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Paris


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    """Create a database for this module, with the scheduling migrations applied once."""
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def pool(database: MigratedDatabase) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    reset = (
        "TRUNCATE outbox, idempotency_keys, appointments, availability_exceptions, "
        "weekly_availability, appointment_types, practitioners, practices CASCADE"
    )
    async with database.pool("scheduling-test", reset=reset, max_size=4) as pool:
        yield pool


@pytest.fixture
async def store(pool: asyncpg.Pool[asyncpg.Record]) -> PostgresSchedulingRepository:
    return PostgresSchedulingRepository(pool)


async def a_doctor(store: PostgresSchedulingRepository) -> Practitioner:
    practice = await store.add_practice(
        Practice(uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", "1 rue de la Roquette")
    )
    doctor = await store.add_practitioner(
        Practitioner(
            uuid4(), "Dr Claire Martin", (Specialty.CARDIOLOGY,), ("fr", "en"), practice.id
        )
    )
    await store.ensure_appointment_type("consultation", "Consultation", 30)
    await store.set_weekly_availability(
        doctor.id, [AvailabilityRule(1, time(9), time(12), "consultation", 30)]
    )
    return doctor


def booking(doctor: Practitioner, patient: str = "patient-1", minutes: int = 0) -> BookingRequest:
    start = MONDAY_NINE + timedelta(minutes=minutes)
    return BookingRequest(
        patient_subject=patient,
        practitioner_id=doctor.id,
        start=start,
        end=start + timedelta(minutes=30),
        created_by=patient,
        reason="chest tightness on stairs",
        urgency=UrgencyLevel.CONSULTATION,
    )


async def test_practitioners_read_back_with_specialty_and_language_filters(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)

    assert await store.list_practitioners(specialty=Specialty.CARDIOLOGY) == [doctor]
    assert await store.list_practitioners(specialty=Specialty.NEUROLOGY) == []
    assert await store.list_practitioners(language="ur") == []
    assert await store.get_practitioner(doctor.id) == doctor
    rules = await store.weekly_availability(doctor.id)
    assert [(r.weekday, r.start_time, r.slot_minutes) for r in rules] == [(1, time(9), 30)]


async def test_a_booked_slot_disappears_and_comes_back_when_cancelled(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)
    day = (MONDAY_NINE, MONDAY_NINE + timedelta(hours=3))

    async def free() -> list[str]:
        busy = await store.busy_periods(doctor.id, *day)
        rules = await store.weekly_availability(doctor.id)
        slots = free_slots(
            practitioner_id=doctor.id,
            rules=rules,
            timezone="Europe/Paris",
            window_start=day[0],
            window_end=day[1],
            busy=busy,
        )
        return [f"{s.start:%H:%M}" for s in slots]

    appointment, replayed = await store.book(booking(doctor), idempotency_key="k1", now=NOW)
    assert not replayed
    assert "08:00" not in await free()

    cancelled, _ = await store.cancel(
        appointment.id,
        reason="feeling better",
        idempotency_key="cancel-1",
        cancelled_by="patient-1",
        now=NOW,
    )

    assert cancelled.status == AppointmentStatus.CANCELLED
    assert "08:00" in await free()


async def test_an_overlapping_booking_is_refused_by_the_database(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)
    await store.book(booking(doctor), idempotency_key="k1", now=NOW)

    with pytest.raises(SlotTakenError):
        await store.book(booking(doctor, "patient-2", minutes=15), idempotency_key="k2", now=NOW)

    # The back-to-back slot is still bookable: periods exclude their end.
    after, _ = await store.book(
        booking(doctor, "patient-2", minutes=30), idempotency_key="k3", now=NOW
    )
    assert after.status == AppointmentStatus.BOOKED


async def test_a_retried_booking_returns_the_same_appointment(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)
    first, first_replayed = await store.book(booking(doctor), idempotency_key="k1", now=NOW)

    again, replayed = await store.book(booking(doctor), idempotency_key="k1", now=NOW)

    assert (first_replayed, replayed) == (False, True)
    assert again == first
    assert len(await store.booked_in_window(MONDAY_NINE, MONDAY_NINE + timedelta(days=1))) == 1


async def test_a_key_reused_for_another_request_is_refused(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)
    await store.book(booking(doctor), idempotency_key="k1", now=NOW)

    with pytest.raises(IdempotencyKeyReusedError):
        await store.book(booking(doctor, minutes=60), idempotency_key="k1", now=NOW)


async def test_two_concurrent_bookings_of_one_slot_exactly_one_succeeds(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)

    results = await asyncio.gather(
        store.book(booking(doctor, "patient-1"), idempotency_key="a", now=NOW),
        store.book(booking(doctor, "patient-2"), idempotency_key="b", now=NOW),
        return_exceptions=True,
    )

    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, SlotTakenError) for r in results) == 1
    booked = await store.booked_in_window(MONDAY_NINE, MONDAY_NINE + timedelta(hours=1), doctor.id)
    assert len(booked) == 1


async def test_a_leave_period_blocks_the_slots_it_covers(
    store: PostgresSchedulingRepository,
) -> None:
    doctor = await a_doctor(store)
    await store.add_exception(
        AvailabilityException(
            uuid4(), doctor.id, MONDAY_NINE, MONDAY_NINE + timedelta(hours=1), ExceptionKind.LEAVE
        )
    )

    busy = await store.busy_periods(doctor.id, MONDAY_NINE, MONDAY_NINE + timedelta(days=1))

    assert busy == [(MONDAY_NINE, MONDAY_NINE + timedelta(hours=1))]
