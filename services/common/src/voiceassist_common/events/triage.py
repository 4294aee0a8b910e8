"""Triage events: a symptom assessment started, and the outcome it was recorded with.

Reporting counts assessments, their urgency levels, the conditions ranked and the findings
behind them (the dialog itself asks triage and scheduling directly over gRPC). The events carry
levels, codes and knowledge-base ids only, never what the caller said: a finding is an evidence
id such as ``E_91`` (fever), not the words it was found in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from voiceassist_common.events.envelope import Code, EventPayload, LanguageTag, OpaqueId

KnowledgeVersion = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$"),
    Field(description="version of the triage knowledge base, e.g. 2026.12.0+720fb639af"),
]
"""The knowledge-base version an outcome was computed with (manifest version + digest)."""


class UrgencyLevel(StrEnum):
    """How soon the caller needs care, from most to least urgent (``voiceassist.common.v1``)."""

    EMERGENCY_AMBULANCE = "emergency_ambulance"
    """Life-threatening: call an ambulance now."""
    EMERGENCY = "emergency"
    """Go to an emergency department now."""
    CONSULTATION_24 = "consultation_24"
    """See a doctor within 24 hours."""
    CONSULTATION = "consultation"
    """An ordinary consultation."""
    SELF_CARE = "self_care"
    """Manage at home with advice."""


class TriageSessionStarted(EventPayload):
    """A caller began a triage assessment."""

    subject = "triage.session.started"
    publisher = "triage"
    consumers = ("admin",)

    session_id: UUID = Field(description="id of the triage session")
    voice_session_id: UUID | None = Field(
        default=None, description="the voice session it runs in, if started by voice"
    )
    patient_id: UUID | None = Field(
        default=None, description="internal patient id, if the caller is identified"
    )
    language: LanguageTag = Field(description="language of the assessment")


class ConditionProbability(BaseModel):
    """One condition of the ranked differential, with its probability."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    condition_id: Code = Field(description="knowledge-base condition id, e.g. unstable_angina")
    probability: float = Field(ge=0, le=1, description="posterior probability given the evidence")


class TriageCompleted(EventPayload):
    """Triage decided an urgency level and recorded the assessment."""

    subject = "triage.completed"
    publisher = "triage"
    consumers = ("admin",)

    assessment_id: UUID = Field(description="id of the recorded assessment (GetAssessment)")
    level: UrgencyLevel = Field(description="how soon the caller needs care")
    red_flags: tuple[Code, ...] = Field(
        default=(), description="ids of the red-flag rules that fired, e.g. stroke_signs"
    )
    escalated_for_missing_evidence: bool = Field(
        default=False, description="the level was raised because a dangerous branch was unanswered"
    )
    conditions: tuple[ConditionProbability, ...] = Field(
        default=(), description="the most probable conditions, most probable first"
    )
    specialty: Code | None = Field(
        default=None,
        description="specialty recommended for booking, e.g. cardiology; null for emergencies",
    )
    present_evidence_ids: tuple[OpaqueId, ...] = Field(
        default=(), description="knowledge-base ids of findings answered yes or with a value"
    )
    absent_evidence_ids: tuple[OpaqueId, ...] = Field(
        default=(), description="knowledge-base ids of findings answered no"
    )
    language: LanguageTag = Field(description="language of the assessment")
    questions_asked: int = Field(ge=0, description="number of interview questions asked")
    knowledge_version: KnowledgeVersion
