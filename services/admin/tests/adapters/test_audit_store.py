"""The stored audit trail: each record once, in a chain nobody can edit without it showing.

Runs against a real PostgreSQL with the admin migrations applied. Tampering is simulated the
only way it can happen: as the table owner, disabling the append-only trigger first.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest
from voiceassist_admin.adapters.audit_store import (
    AuditFilter,
    InvalidPageTokenError,
    PostgresAuditStore,
)
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.domain.audit import AuditEntry
from voiceassist_common.db import create_pool, upgrade
from voiceassist_common.settings import DatabaseSettings
from voiceassist_localstack.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration

NINE_AM = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def entry(
    *,
    minutes: int = 0,
    actor: str = "clinician-1",
    action: str = "triage.assessment.read",
    object_id: str = "a-1",
) -> AuditEntry:
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
        request_id="req-1",
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
    pool = await create_pool(settings, schema=SCHEMA, application_name="admin-test")
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
def store(pool: asyncpg.Pool[asyncpg.Record]) -> PostgresAuditStore:
    return PostgresAuditStore(pool)


async def test_records_are_chained_in_arrival_order(store: PostgresAuditStore) -> None:
    first = await store.append(entry(minutes=0))
    second = await store.append(entry(minutes=1))

    assert (first.sequence, second.sequence) == (1, 2)
    assert first.prev_hash == ""
    assert second.prev_hash == first.hash
    report = await store.verify()
    assert report.intact
    assert report.checked == 2


async def test_a_redelivered_record_is_stored_once(store: PostgresAuditStore) -> None:
    record = entry()

    stored = await store.append(record)
    again = await store.append(record)

    assert again == stored
    assert (await store.list(AuditFilter())).total_size == 1


async def test_the_table_refuses_updates_and_deletes(
    store: PostgresAuditStore, pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    await store.append(entry())

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("UPDATE audit_events SET actor_id = 'someone-else'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("DELETE FROM audit_events")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await pool.execute("TRUNCATE audit_events")
    assert (await store.verify()).intact


async def test_an_owner_editing_a_row_behind_the_trigger_breaks_the_chain_at_that_row(
    store: PostgresAuditStore, pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    for minute in range(4):
        await store.append(entry(minutes=minute))

    await pool.execute(
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change; "
        "UPDATE audit_events SET actor_id = 'covering-tracks' WHERE sequence = 3; "
        "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"
    )

    report = await store.verify()
    assert not report.intact
    assert report.first_broken_sequence == 3
    assert report.problem == "hash mismatch"


async def test_deleting_a_row_behind_the_trigger_is_found_as_a_gap(
    store: PostgresAuditStore, pool: asyncpg.Pool[asyncpg.Record]
) -> None:
    for minute in range(3):
        await store.append(entry(minutes=minute))

    await pool.execute(
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_change; "
        "DELETE FROM audit_events WHERE sequence = 2; "
        "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_change"
    )

    report = await store.verify()
    assert (report.intact, report.first_broken_sequence, report.problem) == (
        False,
        2,
        "missing sequence",
    )


async def test_the_list_filters_by_actor_and_object_and_pages_newest_first(
    store: PostgresAuditStore,
) -> None:
    for minute in range(5):
        await store.append(entry(minutes=minute, object_id=f"a-{minute}"))
    await store.append(entry(minutes=9, actor="admin-1", action="admin.user.invite"))

    first = await store.list(AuditFilter(actor_id="clinician-1"), page_size=3)
    second = await store.list(
        AuditFilter(actor_id="clinician-1"), page_size=3, page_token=first.next_page_token
    )

    assert [row.entry.object_id for row in first.rows] == ["a-4", "a-3", "a-2"]
    assert [row.entry.object_id for row in second.rows] == ["a-1", "a-0"]
    assert second.next_page_token == ""
    assert first.total_size == 5
    only_one = await store.list(AuditFilter(object_type="triage_assessment", object_id="a-3"))
    assert [row.entry.object_id for row in only_one.rows] == ["a-3"]
    window = await store.list(
        AuditFilter(start_time=NINE_AM + timedelta(minutes=1), end_time=NINE_AM + timedelta(3))
    )
    assert window.total_size == 5
    with pytest.raises(InvalidPageTokenError):
        await store.list(AuditFilter(actor_id="admin-1"), page_token=first.next_page_token)
