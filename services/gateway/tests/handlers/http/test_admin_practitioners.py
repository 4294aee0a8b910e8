"""Clinic administration through the gateway: practitioners, weekly availability, exceptions.

Behind the gateway runs the real SchedulingService on a loopback gRPC port over a real
PostgreSQL, verifying the forwarded tokens against the same stand-in issuer. What an admin
would notice: a practitioner they add and give hours to is offered to patients at once; a
holiday takes those hours away and names the bookings staff must move.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.domain.model import Practice
from voiceassist_scheduling.handlers.grpc import registrar

pytestmark = pytest.mark.integration

ADMIN = "/api/v1/admin"
SCHEDULING = "/api/v1/scheduling"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)  # a Sunday
TUESDAY = (datetime(2026, 12, 8, 0, 0, tzinfo=UTC), datetime(2026, 12, 9, 0, 0, tzinfo=UTC))
NEW_DOCTOR = {
    "display_name": "Dr Amina Khan",
    "specialties": ["pediatrics", "general_practice"],
    "languages": ["ur", "en"],
    "email": "amina.khan@clinic.example",
}


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def store(database: MigratedDatabase) -> AsyncIterator[PostgresSchedulingRepository]:
    # CASCADE: tables the service adds later (reminders) that refer to these are emptied too.
    reset = (
        "TRUNCATE outbox, idempotency_keys, appointments, availability_exceptions, "
        "weekly_availability, appointment_types, practitioners, practices CASCADE"
    )
    pool: asyncpg.Pool[asyncpg.Record]
    async with database.pool("gateway-admin-test", reset=reset, max_size=4) as pool:
        yield PostgresSchedulingRepository(pool)


@pytest.fixture
async def practice(store: PostgresSchedulingRepository) -> Practice:
    return await store.add_practice(
        Practice(uuid4(), "Lahore Family Clinic", "Lyon", "Europe/Paris", "3 quai Perrache")
    )


@pytest.fixture
async def scheduling_address(store: PostgresSchedulingRepository, idp: Any) -> AsyncIterator[str]:
    async with idp.http_client() as http:
        callers = Callers(
            TokenVerifier(ISSUER, "voiceassist-api", JwksCache(issuer=ISSUER, http_client=http))
        )
        server = await start_grpc_server(
            "127.0.0.1:0", registrar(store, callers, clock=lambda: NOW)
        )
        try:
            yield f"127.0.0.1:{server.port}"
        finally:
            await server.stop(0)


@pytest.fixture
def settings(scheduling_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(scheduling_grpc_addr=scheduling_address, **identity_settings)


@pytest.fixture
def admin(idp: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {idp.access_token(str(uuid4()), ['admin'])}"}


@pytest.fixture
def patient(idp: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {idp.access_token(str(uuid4()), ['patient'])}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def tuesday_slots(
    client: httpx.AsyncClient, practitioner_id: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{SCHEDULING}/slots",
        params={
            "practitioner_id": practitioner_id,
            "start": TUESDAY[0].isoformat(),
            "end": TUESDAY[1].isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


async def add_doctor_with_tuesday_mornings(
    client: httpx.AsyncClient, practice: Practice, admin: dict[str, str]
) -> str:
    created = await client.post(
        f"{ADMIN}/practitioners",
        json={**NEW_DOCTOR, "practice_id": str(practice.id)},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    practitioner_id: str = created.json()["practitioner"]["practitioner_id"]
    hours = await client.put(
        f"{ADMIN}/practitioners/{practitioner_id}/availability",
        json={"rules": [{"weekday": 2, "start": "09:00", "end": "11:00", "slot_minutes": 20}]},
        headers=admin,
    )
    assert hours.status_code == 200, hours.text
    assert hours.json() == {
        "rules": [{"weekday": 2, "start": "09:00", "end": "11:00", "slot_minutes": 20}]
    }
    return practitioner_id


async def test_a_new_practitioner_with_hours_is_offered_to_patients(
    anonymous: httpx.AsyncClient,
    practice: Practice,
    admin: dict[str, str],
    patient: dict[str, str],
) -> None:
    practitioner_id = await add_doctor_with_tuesday_mornings(anonymous, practice, admin)

    slots = await tuesday_slots(anonymous, practitioner_id, patient)
    listed = await anonymous.get(f"{ADMIN}/practitioners", headers=admin)
    matched = await anonymous.get(
        f"{SCHEDULING}/practitioners/match",
        params={"specialty": "pediatrics", "urgency": "consultation", "language": "ur"},
        headers=patient,
    )

    assert [s["local_start"] for s in slots] == [
        "2026-12-08T09:00:00+01:00",
        "2026-12-08T09:20:00+01:00",
        "2026-12-08T09:40:00+01:00",
        "2026-12-08T10:00:00+01:00",
        "2026-12-08T10:20:00+01:00",
        "2026-12-08T10:40:00+01:00",
    ]
    assert listed.status_code == 200, listed.text
    (doctor,) = listed.json()["practitioners"]
    assert doctor["practitioner_id"] == practitioner_id
    assert doctor["specialties"] == ["pediatrics", "general_practice"]
    assert doctor["languages"] == ["ur", "en"]
    assert doctor["email"] == NEW_DOCTOR["email"]
    assert doctor["active"] is True
    assert matched.json()["outcome"] == "matched"
    assert matched.json()["matches"][0]["practitioner"]["practitioner_id"] == practitioner_id


async def test_a_holiday_removes_slots_and_names_the_bookings_inside_it(
    anonymous: httpx.AsyncClient,
    practice: Practice,
    admin: dict[str, str],
    patient: dict[str, str],
) -> None:
    practitioner_id = await add_doctor_with_tuesday_mornings(anonymous, practice, admin)
    first = (await tuesday_slots(anonymous, practitioner_id, patient))[0]
    booked = await anonymous.post(
        f"{SCHEDULING}/appointments",
        json={"slot_id": first["slot_id"]},
        headers={**patient, "Idempotency-Key": str(uuid4())},
    )
    assert booked.status_code == 201, booked.text

    holiday = await anonymous.post(
        f"{ADMIN}/practitioners/{practitioner_id}/exceptions",
        json={
            "start": "2026-12-08T00:00:00+01:00",
            "end": "2026-12-09T00:00:00+01:00",
            "kind": "holiday",
            "note": "Clinic closed",
        },
        headers=admin,
    )

    assert holiday.status_code == 201, holiday.text
    assert holiday.json()["conflicting_appointment_ids"] == [booked.json()["appointment_id"]]
    exception = holiday.json()["exception"]
    assert exception["kind"] == "holiday"
    assert exception["start"] == "2026-12-07T23:00:00Z"
    assert await tuesday_slots(anonymous, practitioner_id, patient) == []
    detail = await anonymous.get(f"{SCHEDULING}/practitioners/{practitioner_id}", headers=patient)
    assert [e["note"] for e in detail.json()["exceptions"]] == ["Clinic closed"]


async def test_an_unknown_practice_is_refused_naming_the_field(
    anonymous: httpx.AsyncClient, practice: Practice, admin: dict[str, str]
) -> None:
    response = await anonymous.post(
        f"{ADMIN}/practitioners", json={**NEW_DOCTOR, "practice_id": str(uuid4())}, headers=admin
    )

    (error,) = problem(response, 422)["errors"]
    assert error["location"] == ["body", "practice_id"]


async def test_hours_for_an_unknown_practitioner_are_not_found(
    anonymous: httpx.AsyncClient, practice: Practice, admin: dict[str, str]
) -> None:
    response = await anonymous.put(
        f"{ADMIN}/practitioners/{uuid4()}/availability",
        json={"rules": [{"weekday": 1, "start": "09:00", "end": "12:00", "slot_minutes": 30}]},
        headers=admin,
    )

    assert problem(response, 404)["detail"] == "No practitioner has this id."


async def test_overlapping_rules_are_refused_naming_the_rule(
    anonymous: httpx.AsyncClient, practice: Practice, admin: dict[str, str]
) -> None:
    practitioner_id = await add_doctor_with_tuesday_mornings(anonymous, practice, admin)

    response = await anonymous.put(
        f"{ADMIN}/practitioners/{practitioner_id}/availability",
        json={
            "rules": [
                {"weekday": 2, "start": "09:00", "end": "11:00", "slot_minutes": 20},
                {"weekday": 2, "start": "10:00", "end": "12:00", "slot_minutes": 20},
            ]
        },
        headers=admin,
    )

    errors = problem(response, 422)["errors"]
    assert errors[0]["location"][:2] == ["body", "rules"]


async def test_a_patient_may_not_administer_the_clinic(
    anonymous: httpx.AsyncClient, practice: Practice, patient: dict[str, str]
) -> None:
    some_id = uuid4()
    responses = [
        await anonymous.get(f"{ADMIN}/practitioners", headers=patient),
        await anonymous.post(
            f"{ADMIN}/practitioners",
            json={**NEW_DOCTOR, "practice_id": str(practice.id)},
            headers=patient,
        ),
        await anonymous.put(
            f"{ADMIN}/practitioners/{some_id}/availability", json={"rules": []}, headers=patient
        ),
        await anonymous.post(
            f"{ADMIN}/practitioners/{some_id}/exceptions",
            json={
                "start": "2026-12-08T00:00:00Z",
                "end": "2026-12-09T00:00:00Z",
                "kind": "leave",
            },
            headers=patient,
        ),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]


async def test_a_naive_time_is_refused(
    anonymous: httpx.AsyncClient, practice: Practice, admin: dict[str, str]
) -> None:
    response = await anonymous.post(
        f"{ADMIN}/practitioners/{uuid4()}/exceptions",
        json={"start": "2026-12-08T09:00:00", "end": "2026-12-08T10:00:00Z", "kind": "leave"},
        headers=admin,
    )

    errors = problem(response, 422)["errors"]
    assert [e["location"] for e in errors] == [["body", "start"]]
