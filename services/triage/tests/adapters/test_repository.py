"""The assessment store keeps what triage decided, and lists it newest first, filtered and paged.

One contract, two stores: every test runs against the in-memory store and against PostgreSQL
(a real server, with the service's own migrations applied).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_triage.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_triage.adapters.repository import (
    Assessment,
    AssessmentFilter,
    AssessmentRepository,
    ConditionScore,
    InMemoryAssessmentRepository,
    InvalidPageTokenError,
    PostgresAssessmentRepository,
    RecordedFlag,
    StoreUnavailableError,
)
from voiceassist_triage.domain.case import Answer, Language, Sex, Urgency

NINE_AM = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def assessment(
    *,
    minutes: int = 0,
    subject: str = "patient-1",
    level: Urgency = Urgency.CONSULTATION,
    assessment_id: UUID | None = None,
) -> Assessment:
    emergency = level.is_emergency
    return Assessment(
        id=assessment_id or uuid4(),
        create_time=NINE_AM + timedelta(minutes=minutes),
        patient_subject=subject,
        conversation_id="conversation-1",
        language=Language.FR,
        age_years=64,
        age_months=None,
        sex=Sex.MALE,
        answers=(
            Answer("E_53", True),
            Answer("E_91", False),
            Answer("E_55", "V_101"),
            Answer("E_55", "V_29"),
            Answer("E_56", 7.0),
            Answer("VA_temperature", 38.4),
            Answer("E_57", None),
        ),
        level=level,
        red_flags=(
            RecordedFlag(
                id="cardiac_chest_pain",
                name="Douleur thoracique pouvant venir du cœur",
                reason="Vous décrivez une douleur à la poitrine qui serre.",
                level=Urgency.EMERGENCY_AMBULANCE,
                evidence_ids=("E_55", "E_57"),
                source="ESC 2023 guidelines for acute coronary syndromes",
            ),
        )
        if emergency
        else (),
        instruction="Appelez le 15.",
        conditions=(ConditionScore("unstable_angina", 0.52), ConditionScore("gerd", 0.125)),
        specialty=None if emergency else "cardiology",
        escalated_for_missing_evidence=not emergency,
        missing_evidence_ids=() if emergency else ("VA_sweating_with_chest_pain",),
        knowledge_version="2026.12.0+720fb639af",
        questions_asked=4,
    )


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    """Create a database for this module, with the triage migrations applied once."""
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


def empty_store_pool(
    database: MigratedDatabase,
) -> AbstractAsyncContextManager[asyncpg.Pool[asyncpg.Record]]:
    """Open a pool on the triage schema with no assessments stored."""
    return database.pool("triage-test", reset="TRUNCATE assessments")


@pytest.fixture
async def pool(database: MigratedDatabase) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    async with empty_store_pool(database) as pool:
        yield pool


@pytest.fixture(
    params=["memory", pytest.param("postgres", marks=pytest.mark.integration)],
)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[AssessmentRepository]:
    if request.param == "memory":
        yield InMemoryAssessmentRepository()
        return
    async with empty_store_pool(request.getfixturevalue("database")) as pool:
        yield PostgresAssessmentRepository(pool)


async def test_an_assessment_reads_back_exactly_as_recorded(store: AssessmentRepository) -> None:
    ambulance = assessment(level=Urgency.EMERGENCY_AMBULANCE)
    booked = assessment(minutes=1)
    await store.add(ambulance)
    await store.add(booked)

    assert await store.get(ambulance.id) == ambulance
    assert await store.get(booked.id) == booked
    assert await store.get(uuid4()) is None


async def test_unknown_answers_and_numbers_keep_their_kind(store: AssessmentRepository) -> None:
    recorded = assessment()
    await store.add(recorded)

    read = await store.get(recorded.id)

    assert read is not None
    values = {(a.evidence_id, a.value) for a in read.answers}
    assert ("E_57", None) in values
    assert ("E_91", False) in values
    assert ("E_56", 7.0) in values
    assert {a.value for a in read.answers if a.evidence_id == "E_55"} == {"V_101", "V_29"}


async def test_the_list_is_newest_first_and_filtered_by_patient(
    store: AssessmentRepository,
) -> None:
    first, second = assessment(minutes=0), assessment(minutes=5)
    someone_else = assessment(minutes=10, subject="patient-2")
    for item in (second, someone_else, first):
        await store.add(item)

    mine = await store.list(AssessmentFilter(patient_subject="patient-1"), page_size=10)
    everyone = await store.list(AssessmentFilter(), page_size=10)

    assert [a.id for a in mine.assessments] == [second.id, first.id]
    assert (mine.total_size, mine.next_page_token) == (2, "")
    assert [a.id for a in everyone.assessments] == [someone_else.id, second.id, first.id]


async def test_a_guests_assessments_move_to_their_account_once(
    store: AssessmentRepository,
) -> None:
    guest = "guest-0b7d6f8e-3c1a-4e55-9a52-2f6f3f1d9c10"
    as_guest = [assessment(minutes=1, subject=guest), assessment(minutes=2, subject=guest)]
    earlier_own = assessment(minutes=0, subject="patient-1")
    someone_else = assessment(minutes=3, subject="patient-2")
    for item in (*as_guest, earlier_own, someone_else):
        await store.add(item)

    moved = await store.reassign_patient(guest, "patient-1")
    moved_again = await store.reassign_patient(guest, "patient-1")

    assert (moved, moved_again) == (2, 0)
    mine = await store.list(AssessmentFilter(patient_subject="patient-1"), page_size=10)
    assert [a.id for a in mine.assessments] == [as_guest[1].id, as_guest[0].id, earlier_own.id]
    left = await store.list(AssessmentFilter(patient_subject=guest), page_size=10)
    assert left.total_size == 0
    # Everything but the owner is kept as recorded; nobody else's assessments move.
    read = await store.get(as_guest[0].id)
    assert read == replace(as_guest[0], patient_subject="patient-1")
    assert await store.get(someone_else.id) == someone_else


async def test_the_list_filters_by_window_and_level(store: AssessmentRepository) -> None:
    early = assessment(minutes=0, level=Urgency.EMERGENCY_AMBULANCE)
    middle = assessment(minutes=10, level=Urgency.CONSULTATION)
    late = assessment(minutes=20, level=Urgency.EMERGENCY)
    for item in (early, middle, late):
        await store.add(item)

    window = AssessmentFilter(
        start_time=NINE_AM + timedelta(minutes=10), end_time=NINE_AM + timedelta(minutes=20)
    )
    emergencies = AssessmentFilter(
        levels=frozenset({Urgency.EMERGENCY_AMBULANCE, Urgency.EMERGENCY})
    )

    in_window = await store.list(window, page_size=10)
    urgent = await store.list(emergencies, page_size=10)

    # The window is half-open: its start is inside, its end is not.
    assert [a.id for a in in_window.assessments] == [middle.id]
    assert [a.id for a in urgent.assessments] == [late.id, early.id]


async def test_pages_cover_every_assessment_once_even_at_the_same_instant(
    store: AssessmentRepository,
) -> None:
    same_minute = [assessment(minutes=3) for _ in range(3)]
    recorded = [assessment(minutes=0), *same_minute, assessment(minutes=7)]
    for item in recorded:
        await store.add(item)
    newest_first = sorted(recorded, key=lambda a: (a.create_time, a.id), reverse=True)

    seen: list[UUID] = []
    token = ""
    pages = 0
    while True:
        page = await store.list(AssessmentFilter(), page_size=2, page_token=token)
        seen += [a.id for a in page.assessments]
        assert page.total_size == 5
        pages += 1
        token = page.next_page_token
        if not token:
            break

    assert seen == [a.id for a in newest_first]
    assert pages == 3


async def test_a_page_token_only_works_with_its_own_filters(store: AssessmentRepository) -> None:
    for minutes in range(3):
        await store.add(assessment(minutes=minutes))
    page = await store.list(AssessmentFilter(patient_subject="patient-1"), page_size=1)

    with pytest.raises(InvalidPageTokenError):
        await store.list(
            AssessmentFilter(patient_subject="patient-2"),
            page_size=1,
            page_token=page.next_page_token,
        )
    with pytest.raises(InvalidPageTokenError):
        await store.list(AssessmentFilter(), page_size=1, page_token="bm90IGEgdG9rZW4")


async def test_an_assessment_is_recorded_once(store: AssessmentRepository) -> None:
    recorded = assessment()
    await store.add(recorded)

    with pytest.raises(Exception):  # noqa: B017, PT011 - each store says so in its own words
        await store.add(replace(recorded, instruction="changed"))

    assert await store.get(recorded.id) == recorded


@pytest.mark.integration
async def test_the_table_refuses_an_emergency_with_a_booking_specialty(
    pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    store = PostgresAssessmentRepository(pool)
    wrong = replace(assessment(level=Urgency.EMERGENCY), specialty="cardiology")

    with pytest.raises(asyncpg.CheckViolationError):
        await store.add(wrong)


@pytest.mark.integration
async def test_a_closed_database_is_reported_as_unavailable(
    pool: asyncpg.Pool[asyncpg.Record],
) -> None:
    store = PostgresAssessmentRepository(pool)
    await pool.close()

    with pytest.raises(StoreUnavailableError):
        await store.get(uuid4())
    with pytest.raises(StoreUnavailableError):
        await asyncio.wait_for(store.add(assessment()), timeout=30)
