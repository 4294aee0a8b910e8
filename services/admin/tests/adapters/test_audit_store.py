"""The stored audit trail: each record once, in a chain nobody can edit without it showing.

Runs against a real PostgreSQL with the admin migrations applied. Tampering is simulated the
only way it can happen: as the table owner, disabling the append-only trigger first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import asyncpg
import pytest
from voiceassist_admin.adapters.audit_store import (
    AuditFilter,
    InvalidPageTokenError,
    PostgresAuditStore,
)
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.testing import EMPTY_TRAIL, NINE_AM
from voiceassist_admin.testing import audit_entry as entry
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_localstack.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


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
    async with database.pool("admin-test", reset=EMPTY_TRAIL) as pool:
        yield pool


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
    edited = await pool.fetchval("SELECT record_id FROM audit_events WHERE sequence = 3")
    assert report.first_broken_record_id == edited


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
    # The row found where the deleted one stood: the investigator's starting point.
    after_gap = await pool.fetchval("SELECT record_id FROM audit_events WHERE sequence = 3")
    assert report.first_broken_record_id == after_gap


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
