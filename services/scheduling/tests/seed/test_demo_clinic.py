"""The demo clinic covers every specialty triage recommends, in several cities and languages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files

import asyncpg
import pytest
import yaml
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.domain.slots import free_slots
from voiceassist_scheduling.seed import load_demo_clinic, seed_demo_clinic


def triage_specialties() -> set[str]:
    text = files("voiceassist_triage.knowledge").joinpath("conditions.yaml").read_text("utf-8")
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("specialty"), str):
                found.add(node["specialty"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(text))
    return found


def test_every_specialty_triage_recommends_has_a_doctor() -> None:
    clinic = load_demo_clinic()
    offered = {s for p in clinic.practitioners for s in p.specialties}

    assert len(clinic.practitioners) >= 20
    assert triage_specialties() | {"pediatrics", "general_practice"} <= {str(s) for s in offered}


def test_the_clinic_speaks_english_french_and_urdu_in_several_timezones() -> None:
    clinic = load_demo_clinic()

    assert {"en", "fr", "ur"} <= {lang for p in clinic.practitioners for lang in p.languages}
    assert len({p.city for p in clinic.practices}) >= 4
    assert len({p.timezone for p in clinic.practices}) >= 3


def test_every_doctor_has_slots_in_each_of_the_next_four_weeks() -> None:
    clinic = load_demo_clinic()
    timezone = {p.id: p.timezone for p in clinic.practices}
    monday = datetime(2026, 12, 7, tzinfo=UTC)

    for doctor in clinic.practitioners:
        for week in range(4):
            start = monday + timedelta(weeks=week)
            slots = free_slots(
                practitioner_id=doctor.id,
                rules=clinic.availability[doctor.id],
                timezone=timezone[doctor.practice_id],
                window_start=start,
                window_end=start + timedelta(weeks=1),
            )
            assert slots, f"{doctor.display_name} has no slot in week {week}"


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def pool(database: MigratedDatabase) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    async with database.pool("scheduling-seed-test") as pool:
        yield pool


@pytest.mark.integration
async def test_seeding_twice_leaves_one_clinic(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    repository = PostgresSchedulingRepository(pool)

    clinic = await seed_demo_clinic(repository)
    await seed_demo_clinic(repository)

    assert len(await repository.list_practices()) == len(clinic.practices)
    assert len(await repository.list_practitioners()) == len(clinic.practitioners)
    doctor = clinic.practitioners[0]
    assert len(await repository.weekly_availability(doctor.id)) == len(
        clinic.availability[doctor.id]
    )
