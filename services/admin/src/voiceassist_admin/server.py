"""Process start of the admin service: ``serve`` (the default) or ``migrate``.

Serving opens the PostgreSQL pool confined to the ``admin`` schema (the service refuses to start
before ``migrate`` has created it), connects to NATS and runs the durable consumer that appends
every audit record to the trail and the consumers that store the analytics facts, and answers
AdminService with the identity provider chosen by IDENTITY_PROVIDER.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import grpc
from nats.aio.client import Client
from voiceassist_common.audit import AuditTrail, jetstream_publisher
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.principal import callers_from_settings
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.messaging import DurableConsumer, connect, ensure_streams
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_admin.adapters.analytics_store import PostgresAnalyticsStore
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.auth_provisioner import AuthServiceProvisioner
from voiceassist_admin.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_admin.config import Settings
from voiceassist_admin.domain.users import IdentityProvisioner
from voiceassist_admin.handlers.events import analytics_consumers, audit_consumer
from voiceassist_admin.handlers.grpc import AdminService, registrar

logger = logging.getLogger(__name__)

MIGRATIONS: Path = SCRIPT_LOCATION

__all__ = ["MIGRATIONS", "SCHEMA", "AdminProcess", "main", "migrate"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the admin service until SIGTERM, or apply its migrations with ``migrate``."""
    command = read_command(argv, prog="admin", migrates=True)
    settings = load_settings(Settings)
    if command == "migrate":
        migrate(settings)
        return
    process = AdminProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


def migrate(settings: Settings) -> None:
    """Create the ``admin`` schema if it is missing and apply every pending migration."""
    configure_logging(settings.service_name, settings.log_level)
    # Imported here: only this command needs Alembic and SQLAlchemy.
    from voiceassist_common.db.migrations import upgrade

    upgrade(settings, schema=SCHEMA, script_location=MIGRATIONS)
    logger.info("schema %s is up to date", safe(SCHEMA))


class AdminProcess:
    """What one serving process holds: the pool, the NATS link, the consumer, the provider."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        # Refuses to start in prod without OIDC_ISSUER.
        self._callers, self._jwks = callers_from_settings(settings)
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._nats: Client | None = None
        self._consumers: list[DurableConsumer] = []
        self._consuming: list[asyncio.Task[None]] = []
        self._channel: grpc.aio.Channel | None = None
        self._audit = AuditTrail(None, source=settings.service_name)

    async def start(self) -> None:
        """Open the pool, connect to NATS, start consuming audit records and analytics facts."""
        from voiceassist_common.db import create_pool

        settings = self._settings
        self._pool = await create_pool(
            settings, schema=SCHEMA, application_name=settings.service_name
        )
        self._nats = await connect(settings.nats_url, name=settings.service_name)
        js = self._nats.jetstream()
        await ensure_streams(js)
        self._audit.attach(jetstream_publisher(js, source=settings.service_name))
        self._consumers = [
            audit_consumer(js, PostgresAuditStore(self._pool)),
            *analytics_consumers(js, PostgresAnalyticsStore(self._pool)),
        ]
        for consumer in self._consumers:
            await consumer.start()
            self._consuming.append(
                asyncio.create_task(consumer.run(), name=f"{consumer.durable}-consumer")
            )

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add AdminService over what `start` opened."""
        if self._pool is None:
            raise RuntimeError("register() runs after start()")
        service = AdminService(
            callers=self._callers,
            provisioner=self._provisioner(),
            store=PostgresAuditStore(self._pool),
            audit=self._audit,
            analytics=PostgresAnalyticsStore(self._pool),
        )
        return registrar(service)(server)

    def _provisioner(self) -> IdentityProvisioner:
        settings = self._settings
        if settings.identity_provider == "keycloak":
            # Imported here: python-keycloak is the optional `keycloak` extra.
            from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

            from voiceassist_admin.adapters.keycloak_provisioner import KeycloakProvisioner

            assert settings.keycloak_server_url is not None  # noqa: S101 - checked by Settings
            assert settings.keycloak_admin_client_secret is not None  # noqa: S101
            connection = KeycloakOpenIDConnection(
                server_url=settings.keycloak_server_url,
                realm_name=settings.keycloak_realm,
                client_id=settings.keycloak_admin_client_id,
                client_secret_key=settings.keycloak_admin_client_secret.get_secret_value(),
                verify=True,
            )
            return KeycloakProvisioner(KeycloakAdmin(connection=connection))
        self._channel = create_channel(settings.auth_grpc_addr)
        return AuthServiceProvisioner(self._channel)

    async def stop(self) -> None:
        """Stop consuming, flush audit records, close every link."""
        for consumer in self._consumers:
            await consumer.close()
        for task in self._consuming:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._audit.close()
        if self._nats is not None:
            await self._nats.close()
        if self._channel is not None:
            await self._channel.close(None)
        if self._pool is not None:
            await self._pool.close()
        if self._jwks is not None:
            await self._jwks.aclose()
