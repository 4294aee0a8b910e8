"""Triage events: a symptom assessment started, and how urgent it turned out to be.

Reporting counts assessments and their outcomes (the dialog itself asks triage and scheduling
directly over gRPC).
The events carry the urgency and the codes of red flags that fired, never what the caller said.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from voiceassist_common.events.envelope import Code, EventPayload, LanguageTag


class UrgencyLevel(StrEnum):
    """How soon the caller needs care, from most to least urgent."""

    EMERGENCY = "emergency"
    """Call an ambulance now."""
    URGENT = "urgent"
    """Be seen within hours."""
    SOON = "soon"
    """See a clinician within a few days."""
    ROUTINE = "routine"
    """A routine appointment."""
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


class TriageSessionCompleted(EventPayload):
    """A triage assessment reached an urgency level."""

    subject = "triage.session.completed"
    publisher = "triage"
    consumers = ("admin",)

    session_id: UUID = Field(description="id of the triage session")
    patient_id: UUID | None = Field(
        default=None, description="internal patient id, if the caller is identified"
    )
    urgency: UrgencyLevel = Field(description="how soon the caller needs care")
    red_flags: tuple[Code, ...] = Field(
        default=(), description="codes of the red flags that fired, e.g. chest_pain"
    )
    questions_asked: int = Field(ge=0, description="number of questions the caller answered")
