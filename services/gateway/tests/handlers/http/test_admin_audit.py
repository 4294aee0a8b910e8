"""The audit trail through the gateway: admins read it and prove nobody edited it.

Behind the gateway runs the real AdminService over the real hash-chained audit store on a real
PostgreSQL (admin migrations applied). Tampering is done the only way it can be: as the table
owner, with the append-only trigger disabled.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import uuid4

import asyncpg
import httpx
import pytest
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.domain.audit import AuditEntry
from voiceassist_admin.domain.users import IdentityProvisioner
from voiceassist_admin.handlers.grpc import AdminService, registrar
from voiceassist_common.audit import AuditTrail
from voiceassist_common.db import create_pool, upgrade
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.settings import DatabaseSettings
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings
from voiceassist_localstack.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

AUDIT = "/api/v1/admin/audit"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
ADMIN = "dddddddd-0000-4000-8000-000000000004"
NINE_AM = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(minutes: int, actor: str, action: str, object_id: str) -> AuditEntry:
    return AuditEntry(
        record_id=uuid4(),
        event_id=uuid4(),
        occurred_at=NINE_AM + timedelta(minutes=minutes),
        actor_id=actor,
        actor_kind="user",
        actor_role="clinician",
        action=action,
        object_type="triage_assessment",
        object_id=object_id,
        outcome="succeeded",
        request_id=f"req-{minutes}",
        source="triage",
        patient_subject="patient-7",
    )


@pytest.fixture(scope="module")
def migrated_dsn(postgres_server: EmbeddedPostgres) -> Iterator[str]:
    """Create a database for this module, with the admin migrations applied once."""
    name = f"test_{secrets.token_hex(6)}"
    dsn = postgres_server.create_database(name)
    # upgrade() runs its own event loop, and this fixture may be set up from inside a test's.
    with ThreadPoolExecutor(max_workers=1) as thread:
        settings = DatabaseSettings(database_url=dsn)
        thread.submit(upgrade, settings, schema=SCHEMA, script_location=SCRIPT_LOCATION).result()
    try:
        yield dsn
    finally:
        postgres_server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE);', "postgres")


@pytest.fixture
async def pool(migrated_dsn: str) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    settings = DatabaseSettings(database_url=migrated_dsn, db_pool_min_size=1, db_pool_max_size=2)
    pool = await create_pool(settings, schema=SCHEMA, application_name="gateway-admin-test")
    # Each test starts from an empty trail, which only the owner can do, trigger disabled.
    await pool.execute(
        "ALTER TABLE audit_events DISABLE TRIGGER USER; TRUNCATE audit_events; "
        "ALTER TABLE audit_events ENABLE TRIGGER USER"
    )
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def store(pool: asyncpg.Pool[asyncpg.Record]) -> PostgresAuditStore:
    """Return the trail holding three reads of assessments by two clinicians, a minute apart."""
    trail = PostgresAuditStore(pool)
    await trail.append(entry(0, "clinician-1", "triage.assessment.read", "a-1"))
    await trail.append(entry(1, "clinician-2", "triage.assessment.read", "a-2"))
    await trail.append(entry(2, "clinician-1", "triage.assessment.list", "list"))
    return trail


@pytest.fixture
def admin_records() -> list[Any]:
    return []


@pytest.fixture
async def admin_address(
    idp: Any, store: PostgresAuditStore, admin_records: list[Any]
) -> AsyncIterator[str]:
    """Serve AdminService over the stored trail, verifying forwarded tokens."""

    async def keep(payload: Any) -> None:
        admin_records.append(payload)

    async with idp.http_client() as http:
        jwks = JwksCache(issuer=ISSUER, http_client=http)
        service = AdminService(
            callers=Callers(TokenVerifier(ISSUER, "voiceassist-api", jwks)),
            provisioner=cast(IdentityProvisioner, None),  # the audit routes never change users
            store=store,
            audit=AuditTrail(keep, source="admin"),
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


async def test_the_log_lists_newest_first_with_who_did_what(admin: httpx.AsyncClient) -> None:
    response = await admin.get(AUDIT)

    assert response.status_code == 200, response.text
    page = response.json()
    assert [event["sequence"] for event in page["events"]] == [3, 2, 1]
    assert page["total_size"] == 3
    newest = page["events"][0]
    assert newest["actor"] == {"subject": "clinician-1", "roles": ["clinician"], "guest": False}
    assert (newest["action"], newest["object_type"], newest["object_id"]) == (
        "triage.assessment.list",
        "triage_assessment",
        "list",
    )
    assert (newest["outcome"], newest["request_id"], newest["service"]) == (
        "succeeded",
        "req-2",
        "triage",
    )
    assert newest["occur_time"] == "2026-12-01T09:02:00Z"
    assert newest["previous_hash"] == page["events"][1]["hash"]


async def test_filters_and_pages_narrow_the_log(admin: httpx.AsyncClient) -> None:
    by_actor = (await admin.get(AUDIT, params={"actor_subject": "clinician-1"})).json()
    in_window = (
        await admin.get(
            AUDIT,
            params={"start_time": "2026-12-01T09:01:00Z", "end_time": "2026-12-01T09:02:00Z"},
        )
    ).json()
    first = (await admin.get(AUDIT, params={"page_size": 2})).json()
    second = (
        await admin.get(AUDIT, params={"page_size": 2, "page_token": first["next_page_token"]})
    ).json()

    assert [event["sequence"] for event in by_actor["events"]] == [3, 1]
    assert [event["sequence"] for event in in_window["events"]] == [2]
    assert [event["sequence"] for event in first["events"]] == [3, 2]
    assert [event["sequence"] for event in second["events"]] == [1]
    assert second["next_page_token"] is None


async def test_an_intact_trail_verifies_and_the_check_is_audited(
    admin: httpx.AsyncClient, admin_records: list[Any]
) -> None:
    response = await admin.get(f"{AUDIT}/verify")

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["intact"], report["checked_count"], report["first_broken"]) == (True, 3, None)
    [record] = admin_records
    assert (record.action, record.outcome.value, record.actor_id) == (
        "admin.audit.verify",
        "succeeded",
        ADMIN,
    )


async def test_an_edited_row_is_named_as_the_first_broken_one(
    admin: httpx.AsyncClient, pool: asyncpg.Pool[asyncpg.Record], admin_records: list[Any]
) -> None:
    # Someone with the owner's rights hides which assessment clinician-2 read.
    await pool.execute(
        "ALTER TABLE audit_events DISABLE TRIGGER USER; "
        "UPDATE audit_events SET object_id = 'a-9' WHERE sequence = 2; "
        "ALTER TABLE audit_events ENABLE TRIGGER USER"
    )

    response = await admin.get(f"{AUDIT}/verify")

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["intact"] is False
    assert report["first_broken"]["sequence"] == 2
    assert report["first_broken"]["problem"] == "hash mismatch"
    assert admin_records[-1].outcome.value == "failed"


async def test_a_forged_page_token_is_named_as_the_field_at_fault(
    admin: httpx.AsyncClient,
) -> None:
    response = await admin.get(AUDIT, params={"page_token": "forged"})

    assert response.status_code == 422, response.text
    assert [error["location"] for error in response.json()["errors"]] == [["query", "page_token"]]


async def test_a_patient_cannot_read_or_verify_the_trail(
    anonymous: httpx.AsyncClient, idp: Any, admin_records: list[Any]
) -> None:
    headers = {"Authorization": f"Bearer {idp.access_token(str(uuid4()), ['patient'])}"}

    listed = await anonymous.get(AUDIT, headers=headers)
    verified = await anonymous.get(f"{AUDIT}/verify", headers=headers)

    assert (listed.status_code, verified.status_code) == (403, 403)
    assert admin_records == []
