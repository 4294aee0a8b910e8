"""Create the audit trail: an append-only, hash-chained table of audit records.

Each row carries its place in the chain (``sequence``, from 1 without gaps), the hash of the
previous row and its own hash. A trigger refuses UPDATE, DELETE and TRUNCATE, so a change needs
someone to disable the trigger first, and the broken chain then shows it. ``record_id`` is
unique: a redelivered record is stored once.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the table, its indexes and the append-only triggers."""
    op.execute(
        """
        CREATE TABLE audit_events (
            sequence bigint PRIMARY KEY CHECK (sequence >= 1),
            record_id uuid NOT NULL UNIQUE,
            event_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            actor_id text NOT NULL,
            actor_kind text NOT NULL,
            actor_role text,
            action text NOT NULL,
            object_type text NOT NULL,
            object_id text NOT NULL,
            outcome text NOT NULL CHECK (outcome IN ('succeeded', 'denied', 'failed')),
            request_id text,
            source text NOT NULL,
            patient_subject text,
            stored_at timestamptz NOT NULL DEFAULT now(),
            prev_hash text NOT NULL,
            hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE audit_events IS "
        "'Append-only audit trail; each row hashes its content and the previous row''s hash'"
    )
    op.execute("CREATE INDEX audit_events_by_actor ON audit_events (actor_id, sequence DESC)")
    op.execute(
        "CREATE INDEX audit_events_by_object "
        "ON audit_events (object_type, object_id, sequence DESC)"
    )
    op.execute("CREATE INDEX audit_events_by_time ON audit_events (occurred_at DESC)")
    op.execute(
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
    )


def downgrade() -> None:
    """Drop the trail (history is lost: only for development databases)."""
    op.execute("DROP TABLE audit_events")
    op.execute("DROP FUNCTION audit_events_append_only()")
