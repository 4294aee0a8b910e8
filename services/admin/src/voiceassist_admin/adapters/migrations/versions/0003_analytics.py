"""Create the analytics tables the admin panel's charts are computed from.

The admin service keeps its own copy of the facts other services publish (``triage.completed``,
``scheduling.appointment.booked`` / ``.cancelled``, ``voice.turn.completed``), reduced to ids,
levels, condition and red-flag ids, times and latencies: no PHI. Each table's key is the id the
publisher gave the fact, so a redelivered event is stored once (INSERT ... ON CONFLICT DO
NOTHING).

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

_LEVELS = "'emergency_ambulance', 'emergency', 'consultation_24', 'consultation', 'self_care'"


def upgrade() -> None:
    """Create the four fact tables and the indexes the windowed queries use."""
    op.execute(
        f"""
        CREATE TABLE triage_outcomes (
            assessment_id uuid PRIMARY KEY,
            event_id uuid NOT NULL,
            occurred_at timestamptz NOT NULL,
            level text NOT NULL CHECK (level IN ({_LEVELS})),
            top_condition_id text,
            red_flags text[] NOT NULL DEFAULT '{{}}'
        )
        """
    )
    op.execute("CREATE INDEX triage_outcomes_by_time ON triage_outcomes (occurred_at)")
    op.execute(
        f"""
        CREATE TABLE bookings (
            appointment_id uuid PRIMARY KEY,
            event_id uuid NOT NULL,
            booked_at timestamptz NOT NULL,
            triage_assessment_id uuid,
            urgency text CHECK (urgency IN ({_LEVELS}))
        )
        """
    )
    op.execute(
        "CREATE INDEX bookings_by_assessment ON bookings (triage_assessment_id) "
        "WHERE triage_assessment_id IS NOT NULL"
    )
    op.execute(
        """
        CREATE TABLE cancellations (
            appointment_id uuid PRIMARY KEY,
            event_id uuid NOT NULL,
            cancelled_at timestamptz NOT NULL,
            reason text NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX cancellations_by_time ON cancellations (cancelled_at)")
    op.execute(
        """
        CREATE TABLE voice_turns (
            event_id uuid PRIMARY KEY,
            occurred_at timestamptz NOT NULL,
            session_id uuid NOT NULL,
            turn_index integer NOT NULL CHECK (turn_index >= 0),
            stt_seconds double precision NOT NULL CHECK (stt_seconds >= 0),
            reasoning_seconds double precision NOT NULL CHECK (reasoning_seconds >= 0),
            tts_first_audio_seconds double precision NOT NULL
                CHECK (tts_first_audio_seconds >= 0),
            interrupted boolean NOT NULL DEFAULT false
        )
        """
    )
    op.execute("CREATE INDEX voice_turns_by_time ON voice_turns (occurred_at)")


def downgrade() -> None:
    """Drop the analytics tables (the facts can be replayed from the streams)."""
    for table in ("voice_turns", "cancellations", "bookings", "triage_outcomes"):
        op.execute(f"DROP TABLE {table}")
