"""Store practices, practitioners, their availability and appointments that can never collide.

Two booked appointments of one practitioner must never overlap, whatever the service does under
concurrency or retries: an exclusion constraint over the appointment's period (a UTC
``tstzrange``, start included, end excluded) enforces it in the database. It needs the
``btree_gist`` extension for the ``practitioner_id WITH =`` part; btree_gist is a trusted
extension, so the schema's owner (the service account, which owns its database) may create it
without a superuser. Specialties and languages are the lower-case names of
voiceassist.common.v1.Specialty and Language; urgency is the UrgencyLevel number.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration is history and must not change when code does.
_STATEMENTS = (
    # Created in the first schema of the search path: the service's own, where its connections
    # look up the gist operator classes.
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    """
    CREATE TABLE practices (
        practice_id uuid PRIMARY KEY,
        name text NOT NULL CHECK (name <> ''),
        address text NOT NULL DEFAULT '',
        city text NOT NULL CHECK (city <> ''),
        timezone text NOT NULL CHECK (timezone <> ''),
        latitude double precision CHECK (latitude BETWEEN -90 AND 90),
        longitude double precision CHECK (longitude BETWEEN -180 AND 180),
        CHECK ((latitude IS NULL) = (longitude IS NULL))
    )
    """,
    "CREATE UNIQUE INDEX practices_by_name ON practices (name)",
    """
    CREATE TABLE practitioners (
        practitioner_id uuid PRIMARY KEY,
        display_name text NOT NULL CHECK (display_name <> ''),
        specialties text[] NOT NULL CHECK (cardinality(specialties) >= 1),
        languages text[] NOT NULL CHECK (cardinality(languages) >= 1),
        practice_id uuid NOT NULL REFERENCES practices,
        active boolean NOT NULL DEFAULT true,
        user_id text NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX practitioners_by_specialty ON practitioners USING gin (specialties)",
    "CREATE INDEX practitioners_of_practice ON practitioners (practice_id)",
    """
    CREATE TABLE appointment_types (
        code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
        display_name text NOT NULL,
        minutes integer NOT NULL CHECK (minutes BETWEEN 5 AND 480)
    )
    """,
    """
    CREATE TABLE weekly_availability (
        rule_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        practitioner_id uuid NOT NULL REFERENCES practitioners ON DELETE CASCADE,
        weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
        start_time time NOT NULL,
        end_time time NOT NULL,
        appointment_type text NOT NULL REFERENCES appointment_types,
        CHECK (end_time > start_time)
    )
    """,
    "CREATE INDEX weekly_availability_of ON weekly_availability (practitioner_id, weekday)",
    """
    CREATE TABLE availability_exceptions (
        exception_id uuid PRIMARY KEY,
        practitioner_id uuid NOT NULL REFERENCES practitioners ON DELETE CASCADE,
        period tstzrange NOT NULL
            CHECK (NOT isempty(period) AND lower_inc(period) AND NOT upper_inc(period)
                   AND NOT lower_inf(period) AND NOT upper_inf(period)),
        kind text NOT NULL CHECK (kind IN ('holiday', 'leave', 'other')),
        note text NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX availability_exceptions_of ON availability_exceptions "
    "USING gist (practitioner_id, period)",
    """
    CREATE TABLE appointments (
        appointment_id uuid PRIMARY KEY,
        patient_subject text NOT NULL CHECK (patient_subject <> ''),
        practitioner_id uuid NOT NULL REFERENCES practitioners,
        period tstzrange NOT NULL
            CHECK (NOT isempty(period) AND lower_inc(period) AND NOT upper_inc(period)
                   AND NOT lower_inf(period) AND NOT upper_inf(period)),
        status text NOT NULL
            CHECK (status IN ('booked', 'cancelled', 'fulfilled', 'no_show')),
        reason text NOT NULL DEFAULT '',
        -- voiceassist.common.v1.UrgencyLevel; the two emergency levels (1, 2) are never booked.
        urgency smallint CHECK (urgency BETWEEN 3 AND 5),
        triage_assessment_id uuid,
        created_by text NOT NULL CHECK (created_by <> ''),
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL,
        cancellation_reason text NOT NULL DEFAULT '',
        CONSTRAINT appointments_never_overlap EXCLUDE USING gist
            (practitioner_id WITH =, period WITH &&) WHERE (status = 'booked')
    )
    """,
    "COMMENT ON TABLE appointments IS "
    "'Bookings; two booked periods of one practitioner never overlap (exclusion constraint)'",
    "CREATE INDEX appointments_of_patient ON appointments (patient_subject, lower(period))",
    "CREATE INDEX appointments_by_start ON appointments (lower(period))",
    """
    CREATE TABLE idempotency_keys (
        key text PRIMARY KEY CHECK (key <> ''),
        operation text NOT NULL CHECK (operation IN ('book', 'cancel', 'reschedule')),
        request_hash text NOT NULL,
        appointment_id uuid NOT NULL REFERENCES appointments,
        create_time timestamptz NOT NULL
    )
    """,
    "COMMENT ON TABLE idempotency_keys IS "
    "'Client keys of Book, Cancel and Reschedule: a retry returns the first result'",
)


def upgrade() -> None:
    """Create the tables, the overlap-refusing constraint and the indexes of their reads."""
    for statement in _STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop the tables; btree_gist stays (other objects may use it)."""
    for table in (
        "idempotency_keys",
        "appointments",
        "availability_exceptions",
        "weekly_availability",
        "appointment_types",
        "practitioners",
        "practices",
    ):
        op.execute(f"DROP TABLE {table}")
