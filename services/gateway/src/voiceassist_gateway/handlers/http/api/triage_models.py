"""JSON bodies of the triage routes, mirroring ``voiceassist.triage.v1`` in snake_case.

The shapes follow the proto field for field so a client reading the proto reads the API, with
three conveniences for JSON: enums are lower-case names (``"emergency_ambulance"``,
``"yes_no"``, ``"cardiology"``), languages are tags (``"en"``, ``"fr"``), and an evidence is
``{"id": "E_91", "present": true}`` (or ``"value_id"``, or ``"number"``; none of the three
means "asked, does not know"). Each model converts itself to or from its message here, so the
routes only call the service.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.events import UrgencyLevel

LanguageTag = Literal["en", "fr"]
"""The languages triage speaks."""

EvidenceId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_]+$",
        description="Knowledge-base evidence id, e.g. E_91 (fever).",
        examples=["E_91"],
    ),
]

_LANGUAGE_IN = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}
_LANGUAGE_OUT: dict[int, LanguageTag] = {
    language_pb2.LANGUAGE_ENGLISH: "en",
    language_pb2.LANGUAGE_FRENCH: "fr",
}


def language_in(language: LanguageTag | None) -> language_pb2.Language.ValueType:
    """Return the proto language of a tag (None: unspecified)."""
    return _LANGUAGE_IN[language] if language else language_pb2.LANGUAGE_UNSPECIFIED


def language_out(language: int) -> LanguageTag:
    """Return the tag of a proto language (the service only answers in English or French)."""
    return _LANGUAGE_OUT.get(language, "en")


def urgency_of(value: int) -> UrgencyLevel:
    """Return the level of a proto ``UrgencyLevel``."""
    name = clinical_pb2.UrgencyLevel.Name(clinical_pb2.UrgencyLevel.ValueType(value))
    return UrgencyLevel(name.removeprefix("URGENCY_LEVEL_").lower())


def urgency_to_proto(level: UrgencyLevel) -> clinical_pb2.UrgencyLevel.ValueType:
    """Return the proto ``UrgencyLevel`` of ``level``."""
    return clinical_pb2.UrgencyLevel.Value(f"URGENCY_LEVEL_{level.name}")


class AnswerType(StrEnum):
    """How a question expects to be answered."""

    YES_NO = "yes_no"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SCALE = "scale"


class StopReason(StrEnum):
    """Why the interview should stop."""

    CONFIDENT = "confident"
    MAX_QUESTIONS = "max_questions"
    EMERGENCY = "emergency"
    NO_QUESTIONS_LEFT = "no_questions_left"


class Sex(StrEnum):
    """Biological sex as the knowledge base models it."""

    FEMALE = "female"
    MALE = "male"


def _specialty(value: int) -> str | None:
    if value == clinical_pb2.SPECIALTY_UNSPECIFIED:
        return None
    name = clinical_pb2.Specialty.Name(clinical_pb2.Specialty.ValueType(value))
    return name.removeprefix("SPECIALTY_").lower()


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Patient(_Model):
    """Age and sex."""

    age_years: int | None = Field(default=None, ge=0, le=130, description="Completed years.")
    age_months: int | None = Field(
        default=None,
        ge=0,
        le=1560,
        description="Completed months, for children under two; wins over age_years.",
    )
    sex: Sex | None = None

    def to_proto(self) -> triage_pb2.Patient:
        """Return the proto ``Patient``."""
        message = triage_pb2.Patient()
        if self.age_years is not None:
            message.age_years = self.age_years
        if self.age_months is not None:
            message.age_months = self.age_months
        if self.sex is not None:
            message.sex = triage_pb2.SEX_FEMALE if self.sex is Sex.FEMALE else triage_pb2.SEX_MALE
        return message

    @classmethod
    def of(cls, message: triage_pb2.Patient) -> Patient:
        """Return the patient of a proto ``Patient``."""
        sex = {triage_pb2.SEX_FEMALE: Sex.FEMALE, triage_pb2.SEX_MALE: Sex.MALE}.get(message.sex)
        return cls(
            age_years=message.age_years if message.HasField("age_years") else None,
            age_months=message.age_months if message.HasField("age_months") else None,
            sex=sex,
        )


class Evidence(_Model):
    """One fact about the patient; none of present, value_id, number means "does not know"."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "E_91", "present": True},
                {"id": "E_55", "value_id": "V_29"},
                {"id": "E_56", "number": 7},
                {"id": "E_91"},
            ]
        },
    )

    id: EvidenceId
    present: bool | None = Field(default=None, description="Yes/no evidence: present or not.")
    value_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="The chosen value, e.g. V_29."
    )
    number: float | None = Field(
        default=None, allow_inf_nan=False, description="A number: pain 7 of 10, 39.2 °C."
    )

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        given = [v for v in (self.present, self.value_id, self.number) if v is not None]
        if len(given) > 1:
            raise ValueError("give at most one of present, value_id and number")
        return self

    def to_proto(self) -> triage_pb2.Evidence:
        """Return the proto ``Evidence``."""
        message = triage_pb2.Evidence(evidence_id=self.id)
        if self.present is not None:
            message.present = self.present
        elif self.value_id is not None:
            message.value_id = self.value_id
        elif self.number is not None:
            message.number = self.number
        return message

    @classmethod
    def of(cls, message: triage_pb2.Evidence) -> Evidence:
        """Return the evidence of a proto ``Evidence``."""
        kind = message.WhichOneof("value")
        number = message.number if kind == "number" and math.isfinite(message.number) else None
        return cls(
            id=message.evidence_id,
            present=message.present if kind == "present" else None,
            value_id=message.value_id if kind == "value_id" else None,
            number=number,
        )


