"""Shared fixtures of the voice-proxy tests: the real triage and scheduling services.

Both run on loopback gRPC as in production: the real triage engine and knowledge base, and
scheduling over a real PostgreSQL seeded with the demo clinic, each verifying the patient's
access token (signed here by a test key), exactly as the voice-proxy calls them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist.triage.v1 import triage_pb2_grpc
from voiceassist_common.grpc.principal import Callers, bearer_metadata
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.handlers.grpc import registrar as scheduling_registrar
from voiceassist_scheduling.seed import seed_demo_clinic
from voiceassist_triage.adapters.repository import InMemoryAssessmentRepository
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import load_knowledge
from voiceassist_triage.handlers.grpc import registrar as triage_registrar

ISSUER = "http://127.0.0.1:8080/realms/voiceassist"
AUDIENCE = "voiceassist-api"
KEY = RSAKey.generate_key(2048, parameters={"kid": "voice-test", "alg": "RS256"})
PATIENT = "55555555-5555-4555-8555-555555555555"
# Monday 7 December 2026, 08:00 in London.
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def patient_token(subject: str = PATIENT) -> tuple[tuple[str, str], ...]:
    """Return the metadata of a call made by patient ``subject``."""
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": subject,
        "aud": [AUDIENCE, "account"],
        "azp": "voiceassist-web",
        "typ": "Bearer",
        "exp": now + 600,
        "iat": now,
        "realm_access": {"roles": ["patient"]},
    }
    header = {"alg": "RS256", "kid": "voice-test"}
    return bearer_metadata(jwt.encode(header, claims, KEY, algorithms=["RS256"]))


@pytest.fixture
async def callers() -> AsyncIterator[Callers]:
    """Verify tokens signed by the test key, as every service does."""
    jwks = {"keys": [KEY.as_dict(private=False)]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=jwks))
    async with httpx.AsyncClient(transport=transport) as http:
        cache = JwksCache(jwks_uri=f"{ISSUER}/protocol/openid-connect/certs", http_client=http)
        yield Callers(TokenVerifier(ISSUER, AUDIENCE, cache))


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine(load_knowledge())


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def services(
    engine: TriageEngine, database: MigratedDatabase, callers: Callers
) -> AsyncIterator[tuple[Any, Any]]:
    """Serve triage and scheduling, verifying the patient's token, and return their stubs."""
    reset = (
        "TRUNCATE outbox, idempotency_keys, appointments, availability_exceptions, "
        "weekly_availability, appointment_types, practitioners, practices CASCADE"
    )
    pool: asyncpg.Pool[asyncpg.Record]
    async with database.pool("voice-dialog-test", reset=reset, max_size=4) as pool:
        repository = PostgresSchedulingRepository(pool)
        await seed_demo_clinic(repository)

        class Quiet:
            async def completed(self, event: Any) -> None:
                return None

        triage_server = await start_grpc_server(
            "127.0.0.1:0",
            triage_registrar(engine, InMemoryAssessmentRepository(), Quiet(), callers),
        )
        scheduling_server = await start_grpc_server(
            "127.0.0.1:0", scheduling_registrar(repository, callers, clock=lambda: NOW)
        )
        triage_channel = grpc.aio.insecure_channel(f"127.0.0.1:{triage_server.port}")
        scheduling_channel = grpc.aio.insecure_channel(f"127.0.0.1:{scheduling_server.port}")
        try:
            yield (
                triage_pb2_grpc.TriageServiceStub(triage_channel),
                scheduling_pb2_grpc.SchedulingServiceStub(scheduling_channel),
            )
        finally:
            await triage_channel.close(grace=None)
            await scheduling_channel.close(grace=None)
            await triage_server.stop(0)
            await scheduling_server.stop(0)


@pytest.fixture
def now() -> datetime:
    """Return the tests' fixed "now": Monday 7 December 2026, 08:00 in London."""
    return NOW


@pytest.fixture
def token() -> Any:
    """Return `patient_token`, to sign calls as a patient (default: PATIENT)."""
    return patient_token
