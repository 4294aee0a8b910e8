"""Alembic migrations, one PostgreSQL schema per service, run from code.

Each service that owns tables keeps its migrations in ``adapters/migrations/`` and applies them
with ``python -m voiceassist_<service> migrate``, which calls `upgrade`. Everything Alembic
needs is built here, so services carry no alembic.ini and their env.py is two lines calling
`run_alembic_environment`. The version table lives inside the service's schema, so services
migrate independently and dropping a schema removes every trace of it.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from voiceassist_common.db.schemas import quoted_schema, search_path
from voiceassist_common.settings import DatabaseSettings

VERSION_TABLE = "alembic_version"

# Alembic's `context` is one object per process; two migrations in threads would share it.
_ALEMBIC = threading.Lock()

_SCHEMA_KEY = "voiceassist.schema"
_DSN_KEY = "voiceassist.dsn"


def alembic_config(
    settings: DatabaseSettings | None, *, schema: str, script_location: str | Path
) -> Config:
    """Build the Alembic configuration of one service's migrations.

    ``settings`` may be None for commands that do not touch the database, such as
    ``alembic.command.revision(config, message=..., rev_id="0002")`` to start a new migration.
    """
    quoted_schema(schema)
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes[_SCHEMA_KEY] = schema
    if settings is not None:
        # An attribute, not a main option: ConfigParser would choke on '%' in a password.
        config.attributes[_DSN_KEY] = settings.dsn
    return config


def upgrade(
    settings: DatabaseSettings,
    *,
    schema: str,
    script_location: str | Path,
    revision: str = "head",
) -> None:
    """Create ``schema`` if it is missing and apply its migrations up to ``revision``.

    Synchronous (it runs its own event loop): from async code, call it through
    ``await asyncio.to_thread(upgrade, ...)``. Running it again when the schema is up to date
    changes nothing; concurrent runs for one schema, in threads or processes, wait for each
    other.
    """
    _refuse_inside_event_loop("upgrade")
    config = alembic_config(settings, schema=schema, script_location=script_location)
    with _ALEMBIC:
        command.upgrade(config, revision)


def current(settings: DatabaseSettings, *, schema: str) -> str | None:
    """Return the revision ``schema`` is at, or None when no migration was ever applied."""
    _refuse_inside_event_loop("current")
    quoted_schema(schema)

    def read(connection: Connection) -> str | None:
        migration = MigrationContext.configure(
            connection, opts={"version_table_schema": schema, "version_table": VERSION_TABLE}
        )
        return migration.get_current_revision()

    async def run() -> str | None:
        engine = create_async_engine(_sqlalchemy_url(settings.dsn), poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def head(script_location: str | Path) -> str | None:
    """Return the newest revision among a service's migration scripts (None if there are none)."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    return ScriptDirectory.from_config(config).get_current_head()


def run_alembic_environment() -> None:
    """Run the migrations Alembic is asking for; the whole body of every service's env.py."""
    config = context.config
    schema = config.attributes.get(_SCHEMA_KEY)
    dsn = config.attributes.get(_DSN_KEY)
    if not isinstance(schema, str) or not isinstance(dsn, str):
        raise RuntimeError(
            "run migrations through voiceassist_common.db.migrations.upgrade "
            "(python -m voiceassist_<service> migrate), not the alembic command line"
        )
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported; run them online")
    asyncio.run(_migrate_online(dsn, schema))


async def _migrate_online(dsn: str, schema: str) -> None:
    engine = create_async_engine(_sqlalchemy_url(dsn), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, schema)
    finally:
        await engine.dispose()


def _migrate(connection: Connection, schema: str) -> None:
    quoted = quoted_schema(schema)
    # One migrator per schema at a time (several replicas may start together). A session
    # lock, held across the commits below and released when the connection closes.
    connection.execute(
        text("SELECT pg_advisory_lock(hashtext(:key))"), {"key": f"voiceassist.migrate.{schema}"}
    )
    # The version table lives in the schema, so the schema must exist before Alembic looks.
    # search_path makes the service's own migrations create their tables in it unqualified.
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted}"))
    connection.execute(text(f"SET search_path TO {search_path(schema)}"))
    connection.commit()
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        version_table_schema=schema,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _sqlalchemy_url(dsn: str) -> str:
    """Point SQLAlchemy at the asyncpg driver, which the services already use."""
    return make_url(dsn).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _refuse_inside_event_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"{name}() runs its own event loop; from async code use "
        f"`await asyncio.to_thread({name}, ...)`"
    )
