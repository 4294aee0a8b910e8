"""The urgency decision: what the patient is told to do, how soon, and with whom to book."""

from __future__ import annotations

import pytest
from voiceassist_triage.domain.case import Answer, AnswerValue, Case, Language, Sex, Urgency
from voiceassist_triage.domain.knowledge import KnowledgeBase, load_knowledge
from voiceassist_triage.domain.results import RankedCondition
from voiceassist_triage.domain.urgency import decide, level_policy, provisional_level

Given = str | tuple[str, AnswerValue]


def patient(*given: Given, age: float = 40, sex: Sex = Sex.FEMALE) -> Case:
    """Build a case from evidence ids (answered yes) and (id, value) pairs."""
    answers = tuple(Answer(g, True) if isinstance(g, str) else Answer(*g) for g in given)
    return Case(age_years=age, sex=sex, answers=answers)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def ranked(kb: KnowledgeBase, *pairs: tuple[str, float]) -> list[RankedCondition]:
    return [RankedCondition(kb.condition_by_ddxplus_name(name), p) for name, p in pairs]


# A cold: runny nose, cough, no fever; nothing that makes any red flag plausible.
COLD = ("E_181", "E_201", ("E_91", False))


def test_a_cold_gets_self_care_advice_in_plain_words(kb: KnowledgeBase) -> None:
    decision = decide(
        kb, patient(*COLD), ranked(kb, ("URTI", 0.9), ("Influenza", 0.1)), Language.EN
    )

    assert decision.level is Urgency.SELF_CARE
    assert decision.red_flags == ()
    assert "at home" in decision.instruction
    assert not decision.escalated_for_missing_evidence


def test_a_red_flag_raises_a_self_care_ranking_to_an_ambulance(kb: KnowledgeBase) -> None:
    weak_arm = patient(*COLD, "VA_arm_leg_weakness_one_side")

    decision = decide(kb, weak_arm, ranked(kb, ("URTI", 1.0)), Language.EN)

    assert decision.level is Urgency.EMERGENCY_AMBULANCE
    assert [flag.id for flag in decision.red_flags] == ["stroke_be_fast"]
    assert decision.red_flags[0].reason in decision.instruction


def test_emergency_levels_book_nothing_and_say_to_call_emergency_services(
    kb: KnowledgeBase,
) -> None:
    ambulance = decide(kb, patient("VA_severe_bleeding"), ranked(kb, ("URTI", 1.0)), Language.EN)
    emergency = decide(
        kb, patient("VA_testicular_pain_sudden", age=15, sex=Sex.MALE), [], Language.EN
    )

    assert ambulance.level is Urgency.EMERGENCY_AMBULANCE
    assert emergency.level is Urgency.EMERGENCY
    for decision in (ambulance, emergency):
        assert decision.specialty is None
        assert "emergency services" in decision.instruction
        assert "112" in decision.instruction
    assert "emergency department" in emergency.instruction


def test_the_likely_condition_chooses_the_specialty(kb: KnowledgeBase) -> None:
    reflux = patient("E_173", "E_215", ("E_53", False))

    decision = decide(kb, reflux, ranked(kb, ("GERD", 0.95), ("URTI", 0.05)), Language.EN)

    assert decision.level is Urgency.CONSULTATION
    assert decision.specialty == "gastroenterology"


def test_a_child_is_booked_with_pediatrics(kb: KnowledgeBase) -> None:
    ranking = ranked(kb, ("Acute otitis media", 1.0))
    earache = ("E_91", False)

    child = decide(kb, patient(earache, age=6), ranking, Language.EN)
    adult = decide(kb, patient(earache, age=30), ranking, Language.EN)

    assert child.level is Urgency.CONSULTATION
    assert child.specialty == "pediatrics"
    assert adult.specialty == "general_practice"


def test_a_red_flag_that_names_a_specialty_chooses_it(kb: KnowledgeBase) -> None:
    low_mood = patient(*COLD, "E_80", "VA_suicidal_thoughts", ("VA_suicide_plan_or_intent", False))
    low_mood = low_mood.with_answers(Answer("VA_self_harm", False))

    decision = decide(kb, low_mood, ranked(kb, ("URTI", 1.0)), Language.EN)

    assert decision.level is Urgency.CONSULTATION_24
    assert decision.specialty == "psychiatry"


def test_the_instruction_speaks_french(kb: KnowledgeBase) -> None:
    decision = decide(kb, patient("VA_severe_bleeding"), [], Language.FR)

    assert decision.instruction.startswith("Appelez les secours maintenant")
    assert "Continuez d'appuyer" in decision.instruction
    assert decision.red_flags[0].name == "Saignement abondant qui ne s'arrête pas"


def test_an_unanswered_question_on_a_dangerous_branch_escalates(kb: KnowledgeBase) -> None:
    chest_pain = patient("E_53", ("E_55", "V_101"), ("E_66", False), age=52, sex=Sex.MALE)
    reflux = ranked(kb, ("GERD", 1.0))

    unsure = decide(kb, chest_pain, reflux, Language.EN)

    assert unsure.level is Urgency.CONSULTATION_24
    assert unsure.escalated_for_missing_evidence
    assert "VA_sweating_with_chest_pain" in unsure.missing_evidence_ids
    assert "safety questions" in unsure.instruction


def test_answering_the_safety_questions_removes_the_escalation(kb: KnowledgeBase) -> None:
    chest_pain = patient("E_53", ("E_55", "V_101"), ("E_66", False), age=52, sex=Sex.MALE)
    answered = chest_pain.with_answers(
        Answer("VA_sweating_with_chest_pain", False),
        Answer("E_57", "V_123"),
        Answer("E_54", "V_181"),
        Answer("E_14", False),
        Answer("E_50", False),
    )

    decision = decide(kb, answered, ranked(kb, ("GERD", 1.0)), Language.EN)

    assert decision.level is Urgency.CONSULTATION
    assert not decision.escalated_for_missing_evidence
    assert decision.missing_evidence_ids == ()


def test_knowing_nothing_means_see_someone_not_self_care(kb: KnowledgeBase) -> None:
    nothing = Case()

    assert decide(kb, nothing, [], Language.EN).level is Urgency.CONSULTATION
    assert decide(kb, patient(*COLD), [], Language.EN).level is Urgency.CONSULTATION
    assert provisional_level(kb, nothing, ranked(kb, ("URTI", 1.0))) is Urgency.CONSULTATION


def test_a_modest_chance_of_a_heart_attack_is_enough_for_an_ambulance(kb: KnowledgeBase) -> None:
    threshold = level_policy(kb).thresholds[Urgency.EMERGENCY_AMBULANCE]
    case = patient(*COLD)

    reaching = ranked(kb, ("Possible NSTEMI / STEMI", threshold), ("URTI", 1 - threshold))
    below = ranked(kb, ("Possible NSTEMI / STEMI", threshold / 2), ("URTI", 1 - threshold / 2))

    assert threshold < 0.5
    assert decide(kb, case, reaching, Language.EN).level is Urgency.EMERGENCY_AMBULANCE
    assert decide(kb, case, below, Language.EN).level > Urgency.EMERGENCY_AMBULANCE


def test_the_provisional_level_is_the_level_the_decision_would_give(kb: KnowledgeBase) -> None:
    chest_pain = patient("E_53", ("E_55", "V_101"), age=52, sex=Sex.MALE)
    ranking = ranked(kb, ("GERD", 0.7), ("Stable angina", 0.3))

    assert (
        provisional_level(kb, chest_pain, ranking)
        == decide(kb, chest_pain, ranking, Language.EN).level
    )
