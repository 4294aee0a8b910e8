"""The ``migrate`` command creates the scheduling service's schema in a real PostgreSQL."""

from __future__ import annotations

import pytest
from voiceassist_common.testing import assert_migrate_creates_schema
from voiceassist_scheduling.server import SCHEMA


@pytest.mark.integration
async def test_migrate_creates_the_schema_and_can_run_again(fresh_postgres_dsn: str) -> None:
    await assert_migrate_creates_schema("voiceassist_scheduling", SCHEMA, fresh_postgres_dsn)
