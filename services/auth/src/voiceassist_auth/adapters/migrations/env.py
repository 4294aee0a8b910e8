"""Alembic environment of the auth schema: the shared one, so every service migrates alike."""

from voiceassist_common.db.migrations import run_alembic_environment

run_alembic_environment()
