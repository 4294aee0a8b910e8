"""Scheduling through the gateway: match, slots, bookings that survive retries, calendars.

Behind the gateway runs the real SchedulingService on a loopback gRPC port over a real
PostgreSQL with the service's migrations, verifying the tokens the gateway forwards against the
same stand-in issuer; its clock is fixed so "within 24 hours" means the same thing every run.
The clinic: one cardiologist in Paris seeing patients on Mondays from 09:00 to 12:00 (six
30-minute slots), whose clinician account is CLINICIAN.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid4

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
from voiceassist_scheduling.domain.model import (
    AvailabilityRule,
    Practice,
    Practitioner,
    Specialty,
)
from voiceassist_scheduling.handlers.grpc import registrar

pytestmark = pytest.mark.integration

SCHEDULING = "/api/v1/scheduling"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
PROBLEM = "application/problem+json"

PATIENT = "aaaaaaaa-0000-4000-8000-00000000000a"
OTHER_PATIENT = "aaaaaaaa-0000-4000-8000-00000000000b"
CLINICIAN = "cccccccc-0000-4000-8000-00000000000c"

SUNDAY_NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
MONDAY_NINE_PARIS = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
MONDAY = (MONDAY_NINE_PARIS - timedelta(hours=1), MONDAY_NINE_PARIS + timedelta(hours=4))


class Clock:
    """The service's "now", moved by a test."""

    def __init__(self) -> None:
        self.now = SUNDAY_NOON

    def __call__(self) -> datetime:
        return self.now


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
    async with database.pool("gateway-scheduling-test", reset=reset, max_size=4) as pool:
        yield PostgresSchedulingRepository(pool)


@pytest.fixture
async def cardiologist(store: PostgresSchedulingRepository) -> Practitioner:
    practice = await store.add_practice(
        Practice(
            uuid4(),
            "Cabinet Bastille",
            "Paris",
            "Europe/Paris",
            "1 rue de la Roquette",
            48.85,
            2.37,
        )
    )
    doctor = await store.add_practitioner(
        Practitioner(
            uuid4(),
            "Dr Claire Martin",
            (Specialty.CARDIOLOGY,),
            ("fr", "en"),
            practice.id,
            user_id=CLINICIAN,
        )
    )
    await store.ensure_appointment_type("consultation", "Consultation", 30)
    await store.set_weekly_availability(
        doctor.id, [AvailabilityRule(1, time(9), time(12), "consultation", 30)]
    )
    return doctor


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def scheduling_address(
    store: PostgresSchedulingRepository, clock: Clock, idp: Any
) -> AsyncIterator[str]:
    async with idp.http_client() as http:
        callers = Callers(
            TokenVerifier(ISSUER, "voiceassist-api", JwksCache(issuer=ISSUER, http_client=http))
        )
        server = await start_grpc_server("127.0.0.1:0", registrar(store, callers, clock=clock))
        try:
            yield f"127.0.0.1:{server.port}"
        finally:
            await server.stop(0)


