"""The ``migrate`` command creates the admin service's schema in a real PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
import pytest
from voiceassist_admin.server import SCHEMA


async def migrate(dsn: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voiceassist_admin",
        "migrate",
        env={**os.environ, "DATABASE_URL": dsn, "VOICEASSIST_ENV": "test"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(120):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.mark.integration
async def test_migrate_creates_the_schema_and_can_run_again(fresh_postgres_dsn: str) -> None:
    first = await migrate(fresh_postgres_dsn)
    again = await migrate(fresh_postgres_dsn)

    assert first[0] == 0, first[1]
    assert again[0] == 0, again[1]
    connection = await asyncpg.connect(fresh_postgres_dsn)
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", SCHEMA
        )
    finally:
        await connection.close()
    assert found == 1