class _Case(_Model):
    patient: Patient = Field(default_factory=Patient)
    evidence: list[Evidence] = Field(
        default_factory=list, max_length=500, description="All evidence so far, unknowns too."
    )
    language: LanguageTag = Field(default="en", description="Language of the texts returned.")


class ParseRequest(_Model):
    """Free text to read evidence from."""

    text: str = Field(
        min_length=1,
        max_length=10_000,
        description="What the patient said or typed. It is PHI: never logged.",
    )
    language: LanguageTag | None = Field(default=None, description="Unset to detect it.")
    answering_evidence_id: EvidenceId | None = Field(
        default=None, description="The question the text answers, so short answers are read."
    )

    def to_proto(self) -> triage_pb2.ParseRequest:
        """Return the proto request."""
        return triage_pb2.ParseRequest(
            text=self.text,
            language=language_in(self.language),
            answering_evidence_id=self.answering_evidence_id or "",
        )


class TextSpan(_Model):
    """Where in the text, in Unicode code points: [start, end)."""

    start: int
    end: int


class ParsedEvidence(_Model):
    """Evidence found in the text."""

    evidence: Evidence
    spans: list[TextSpan]
    negated: bool
    confidence: float


class StatedDuration(_Model):
    """How long something has been going on, as said ("for two hours")."""

    hours: float = Field(description="the duration in hours")
    span: TextSpan


class ParseResponse(_Model):
    """Evidence, age and sex found in the text."""

    evidence: list[ParsedEvidence]
    patient: Patient
    language: LanguageTag
    knowledge_version: str
    disclaimer: str
    durations: list[StatedDuration] = Field(
        default_factory=list, description="durations stated, in order of appearance"
    )

    @classmethod
    def of(cls, message: triage_pb2.ParseResponse) -> ParseResponse:
        """Return the response of a proto response."""
        return cls(
            evidence=[
                ParsedEvidence(
                    evidence=Evidence.of(item.evidence),
                    spans=[TextSpan(start=s.start, end=s.end) for s in item.spans],
                    negated=item.negated,
                    confidence=round(item.confidence, 4),
                )
                for item in message.evidence
            ],
            patient=Patient.of(message.patient),
            language=language_out(message.language),
            knowledge_version=message.knowledge_version,
            disclaimer=message.disclaimer,
            durations=[
                StatedDuration(
                    hours=round(item.hours, 4),
                    span=TextSpan(start=item.span.start, end=item.span.end),
                )
                for item in message.durations
            ],
        )


class DiagnoseRequest(_Case):
    """One interview turn."""

    questions_asked: int = Field(default=0, ge=0, le=1000)
    max_questions: int | None = Field(
        default=None, ge=1, le=200, description="Unset: the service's configured maximum."
    )

    def to_proto(self) -> triage_pb2.DiagnoseRequest:
        """Return the proto request."""
        message = triage_pb2.DiagnoseRequest(
            patient=self.patient.to_proto(),
            evidence=[item.to_proto() for item in self.evidence],
            language=language_in(self.language),
            questions_asked=self.questions_asked,
        )
        if self.max_questions is not None:
            message.max_questions = self.max_questions
        return message


