"""The FHIR R4 read API through the gateway, over the real scheduling service and PostgreSQL.

Behind the gateway runs the real SchedulingService on a loopback gRPC port over a migrated
PostgreSQL database, verifying the tokens the gateway forwards; the clinic is seeded through
the repository and bookings are made through the service, as a patient would. Every answer is
parsed back with the FHIR models, as an EHR reading the API would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import grpc
import httpx
import pytest
from fastapi import FastAPI
from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.practitioner import Practitioner as FhirPractitioner
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot
from voiceassist.common.v1 import clinical_pb2
from voiceassist.scheduling.v1 import scheduling_pb2, scheduling_pb2_grpc
from voiceassist_common.grpc.principal import Callers, bearer_metadata
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings
from voiceassist_gateway.domain.fhir import SLOT_ID_SYSTEM, SUBJECT_SYSTEM, is_fhir_id
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

FHIR = "/api/v1/fhir"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
FHIR_JSON = "application/fhir+json"
PROBLEM = "application/problem+json"

PARIS_CLINICIAN = "cccccccc-0000-4000-8000-000000000003"
TORONTO_CLINICIAN = "cccccccc-0000-4000-8000-000000000004"
PATIENT = "aaaaaaaa-0000-4000-8000-000000000001"
REASON = "Palpitations since my brother's funeral"


@dataclass(frozen=True)
class Clinic:
    martin: Practitioner
    """Cardiologist and GP in Paris, French and English; PARIS_CLINICIAN's record."""
    khan: Practitioner
    """GP in Toronto, English and Urdu; TORONTO_CLINICIAN's record."""


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def pool(database: MigratedDatabase) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    reset = (
        "TRUNCATE reminder_deliveries, outbox, idempotency_keys, appointments, "
        "availability_exceptions, weekly_availability, appointment_types, practitioners, practices"
    )
    async with database.pool("fhir-test", reset=reset, max_size=4) as pool:
        yield pool


@pytest.fixture
async def clinic(pool: asyncpg.Pool[asyncpg.Record]) -> Clinic:
    """Two doctors who consult every day, 09:00 to 12:00 local, in 20-minute slots."""
    store = PostgresSchedulingRepository(pool)
    paris = await store.add_practice(
        Practice(uuid4(), "Cabinet Bastille", "Paris", "Europe/Paris", "12 rue de la Roquette")
    )
    toronto = await store.add_practice(
        Practice(uuid4(), "Danforth Family Health", "Toronto", "America/Toronto", "1400 Danforth")
    )
    martin = await store.add_practitioner(
        Practitioner(
            uuid4(),
            "Dr Claire Martin",
            (Specialty.CARDIOLOGY, Specialty.GENERAL_PRACTICE),
            ("fr", "en"),
            paris.id,
            user_id=PARIS_CLINICIAN,
        )
    )
    khan = await store.add_practitioner(
        Practitioner(
            uuid4(),
            "Dr Amina Khan",
            (Specialty.GENERAL_PRACTICE,),
            ("en", "ur"),
            toronto.id,
            user_id=TORONTO_CLINICIAN,
        )
    )
    await store.ensure_appointment_type("consultation", "Consultation", 20)
    every_morning = [
        AvailabilityRule(day, time(9), time(12), "consultation", 20) for day in range(1, 8)
    ]
    for doctor in (martin, khan):
        await store.set_weekly_availability(doctor.id, every_morning)
    return Clinic(martin, khan)


@pytest.fixture
async def scheduling_address(
    pool: asyncpg.Pool[asyncpg.Record], clinic: Clinic, idp: Any
) -> AsyncIterator[str]:
    """Serve scheduling, verifying the tokens the gateway forwards against the same issuer."""
    async with idp.http_client() as http:
        jwks = JwksCache(issuer=ISSUER, http_client=http)
        callers = Callers(TokenVerifier(ISSUER, "voiceassist-api", jwks))
        register = registrar(PostgresSchedulingRepository(pool), callers)
        server = await start_grpc_server("127.0.0.1:0", register)
        try:
            yield f"127.0.0.1:{server.port}"
        finally:
            await server.stop(0)


