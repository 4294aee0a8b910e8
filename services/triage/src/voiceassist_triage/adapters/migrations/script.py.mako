"""${message[:1].upper() + message[1:].rstrip(".")}.

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
${imports if imports else ""}
revision: str = "${up_revision}"
down_revision: str | None = ${'"%s"' % down_revision if isinstance(down_revision, str) else repr(down_revision)}
branch_labels: str | Sequence[str] | None = ${repr(branch_labels)}
depends_on: str | Sequence[str] | None = ${repr(depends_on)}


def upgrade() -> None:
    """Apply this revision (tables created unqualified land in the service's schema)."""
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    """Undo this revision."""
    ${downgrades if downgrades else "pass"}
