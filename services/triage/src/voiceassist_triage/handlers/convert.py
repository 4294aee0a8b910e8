"""Translation between the ``voiceassist.triage.v1`` messages and the engine's plain types.

The engine works on `Case` and answers with dataclasses (domain/results.py) so that it runs
without protobuf; this module is the one place that knows both shapes. Checks that need only
the request and the knowledge base (an evidence id nobody knows, an age of 300, an unsupported
language) happen here, each refusal naming the request field; the engine's own `validate`
checks the values against each evidence's kind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Protocol

from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.triage.v1 import triage_pb2
from voiceassist_common.grpc.problems import InvalidField

from voiceassist_triage.adapters.repository import Assessment, ConditionScore
from voiceassist_triage.domain import findings
from voiceassist_triage.domain.case import Answer, AnswerValue, Case, Language, Sex, Urgency
from voiceassist_triage.domain.knowledge import (
    DISCLAIMER,
    ConditionDef,
    EvidenceDef,
    EvidenceKind,
    KnowledgeBase,
)
from voiceassist_triage.domain.results import (
    ConditionExplanation,
    Contribution,
    DiagnoseResult,
    ParsedEvidence,
    ParseResult,
    QuestionOut,
    RankedCondition,
    StopReason,
    TriageDecision,
)

MAX_EVIDENCE = 500
"""Most evidence items one request may carry (a full interview has a few dozen)."""
MAX_AGE_YEARS = 130
MAX_AGE_MONTHS = MAX_AGE_YEARS * 12


class InvalidRequest(InvalidField):
    """A request field the service refuses, with the machine code ``triage.<reason>``.

    The answer names the field and the rule, never the value (which may be what the patient
    said).
    """

    def __init__(self, field: str, description: str, *, reason: str = "invalid_argument") -> None:
        super().__init__(field, description, code=f"triage.{reason}")


# --- languages, levels, specialties --------------------------------------------------------

_LANGUAGES_IN: dict[int, Language] = {
    language_pb2.LANGUAGE_ENGLISH: Language.EN,
    language_pb2.LANGUAGE_FRENCH: Language.FR,
}
_LANGUAGES_OUT: dict[Language, language_pb2.Language.ValueType] = {
    Language.EN: language_pb2.LANGUAGE_ENGLISH,
    Language.FR: language_pb2.LANGUAGE_FRENCH,
}


def language_in(value: int, *, field: str = "language") -> Language | None:
    """Return the domain language, or None for UNSPECIFIED (the caller decides what it means)."""
    if value == language_pb2.LANGUAGE_UNSPECIFIED:
        return None
    try:
        return _LANGUAGES_IN[value]
    except KeyError:
        raise InvalidRequest(field, "triage is available in English and French only") from None


def language_out(language: Language) -> language_pb2.Language.ValueType:
    """Return the protobuf language of ``language``."""
    return _LANGUAGES_OUT[language]


def urgency_out(level: Urgency) -> clinical_pb2.UrgencyLevel.ValueType:
    """Return the protobuf level (the numbers are the same by design)."""
    return clinical_pb2.UrgencyLevel.ValueType(int(level))


def urgency_in(value: int, *, field: str) -> Urgency:
    """Return the domain level of a protobuf level; refuse UNSPECIFIED and unknown numbers."""
    try:
        return Urgency(value)
    except ValueError:
        raise InvalidRequest(field, "must be one of the five urgency levels") from None


def specialty_out(name: str | None) -> clinical_pb2.Specialty.ValueType:
    """Return the protobuf specialty named ``name`` (the lower-case enum name).

    A specialty the contract does not have yet becomes general practice, so the patient is
    still booked with someone.
    """
    if not name:
        return clinical_pb2.SPECIALTY_UNSPECIFIED
    try:
        return clinical_pb2.Specialty.Value(f"SPECIALTY_{name.upper()}")
    except ValueError:
        return clinical_pb2.SPECIALTY_GENERAL_PRACTICE


# --- patients and evidence -----------------------------------------------------------------


def _sex_in(value: int) -> Sex | None:
    if value == triage_pb2.SEX_FEMALE:
        return Sex.FEMALE
    if value == triage_pb2.SEX_MALE:
        return Sex.MALE
    if value == triage_pb2.SEX_UNSPECIFIED:
        return None
    raise InvalidRequest("patient.sex", "must be SEX_FEMALE, SEX_MALE or unspecified")


def _sex_out(sex: Sex | None) -> triage_pb2.Sex.ValueType:
    if sex is Sex.FEMALE:
        return triage_pb2.SEX_FEMALE
    if sex is Sex.MALE:
        return triage_pb2.SEX_MALE
    return triage_pb2.SEX_UNSPECIFIED


def age_in(patient: triage_pb2.Patient) -> float | None:
    """Age in years as the engine takes it; ``age_months`` wins (2 months = 2/12 years)."""
    if patient.HasField("age_months"):
        if patient.age_months > MAX_AGE_MONTHS:
            raise InvalidRequest("patient.age_months", f"must be at most {MAX_AGE_MONTHS}")
        return patient.age_months / 12
    if patient.HasField("age_years"):
        if patient.age_years > MAX_AGE_YEARS:
            raise InvalidRequest("patient.age_years", f"must be at most {MAX_AGE_YEARS}")
        return float(patient.age_years)
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def answer_in(item: triage_pb2.Evidence, index: int, kb: KnowledgeBase) -> Answer:
    """One request evidence as an engine answer; unknown ids are refused naming the item."""
    field = f"evidence[{index}]"
    if not item.evidence_id:
        raise InvalidRequest(f"{field}.evidence_id", "is required")
    definition = kb.evidences.get(item.evidence_id)
    if definition is None:
        raise InvalidRequest(
            f"{field}.evidence_id", "unknown evidence id", reason="unknown_evidence"
        )
    kind = item.WhichOneof("value")
    value: AnswerValue
    if kind == "present":
        value = item.present
    elif kind == "value_id":
        # A scale is answered with a number; a client sending the scale value's id ("7") for
        # it means the same, so both reach the engine as the number.
        if definition.is_scale and _is_number(item.value_id):
            value = float(item.value_id)
        else:
            value = item.value_id
    elif kind == "number":
        if not math.isfinite(item.number):
            raise InvalidRequest(f"{field}.number", "must be a finite number")
        value = item.number
    else:
        value = None
    return Answer(item.evidence_id, value)


def case_in(
    patient: triage_pb2.Patient, evidence: Sequence[triage_pb2.Evidence], kb: KnowledgeBase
) -> Case:
    """Build the engine's case from a request's patient and evidence."""
    if len(evidence) > MAX_EVIDENCE:
        raise InvalidRequest("evidence", f"must hold at most {MAX_EVIDENCE} items")
    return Case(
        age_years=age_in(patient),
        sex=_sex_in(patient.sex),
        answers=tuple(answer_in(item, index, kb) for index, item in enumerate(evidence)),
    )


def evidence_out(answer: Answer, kb: KnowledgeBase) -> triage_pb2.Evidence:
    """Return an engine answer as a protobuf evidence (a scale value always as a number)."""
    message = triage_pb2.Evidence(evidence_id=answer.evidence_id)
    value = answer.value
    definition = kb.evidences.get(answer.evidence_id)
    if isinstance(value, bool):
        message.present = value
    elif isinstance(value, str):
        if definition is not None and definition.is_scale and _is_number(value):
            message.number = float(value)
        else:
            message.value_id = value
    elif isinstance(value, int | float):
        message.number = float(value)
    return message


def patient_out(age_years: float | None, sex: Sex | None) -> triage_pb2.Patient:
    """Return a protobuf patient; a child under two also gets ``age_months``."""
    message = triage_pb2.Patient(sex=_sex_out(sex))
    if age_years is not None:
        message.age_years = max(0, math.floor(age_years))
        if age_years < 2:
            message.age_months = max(0, round(age_years * 12))
    return message


def recorded_patient_out(assessment: Assessment) -> triage_pb2.Patient:
    """Return the patient fields exactly as the Triage request gave them."""
    message = triage_pb2.Patient(sex=_sex_out(assessment.sex))
    if assessment.age_years is not None:
        message.age_years = assessment.age_years
    if assessment.age_months is not None:
        message.age_months = assessment.age_months
    return message


# --- engine results ------------------------------------------------------------------------


def _condition_out(
    condition: ConditionDef, probability: float, language: Language
) -> triage_pb2.RankedCondition:
    return triage_pb2.RankedCondition(
        condition_id=condition.id,
        name=condition.name[language],
        lay_name=condition.lay_name[language],
        icd10=condition.icd10,
        probability=probability,
        severity=condition.severity,
    )


def ranked_out(
    ranked: Iterable[RankedCondition], language: Language
) -> list[triage_pb2.RankedCondition]:
    """Ranked conditions with names in ``language``."""
    return [_condition_out(item.condition, item.probability, language) for item in ranked]


def scores_out(
    scores: Iterable[ConditionScore], kb: KnowledgeBase, language: Language
) -> list[triage_pb2.RankedCondition]:
    """Return recorded condition ids as ranked conditions, named by today's knowledge base.

    A condition the knowledge base no longer has keeps its id as its name.
    """
    out = []
    for score in scores:
        condition = kb.conditions.get(score.condition_id)
        if condition is None:
            out.append(
                triage_pb2.RankedCondition(
                    condition_id=score.condition_id,
                    name=score.condition_id,
                    lay_name=score.condition_id,
                    probability=score.probability,
                )
            )
        else:
            out.append(_condition_out(condition, score.probability, language))
    return out


def _answer_type(question: QuestionOut, definition: EvidenceDef | None) -> int:
    if question.kind is EvidenceKind.BINARY:
        return triage_pb2.ANSWER_TYPE_YES_NO
    if question.kind is EvidenceKind.MULTI:
        return triage_pb2.ANSWER_TYPE_MULTIPLE_CHOICE
    if question.kind is EvidenceKind.NUMBER:
        return triage_pb2.ANSWER_TYPE_SCALE
    scale = question.min_value is not None or (definition is not None and definition.is_scale)
    return triage_pb2.ANSWER_TYPE_SCALE if scale else triage_pb2.ANSWER_TYPE_SINGLE_CHOICE


def question_out(question: QuestionOut, kb: KnowledgeBase) -> triage_pb2.Question:
    """Return the next question as the caller shows or speaks it."""
    definition = kb.evidences.get(question.evidence_id)
    answer_type = _answer_type(question, definition)
    message = triage_pb2.Question(
        evidence_id=question.evidence_id,
        text=question.text,
        answer_type=triage_pb2.AnswerType.ValueType(answer_type),
        red_flag_check=question.red_flag_check,
        language=language_out(question.language),
    )
    if answer_type == triage_pb2.ANSWER_TYPE_SCALE:
        low, high = question.min_value, question.max_value
        if definition is not None and definition.scale is not None:
            low = definition.scale[0] if low is None else low
            high = definition.scale[1] if high is None else high
        if low is not None:
            message.min_value = low
        if high is not None:
            message.max_value = high
    else:
        message.choices.extend(
            triage_pb2.AnswerChoice(value_id=choice.value_id, text=choice.text)
            for choice in question.choices
        )
    return message


def diagnose_out(
    result: DiagnoseResult, kb: KnowledgeBase, language: Language
) -> triage_pb2.DiagnoseResponse:
    """One interview turn as a response."""
    response = triage_pb2.DiagnoseResponse(
        conditions=ranked_out(result.conditions, language),
        should_stop=result.should_stop,
        stop_reason=triage_pb2.StopReason.ValueType(
            int(result.stop_reason if result.should_stop else StopReason.NONE)
        ),
        provisional_level=urgency_out(result.provisional_level),
        knowledge_version=kb.version,
        disclaimer=DISCLAIMER[language],
        red_flags=flags_out(result.red_flags),
    )
    if result.next_question is not None and not result.should_stop:
        response.next_question.CopyFrom(question_out(result.next_question, kb))
    return response


class Flag(Protocol):
    """A fired red flag, as the engine returns it or as an assessment recorded it."""

    @property
    def id(self) -> str: ...  # noqa: D102 - the fields of RedFlag in the proto
    @property
    def name(self) -> str: ...  # noqa: D102
    @property
    def reason(self) -> str: ...  # noqa: D102
    @property
    def level(self) -> Urgency: ...  # noqa: D102
    @property
    def evidence_ids(self) -> tuple[str, ...]: ...  # noqa: D102
    @property
    def source(self) -> str: ...  # noqa: D102


def flags_out(flags: Iterable[Flag]) -> list[triage_pb2.RedFlag]:
    """Return the fired red flags, most urgent first."""
    ordered = sorted(flags, key=lambda flag: int(flag.level))
    return [
        triage_pb2.RedFlag(
            id=flag.id,
            name=flag.name,
            reason=flag.reason,
            level=urgency_out(flag.level),
            evidence_ids=list(flag.evidence_ids),
            source=flag.source,
        )
        for flag in ordered
    ]


def outcome_out(
    decision: TriageDecision, language: Language, *, specialty: str | None
) -> triage_pb2.TriageOutcome:
    """Return the decision as an outcome (``specialty`` already cleared for emergencies)."""
    return triage_pb2.TriageOutcome(
        level=urgency_out(decision.level),
        red_flags=flags_out(decision.red_flags),
        instruction=decision.instruction,
        recommended_specialty=specialty_out(specialty),
        conditions=ranked_out(decision.conditions, language),
        escalated_for_missing_evidence=decision.escalated_for_missing_evidence,
        missing_evidence_ids=list(decision.missing_evidence_ids),
    )


def parse_out(result: ParseResult, kb: KnowledgeBase) -> triage_pb2.ParseResponse:
    """Return what Parse found, in order of appearance."""
    return triage_pb2.ParseResponse(
        evidence=[_parsed_out(item, kb) for item in result.evidence],
        patient=patient_out(result.age_years, result.sex),
        language=language_out(result.language),
        knowledge_version=kb.version,
        disclaimer=DISCLAIMER[result.language],
        durations=[
            triage_pb2.StatedDuration(
                hours=item.hours, span=triage_pb2.TextSpan(start=item.span[0], end=item.span[1])
            )
            for item in result.durations
        ],
    )


def _parsed_out(item: ParsedEvidence, kb: KnowledgeBase) -> triage_pb2.ParsedEvidence:
    return triage_pb2.ParsedEvidence(
        evidence=evidence_out(item.answer, kb),
        spans=[triage_pb2.TextSpan(start=start, end=end) for start, end in item.spans],
        negated=item.negated,
        confidence=item.confidence,
    )


def _contributions_out(items: Iterable[Contribution]) -> list[triage_pb2.EvidenceContribution]:
    return [
        triage_pb2.EvidenceContribution(
            evidence_id=item.evidence_id, text=item.text, weight=item.weight
        )
        for item in items
    ]


def explain_out(
    explanations: Iterable[ConditionExplanation], kb: KnowledgeBase, language: Language
) -> triage_pb2.ExplainResponse:
    """Return the evidence for and against each condition, in ranking order."""
    return triage_pb2.ExplainResponse(
        explanations=[
            triage_pb2.ConditionExplanation(
                condition=_condition_out(
                    item.condition.condition, item.condition.probability, language
                ),
                supporting=_contributions_out(item.supporting),
                opposing=_contributions_out(item.opposing),
            )
            for item in explanations
        ],
        knowledge_version=kb.version,
        disclaimer=DISCLAIMER[language],
    )


# --- recorded assessments ------------------------------------------------------------------


def findings_out(
    answers: Iterable[Answer], kb: KnowledgeBase, language: Language
) -> list[triage_pb2.Finding]:
    """Return each answer as question and answer texts from the knowledge base.

    An evidence the knowledge base no longer has is shown by its id.
    """
    out = []
    for answer in answers:
        definition = kb.evidences.get(answer.evidence_id)
        question = definition.question[language] if definition is not None else answer.evidence_id
        answer_words = (
            findings.answer_text(definition, answer.value, language)
            if definition is not None
            else str(answer.value)
        )
        out.append(
            triage_pb2.Finding(
                evidence_id=answer.evidence_id, question=question, answer=answer_words
            )
        )
    return out


def assessment_out(assessment: Assessment, kb: KnowledgeBase) -> triage_pb2.Assessment:
    """Return a recorded assessment, outcome and findings in the assessment's language."""
    language = assessment.language
    created = Timestamp()
    created.FromDatetime(assessment.create_time)
    return triage_pb2.Assessment(
        assessment_id=str(assessment.id),
        create_time=created,
        patient_subject=assessment.patient_subject,
        conversation_id=assessment.conversation_id,
        patient=recorded_patient_out(assessment),
        evidence=[evidence_out(answer, kb) for answer in assessment.answers],
        language=language_out(language),
        outcome=triage_pb2.TriageOutcome(
            level=urgency_out(assessment.level),
            red_flags=flags_out(assessment.red_flags),
            instruction=assessment.instruction,
            recommended_specialty=specialty_out(assessment.specialty),
            conditions=scores_out(assessment.conditions, kb, language),
            escalated_for_missing_evidence=assessment.escalated_for_missing_evidence,
            missing_evidence_ids=list(assessment.missing_evidence_ids),
        ),
        knowledge_version=assessment.knowledge_version,
        questions_asked=assessment.questions_asked,
        findings=findings_out(assessment.answers, kb, language),
    )
