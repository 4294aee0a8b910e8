"""What tests of the stored audit trail need, written once for the admin service and the gateway.

The admin service's store tests and the gateway's audit routes both run over the real
hash-chained store: both record a clinician reading a patient's assessment, and both start each
test from an empty trail, which only the table owner can make, append-only trigger disabled.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from voiceassist_admin.domain.audit import AuditEntry

__all__ = ["EMPTY_TRAIL", "NINE_AM", "audit_entry"]

NINE_AM = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
"""When the first recorded read happened."""

EMPTY_TRAIL = (
    "ALTER TABLE audit_events DISABLE TRIGGER USER; TRUNCATE audit_events; "
    "ALTER TABLE audit_events ENABLE TRIGGER USER"
)
"""SQL, run as the owner of schema ``admin``, that empties the trail between tests."""


def audit_entry(
    *,
    minutes: int = 0,
    actor: str = "clinician-1",
    action: str = "triage.assessment.read",
    object_id: str = "a-1",
    request_id: str = "req-1",
) -> AuditEntry:
    """Return a clinician's successful action on patient-7's assessment, ``minutes`` after 9."""
    return AuditEntry(
        record_id=uuid4(),
        event_id=uuid4(),
        occurred_at=NINE_AM + timedelta(minutes=minutes),
        actor_id=actor,
        actor_kind="user",
        actor_role="clinician",
        action=action,
        object_type="triage_assessment",
        object_id=object_id,
        outcome="succeeded",
        request_id=request_id,
        source="triage",
        patient_subject="patient-7",
    )
