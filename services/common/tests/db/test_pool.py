"""A service's pool sees its own schema first, waits for a late database, and keeps secrets out."""

import asyncio
import logging
from urllib.parse import urlsplit, urlunsplit

import pytest
from voiceassist_common.db import (
    DatabaseUnavailableError,
    SchemaMissingError,
    create_pool,
    upgrade,
)
from voiceassist_common.settings import DatabaseSettings
from voiceassist_localstack.ports import free_port
from voiceassist_triage.adapters.migrations import SCHEMA, SCRIPT_LOCATION


def with_password(dsn: str, password: str) -> str:
    parts = urlsplit(dsn)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@pytest.fixture
async def migrated_dsn(fresh_postgres_dsn: str) -> str:
    # upgrade() runs its own event loop; this fixture's loop is busy, so use a thread.
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    await asyncio.to_thread(upgrade, settings, schema=SCHEMA, script_location=SCRIPT_LOCATION)
    return fresh_postgres_dsn


@pytest.mark.integration
async def test_connections_work_in_the_service_schema(migrated_dsn: str) -> None:
    settings = DatabaseSettings(database_url=migrated_dsn, db_pool_min_size=2, db_pool_max_size=3)
    pool = await create_pool(settings, schema=SCHEMA, application_name="triage-test")
    try:
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT current_schema()") == SCHEMA
            assert await connection.fetchval("SHOW search_path") == '"triage", public'
            await connection.execute("CREATE TABLE visits (id int)")
            owner = await connection.fetchval(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'visits'"
            )
            assert owner == SCHEMA
            names = await connection.fetch(
                "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
            )
            assert {row["application_name"] for row in names} >= {"triage-test"}
        assert pool.get_min_size() == 2
        assert pool.get_max_size() == 3
    finally:
        await pool.close()


@pytest.mark.integration
async def test_a_schema_without_migrations_is_refused(fresh_postgres_dsn: str) -> None:
    settings = DatabaseSettings(database_url=fresh_postgres_dsn)
    with pytest.raises(SchemaMissingError, match="migrations"):
        await create_pool(settings, schema="scheduling", application_name="scheduling-test")


@pytest.mark.integration
async def test_a_wrong_password_fails_at_once_without_showing_it(
    postgres_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = DatabaseSettings(database_url=with_password(postgres_dsn, "not-the-s3cret"))
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailableError) as caught:
        await create_pool(settings, schema=SCHEMA, application_name="t", max_wait_seconds=30)
    assert "not-the-s3cret" not in str(caught.value)
    assert "not-the-s3cret" not in caplog.text
    assert not [record for record in caplog.records if "retrying" in record.getMessage()]


async def test_an_absent_database_is_retried_then_given_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dsn = f"postgresql://voiceassist:s3cret@127.0.0.1:{free_port()}/voiceassist"
    settings = DatabaseSettings(database_url=dsn)
    with caplog.at_level(logging.WARNING), pytest.raises(DatabaseUnavailableError) as caught:
        await create_pool(settings, schema=SCHEMA, application_name="t", max_wait_seconds=1)
    retries = [record for record in caplog.records if "not reachable" in record.getMessage()]
    assert len(retries) >= 2
    assert "s3cret" not in caplog.text
    assert "s3cret" not in str(caught.value)