class RankedCondition(_Model):
    """A condition of the differential."""

    condition_id: str
    name: str
    lay_name: str
    icd10: str
    probability: float
    severity: int

    @classmethod
    def of(cls, message: triage_pb2.RankedCondition) -> RankedCondition:
        """Return the condition of a proto condition."""
        return cls(
            condition_id=message.condition_id,
            name=message.name,
            lay_name=message.lay_name,
            icd10=message.icd10,
            probability=message.probability,
            severity=message.severity,
        )


class AnswerChoice(_Model):
    """One possible answer."""

    value_id: str
    text: str


class Question(_Model):
    """The question to ask next."""

    evidence_id: str
    text: str
    answer_type: AnswerType
    choices: list[AnswerChoice] = Field(default_factory=list)
    min_value: float | None = None
    max_value: float | None = None
    red_flag_check: bool
    language: LanguageTag

    @classmethod
    def of(cls, message: triage_pb2.Question) -> Question:
        """Return the question of a proto question."""
        answer_type = triage_pb2.AnswerType.Name(message.answer_type).removeprefix("ANSWER_TYPE_")
        return cls(
            evidence_id=message.evidence_id,
            text=message.text,
            answer_type=AnswerType(answer_type.lower()),
            choices=[AnswerChoice(value_id=c.value_id, text=c.text) for c in message.choices],
            min_value=message.min_value if message.HasField("min_value") else None,
            max_value=message.max_value if message.HasField("max_value") else None,
            red_flag_check=message.red_flag_check,
            language=language_out(message.language),
        )


class DiagnoseResponse(_Model):
    """The ranking, the next question, and whether to stop."""

    next_question: Question | None
    conditions: list[RankedCondition]
    should_stop: bool
    stop_reason: StopReason | None
    provisional_level: UrgencyLevel
    red_flags: list[RedFlag] = Field(
        description="Rules fired so far; an emergency one means: tell the patient to call now."
    )
    knowledge_version: str
    disclaimer: str

    @classmethod
    def of(cls, message: triage_pb2.DiagnoseResponse) -> DiagnoseResponse:
        """Return the response of a proto response."""
        reason = triage_pb2.StopReason.Name(message.stop_reason).removeprefix("STOP_REASON_")
        return cls(
            next_question=(
                Question.of(message.next_question) if message.HasField("next_question") else None
            ),
            conditions=[RankedCondition.of(c) for c in message.conditions],
            should_stop=message.should_stop,
            stop_reason=None if reason == "UNSPECIFIED" else StopReason(reason.lower()),
            provisional_level=urgency_of(message.provisional_level),
            red_flags=red_flags_of(message.red_flags),
            knowledge_version=message.knowledge_version,
            disclaimer=message.disclaimer,
        )


class TriageRequest(_Case):
    """Everything gathered, to decide the urgency."""

    conversation_id: str | None = Field(
        default=None, max_length=256, description="The conversation the evidence came from."
    )
    questions_asked: int = Field(default=0, ge=0, le=1000)

    def to_proto(self, patient_subject: str) -> triage_pb2.TriageRequest:
        """Return the proto request, recorded under ``patient_subject``."""
        return triage_pb2.TriageRequest(
            patient=self.patient.to_proto(),
            evidence=[item.to_proto() for item in self.evidence],
            language=language_in(self.language),
            patient_subject=patient_subject,
            conversation_id=self.conversation_id or "",
            questions_asked=self.questions_asked,
        )


class RedFlag(_Model):
    """A red-flag rule that fired."""

    id: str
    name: str
    reason: str
    level: UrgencyLevel
    evidence_ids: list[str]
    source: str


def red_flags_of(flags: Iterable[triage_pb2.RedFlag]) -> list[RedFlag]:
    """Return the fired red flags of a proto response."""
    return [
        RedFlag(
            id=flag.id,
            name=flag.name,
            reason=flag.reason,
            level=urgency_of(flag.level),
            evidence_ids=list(flag.evidence_ids),
            source=flag.source,
        )
        for flag in flags
    ]


