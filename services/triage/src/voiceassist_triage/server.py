"""Process start of the triage service: ``serve`` (the default) or ``migrate``.

Serving loads the knowledge base once, opens the PostgreSQL pool confined to the ``triage``
schema (the service refuses to start before ``migrate`` has created it), and starts dialling
NATS in the background: triage answers while NATS is down and publishes once it is up. Once
connected it also consumes ``auth.guest.upgraded`` (handlers/events.py), moving a guest's
assessments to the account they signed up or in with. Which patients a clinician's practice
sees is asked of the scheduling service (SCHEDULING_GRPC_ADDR) over one channel, opened on the
first clinician's read and closed at stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import grpc
from voiceassist_common.grpc.principal import callers_from_settings
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.messaging import AUTH, DurableConsumer, ensure_streams
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_triage.adapters.events import JetStreamOutcomes
from voiceassist_triage.adapters.migrations import SCHEMA, SCRIPT_LOCATION
from voiceassist_triage.adapters.practices import SchedulingPracticeAccess
from voiceassist_triage.adapters.repository import PostgresAssessmentRepository
from voiceassist_triage.config import Settings
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import load_knowledge
from voiceassist_triage.handlers.events import guest_upgrade_consumer
from voiceassist_triage.handlers.grpc import registrar

logger = logging.getLogger(__name__)

MIGRATIONS: Path = SCRIPT_LOCATION
CONSUMER_RETRY_SECONDS = 5.0

__all__ = ["MIGRATIONS", "SCHEMA", "TriageProcess", "main", "migrate"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the triage service until SIGTERM, or apply its migrations with ``migrate``."""
    command = read_command(argv, prog="triage", migrates=True)
    settings = load_settings(Settings)
    if command == "migrate":
        migrate(settings)
        return
    process = TriageProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


def migrate(settings: Settings) -> None:
    """Create the ``triage`` schema if it is missing and apply every pending migration."""
    configure_logging(settings.service_name, settings.log_level)
    # Imported here: only this command needs Alembic and SQLAlchemy.
    from voiceassist_common.db.migrations import upgrade

    upgrade(settings, schema=SCHEMA, script_location=MIGRATIONS)
    logger.info("schema %s is up to date", safe(SCHEMA))


class TriageProcess:
    """What one serving process holds: the engine, the database pool and the NATS link."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine: TriageEngine | None = None
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None
        self._outcomes: JetStreamOutcomes | None = None
        self._repository: PostgresAssessmentRepository | None = None
        self._guest_upgrades: DurableConsumer | None = None
        self._consuming: asyncio.Task[None] | None = None
        # Opens its channel on first use, inside the serving loop.
        self._practices = SchedulingPracticeAccess(settings.scheduling_grpc_addr)
        # Refuses to start in prod without OIDC_ISSUER.
        self._callers, self._jwks = callers_from_settings(settings)

    async def start(self) -> None:
        """Load the knowledge base, open the pool, start dialling NATS."""
        # Imported here so that `migrate` does not pay for asyncpg's pool module.
        from voiceassist_common.db import create_pool

        settings = self._settings
        kb = await asyncio.to_thread(load_knowledge)
        self._engine = TriageEngine(kb, max_questions=settings.triage_max_questions)
        logger.info("triage knowledge base %s loaded", safe(kb.version))
        self._pool = await create_pool(
            settings, schema=SCHEMA, application_name=settings.service_name
        )
        self._repository = PostgresAssessmentRepository(self._pool)
        self._outcomes = JetStreamOutcomes(
            settings.nats_url, name=settings.service_name, source=settings.service_name
        )
        self._outcomes.start()
        self._consuming = asyncio.create_task(
            self._consume_guest_upgrades(self._outcomes, self._repository),
            name="triage-guest-upgrades",
        )

    async def _consume_guest_upgrades(
        self, outcomes: JetStreamOutcomes, repository: PostgresAssessmentRepository
    ) -> None:
        """Once NATS is up, move guests' assessments to their accounts until stopped."""
        await outcomes.ready.wait()
        js = outcomes.jetstream
        if js is None:  # closed while waiting
            return
        consumer = guest_upgrade_consumer(js, repository)
        while True:
            try:
                # The auth service declares AUTH too; whichever starts first creates it.
                await ensure_streams(js, (AUTH,))
                await consumer.start()
                break
            except Exception as error:
                logger.warning(
                    "cannot consume guest upgrades yet (%s); retrying",
                    safe(type(error).__name__),
                )
                await asyncio.sleep(CONSUMER_RETRY_SECONDS)
        self._guest_upgrades = consumer
        await consumer.run()

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add TriageService over what `start` opened."""
        if self._engine is None or self._repository is None or self._outcomes is None:
            raise RuntimeError("register() runs after start()")
        register = registrar(
            self._engine,
            self._repository,
            self._outcomes,
            self._callers,
            practices=self._practices,
        )
        return register(server)

    async def stop(self) -> None:
        """Stop consuming, close the NATS link, the scheduling channel and the pool."""
        if self._guest_upgrades is not None:
            with contextlib.suppress(Exception):
                await self._guest_upgrades.close()
        if self._consuming is not None:
            self._consuming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consuming
        if self._outcomes is not None:
            await self._outcomes.close()
        await self._practices.close()
        if self._pool is not None:
            await self._pool.close()
        if self._jwks is not None:
            await self._jwks.aclose()
