"""Requests become cases and results become messages without losing what the patient answered."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.triage.v1 import triage_pb2
from voiceassist_triage.adapters.repository import Assessment, ConditionScore, RecordedFlag
from voiceassist_triage.domain.case import Answer, Language, Sex, Urgency
from voiceassist_triage.domain.knowledge import EvidenceKind, KnowledgeBase, load_knowledge
from voiceassist_triage.domain.results import Choice, QuestionOut
from voiceassist_triage.handlers import convert
from voiceassist_triage.handlers.convert import InvalidRequest


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def evidence(evidence_id: str, **value: object) -> triage_pb2.Evidence:
    return triage_pb2.Evidence(evidence_id=evidence_id, **value)  # type: ignore[arg-type]


def test_age_in_months_wins_so_infant_rules_can_fire(kb: KnowledgeBase) -> None:
    patient = triage_pb2.Patient(age_years=30, age_months=2, sex=triage_pb2.SEX_FEMALE)

    case = convert.case_in(patient, [], kb)

    assert case.age_years == pytest.approx(2 / 12)
    assert case.sex is Sex.FEMALE


def test_an_unstated_age_and_sex_stay_unknown(kb: KnowledgeBase) -> None:
    case = convert.case_in(triage_pb2.Patient(), [], kb)

    assert (case.age_years, case.sex) == (None, None)


def test_each_kind_of_answer_keeps_its_meaning(kb: KnowledgeBase) -> None:
    request = [
        evidence("E_91", present=False),
        evidence("E_55", value_id="V_101"),
        evidence("E_56", number=7),
        evidence("E_57"),
    ]

    case = convert.case_in(triage_pb2.Patient(), request, kb)

    assert case.answers == (
        Answer("E_91", False),
        Answer("E_55", "V_101"),
        Answer("E_56", 7.0),
        Answer("E_57", None),
    )
    assert case.is_absent("E_91")
    assert "E_57" in case.asked()


def test_a_scale_answered_with_its_value_id_is_read_as_the_number(kb: KnowledgeBase) -> None:
    case = convert.case_in(triage_pb2.Patient(), [evidence("E_56", value_id="7")], kb)

    assert case.answers == (Answer("E_56", 7.0),)
    assert convert.evidence_out(Answer("E_56", "7"), kb).number == 7


@pytest.mark.parametrize(
    ("patient", "items", "field"),
    [
        (triage_pb2.Patient(age_years=131), [], "patient.age_years"),
        (triage_pb2.Patient(age_months=2000), [], "patient.age_months"),
        (triage_pb2.Patient(sex=7), [], "patient.sex"),  # type: ignore[arg-type]
        (triage_pb2.Patient(), [evidence("")], "evidence[0].evidence_id"),
        (triage_pb2.Patient(), [evidence("E_91"), evidence("E_9999")], "evidence[1].evidence_id"),
        (triage_pb2.Patient(), [evidence("VA_temperature", number=math.nan)], "evidence[0].number"),
    ],
    ids=["age", "months", "sex", "empty id", "unknown id", "nan"],
)
def test_an_impossible_request_is_refused_naming_the_field(
    kb: KnowledgeBase,
    patient: triage_pb2.Patient,
    items: list[triage_pb2.Evidence],
    field: str,
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        convert.case_in(patient, items, kb)

    assert refused.value.field == field
    assert refused.value.code == "INVALID_ARGUMENT"


def test_unspecified_language_is_left_to_the_caller_and_urdu_is_refused() -> None:
    assert convert.language_in(language_pb2.LANGUAGE_UNSPECIFIED) is None
    assert convert.language_in(language_pb2.LANGUAGE_FRENCH) is Language.FR
    with pytest.raises(InvalidRequest, match=r"^language: "):
        convert.language_in(language_pb2.LANGUAGE_URDU)


def test_answer_types_tell_the_client_how_to_answer(kb: KnowledgeBase) -> None:
    yes_no = convert.question_out(
        QuestionOut("E_91", "Fever?", EvidenceKind.BINARY, Language.EN), kb
    )
    where = convert.question_out(
        QuestionOut(
            "E_55",
            "Where?",
            EvidenceKind.MULTI,
            Language.EN,
            choices=(Choice("V_101", "upper chest"), Choice("V_29", "lower chest")),
        ),
        kb,
    )
    pain = convert.question_out(
        QuestionOut("E_56", "How intense?", EvidenceKind.CATEGORICAL, Language.EN), kb
    )
    temperature = convert.question_out(
        QuestionOut("VA_temperature", "Temperature?", EvidenceKind.NUMBER, Language.FR), kb
    )

    assert yes_no.answer_type == triage_pb2.ANSWER_TYPE_YES_NO
    assert where.answer_type == triage_pb2.ANSWER_TYPE_MULTIPLE_CHOICE
    assert [(c.value_id, c.text) for c in where.choices] == [
        ("V_101", "upper chest"),
        ("V_29", "lower chest"),
    ]
    assert (pain.answer_type, pain.min_value, pain.max_value) == (
        triage_pb2.ANSWER_TYPE_SCALE,
        0,
        10,
    )
    assert not pain.choices
    assert (temperature.answer_type, temperature.min_value, temperature.max_value) == (
        triage_pb2.ANSWER_TYPE_SCALE,
        30,
        45,
    )
    assert temperature.language == language_pb2.LANGUAGE_FRENCH


def test_a_specialty_the_contract_lacks_is_booked_with_general_practice() -> None:
    assert convert.specialty_out("cardiology") == clinical_pb2.SPECIALTY_CARDIOLOGY
    assert convert.specialty_out("space_medicine") == clinical_pb2.SPECIALTY_GENERAL_PRACTICE
    assert convert.specialty_out(None) == clinical_pb2.SPECIALTY_UNSPECIFIED


def test_a_parsed_infant_age_is_given_in_months_too() -> None:
    infant = convert.patient_out(0.5, Sex.MALE)
    adult = convert.patient_out(64, None)

    assert (infant.age_years, infant.age_months, infant.sex) == (0, 6, triage_pb2.SEX_MALE)
    assert adult.age_years == 64
    assert not adult.HasField("age_months")


def recorded(language: Language, *answers: Answer) -> Assessment:
    return Assessment(
        id=uuid4(),
        create_time=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        patient_subject="patient-1",
        conversation_id="",
        language=language,
        age_years=None,
        age_months=3,
        sex=Sex.FEMALE,
        answers=answers,
        level=Urgency.EMERGENCY,
        red_flags=(
            RecordedFlag(
                id="fever_infant_under_3_months",
                name="Fever in a baby under 3 months",
                reason="A baby under 3 months old with a fever must be seen now.",
                level=Urgency.EMERGENCY,
                evidence_ids=("E_91",),
                source="NICE NG143",
            ),
        ),
        instruction="Go to an emergency department now.",
        conditions=(ConditionScore("bronchiolitis", 0.4), ConditionScore("retired_one", 0.1)),
        specialty=None,
        escalated_for_missing_evidence=False,
        missing_evidence_ids=(),
        knowledge_version="2026.12.0+abc",
        questions_asked=3,
    )


def test_findings_are_put_in_words_from_the_knowledge_base(kb: KnowledgeBase) -> None:
    assessment = recorded(
        Language.EN,
        Answer("E_91", True),
        Answer("E_53", False),
        Answer("E_55", "V_101"),
        Answer("E_56", 7.0),
        Answer("VA_temperature", 39.2),
        Answer("E_57", None),
    )

    message = convert.assessment_out(assessment, kb)

    answers = {finding.evidence_id: finding.answer for finding in message.findings}
    assert answers == {
        "E_91": "Yes",
        "E_53": "No",
        "E_55": "upper chest",
        "E_56": "7 of 10",
        "VA_temperature": "39.2 °C",
        "E_57": "Unknown",
    }
    assert message.findings[0].question == kb.evidences["E_91"].question[Language.EN]


def test_a_french_assessment_reads_back_in_french(kb: KnowledgeBase) -> None:
    assessment = recorded(Language.FR, Answer("E_91", False), Answer("E_55", "V_101"))

    message = convert.assessment_out(assessment, kb)

    assert [f.answer for f in message.findings] == ["Non", "haut du thorax"]
    assert message.findings[0].question == kb.evidences["E_91"].question[Language.FR]
    assert message.language == language_pb2.LANGUAGE_FRENCH
    assert message.outcome.conditions[0].name == kb.conditions["bronchiolitis"].name[Language.FR]


def test_a_recorded_assessment_keeps_what_the_patient_was_told(kb: KnowledgeBase) -> None:
    assessment = recorded(Language.EN, Answer("E_91", True))

    message = convert.assessment_out(assessment, kb)

    assert message.outcome.level == clinical_pb2.URGENCY_LEVEL_EMERGENCY
    assert message.outcome.instruction == "Go to an emergency department now."
    assert [flag.id for flag in message.outcome.red_flags] == ["fever_infant_under_3_months"]
    assert message.outcome.recommended_specialty == clinical_pb2.SPECIALTY_UNSPECIFIED
    # A condition the knowledge base no longer has is still listed, by its id.
    assert message.outcome.conditions[1].name == "retired_one"
    assert (message.patient.age_months, message.patient.HasField("age_years")) == (3, False)
    assert message.evidence[0].present is True
