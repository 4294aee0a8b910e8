"""What the admin panel's analytics report: triage outcomes, booking conversion, voice latency.

The facts are what other services publish, reduced to ids, levels, times and latencies (no
PHI); the reports are computed from them over a window ``[start, end)``. Condition and red-flag
names: the events carry only ids and the triage service offers no name lookup, so a readable
name is made from the id (``unstable_angina`` -> "Unstable angina") and the ICD-10 code is left
empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from uuid import UUID

from voiceassist_common.events import UrgencyLevel

LEVELS_MOST_URGENT_FIRST: tuple[UrgencyLevel, ...] = tuple(UrgencyLevel)
"""Every urgency level, most urgent first (the enum's order)."""

BOOKABLE_LEVELS: tuple[UrgencyLevel, ...] = (
    UrgencyLevel.CONSULTATION_24,
    UrgencyLevel.CONSULTATION,
    UrgencyLevel.SELF_CARE,
)
"""Levels at which a patient may be offered a booking (emergencies never are)."""

DEFAULT_TOP_CONDITIONS = 10


class VoiceStage(IntEnum):
    """A stage of a voice turn, measured from the end of the patient's speech (proto values)."""

    END_OF_SPEECH_TO_FINAL_TRANSCRIPT = 1
    END_OF_SPEECH_TO_FIRST_REPLY_TEXT = 2
    END_OF_SPEECH_TO_FIRST_REPLY_AUDIO = 3


@dataclass(frozen=True)
class Window:
    """The period a report covers: ``start`` inclusive, ``end`` exclusive; None is unbounded."""

    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class TriageFact:
    """One completed triage: its level, the condition ranked first, the red flags that fired."""

    assessment_id: UUID
    event_id: UUID
    occurred_at: datetime
    level: UrgencyLevel
    top_condition_id: str | None
    red_flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class BookingFact:
    """One booked appointment and the assessment that led to it, if any."""

    appointment_id: UUID
    event_id: UUID
    booked_at: datetime
    triage_assessment_id: UUID | None
    urgency: UrgencyLevel | None


@dataclass(frozen=True)
class CancellationFact:
    """One cancelled appointment."""

    appointment_id: UUID
    event_id: UUID
    cancelled_at: datetime
    reason: str


@dataclass(frozen=True)
class TurnFact:
    """One answered spoken turn's latencies, in seconds, stage by stage."""

    event_id: UUID
    occurred_at: datetime
    session_id: UUID
    turn_index: int
    stt_seconds: float
    reasoning_seconds: float
    tts_first_audio_seconds: float
    interrupted: bool = False


@dataclass(frozen=True)
class LevelCount:
    """Assessments at one level."""

    level: UrgencyLevel
    count: int


@dataclass(frozen=True)
class NamedCount:
    """How often a condition ranked first, or a red flag fired."""

    id: str
    name: str
    count: int
    icd10: str = ""


@dataclass(frozen=True)
class TriageSummary:
    """Triage outcomes over a window."""

    total_assessments: int
    by_level: tuple[LevelCount, ...]
    top_conditions: tuple[NamedCount, ...]
    red_flags: tuple[NamedCount, ...]


@dataclass(frozen=True)
class LevelConversion:
    """Bookable assessments at one level and how many of them led to a booking."""

    level: UrgencyLevel
    assessments: int
    booked: int

    @property
    def rate(self) -> float:
        """Return booked / assessments (0 when there were none)."""
        return rate(self.booked, self.assessments)


@dataclass(frozen=True)
class BookingConversion:
    """Booking conversion over a window."""

    by_level: tuple[LevelConversion, ...]
    cancelled: int

    @property
    def bookable_assessments(self) -> int:
        """Return the assessments at a bookable level."""
        return sum(level.assessments for level in self.by_level)

    @property
    def booked(self) -> int:
        """Return how many of them led to a booking."""
        return sum(level.booked for level in self.by_level)

    @property
    def rate(self) -> float:
        """Return booked / bookable assessments (0 when there were none)."""
        return rate(self.booked, self.bookable_assessments)


@dataclass(frozen=True)
class StageLatency:
    """Percentiles of one stage, in seconds, over ``count`` turns."""

    stage: VoiceStage
    count: int
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True)
class VoiceLatency:
    """Latency percentiles per stage over a window (stages without turns are left out)."""

    stages: tuple[StageLatency, ...] = field(default_factory=tuple)


def rate(part: int, whole: int) -> float:
    """Return ``part / whole``, or 0 for an empty whole."""
    return part / whole if whole else 0.0


def readable_name(identifier: str) -> str:
    """Return a readable name made from a knowledge-base id: ``stroke_signs`` -> "Stroke signs"."""
    words = identifier.replace("_", " ").replace("-", " ").split()
    return " ".join(words).capitalize() if words else identifier


def by_level_most_urgent_first(counts: dict[UrgencyLevel, int]) -> tuple[LevelCount, ...]:
    """Return the levels that occurred with their counts, most urgent first."""
    return tuple(
        LevelCount(level, counts[level]) for level in LEVELS_MOST_URGENT_FIRST if counts.get(level)
    )