class TriageOutcome(_Model):
    """How urgent, why, and what to do."""

    level: UrgencyLevel
    red_flags: list[RedFlag]
    instruction: str
    recommended_specialty: str | None = Field(
        description="Specialty to book, e.g. cardiology; null for the two emergency levels."
    )
    conditions: list[RankedCondition]
    escalated_for_missing_evidence: bool
    missing_evidence_ids: list[str]

    @classmethod
    def of(cls, message: triage_pb2.TriageOutcome) -> TriageOutcome:
        """Return the outcome of a proto outcome."""
        return cls(
            level=urgency_of(message.level),
            red_flags=red_flags_of(message.red_flags),
            instruction=message.instruction,
            recommended_specialty=_specialty(message.recommended_specialty),
            conditions=[RankedCondition.of(c) for c in message.conditions],
            escalated_for_missing_evidence=message.escalated_for_missing_evidence,
            missing_evidence_ids=list(message.missing_evidence_ids),
        )


class TriageResponse(_Model):
    """The urgency decision and the id of its recorded assessment."""

    assessment_id: str | None = Field(
        description="Id of the recorded assessment; null when it could not be recorded."
    )
    outcome: TriageOutcome
    knowledge_version: str
    disclaimer: str

    @classmethod
    def of(cls, message: triage_pb2.TriageResponse) -> TriageResponse:
        """Return the response of a proto response."""
        return cls(
            assessment_id=message.assessment_id or None,
            outcome=TriageOutcome.of(message.outcome),
            knowledge_version=message.knowledge_version,
            disclaimer=message.disclaimer,
        )


class ExplainRequest(_Case):
    """The case and the conditions to explain."""

    condition_ids: list[str] = Field(
        default_factory=list, max_length=50, description="Empty: the top-ranked ones (up to 5)."
    )

    def to_proto(self) -> triage_pb2.ExplainRequest:
        """Return the proto request."""
        return triage_pb2.ExplainRequest(
            patient=self.patient.to_proto(),
            evidence=[item.to_proto() for item in self.evidence],
            language=language_in(self.language),
            condition_ids=self.condition_ids,
        )


class EvidenceContribution(_Model):
    """How one finding moves a condition (weight: natural log of its likelihood ratio)."""

    evidence_id: str
    text: str
    weight: float


class ConditionExplanation(_Model):
    """The evidence for and against one condition."""

    condition: RankedCondition
    supporting: list[EvidenceContribution]
    opposing: list[EvidenceContribution]


class ExplainResponse(_Model):
    """One explanation per condition, in ranking order."""

    explanations: list[ConditionExplanation]
    knowledge_version: str
    disclaimer: str

    @classmethod
    def of(cls, message: triage_pb2.ExplainResponse) -> ExplainResponse:
        """Return the response of a proto response."""

        def contributions(
            items: list[triage_pb2.EvidenceContribution],
        ) -> list[EvidenceContribution]:
            return [
                EvidenceContribution(evidence_id=i.evidence_id, text=i.text, weight=i.weight)
                for i in items
            ]

        return cls(
            explanations=[
                ConditionExplanation(
                    condition=RankedCondition.of(item.condition),
                    supporting=contributions(list(item.supporting)),
                    opposing=contributions(list(item.opposing)),
                )
                for item in message.explanations
            ],
            knowledge_version=message.knowledge_version,
            disclaimer=message.disclaimer,
        )


class Finding(_Model):
    """One piece of evidence as the question and answer a clinician reads."""

    evidence_id: str
    question: str
    answer: str


class Assessment(_Model):
    """A recorded triage outcome."""

    assessment_id: str
    create_time: datetime
    patient_subject: str
    conversation_id: str | None
    patient: Patient
    evidence: list[Evidence]
    language: LanguageTag
    outcome: TriageOutcome
    knowledge_version: str
    questions_asked: int
    findings: list[Finding]

    @classmethod
    def of(cls, message: triage_pb2.Assessment) -> Assessment:
        """Return the assessment of a proto assessment."""
        return cls(
            assessment_id=message.assessment_id,
            create_time=message.create_time.ToDatetime(tzinfo=UTC),
            patient_subject=message.patient_subject,
            conversation_id=message.conversation_id or None,
            patient=Patient.of(message.patient),
            evidence=[Evidence.of(item) for item in message.evidence],
            language=language_out(message.language),
            outcome=TriageOutcome.of(message.outcome),
            knowledge_version=message.knowledge_version,
            questions_asked=message.questions_asked,
            findings=[
                Finding(evidence_id=f.evidence_id, question=f.question, answer=f.answer)
                for f in message.findings
            ],
        )


class AssessmentResponse(_Model):
    """One recorded assessment."""

    assessment: Assessment
    disclaimer: str


class AssessmentList(_Model):
    """Recorded assessments, newest first."""

    assessments: list[Assessment]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")
    total_size: int | None
