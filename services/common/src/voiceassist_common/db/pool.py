"""The asyncpg connection pool of a service, confined to the service's own schema.

Every service that owns tables talks to PostgreSQL through one pool whose connections have
``search_path`` set to the service's schema (then ``public``, which holds only extensions), so
queries name tables without a schema and never reach another service's tables by accident.
The database may still be starting when a service starts, so connecting is retried with
backoff for a bounded time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time

import asyncpg

from voiceassist_common.db.schemas import describe_database, search_path
from voiceassist_common.logging import safe
from voiceassist_common.settings import DatabaseSettings

logger = logging.getLogger(__name__)

_FIRST_DELAY_SECONDS = 0.2
_MAX_DELAY_SECONDS = 5.0

# Errors that waiting will not cure: wrong password, no such database or role.
_PERMANENT = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
    asyncpg.InvalidCatalogNameError,
)


class DatabaseUnavailableError(ConnectionError):
    """PostgreSQL could not be reached, or refused us, while the service was starting."""


class SchemaMissingError(RuntimeError):
    """The service's schema does not exist: its migrations have not been applied."""


async def create_pool(
    settings: DatabaseSettings,
    *,
    schema: str,
    application_name: str,
    max_wait_seconds: float = 30,
) -> asyncpg.Pool[asyncpg.Record]:
    """Open a pool of ``settings.db_pool_min_size`` to ``db_pool_max_size`` connections.

    Each connection's ``search_path`` is ``schema`` (then ``public``, for extensions) and its
    ``application_name`` (shown in ``pg_stat_activity``) is ``application_name``. Connecting
    is retried for up to ``max_wait_seconds``; a rejected login fails at once with
    DatabaseUnavailableError, and a schema that does not exist yet with SchemaMissingError
    (run the service's migrations).
    """
    path = search_path(schema)
    where = safe(describe_database(settings.dsn))
    deadline = time.monotonic() + max_wait_seconds
    delay = _FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            pool = await asyncpg.create_pool(
                settings.dsn,
                min_size=settings.db_pool_min_size,
                max_size=settings.db_pool_max_size,
                timeout=max(1.0, min(10.0, deadline - time.monotonic())),
                server_settings={"search_path": path, "application_name": application_name},
            )
            break
        except _PERMANENT as error:
            raise DatabaseUnavailableError(
                f"PostgreSQL at {where} refused the connection: {type(error).__name__}"
            ) from error
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DatabaseUnavailableError(
                    f"PostgreSQL at {where} not reachable after {attempt} attempts "
                    f"in {max_wait_seconds:g}s ({type(error).__name__})"
                ) from error
            pause = min(delay * random.uniform(0.8, 1.2), remaining)  # noqa: S311 - jitter only
            logger.warning(
                "PostgreSQL at %s not reachable (attempt %d, %s); retrying in %.1fs",
                where,
                attempt,
                safe(type(error).__name__),
                pause,
            )
            await asyncio.sleep(pause)
            delay = min(delay * 2, _MAX_DELAY_SECONDS)
    try:
        exists = await pool.fetchval("SELECT true FROM pg_namespace WHERE nspname = $1", schema)
    except BaseException:
        await pool.close()
        raise
    if not exists:
        await pool.close()
        raise SchemaMissingError(
            f"schema {schema} does not exist in {where}; apply the service's migrations first"
        )
    logger.info("connected to PostgreSQL at %s, schema %s", where, safe(schema))
    return pool
