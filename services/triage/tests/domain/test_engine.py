"""The engine facade: validation with named fields, Diagnose turns, Triage and Explain."""

from __future__ import annotations

import pytest
from voiceassist_triage.domain.case import Answer, Case, Language, Sex, Urgency
from voiceassist_triage.domain.engine import InvalidEvidence, TriageEngine
from voiceassist_triage.domain.knowledge import EvidenceKind, load_knowledge
from voiceassist_triage.domain.results import StopReason


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine(load_knowledge(), max_questions=20)


@pytest.mark.parametrize(
    ("answer", "field", "message"),
    [
        (Answer("E_9999", True), "evidence[1].evidence_id", "unknown evidence id 'E_9999'"),
        (Answer("E_91", "V_12"), "evidence[1].present", "yes or no"),
        (Answer("E_55", "V_99999"), "evidence[1].value_id", "E_55 has no value with that id"),
        (Answer("E_56", 12.0), "evidence[1].number", "from 0 to 10"),
        (Answer("E_55", True), "evidence[1].value_id", "not a yes/no question"),
    ],
)
def test_invalid_evidence_is_refused_naming_the_field(
    engine: TriageEngine, answer: Answer, field: str, message: str
) -> None:
    case = Case(age_years=30, answers=(Answer("E_53", True), answer))

    with pytest.raises(InvalidEvidence, match=message) as refused:
        engine.diagnose(case)

    assert refused.value.field == field


def test_an_impossible_age_is_refused(engine: TriageEngine) -> None:
    with pytest.raises(InvalidEvidence) as refused:
        engine.triage(Case(age_years=200))
    assert refused.value.field == "patient.age_years"


def test_a_turn_ranks_conditions_and_asks_a_question(engine: TriageEngine) -> None:
    case = Case(age_years=25, sex=Sex.FEMALE, answers=(Answer("E_201", True),))  # cough

    turn = engine.diagnose(case)

    assert not turn.should_stop
    assert turn.next_question is not None
    assert turn.next_question.evidence_id not in case.asked()
    probabilities = [r.probability for r in turn.conditions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert 0 < sum(probabilities) <= 1.0 + 1e-9


def test_a_french_session_gets_its_question_in_french(engine: TriageEngine) -> None:
    case = Case(age_years=25, sex=Sex.FEMALE, answers=(Answer("E_201", True),))

    english = engine.diagnose(case, Language.EN).next_question
    french = engine.diagnose(case, Language.FR).next_question

    assert english is not None
    assert french is not None
    assert english.evidence_id == french.evidence_id
    assert french.language is Language.FR
    assert french.text == engine.kb.evidence(french.evidence_id).question[Language.FR]
    assert french.text != english.text


def test_a_choice_question_offers_its_answers(engine: TriageEngine) -> None:
    case = Case(age_years=40, sex=Sex.MALE, answers=(Answer("E_53", True),))
    answered = case
    for _ in range(8):
        turn = engine.diagnose(answered, questions_asked=len(answered.answers) - 1)
        question = turn.next_question
        if question is None:
            break
        if question.kind in {EvidenceKind.MULTI, EvidenceKind.CATEGORICAL}:
            assert question.choices or question.max_value is not None
            return
        answered = answered.with_answers(Answer(question.evidence_id, False))
    pytest.skip("no choice question came up in eight turns")


def test_the_interview_stops_at_the_maximum(engine: TriageEngine) -> None:
    case = Case(age_years=25, sex=Sex.FEMALE, answers=(Answer("E_201", True),))

    turn = engine.diagnose(case, questions_asked=3, max_questions=3)

    assert turn.should_stop
    assert turn.stop_reason is StopReason.MAX_QUESTIONS
    assert turn.next_question is None


def test_a_child_question_is_only_asked_after_its_parent(engine: TriageEngine) -> None:
    case = Case(age_years=40, sex=Sex.MALE, answers=(Answer("E_53", False), Answer("E_91", True)))
    for asked in range(6):
        question = engine.diagnose(case, questions_asked=asked).next_question
        if question is None:
            break
        assert engine.kb.evidence(question.evidence_id).parent != "E_53"
        case = case.with_answers(Answer(question.evidence_id, None))


def test_triage_never_answers_without_a_level_or_conditions(engine: TriageEngine) -> None:
    decision = engine.triage(Case(age_years=30, sex=Sex.MALE, answers=(Answer("E_91", True),)))

    assert isinstance(decision.level, Urgency)
    assert decision.conditions
    assert decision.instruction


def test_explain_gives_evidence_for_and_against(engine: TriageEngine) -> None:
    case = Case(
        age_years=30,
        sex=Sex.FEMALE,
        answers=(Answer("E_91", True), Answer("E_201", True), Answer("E_53", False)),
    )

    (explanation,) = engine.explain(case, Language.EN, ["influenza"])

    assert explanation.condition.condition.id == "influenza"
    supporting = {c.evidence_id for c in explanation.supporting}
    assert "E_91" in supporting
    assert all(c.weight > 0 for c in explanation.supporting)
    assert all(c.weight < 0 for c in explanation.opposing)
    fever = next(c for c in explanation.supporting if c.evidence_id == "E_91")
    assert fever.text.endswith("Yes")


def test_explain_refuses_an_unknown_condition(engine: TriageEngine) -> None:
    with pytest.raises(InvalidEvidence) as refused:
        engine.explain(Case(), Language.EN, ["dragon_pox"])
    assert refused.value.field == "condition_ids[0]"


def test_explain_defaults_to_the_top_five(engine: TriageEngine) -> None:
    case = Case(age_years=30, sex=Sex.FEMALE, answers=(Answer("E_91", True),))

    explanations = engine.explain(case, Language.FR)

    assert len(explanations) == 5
    ranked = [e.condition.probability for e in explanations]
    assert ranked == sorted(ranked, reverse=True)
