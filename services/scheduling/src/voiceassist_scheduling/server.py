"""Process start of the scheduling service: ``serve`` (the default) or ``migrate``.

Serving opens the PostgreSQL pool confined to the ``scheduling`` schema (the service refuses to
start before ``migrate`` has created it), seeds the demo clinic in development when asked, and
runs three background tasks beside the gRPC server: the outbox relay (appointment events to
JetStream, adapters/outbox.py), the reminder worker (handlers/reminders.py) and, once NATS is
up, the consumer moving a guest's bookings to their account (handlers/events.py). Bookings work
while NATS is down: events wait in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import asyncpg
import grpc
from nats.aio.client import Client
from voiceassist_common.grpc.principal import callers_from_settings
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.messaging import AUTH, DurableConsumer, connect, ensure_streams
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_scheduling.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_scheduling.adapters.notifiers import EmailNotifier, MemoryNotifier, Notifier
from voiceassist_scheduling.adapters.outbox import OutboxRelay
from voiceassist_scheduling.adapters.reminder_store import PostgresReminderStore
from voiceassist_scheduling.adapters.repository import PostgresSchedulingRepository
from voiceassist_scheduling.config import Settings
from voiceassist_scheduling.handlers.events import guest_upgrade_consumer
from voiceassist_scheduling.handlers.grpc import registrar
from voiceassist_scheduling.handlers.reminders import ReminderWorker

logger = logging.getLogger(__name__)

MIGRATIONS: Path = SCRIPT_LOCATION
CONSUMER_RETRY_SECONDS = 5.0

__all__ = ["MIGRATIONS", "SCHEMA", "SchedulingProcess", "main", "migrate"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the scheduling service until SIGTERM, or apply its migrations with ``migrate``."""
    command = read_command(argv, prog="scheduling", migrates=True)
    settings = load_settings(Settings)
    if command == "migrate":
        migrate(settings)
        return
    process = SchedulingProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


def migrate(settings: Settings) -> None:
    """Create the ``scheduling`` schema if it is missing and apply every pending migration."""
    configure_logging(settings.service_name, settings.log_level)
    # Imported here: only this command needs Alembic and SQLAlchemy.
    from voiceassist_common.db.migrations import upgrade

    upgrade(settings, schema=SCHEMA, script_location=MIGRATIONS)
    logger.info("schema %s is up to date", safe(SCHEMA))


class SchedulingProcess:
    """What one serving process holds: the pool, the repository and the background tasks."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._repository: PostgresSchedulingRepository | None = None
        self._relay: OutboxRelay | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._consumer: DurableConsumer | None = None
        self._consumer_nats: Client | None = None
        # Refuses to start in prod without OIDC_ISSUER.
        self._callers, self._jwks = callers_from_settings(settings)

    async def start(self) -> None:
        """Open the pool, seed the demo clinic if asked, start the background tasks."""
        from voiceassist_common.db import create_pool

        settings = self._settings
        self._pool = await create_pool(
            settings, schema=SCHEMA, application_name=settings.service_name
        )
        self._repository = PostgresSchedulingRepository(self._pool)
        if settings.scheduling_seed_demo:
            from voiceassist_scheduling.seed import seed_demo_clinic

            clinic = await seed_demo_clinic(self._repository)
            logger.info(
                "demo clinic seeded: %d practices, %d practitioners",
                len(clinic.practices),
                len(clinic.practitioners),
            )
        self._relay = OutboxRelay(
            self._repository,
            settings.nats_url,
            name=settings.service_name,
            poll_seconds=settings.scheduling_outbox_poll_seconds,
        )
        self._tasks.append(asyncio.create_task(self._relay.run(), name="scheduling-outbox"))
        self._tasks.append(
            asyncio.create_task(self._consume_guest_upgrades(), name="scheduling-guest-upgrades")
        )
        reminders = self._reminder_task()
        if reminders is not None:
            self._tasks.append(reminders)

    def _reminder_task(self) -> asyncio.Task[None] | None:
        """Start the reminder worker: SMTP when SMTP_HOST is set, else kept in memory (dev)."""
        settings = self._settings
        if not settings.scheduling_reminders_enabled or self._pool is None:
            return None
        notifier: Notifier
        if settings.smtp_host:
            password = settings.smtp_password
            notifier = EmailNotifier(
                settings.smtp_host,
                settings.smtp_port,
                sender=settings.mail_from,
                username=settings.smtp_username,
                password=password.get_secret_value() if password is not None else None,
                starttls=settings.smtp_starttls,
            )
        else:
            notifier = MemoryNotifier()
        worker = ReminderWorker(
            PostgresReminderStore(self._pool),
            [notifier],
            lead=timedelta(minutes=settings.scheduling_reminder_lead_minutes),
            poll_seconds=settings.scheduling_reminder_poll_seconds,
        )
        return asyncio.create_task(worker.run(), name="scheduling-reminders")

    async def _consume_guest_upgrades(self) -> None:
        """Once NATS is up, move guests' bookings to their accounts until stopped."""
        repository = self._repository
        assert repository is not None  # noqa: S101 - started after the repository
        while True:
            try:
                client = await connect(
                    self._settings.nats_url, name=f"{self._settings.service_name}-consumer"
                )
                js = client.jetstream()
                # The auth service declares AUTH too; whichever starts first creates it.
                await ensure_streams(js, (AUTH,))
                consumer = guest_upgrade_consumer(js, repository.rekey_patient)
                await consumer.start()
                break
            except Exception as error:
                logger.warning(
                    "cannot consume guest upgrades yet (%s); retrying",
                    safe(type(error).__name__),
                )
                await asyncio.sleep(CONSUMER_RETRY_SECONDS)
        self._consumer, self._consumer_nats = consumer, client
        await consumer.run()

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add SchedulingService over what `start` opened."""
        if self._repository is None or self._relay is None:
            raise RuntimeError("register() runs after start()")
        return registrar(
            self._repository,
            self._callers,
            default_timezone=self._settings.scheduling_default_timezone,
            on_change=self._relay.poke,
        )(server)

    async def stop(self) -> None:
        """Stop the background tasks, close NATS and the pool."""
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client = self._consumer_nats
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        if self._relay is not None:
            await self._relay.close()
        if self._pool is not None:
            await self._pool.close()
        if self._jwks is not None:
            await self._jwks.aclose()
