"""The admin analytics through the gateway: triage outcomes, booking conversion, voice latency.

Behind the gateway runs the real AdminService over the real analytics store on a real
PostgreSQL (admin migrations applied), holding a few facts of one day; the gateway reaches it
over gRPC as in production. What the admin panel relies on: the JSON shapes of
web/src/features/admin/analytics/api.ts, the period given as ``start``/``end``, and a 422
naming the field when the period is wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import httpx
import pytest
from voiceassist_admin.adapters.analytics_store import PostgresAnalyticsStore
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.domain.analytics import BookingFact, TriageFact, TurnFact
from voiceassist_admin.domain.users import IdentityProvisioner
from voiceassist_admin.handlers.grpc import AdminService, registrar
from voiceassist_common.audit import AuditTrail
from voiceassist_common.events import UrgencyLevel
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings
from voiceassist_localstack.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

ANALYTICS = "/api/v1/admin/analytics"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
ADMIN = "dddddddd-0000-4000-8000-000000000004"
DAY = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)
PERIOD = {"start": "2025-06-10T00:00:00Z", "end": "2025-06-11T00:00:00Z"}


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    """Create a database for this module, with the admin migrations applied once."""
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def store(database: MigratedDatabase) -> AsyncIterator[PostgresAnalyticsStore]:
    """Return the analytics of one day: three assessments, one booking, two voice turns."""
    empty = "TRUNCATE triage_outcomes, bookings, cancellations, voice_turns"
    async with database.pool("gateway-analytics-test", reset=empty) as pool:
        analytics = PostgresAnalyticsStore(pool)
        booked = uuid4()
        for assessment, level, condition, flags in (
            (booked, UrgencyLevel.CONSULTATION_24, "acute_otitis_media", ()),
            (uuid4(), UrgencyLevel.CONSULTATION_24, "acute_otitis_media", ()),
            (uuid4(), UrgencyLevel.EMERGENCY_AMBULANCE, "stemi", ("chest_pain_acs",)),
        ):
            await analytics.add_triage(
                TriageFact(assessment, uuid4(), DAY, level, condition, flags)
            )
        await analytics.add_booking(
            BookingFact(uuid4(), uuid4(), DAY, booked, UrgencyLevel.CONSULTATION_24)
        )
        for stt in (0.2, 0.4):
            await analytics.add_turn(TurnFact(uuid4(), DAY, uuid4(), 0, stt, 0.1, 0.2))
        yield analytics


@pytest.fixture
async def admin_address(idp: Any, store: PostgresAnalyticsStore) -> AsyncIterator[str]:
    """Serve AdminService over the analytics store, verifying forwarded tokens."""

    async def keep(payload: Any) -> None:
        del payload

    async with idp.http_client() as http:
        jwks = JwksCache(issuer=ISSUER, http_client=http)
        service = AdminService(
            callers=Callers(TokenVerifier(ISSUER, "voiceassist-api", jwks)),
            provisioner=cast(IdentityProvisioner, None),  # analytics never change users
            store=cast(PostgresAuditStore, None),  # nor read the trail
            audit=AuditTrail(keep, source="admin"),
            analytics=store,
        )
        server = await start_grpc_server("127.0.0.1:0", registrar(service))
        try:
            yield f"127.0.0.1:{server.port}"
        finally:
            await server.stop(0)


@pytest.fixture
def settings(admin_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(admin_grpc_addr=admin_address, **identity_settings)


@pytest.fixture
def admin(anonymous: httpx.AsyncClient, idp: Any) -> httpx.AsyncClient:
    anonymous.headers["Authorization"] = f"Bearer {idp.access_token(ADMIN, ['admin'])}"
    return anonymous


async def test_triage_analytics_count_levels_conditions_and_red_flags(
    admin: httpx.AsyncClient,
) -> None:
    response = await admin.get(f"{ANALYTICS}/triage", params=PERIOD)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "total_assessments": 3,
        "by_level": [
            {"level": "emergency_ambulance", "count": 1},
            {"level": "consultation_24", "count": 2},
        ],
        "top_conditions": [
            {
                "condition_id": "acute_otitis_media",
                "name": "Acute otitis media",
                "icd10": "",
                "count": 2,
            },
            {"condition_id": "stemi", "name": "Stemi", "icd10": "", "count": 1},
        ],
        "red_flags": [{"red_flag_id": "chest_pain_acs", "name": "Chest pain acs", "count": 1}],
    }


async def test_booking_analytics_give_the_conversion_per_level(admin: httpx.AsyncClient) -> None:
    response = await admin.get(f"{ANALYTICS}/bookings", params=PERIOD)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "bookable_assessments": 2,
        "booked": 1,
        "rate": 0.5,
        "cancelled": 0,
        "by_level": [{"level": "consultation_24", "assessments": 2, "booked": 1, "rate": 0.5}],
    }


async def test_voice_analytics_give_percentiles_in_milliseconds(admin: httpx.AsyncClient) -> None:
    response = await admin.get(f"{ANALYTICS}/voice", params=PERIOD)

    assert response.status_code == 200, response.text
    stages = response.json()["stages"]
    assert [stage["stage"] for stage in stages] == [
        "end_of_speech_to_final_transcript",
        "end_of_speech_to_first_reply_text",
        "end_of_speech_to_first_reply_audio",
    ]
    audio = stages[-1]
    assert audio["count"] == 2
    assert audio["p50_ms"] == pytest.approx(600)
    assert audio["p99_ms"] == pytest.approx(698)


async def test_the_default_period_is_the_last_30_days(admin: httpx.AsyncClient) -> None:
    # The facts are of a fixed day long past: the last 30 days hold none of them.
    body = (await admin.get(f"{ANALYTICS}/triage")).json()

    assert body["total_assessments"] == 0
    assert (await admin.get(f"{ANALYTICS}/voice")).json() == {"stages": []}


@pytest.mark.parametrize(
    ("period", "field"),
    [
        ({"start": "2025-06-11T00:00:00Z", "end": "2025-06-10T00:00:00Z"}, "end"),
        ({"start": "2024-01-01T00:00:00Z", "end": "2025-06-10T00:00:00Z"}, "start"),
        ({"start": "yesterday"}, "start"),
    ],
)
async def test_a_wrong_period_is_a_422_naming_the_field(
    admin: httpx.AsyncClient, period: dict[str, str], field: str
) -> None:
    response = await admin.get(f"{ANALYTICS}/bookings", params=period)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in response.text


async def test_a_clinician_may_not_read_the_analytics(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    token = idp.access_token("cccccccc-0000-4000-8000-000000000003", ["clinician"])

    response = await anonymous.get(
        f"{ANALYTICS}/triage", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 403


async def test_the_routes_are_documented_with_their_json(admin: httpx.AsyncClient) -> None:
    paths = (await admin.get("/openapi.json")).json()["paths"]

    for kind in ("triage", "bookings", "voice"):
        operation = paths[f"{ANALYTICS}/{kind}"]["get"]
        assert "x-voiceassist-pending" not in operation
        assert "$ref" in str(operation["responses"]["200"])
        assert "422" in operation["responses"]