@pytest.fixture
def settings(scheduling_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(scheduling_grpc_addr=scheduling_address, **identity_settings)


@pytest.fixture
def paris_clinician(anonymous: httpx.AsyncClient, idp: Any) -> httpx.AsyncClient:
    token = idp.access_token(PARIS_CLINICIAN, ["clinician"])
    anonymous.headers["Authorization"] = f"Bearer {token}"
    return anonymous


async def book(address: str, idp: Any, slot_id: str) -> scheduling_pb2.Appointment:
    """Book ``slot_id`` for PATIENT through the scheduling service, as the patient."""
    token = idp.access_token(PATIENT, ["patient"])
    async with grpc.aio.insecure_channel(address) as channel:
        stub = scheduling_pb2_grpc.SchedulingServiceStub(channel)
        reply = await stub.Book(
            scheduling_pb2.BookRequest(
                idempotency_key=str(uuid4()),
                slot_id=slot_id,
                patient_subject=PATIENT,
                reason=REASON,
                urgency=clinical_pb2.UrgencyLevel.URGENCY_LEVEL_CONSULTATION,
            ),
            metadata=bearer_metadata(token),
            timeout=10,
        )
    return reply.appointment


def fhir_body(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == FHIR_JSON
    body: dict[str, Any] = response.json()
    return body


def bundle_of(response: httpx.Response) -> dict[str, Any]:
    """Return a searchset's JSON after checking it parses as a FHIR Bundle."""
    body = fhir_body(response)
    parsed = Bundle.model_validate(body)
    assert parsed.type == "searchset"
    for entry in body.get("entry", []):
        assert is_fhir_id(entry["resource"]["id"])
        assert entry["fullUrl"].endswith(
            f"{FHIR}/{entry['resource']['resourceType']}/{entry['resource']['id']}"
        )
    return body


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle.get("entry", [])]


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


async def test_practitioners_are_found_by_snomed_specialty_and_language(
    paris_clinician: httpx.AsyncClient, clinic: Clinic
) -> None:
    cardiology = bundle_of(await paris_clinician.get(f"{FHIR}/Practitioner?specialty=394579002"))
    urdu = bundle_of(
        await paris_clinician.get(f"{FHIR}/Practitioner", params={"language": "urn:ietf:bcp:47|ur"})
    )
    everyone = bundle_of(await paris_clinician.get(f"{FHIR}/Practitioner"))

    assert cardiology["total"] == 1
    (martin,) = resources(cardiology)
    assert martin["id"] == str(clinic.martin.id)
    assert martin["name"][0]["text"] == "Dr Claire Martin"
    assert martin["address"][0]["city"] == "Paris"
    assert [c["coding"][0]["code"] for c in martin["communication"]] == ["fr", "en"]
    assert [r["id"] for r in resources(urdu)] == [str(clinic.khan.id)]
    assert everyone["total"] == 2
    assert everyone["link"][0] == {
        "relation": "self",
        "url": f"https://gateway.test{FHIR}/Practitioner",
    }


async def test_a_practitioner_and_their_schedule_are_read_by_id(
    paris_clinician: httpx.AsyncClient, clinic: Clinic
) -> None:
    doctor = fhir_body(await paris_clinician.get(f"{FHIR}/Practitioner/{clinic.khan.id}"))
    schedule = fhir_body(await paris_clinician.get(f"{FHIR}/Schedule/{clinic.khan.id}"))
    found = bundle_of(
        await paris_clinician.get(
            f"{FHIR}/Schedule", params={"actor": f"Practitioner/{clinic.khan.id}"}
        )
    )

    FhirPractitioner.model_validate(doctor)
    assert doctor["address"][0] == {
        "use": "work",
        "type": "physical",
        "text": "1400 Danforth",
        "city": "Toronto",
    }
    Schedule.model_validate(schedule)
    assert schedule["actor"][0]["reference"] == f"Practitioner/{clinic.khan.id}"
    (searched,) = resources(found)
    # The same schedule; only its horizon moved on with the clock.
    assert searched | {"planningHorizon": schedule["planningHorizon"]} == schedule


async def test_an_unknown_id_is_a_404_problem(paris_clinician: httpx.AsyncClient) -> None:
    for path in (
        f"Practitioner/{uuid4()}",
        f"Schedule/{uuid4()}",
        f"Appointment/{uuid4()}",
        "Practitioner/not-a-uuid",
        f"Slot/{uuid4()}.20261207T080000Z.1200",
        "Slot/not-a-slot",
    ):
        body = problem(await paris_clinician.get(f"{FHIR}/{path}"), 404)
        assert body["detail"] == "No resource of this type has this id.", path


async def test_a_free_slot_is_read_booked_and_then_busy(
    paris_clinician: httpx.AsyncClient, clinic: Clinic, scheduling_address: str, idp: Any
) -> None:
    schedule = f"Schedule/{clinic.martin.id}"
    free = bundle_of(await paris_clinician.get(f"{FHIR}/Slot", params={"schedule": schedule}))
    slots = resources(free)
    now = datetime.now(UTC)
    assert slots, "Dr Martin consults every morning"
    for slot in slots:
        Slot.model_validate(slot)
        assert slot["status"] == "free"
        assert slot["schedule"] == {"reference": schedule}
        # By default, the next 7 days.
        assert now - timedelta(minutes=1) <= datetime.fromisoformat(slot["start"])
        assert datetime.fromisoformat(slot["start"]) < now + timedelta(days=7)
    first = slots[0]
    (identifier,) = first["identifier"]
    assert identifier["system"] == SLOT_ID_SYSTEM
    assert fhir_body(await paris_clinician.get(f"{FHIR}/Slot/{first['id']}")) == first

    appointment = await book(scheduling_address, idp, identifier["value"])

    after = bundle_of(await paris_clinician.get(f"{FHIR}/Slot", params={"schedule": schedule}))
    assert first["id"] not in {slot["id"] for slot in resources(after)}
    busy = fhir_body(await paris_clinician.get(f"{FHIR}/Slot/{first['id']}"))
    assert busy["status"] == "busy"
    assert PATIENT not in json.dumps(busy)
    busy_search = bundle_of(
        await paris_clinician.get(f"{FHIR}/Slot", params={"schedule": schedule, "status": "busy"})
    )
    assert [slot["id"] for slot in resources(busy_search)] == [first["id"]]
    assert appointment.status == scheduling_pb2.AppointmentStatus.APPOINTMENT_STATUS_BOOKED


async def test_slots_are_searched_in_the_window_asked(
    paris_clinician: httpx.AsyncClient, clinic: Clinic
) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    response = await paris_clinician.get(
        f"{FHIR}/Slot",
        params=[
            ("specialty", "cardiology"),
            ("start", f"ge{day.isoformat()}"),
            ("start", f"lt{(day + timedelta(days=1)).isoformat()}"),
        ],
    )

    slots = resources(bundle_of(response))
    assert len(slots) == 9  # 09:00 to 12:00 in 20-minute slots
    assert {datetime.fromisoformat(slot["start"]).date() for slot in slots} == {day}
    assert {slot["schedule"]["reference"] for slot in slots} == {f"Schedule/{clinic.martin.id}"}


async def test_a_bad_search_parameter_is_a_422_naming_it(
    paris_clinician: httpx.AsyncClient, clinic: Clinic
) -> None:
    unknown = await paris_clinician.get(f"{FHIR}/Practitioner", params={"specialty": "astrology"})
    unbounded = await paris_clinician.get(f"{FHIR}/Slot")
    too_long = await paris_clinician.get(
        f"{FHIR}/Slot",
        params=[
            ("schedule", f"Schedule/{clinic.martin.id}"),
            ("start", "ge2027-01-01"),
            ("start", "lt2027-03-01"),
        ],
    )

    assert problem(unknown, 422)["errors"][0]["location"] == ["query", "specialty"]
    assert "astrology" not in unknown.text
    assert problem(unbounded, 422)["errors"][0]["location"] == ["query", "schedule"]
    assert problem(too_long, 422)["errors"][0]["location"] == ["query", "start"]


async def test_pages_link_to_the_next(paris_clinician: httpx.AsyncClient, clinic: Clinic) -> None:
    first = bundle_of(await paris_clinician.get(f"{FHIR}/Practitioner", params={"_count": 1}))
    links = {link["relation"]: link["url"] for link in first["link"]}
    second = bundle_of(await paris_clinician.get(links["next"]))

    assert "total" not in first
    assert [r["name"][0]["text"] for r in resources(first) + resources(second)] == [
        "Dr Amina Khan",
        "Dr Claire Martin",
    ]
    assert "next" not in {link["relation"] for link in second["link"]}


async def test_a_clinician_reads_their_practices_appointments_without_the_reason(
    paris_clinician: httpx.AsyncClient,
    clinic: Clinic,
    scheduling_address: str,
    idp: Any,
    audit_records: Any,
) -> None:
    slot = resources(
        bundle_of(
            await paris_clinician.get(
                f"{FHIR}/Slot", params={"schedule": f"Schedule/{clinic.martin.id}"}
            )
        )
    )[0]
    booked = await book(scheduling_address, idp, slot["identifier"][0]["value"])

    read = fhir_body(await paris_clinician.get(f"{FHIR}/Appointment/{booked.appointment_id}"))
    searched = bundle_of(
        await paris_clinician.get(
            f"{FHIR}/Appointment",
            params={
                "patient": f"Patient/{PATIENT}",
                "status": "booked,fulfilled",
                "date": f"ge{datetime.now(UTC).date().isoformat()}",
            },
        )
    )
    cancelled = bundle_of(
        await paris_clinician.get(f"{FHIR}/Appointment", params={"status": "cancelled"})
    )

    Appointment.model_validate(read)
    assert read["status"] == "booked"
    assert (read["start"], read["end"]) == (slot["start"], slot["end"])
    assert read["minutesDuration"] == 20
    assert read["slot"] == [{"reference": f"Slot/{slot['id']}"}]
    practitioner, patient = (p["actor"] for p in read["participant"])
    assert practitioner["reference"] == f"Practitioner/{clinic.martin.id}"
    assert patient["identifier"] == {"system": SUBJECT_SYSTEM, "value": PATIENT}
    assert "Palpitations" not in json.dumps(read)
    assert [r["id"] for r in resources(searched)] == [booked.appointment_id]
    assert "Palpitations" not in json.dumps(searched)
    assert cancelled["total"] == 0
    actions = audit_records.actions()
    assert ("fhir.appointment.read", "succeeded") in actions
    assert ("fhir.appointment.search", "succeeded") in actions


async def test_another_practices_clinician_sees_nothing_of_the_booking(
    anonymous: httpx.AsyncClient, clinic: Clinic, scheduling_address: str, idp: Any
) -> None:
    token = idp.access_token(PARIS_CLINICIAN, ["clinician"])
    paris = {"Authorization": f"Bearer {token}"}
    toronto = {"Authorization": f"Bearer {idp.access_token(TORONTO_CLINICIAN, ['clinician'])}"}
    slot = resources(
        bundle_of(
            await anonymous.get(
                f"{FHIR}/Slot", params={"schedule": f"Schedule/{clinic.martin.id}"}, headers=paris
            )
        )
    )[0]
    booked = await book(scheduling_address, idp, slot["identifier"][0]["value"])

    read = await anonymous.get(f"{FHIR}/Appointment/{booked.appointment_id}", headers=toronto)
    listed = await anonymous.get(f"{FHIR}/Appointment", headers=toronto)

    # Exactly the answer for an appointment that does not exist.
    assert problem(read, 404)["detail"] == "No resource of this type has this id."
    assert bundle_of(listed)["total"] == 0


async def test_patients_have_no_fhir_access(anonymous: httpx.AsyncClient, idp: Any) -> None:
    headers = {"Authorization": f"Bearer {idp.access_token(PATIENT, ['patient'])}"}

    response = await anonymous.get(f"{FHIR}/Appointment", headers=headers)

    assert problem(response, 403)["detail"] == "Your role does not allow this."


async def test_the_routes_are_documented_as_fhir_json(app: FastAPI) -> None:
    paths = app.openapi()["paths"]

    for path in (f"{FHIR}/{{resource_type}}", f"{FHIR}/{{resource_type}}/{{resource_id}}"):
        operation = paths[path]["get"]
        assert "x-voiceassist-pending" not in operation
        assert FHIR_JSON in operation["responses"]["200"]["content"]
        assert "503" in operation["responses"]
