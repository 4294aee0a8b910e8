"""Create the triage schema, home of every table the triage service owns.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration is history and must not change when code does.
SCHEMA = "triage"
PURPOSE = "Owned by the triage service: triage sessions and their evidence"


def upgrade() -> None:
    """Create the schema and say what it is for."""
    # The migration runner creates the schema before Alembic starts (its version table lives
    # there); saying so here too keeps this history a complete description of the schema.
    op.execute(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
    op.execute(f"COMMENT ON SCHEMA \"{SCHEMA}\" IS '{PURPOSE}'")


def downgrade() -> None:
    """Remove the description; the schema stays, holding Alembic's version table."""
    op.execute(f'COMMENT ON SCHEMA "{SCHEMA}" IS NULL')
