"""Record reminder deliveries, so each reminder is sent once across restarts and workers.

One row per (appointment, start, practitioner, channel): the primary key makes a second
worker's attempt to create the same reminder a no-op, and a rescheduled appointment (new start,
or another practitioner) gets a new row and so a new reminder, while a cancelled one is never
picked (the worker only claims rows whose appointment is still booked at that start with that
practitioner).

A row moves pending -> sending (claimed: ``claimed_until`` is the claiming worker's lease,
committed before anything is sent) -> sent, or back to pending with ``next_attempt_time``
pushed out (retry with backoff), or failed after too many attempts; appointments without a
contact for the channel are recorded as skipped. A sending row whose lease ran out (its worker
died) is claimed again. ``last_error`` holds an error class and SMTP code, never a message that
could quote the recipient.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration is history and must not change when code does.
_STATEMENTS = (
    """
    CREATE TABLE reminder_deliveries (
        appointment_id uuid NOT NULL REFERENCES appointments ON DELETE CASCADE,
        appointment_start timestamptz NOT NULL,
        practitioner_id uuid NOT NULL,
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        state text NOT NULL
            CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
        attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        next_attempt_time timestamptz NOT NULL,
        claimed_until timestamptz,
        claim_token uuid,
        sent_time timestamptz,
        message_id text NOT NULL DEFAULT '',
        last_error text NOT NULL DEFAULT '',
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL,
        PRIMARY KEY (appointment_id, appointment_start, practitioner_id, channel),
        CHECK ((state = 'sending') = (claimed_until IS NOT NULL)),
        CHECK ((state = 'sent') = (sent_time IS NOT NULL))
    )
    """,
    "COMMENT ON TABLE reminder_deliveries IS "
    "'One reminder per appointment start and channel: claimed before sending, sent once'",
    "CREATE INDEX reminder_deliveries_to_claim ON reminder_deliveries (next_attempt_time) "
    "WHERE state IN ('pending', 'sending')",
)


def upgrade() -> None:
    """Create the deliveries table and the index of the worker's claim."""
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop it again."""
    op.execute("DROP TABLE reminder_deliveries")
