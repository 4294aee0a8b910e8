"""What the engine answers, as plain dataclasses.

The gRPC handlers, the bench scripts and the tests share them. Texts are already in the
requested language; the handlers only translate types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from voiceassist_triage.domain.case import Answer, Language, Sex, Urgency
from voiceassist_triage.domain.knowledge import ConditionDef, EvidenceKind


class StopReason(IntEnum):
    """Why the interview should stop (values as in the proto's ``StopReason``)."""

    NONE = 0
    CONFIDENT = 1
    MAX_QUESTIONS = 2
    EMERGENCY = 3
    NO_QUESTIONS_LEFT = 4


@dataclass(frozen=True)
class RankedCondition:
    """A condition of the differential with its posterior probability."""

    condition: ConditionDef
    probability: float


@dataclass(frozen=True)
class Choice:
    """One answer a question offers."""

    value_id: str
    text: str


@dataclass(frozen=True)
class QuestionOut:
    """The next question, ready to be spoken or shown."""

    evidence_id: str
    text: str
    kind: EvidenceKind
    """BINARY: yes/no; CATEGORICAL: one choice (or a scale when min/max are set); MULTI: any
    choices; NUMBER: a measured value between min and max."""
    language: Language
    choices: tuple[Choice, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    red_flag_check: bool = False


@dataclass(frozen=True)
class DiagnoseResult:
    """One interview turn."""

    conditions: tuple[RankedCondition, ...]
    next_question: QuestionOut | None
    should_stop: bool
    stop_reason: StopReason
    provisional_level: Urgency
    red_flags: tuple[FiredFlag, ...] = ()
    """Rules the evidence so far fires (an emergency one: tell the patient now)."""


@dataclass(frozen=True)
class FiredFlag:
    """A red-flag rule that fired, with texts in the requested language."""

    id: str
    name: str
    reason: str
    level: Urgency
    evidence_ids: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class TriageDecision:
    """The urgency outcome."""

    level: Urgency
    red_flags: tuple[FiredFlag, ...]
    instruction: str
    specialty: str | None
    """Lower-case ``Specialty`` name to book; None for the two emergency levels."""
    conditions: tuple[RankedCondition, ...]
    escalated_for_missing_evidence: bool = False
    missing_evidence_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedEvidence:
    """Evidence found in text, with the code-point spans it came from."""

    answer: Answer
    spans: tuple[tuple[int, int], ...]
    negated: bool = False
    confidence: float = 1.0


@dataclass(frozen=True)
class StatedDuration:
    """How long something has been going on, as said ("for two hours", "since yesterday")."""

    hours: float
    span: tuple[int, int]


@dataclass(frozen=True)
class ParseResult:
    """Everything Parse found in one text."""

    evidence: tuple[ParsedEvidence, ...]
    language: Language
    age_years: float | None = None
    sex: Sex | None = None
    durations: tuple[StatedDuration, ...] = ()
    """Durations in order of appearance, for the clinician's summary and the dialog."""


@dataclass(frozen=True)
class Contribution:
    """How one finding moves a condition.

    ``weight`` is the natural log of its likelihood ratio (positive supports, negative opposes).
    """

    evidence_id: str
    text: str
    weight: float


@dataclass(frozen=True)
class ConditionExplanation:
    """The evidence for and against one ranked condition."""

    condition: RankedCondition
    supporting: tuple[Contribution, ...] = field(default_factory=tuple)
    opposing: tuple[Contribution, ...] = field(default_factory=tuple)