@pytest.fixture
def settings(scheduling_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(scheduling_grpc_addr=scheduling_address, **identity_settings)


@pytest.fixture
def tokens(idp: Any) -> dict[str, dict[str, str]]:
    """Return the Authorization headers of each caller."""
    signed = {
        "patient": idp.access_token(PATIENT, ["patient"]),
        "other": idp.access_token(OTHER_PATIENT, ["patient"]),
        "clinician": idp.access_token(CLINICIAN, ["clinician"]),
    }
    return {who: {"Authorization": f"Bearer {token}"} for who, token in signed.items()}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


async def monday_slots(
    client: httpx.AsyncClient, doctor: Practitioner, headers: dict[str, str]
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{SCHEDULING}/slots",
        params={
            "practitioner_id": str(doctor.id),
            "start": MONDAY[0].isoformat(),
            "end": MONDAY[1].isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 200, response.text
    slots: list[dict[str, Any]] = response.json()["slots"]
    return slots


async def book(
    client: httpx.AsyncClient,
    slot_id: str,
    headers: dict[str, str],
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    return await client.post(
        f"{SCHEDULING}/appointments",
        json={"slot_id": slot_id, "reason": "palpitations", **extra},
        headers={**headers, "Idempotency-Key": key or str(uuid4())},
    )


# --- matching ------------------------------------------------------------------------------


async def test_an_urgent_consultation_is_offered_the_slots_of_the_next_24_hours(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    response = await anonymous.get(
        f"{SCHEDULING}/practitioners/match",
        params={"specialty": "cardiology", "urgency": "consultation_24", "language": "fr"},
        headers=tokens["patient"],
    )

    assert response.status_code == 200, response.text
    matched = response.json()
    assert matched["outcome"] == "matched"
    (first,) = matched["matches"]
    assert first["practitioner"]["display_name"] == "Dr Claire Martin"
    assert first["practitioner"]["specialties"] == ["cardiology"]
    assert first["practice"]["city"] == "Paris"
    slot = first["earliest_slots"][0]
    assert slot["start_time"] == "2026-12-07T08:00:00Z"
    assert slot["local_start"] == "2026-12-07T09:00:00+01:00"
    assert slot["local_end"] == "2026-12-07T09:30:00+01:00"
    assert slot["timezone"] == "Europe/Paris"
    latest = max(datetime.fromisoformat(s["start_time"]) for s in first["earliest_slots"])
    assert latest < SUNDAY_NOON + timedelta(hours=24)


async def test_an_urgent_consultation_with_nothing_within_24_hours_is_told_so(
    anonymous: httpx.AsyncClient,
    cardiologist: Practitioner,
    tokens: dict[str, dict[str, str]],
    clock: Clock,
) -> None:
    clock.now = MONDAY[1] + timedelta(hours=1)  # Monday's clinic is over; the next is a week off

    urgent = await anonymous.get(
        f"{SCHEDULING}/practitioners/match",
        params={"specialty": "cardiology", "urgency": "consultation_24"},
        headers=tokens["patient"],
    )
    routine = await anonymous.get(
        f"{SCHEDULING}/practitioners/match",
        params={"specialty": "cardiology", "urgency": "consultation"},
        headers=tokens["patient"],
    )

    assert urgent.status_code == 200, urgent.text
    assert urgent.json()["outcome"] == "no_slots_in_window"
    assert urgent.json()["matches"] == []
    assert urgent.json()["advice"]
    assert routine.json()["outcome"] == "matched"
    assert routine.json()["matches"][0]["earliest_slots"][0]["local_start"].startswith(
        "2026-12-14T09:00"
    )


@pytest.mark.parametrize("level", ["emergency_ambulance", "emergency"])
async def test_an_emergency_is_never_offered_a_booking(
    anonymous: httpx.AsyncClient,
    cardiologist: Practitioner,
    tokens: dict[str, dict[str, str]],
    level: str,
) -> None:
    response = await anonymous.get(
        f"{SCHEDULING}/practitioners/match",
        params={"specialty": "cardiology", "urgency": level},
        headers=tokens["patient"],
    )

    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "not_bookable"
    assert response.json()["matches"] == []
    assert response.json()["advice"]
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]
    refused = await book(anonymous, slot_id, tokens["patient"], urgency=level)
    assert "emergency services" in problem(refused, 409)["detail"]


async def test_a_city_and_coordinates_together_are_refused(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    response = await anonymous.get(
        f"{SCHEDULING}/practitioners/match",
        params={"urgency": "consultation", "city": "Paris", "latitude": 48.8, "longitude": 2.3},
        headers=tokens["patient"],
    )

    (error,) = problem(response, 422)["errors"]
    assert error["location"] == ["query", "city"]


# --- browsing ------------------------------------------------------------------------------


async def test_the_clinic_is_browsable(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    practices = await anonymous.get(
        f"{SCHEDULING}/practices", params={"city": "paris"}, headers=tokens["patient"]
    )
    doctors = await anonymous.get(
        f"{SCHEDULING}/practitioners",
        params={"specialty": "cardiology", "language": "fr"},
        headers=tokens["patient"],
    )
    detail = await anonymous.get(
        f"{SCHEDULING}/practitioners/{cardiologist.id}", headers=tokens["patient"]
    )
    missing = await anonymous.get(
        f"{SCHEDULING}/practitioners/{uuid4()}", headers=tokens["patient"]
    )

    assert practices.status_code == 200, practices.text
    assert [p["name"] for p in practices.json()["practices"]] == ["Cabinet Bastille"]
    assert practices.json()["practices"][0]["timezone"] == "Europe/Paris"
    assert [p["practitioner_id"] for p in doctors.json()["practitioners"]] == [str(cardiologist.id)]
    assert doctors.json()["practitioners"][0]["languages"] == ["fr", "en"]
    assert "user_id" not in doctors.json()["practitioners"][0]
    assert detail.status_code == 200, detail.text
    assert detail.json()["weekly_availability"] == [
        {"weekday": 1, "start": "09:00", "end": "12:00", "slot_minutes": 30}
    ]
    assert detail.json()["practice"]["name"] == "Cabinet Bastille"
    assert problem(missing, 404)["detail"] == "No practitioner has this id."


async def test_slots_need_a_window_with_an_offset(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    response = await anonymous.get(
        f"{SCHEDULING}/slots",
        params={
            "practitioner_id": str(cardiologist.id),
            "start": "2026-12-07T08:00:00",
            "end": "2026-12-07T12:00:00+01:00",
        },
        headers=tokens["patient"],
    )

    errors = problem(response, 422)["errors"]
    assert [e["location"] for e in errors] == [["query", "start"]]


# --- booking -------------------------------------------------------------------------------


async def test_a_booked_slot_is_gone_and_reads_back_in_local_time(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slots = await monday_slots(anonymous, cardiologist, tokens["patient"])
    assert len(slots) == 6

    response = await book(anonymous, slots[0]["slot_id"], tokens["patient"])

    assert response.status_code == 201, response.text
    appointment = response.json()
    assert response.headers["location"] == (
        f"{SCHEDULING}/appointments/{appointment['appointment_id']}"
    )
    assert "idempotent-replayed" not in response.headers
    assert appointment["patient_subject"] == PATIENT
    assert appointment["status"] == "booked"
    assert appointment["start_time"] == "2026-12-07T08:00:00Z"
    assert appointment["local_start"] == "2026-12-07T09:00:00+01:00"
    assert appointment["created_by"]["subject"] == PATIENT
    after = await monday_slots(anonymous, cardiologist, tokens["patient"])
    assert slots[0]["slot_id"] not in [s["slot_id"] for s in after]
    assert len(after) == 5
    read = await anonymous.get(response.headers["location"], headers=tokens["patient"])
    assert read.status_code == 200, read.text
    assert read.json()["appointment"] == appointment
    assert read.json()["practitioner"]["display_name"] == "Dr Claire Martin"
    mine = await anonymous.get(f"{SCHEDULING}/appointments", headers=tokens["patient"])
    assert [a["appointment_id"] for a in mine.json()["appointments"]] == [
        appointment["appointment_id"]
    ]


async def test_a_retried_booking_returns_the_same_appointment(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slots = await monday_slots(anonymous, cardiologist, tokens["patient"])
    key = str(uuid4())

    first = await book(anonymous, slots[0]["slot_id"], tokens["patient"], key)
    again = await book(anonymous, slots[0]["slot_id"], tokens["patient"], key)
    other_request = await book(anonymous, slots[1]["slot_id"], tokens["patient"], key)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["appointment_id"] == first.json()["appointment_id"]
    (error,) = problem(other_request, 422)["errors"]
    assert error["location"] == ["header", "Idempotency-Key"]
    mine = await anonymous.get(f"{SCHEDULING}/appointments", headers=tokens["patient"])
    assert len(mine.json()["appointments"]) == 1


async def test_a_booking_without_an_idempotency_key_is_refused(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slots = await monday_slots(anonymous, cardiologist, tokens["patient"])

    response = await anonymous.post(
        f"{SCHEDULING}/appointments",
        json={"slot_id": slots[0]["slot_id"]},
        headers=tokens["patient"],
    )

    errors = problem(response, 422)["errors"]
    assert [e["location"] for e in errors] == [["header", "Idempotency-Key"]]


async def test_a_taken_slot_is_a_conflict(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]
    assert (await book(anonymous, slot_id, tokens["patient"])).status_code == 201

    response = await book(anonymous, slot_id, tokens["other"])

    assert "no longer free" in problem(response, 409)["detail"]


async def test_a_patient_books_only_for_themselves(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]

    response = await book(anonymous, slot_id, tokens["patient"], patient_subject=OTHER_PATIENT)

    assert problem(response, 403)["detail"] == "Your role does not allow this."
    assert len(await monday_slots(anonymous, cardiologist, tokens["patient"])) == 6


async def test_another_patients_appointment_is_not_found(
    anonymous: httpx.AsyncClient,
    cardiologist: Practitioner,
    tokens: dict[str, dict[str, str]],
    audit_records: Any,
) -> None:
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]
    booked = (await book(anonymous, slot_id, tokens["patient"])).json()
    path = f"{SCHEDULING}/appointments/{booked['appointment_id']}"

    read = await anonymous.get(path, headers=tokens["other"])
    ical = await anonymous.get(f"{path}/ical", headers=tokens["other"])
    cancel = await anonymous.post(
        f"{path}/cancel", json={}, headers={**tokens["other"], "Idempotency-Key": "k-1"}
    )
    theirs = await anonymous.get(f"{SCHEDULING}/appointments", headers=tokens["other"])

    assert problem(read, 404)["detail"] == "No appointment you may see has this id."
    problem(ical, 404)
    problem(cancel, 404)
    assert theirs.json()["appointments"] == []
    assert ("scheduling.appointment.read", "failed") in audit_records.actions()
    assert "palpitations" not in repr(audit_records.records)


# --- changing ------------------------------------------------------------------------------


async def test_cancelling_frees_the_slot_and_a_retry_is_replayed(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]
    booked = (await book(anonymous, slot_id, tokens["patient"])).json()
    path = f"{SCHEDULING}/appointments/{booked['appointment_id']}/cancel"
    headers = {**tokens["patient"], "Idempotency-Key": "cancel-1"}

    cancelled = await anonymous.post(path, json={"reason": "feeling better"}, headers=headers)
    again = await anonymous.post(path, json={"reason": "feeling better"}, headers=headers)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert "idempotent-replayed" not in cancelled.headers
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    free = await monday_slots(anonymous, cardiologist, tokens["other"])
    assert slot_id in [s["slot_id"] for s in free]
    assert (await book(anonymous, slot_id, tokens["other"])).status_code == 201


async def test_rescheduling_moves_the_appointment_and_keeps_its_id(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    first, _, third, *_ = await monday_slots(anonymous, cardiologist, tokens["patient"])
    booked = (await book(anonymous, first["slot_id"], tokens["patient"])).json()

    moved = await anonymous.post(
        f"{SCHEDULING}/appointments/{booked['appointment_id']}/reschedule",
        json={"new_slot_id": third["slot_id"]},
        headers={**tokens["patient"], "Idempotency-Key": "move-1"},
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["appointment_id"] == booked["appointment_id"]
    assert moved.json()["local_start"] == "2026-12-07T10:00:00+01:00"
    free = [s["slot_id"] for s in await monday_slots(anonymous, cardiologist, tokens["other"])]
    assert first["slot_id"] in free
    assert third["slot_id"] not in free


async def test_a_clinician_records_the_outcome_and_a_patient_may_not(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]
    booked = (await book(anonymous, slot_id, tokens["patient"])).json()
    path = f"{SCHEDULING}/appointments/{booked['appointment_id']}/outcome"

    by_patient = await anonymous.post(
        path, json={"attendance": "attended"}, headers=tokens["patient"]
    )
    by_clinician = await anonymous.post(
        path, json={"attendance": "attended"}, headers=tokens["clinician"]
    )

    problem(by_patient, 403)
    assert by_clinician.status_code == 200, by_clinician.text
    assert by_clinician.json()["status"] == "fulfilled"
    practice = await anonymous.get(f"{SCHEDULING}/appointments", headers=tokens["clinician"])
    assert [a["status"] for a in practice.json()["appointments"]] == ["fulfilled"]


# --- calendars -----------------------------------------------------------------------------


async def test_calendars_are_ics_attachments(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    slot_id = (await monday_slots(anonymous, cardiologist, tokens["patient"]))[0]["slot_id"]
    booked = (await book(anonymous, slot_id, tokens["patient"])).json()

    mine = await anonymous.get(
        f"{SCHEDULING}/appointments/{booked['appointment_id']}/ical", headers=tokens["patient"]
    )
    feed = await anonymous.get(
        f"{SCHEDULING}/practitioners/{cardiologist.id}/ical", headers=tokens["clinician"]
    )
    feed_for_patient = await anonymous.get(
        f"{SCHEDULING}/practitioners/{cardiologist.id}/ical", headers=tokens["patient"]
    )

    assert mine.status_code == 200, mine.text
    assert mine.headers["content-type"].startswith("text/calendar")
    assert mine.headers["content-disposition"] == (
        f'attachment; filename="appointment-{booked["appointment_id"]}.ics"'
    )
    assert mine.text.startswith("BEGIN:VCALENDAR")
    assert "DTSTART;TZID=Europe/Paris:20261207T090000" in mine.text
    assert feed.status_code == 200, feed.text
    assert feed.text.count("BEGIN:VEVENT") == 1
    assert PATIENT not in feed.text
    assert "palpitations" not in feed.text
    problem(feed_for_patient, 403)


async def test_an_unknown_appointment_id_is_not_found(
    anonymous: httpx.AsyncClient, cardiologist: Practitioner, tokens: dict[str, dict[str, str]]
) -> None:
    response = await anonymous.get(
        f"{SCHEDULING}/appointments/{UUID(int=7)}", headers=tokens["clinician"]
    )

    problem(response, 404)
