"""Process start of the scheduling service: ``serve`` (the default) or ``migrate``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_scheduling.config import Settings
from voiceassist_scheduling.handlers.grpc import register

logger = logging.getLogger(__name__)

SCHEMA = "scheduling"
MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the scheduling service until SIGTERM, or apply its migrations with ``migrate``."""
    command = read_command(argv, prog="scheduling", migrates=True)
    settings = load_settings(Settings)
    if command == "migrate":
        migrate(settings)
        return
    run_service(settings, register=register)


def migrate(settings: Settings) -> None:
    """Create the ``scheduling`` schema if it is missing and apply every pending migration."""
    configure_logging(settings.service_name, settings.log_level)
    # Imported here: only this command needs Alembic and SQLAlchemy.
    from voiceassist_common.db.migrations import upgrade

    upgrade(settings, schema=SCHEMA, script_location=MIGRATIONS)
    logger.info("schema %s is up to date", safe(SCHEMA))
