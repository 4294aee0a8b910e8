"""Record triage outcomes as assessments: the evidence, the level, and what the patient was told.

Evidence is structured (knowledge-base ids with yes/no, value ids, numbers or null for
"unknown"), never the patient's own words. Red flags and the instruction are kept as they were
given, so the record says what the patient was told even after the knowledge base changes.

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


def upgrade() -> None:
    """Create the assessments table and the indexes of its two list orders."""
    op.execute(
        """
        CREATE TABLE assessments (
            assessment_id uuid PRIMARY KEY,
            create_time timestamptz NOT NULL,
            patient_subject text NOT NULL,
            conversation_id text NOT NULL DEFAULT '',
            language text NOT NULL CHECK (language IN ('en', 'fr')),
            age_years integer CHECK (age_years >= 0),
            age_months integer CHECK (age_months >= 0),
            sex text CHECK (sex IN ('F', 'M')),
            evidence jsonb NOT NULL CHECK (jsonb_typeof(evidence) = 'array'),
            level smallint NOT NULL CHECK (level BETWEEN 1 AND 5),
            red_flags jsonb NOT NULL CHECK (jsonb_typeof(red_flags) = 'array'),
            instruction text NOT NULL,
            conditions jsonb NOT NULL CHECK (jsonb_typeof(conditions) = 'array'),
            specialty text,
            escalated_for_missing_evidence boolean NOT NULL DEFAULT false,
            missing_evidence_ids text[] NOT NULL DEFAULT '{}',
            knowledge_version text NOT NULL,
            questions_asked integer NOT NULL CHECK (questions_asked >= 0),
            -- The two emergency levels are never booked, so they never carry a specialty.
            CHECK (level > 2 OR specialty IS NULL)
        )
        """
    )
    op.execute(
        "COMMENT ON TABLE assessments IS "
        "'Triage outcomes with their structured evidence; no free text from the patient'"
    )
    op.execute(
        "CREATE INDEX assessments_newest ON assessments (create_time DESC, assessment_id DESC)"
    )
    op.execute(
        "CREATE INDEX assessments_of_patient "
        "ON assessments (patient_subject, create_time DESC, assessment_id DESC)"
    )


def downgrade() -> None:
    """Drop the table with its indexes."""
    op.execute("DROP TABLE assessments")
