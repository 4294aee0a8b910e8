"""JSON of the admin analytics routes: the admin service's summaries as the web client reads them.

Urgency levels and voice stages are their proto enum names in lower case without the prefix
(``consultation_24``, ``end_of_speech_to_first_reply_audio``); durations are milliseconds.
"""

from __future__ import annotations

from typing import Literal, Self

from google.protobuf.duration_pb2 import Duration
from pydantic import BaseModel, ConfigDict, Field
from voiceassist.admin.v1 import admin_pb2
from voiceassist.common.v1 import clinical_pb2

UrgencyName = Literal[
    "emergency_ambulance", "emergency", "consultation_24", "consultation", "self_care"
]
StageName = Literal[
    "end_of_speech_to_final_transcript",
    "end_of_speech_to_first_reply_text",
    "end_of_speech_to_first_reply_audio",
    "barge_in_to_audio_stop",
]

_FROZEN = ConfigDict(frozen=True)


def level_name(level: clinical_pb2.UrgencyLevel.ValueType) -> UrgencyName:
    """Return a proto UrgencyLevel as its lower-case name without the prefix."""
    name = clinical_pb2.UrgencyLevel.Name(level).removeprefix("URGENCY_LEVEL_").lower()
    return name  # type: ignore[return-value]


def stage_name(stage: admin_pb2.VoiceStage.ValueType) -> StageName:
    """Return a proto VoiceStage as its lower-case name without the prefix."""
    name = admin_pb2.VoiceStage.Name(stage).removeprefix("VOICE_STAGE_").lower()
    return name  # type: ignore[return-value]


def milliseconds(duration: Duration) -> float:
    """Return a Duration in milliseconds."""
    return duration.ToNanoseconds() / 1e6


class LevelCount(BaseModel):
    """Assessments at one urgency level."""

    model_config = _FROZEN

    level: UrgencyName
    count: int = Field(ge=0)


class ConditionCount(BaseModel):
    """How often a condition ranked first."""

    model_config = _FROZEN

    condition_id: str = Field(description="Knowledge-base condition id.")
    name: str = Field(description="Its name (made readable from the id).")
    icd10: str = Field(description="Its ICD-10 code; empty when unknown.")
    count: int = Field(ge=0)


class RedFlagCount(BaseModel):
    """How often a red-flag rule fired."""

    model_config = _FROZEN

    red_flag_id: str
    name: str
    count: int = Field(ge=0)


class TriageAnalytics(BaseModel):
    """Triage outcomes over the period."""

    model_config = _FROZEN

    total_assessments: int = Field(ge=0)
    by_level: list[LevelCount] = Field(description="Per level, most urgent first.")
    top_conditions: list[ConditionCount] = Field(description="Most frequent first.")
    red_flags: list[RedFlagCount] = Field(description="Most frequent first.")

    @classmethod
    def of(cls, reply: admin_pb2.GetTriageSummaryResponse) -> Self:
        """Return the service's summary as JSON."""
        return cls(
            total_assessments=reply.total_assessments,
            by_level=[LevelCount(level=level_name(r.level), count=r.count) for r in reply.by_level],
            top_conditions=[
                ConditionCount(
                    condition_id=r.condition_id, name=r.name, icd10=r.icd10, count=r.count
                )
                for r in reply.top_conditions
            ],
            red_flags=[
                RedFlagCount(red_flag_id=r.red_flag_id, name=r.name, count=r.count)
                for r in reply.red_flags
            ],
        )


class LevelConversion(BaseModel):
    """Bookable assessments at one level and how many led to a booking."""

    model_config = _FROZEN

    level: UrgencyName
    assessments: int = Field(ge=0)
    booked: int = Field(ge=0)
    rate: float = Field(ge=0, le=1)


class BookingAnalytics(BaseModel):
    """Booking conversion over the period."""

    model_config = _FROZEN

    bookable_assessments: int = Field(
        ge=0, description="Assessments at consultation_24, consultation or self_care."
    )
    booked: int = Field(ge=0, description="Of those, how many led to a booking.")
    rate: float = Field(ge=0, le=1, description="booked / bookable_assessments.")
    cancelled: int = Field(ge=0, description="Appointments cancelled in the period.")
    by_level: list[LevelConversion]

    @classmethod
    def of(cls, reply: admin_pb2.GetBookingConversionResponse) -> Self:
        """Return the service's conversion as JSON."""
        return cls(
            bookable_assessments=reply.bookable_assessments,
            booked=reply.booked,
            rate=reply.rate,
            cancelled=reply.cancelled,
            by_level=[
                LevelConversion(
                    level=level_name(r.level),
                    assessments=r.assessments,
                    booked=r.booked,
                    rate=r.rate,
                )
                for r in reply.by_level
            ],
        )


class StageLatency(BaseModel):
    """Latency percentiles of one stage of a voice turn, in milliseconds."""

    model_config = _FROZEN

    stage: StageName
    count: int = Field(ge=0, description="Turns measured.")
    p50_ms: float = Field(ge=0)
    p95_ms: float = Field(ge=0)
    p99_ms: float = Field(ge=0)


class VoiceAnalytics(BaseModel):
    """Voice latency per stage over the period (stages without measured turns are left out)."""

    model_config = _FROZEN

    stages: list[StageLatency]

    @classmethod
    def of(cls, reply: admin_pb2.GetVoiceLatencyResponse) -> Self:
        """Return the service's percentiles as JSON."""
        return cls(
            stages=[
                StageLatency(
                    stage=stage_name(r.stage),
                    count=r.count,
                    p50_ms=milliseconds(r.p50),
                    p95_ms=milliseconds(r.p95),
                    p99_ms=milliseconds(r.p99),
                )
                for r in reply.stages
            ]
        )
