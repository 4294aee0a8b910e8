"""The interview asks red-flag questions first and handles an emergency like a dispatcher."""

from __future__ import annotations

import pytest
from voiceassist_triage.domain.case import Answer, Case, Sex
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import EvidenceKind, load_knowledge
from voiceassist_triage.domain.results import StopReason

CHEST_PAIN = (Answer("E_53", True), Answer("E_55", "V_29"))  # pain, in the lower chest


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine(load_knowledge(), max_questions=20)


def unknown_answer(engine: TriageEngine, evidence_id: str) -> Answer:
    """Answer a question "no" (or its default), as a patient without the finding would."""
    evidence = engine.kb.evidence(evidence_id)
    if evidence.kind is EvidenceKind.BINARY:
        return Answer(evidence_id, False)
    if evidence.kind is EvidenceKind.NUMBER:
        return Answer(evidence_id, None)
    return Answer(evidence_id, evidence.default_value)


def test_chest_pain_is_checked_for_heart_danger_first(engine: TriageEngine) -> None:
    case = Case(age_years=58, sex=Sex.MALE, answers=CHEST_PAIN)

    question = engine.diagnose(case).next_question

    assert question is not None
    assert question.red_flag_check
    rules = [r for r in engine.kb.red_flag_rules if r.id == "cardiac_chest_pain"]
    assert question.evidence_id in rules[0].asks


def test_an_emergency_is_announced_at_once_and_the_interview_ends_after_handover(
    engine: TriageEngine,
) -> None:
    case = Case(
        age_years=58,
        sex=Sex.MALE,
        answers=(*CHEST_PAIN, Answer("E_57", "V_118")),  # spreading to the left arm
    )

    first = engine.diagnose(case, questions_asked=1)
    assert first.provisional_level.is_emergency
    asked = 1
    turn = first
    while not turn.should_stop:
        assert turn.provisional_level.is_emergency  # never lowered by later answers
        assert turn.next_question is not None
        case = case.with_answers(unknown_answer(engine, turn.next_question.evidence_id))
        asked += 1
        turn = engine.diagnose(case, questions_asked=asked)

    assert turn.stop_reason is StopReason.EMERGENCY
    handover = engine.model.hyper.handover_questions
    assert asked - 1 <= handover
    assert engine.triage(case).level.is_emergency


def test_a_non_urgent_interview_stops_when_confident_or_out_of_questions(
    engine: TriageEngine,
) -> None:
    case = Case(age_years=25, sex=Sex.FEMALE, answers=(Answer("E_97", True),))  # sore throat
    asked = 0
    turn = engine.diagnose(case)
    while not turn.should_stop and asked < 30:
        assert turn.next_question is not None
        case = case.with_answers(unknown_answer(engine, turn.next_question.evidence_id))
        asked += 1
        turn = engine.diagnose(case, questions_asked=asked)

    assert turn.stop_reason in {
        StopReason.CONFIDENT,
        StopReason.NO_QUESTIONS_LEFT,
        StopReason.MAX_QUESTIONS,
    }
    assert asked <= 20
