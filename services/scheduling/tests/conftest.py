"""Shared fixtures of the scheduling tests: a migrated PostgreSQL database per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from voiceassist_common.testing import MigratedDatabase, migrated_database
from voiceassist_localstack.postgres import EmbeddedPostgres
from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION

RESET = (
    "TRUNCATE outbox, idempotency_keys, appointments, availability_exceptions, "
    "weekly_availability, appointment_types, practitioners, practices CASCADE"
)
"""Empties every table between tests (CASCADE reaches tables that reference appointments)."""


@pytest.fixture(scope="module")
def scheduling_database(postgres_server: EmbeddedPostgres) -> Iterator[MigratedDatabase]:
    """Create a database for this module, with the scheduling migrations applied once."""
    with migrated_database(
        postgres_server, schema=SCHEMA, script_location=SCRIPT_LOCATION
    ) as database:
        yield database


@pytest.fixture
async def scheduling_pool(
    scheduling_database: MigratedDatabase,
) -> AsyncIterator[asyncpg.Pool[asyncpg.Record]]:
    """Lend a pool on the module's database, emptied before the test."""
    async with scheduling_database.pool("scheduling-test", reset=RESET, max_size=6) as pool:
        yield pool
