"""The audit trail through the gateway: admins read it and prove nobody edited it.

Behind the gateway runs the real AdminService over the real hash-chained audit store on a real
PostgreSQL (admin migrations applied). Tampering is done the only way it can be: as the table
owner, with the append-only trigger disabled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, cast
from uuid import uuid4

import asyncpg
import httpx
import pytest
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.domain.users import IdentityProvisioner
from voiceassist_admin.handlers.grpc import AdminService, registrar
from voiceassist_admin.testing import EMPTY_TRAIL, audit_entry
from voiceassist_common.audit import AuditTrail
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings
from voiceassist_localstack.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

AUDIT = "/api/v1/admin/audit"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
ADMIN = "dddddddd-0000-4000-8000-000000000004"


@pytest.fixture(scope="module")
def database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    """Create a database for this module, with the admin migrations applied once."""
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def pool(database: MigratedDatabase) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    # Each test starts from an empty trail, which only the owner can do, trigger disabled.
    async with database.pool("gateway-admin-test", reset=EMPTY_TRAIL) as pool:
        yield pool


@pytest.fixture
async def store(pool: asyncpg.Pool[asyncpg.Record]) -> PostgresAuditStore:
    """Return the trail holding three reads of assessments by two clinicians, a minute apart."""
    trail = PostgresAuditStore(pool)
    for minutes, actor, action, object_id in (
        (0, "clinician-1", "triage.assessment.read", "a-1"),
        (1, "clinician-2", "triage.assessment.read", "a-2"),
        (2, "clinician-1", "triage.assessment.list", "list"),
    ):
        await trail.append(
            audit_entry(
                minutes=minutes,
                actor=actor,
                action=action,
                object_id=object_id,
                request_id=f"req-{minutes}",
            )
        )
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
    edited = await pool.fetchval("SELECT record_id FROM audit_events WHERE sequence = 2")
    assert report["first_broken"] == {
        "sequence": 2,
        "record_id": str(edited),
        "problem": "hash mismatch",
    }
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
