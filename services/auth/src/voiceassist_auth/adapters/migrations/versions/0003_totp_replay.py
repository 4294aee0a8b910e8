"""Remember the last TOTP time step accepted for each user, so a code works only once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

RFC 6238 §5.2: once a code (time step) has been accepted, the verifier must refuse it for the
second time. A code is valid for up to 90 seconds (one step of clock drift either side), long
enough for someone looking over a shoulder, or a phishing page relaying it, to sign in again.
The column holds the step number (seconds since the epoch divided by 30), not the code.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add users.totp_last_step (NULL: no code accepted since the enrolment was reset)."""
    op.execute("ALTER TABLE users ADD COLUMN totp_last_step bigint")


def downgrade() -> None:
    """Drop the column."""
    op.execute("ALTER TABLE users DROP COLUMN IF EXISTS totp_last_step")
