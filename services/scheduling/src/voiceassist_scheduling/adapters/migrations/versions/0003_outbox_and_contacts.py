"""Keep events in a transactional outbox, the patient's reminder contact, practitioners' e-mail.

An appointment and the event announcing it are written in one transaction (the outbox), and a
relay publishes outbox rows to JetStream afterwards, so an event is never lost when NATS is down
at commit time, and never announced for a booking that rolled back. Each row's event id is the
JetStream message id, so a relay that publishes twice after a crash is deduplicated by the
stream.

The contact columns hold where the reminder goes (the verified e-mail of the booking patient's
token, and the language they booked in): PHI, read only by the reminder worker, never logged.
A practitioner's e-mail links a clinician account to them (and so to their practice) on the
clinician's first signed-in call, until ``user_id`` is recorded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration is history and must not change when code does.
_STATEMENTS = (
    """
    CREATE TABLE outbox (
        event_id uuid PRIMARY KEY,
        subject text NOT NULL CHECK (subject <> ''),
        payload bytea NOT NULL,
        create_time timestamptz NOT NULL,
        publish_time timestamptz,
        attempts integer NOT NULL DEFAULT 0
    )
    """,
    "COMMENT ON TABLE outbox IS "
    "'Events written with the change they announce; a relay publishes them to JetStream'",
    "CREATE INDEX outbox_unpublished ON outbox (create_time) WHERE publish_time IS NULL",
    "ALTER TABLE appointments ADD COLUMN contact_email text NOT NULL DEFAULT ''",
    "ALTER TABLE appointments ADD COLUMN contact_language text NOT NULL DEFAULT 'en'",
    "ALTER TABLE practitioners ADD COLUMN email text NOT NULL DEFAULT ''",
    "CREATE INDEX practitioners_by_user ON practitioners (user_id) WHERE user_id <> ''",
    "CREATE INDEX practitioners_by_email ON practitioners (lower(email)) WHERE email <> ''",
)


def upgrade() -> None:
    """Create the outbox and add the contact and e-mail columns."""
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop them again."""
    op.execute("DROP INDEX practitioners_by_email")
    op.execute("DROP INDEX practitioners_by_user")
    op.execute("ALTER TABLE practitioners DROP COLUMN email")
    op.execute("ALTER TABLE appointments DROP COLUMN contact_language")
    op.execute("ALTER TABLE appointments DROP COLUMN contact_email")
    op.execute("DROP TABLE outbox")
