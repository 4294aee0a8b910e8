"""Red flags: dangerous findings fire at an emergency level and are asked about first.

A typo in the rule file stops the service instead of silently never firing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from voiceassist_triage.domain.case import Answer, AnswerValue, Case, Language, Sex, Urgency
from voiceassist_triage.domain.knowledge import (
    KNOWLEDGE_DIR,
    KnowledgeBase,
    KnowledgeError,
    load_knowledge,
)
from voiceassist_triage.domain.redflags import (
    compile_rules,
    fired_flags,
    missing_on_dangerous_branch,
    pending_red_flag_questions,
)
from voiceassist_triage.domain.results import RankedCondition
from voiceassist_triage.domain.urgency import decide

Given = str | tuple[str, AnswerValue]


def patient(*given: Given, age: float = 40, sex: Sex = Sex.MALE) -> Case:
    """Build a case from evidence ids (answered yes) and (id, value) pairs."""
    answers = tuple(Answer(g, True) if isinstance(g, str) else Answer(*g) for g in given)
    return Case(age_years=age, sex=sex, answers=answers)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


AMBULANCE = Urgency.EMERGENCY_AMBULANCE
EMERGENCY = Urgency.EMERGENCY

VIGNETTES = {
    "stroke": (patient("VA_arm_leg_weakness_one_side", "VA_speech_difficulty"), AMBULANCE),
    "cardiac_chest_pain": (
        patient("E_53", ("E_55", "V_101"), ("E_57", "V_121"), age=58),
        AMBULANCE,
    ),
    "breathing_difficulty": (patient("E_66", "VA_unable_to_speak_in_sentences"), AMBULANCE),
    "anaphylaxis": (patient("E_42", "E_194"), AMBULANCE),
    "meningism": (patient("E_91", "VA_neck_stiffness", age=19), AMBULANCE),
    "sepsis": (patient(("VA_temperature", 39.2), "VA_cold_mottled_skin", age=70), AMBULANCE),
    "altered_consciousness": (patient("VA_drowsy_hard_to_wake"), AMBULANCE),
    "severe_bleeding": (patient("VA_severe_bleeding"), AMBULANCE),
    "suicidal_ideation": (
        patient("VA_suicidal_thoughts", "VA_suicide_plan_or_intent", age=24),
        AMBULANCE,
    ),
    "poisoning": (patient("VA_overdose_or_poisoning", age=17), EMERGENCY),
    "pregnancy_emergency": (
        patient("E_167", "VA_vaginal_bleeding", age=29, sex=Sex.FEMALE),
        EMERGENCY,
    ),
    "infant_fever": (patient(("VA_temperature", 38.2), age=2 / 12, sex=Sex.FEMALE), EMERGENCY),
    "acute_abdomen": (patient("VA_abdominal_pain_severe", "VA_abdominal_guarding"), EMERGENCY),
    "testicular_torsion": (patient("VA_testicular_pain_sudden", age=14), EMERGENCY),
    "diabetic_emergency": (patient("VA_diabetes", "VA_low_blood_sugar", "E_39"), AMBULANCE),
    "dehydration": (
        patient("E_211", "VA_unable_to_keep_fluids", "VA_no_urine_12h", "E_82"),
        EMERGENCY,
    ),
}


@pytest.mark.parametrize("category", sorted(VIGNETTES))
def test_each_danger_fires_at_an_emergency_level(kb: KnowledgeBase, category: str) -> None:
    case, expected = VIGNETTES[category]
    categories = {rule.id: rule.category for rule in kb.red_flag_rules}

    flags = fired_flags(kb, case, Language.EN)

    assert flags, f"nothing fired for {category}"
    assert flags[0].level == expected
    assert flags[0].level.is_emergency
    assert any(categories[flag.id] == category for flag in flags)
    assert all(flag.reason and flag.source for flag in flags)


def test_flags_come_most_urgent_first_and_name_what_made_them_fire(kb: KnowledgeBase) -> None:
    chest_pain_and_blood = patient("E_45", "E_53", ("E_55", "V_29"), ("E_57", "V_195"), age=62)

    flags = fired_flags(kb, chest_pain_and_blood, Language.EN)

    assert [f.level for f in flags] == sorted(f.level for f in flags)
    cardiac = next(f for f in flags if f.id == "cardiac_chest_pain")
    assert cardiac.level is Urgency.EMERGENCY_AMBULANCE
    assert set(cardiac.evidence_ids) == {"E_55", "E_57"}


def test_flags_speak_french(kb: KnowledgeBase) -> None:
    (flag, *_) = fired_flags(kb, patient("VA_severe_bleeding"), Language.FR)

    assert flag.name == "Saignement abondant qui ne s'arrête pas"
    assert "appuyer" in flag.reason


def test_fever_alone_in_an_adult_is_not_a_red_flag(kb: KnowledgeBase) -> None:
    assert fired_flags(kb, patient("E_91", ("VA_temperature", 38.4)), Language.EN) == ()


def test_the_infant_fever_rule_is_for_babies_under_three_months(kb: KnowledgeBase) -> None:
    five_months = patient(("VA_temperature", 38.2), age=5 / 12)
    newborn_without_fever = patient(("VA_temperature", 37.1), age=1 / 12)

    assert "fever_infant_under_3_months" not in {
        f.id for f in fired_flags(kb, five_months, Language.EN)
    }
    assert fired_flags(kb, newborn_without_fever, Language.EN) == ()


def test_a_rule_never_lowers_the_level(kb: KnowledgeBase) -> None:
    heart_attack = kb.condition_by_ddxplus_name("Possible NSTEMI / STEMI")
    coughing_blood = patient("E_45", "E_66", "E_53", ("E_55", "V_101"), ("E_57", "V_121"))
    ranking = [RankedCondition(heart_attack, 1.0)]

    decision = decide(kb, coughing_blood, ranking, Language.EN)

    assert any(flag.level > Urgency.EMERGENCY_AMBULANCE for flag in decision.red_flags)
    assert decision.level is Urgency.EMERGENCY_AMBULANCE
    assert all(rule.level < Urgency.SELF_CARE for rule in kb.red_flag_rules)


def test_plausible_chest_pain_asks_the_cardiac_questions_first(kb: KnowledgeBase) -> None:
    chest_pain = patient("E_53", ("E_55", "V_101"), age=55)

    pending = pending_red_flag_questions(kb, chest_pain)

    assert pending[0] == ("VA_sweating_with_chest_pain", Urgency.EMERGENCY_AMBULANCE)
    assert "E_57" in dict(pending)
    assert len(pending) == len(set(dict(pending)))
    assert "VA_sweating_with_chest_pain" in missing_on_dangerous_branch(kb, chest_pain)


def test_an_answered_question_is_not_asked_again(kb: KnowledgeBase) -> None:
    chest_pain = patient("E_53", ("E_55", "V_101"), ("VA_sweating_with_chest_pain", False))

    pending = dict(pending_red_flag_questions(kb, chest_pain))

    assert "VA_sweating_with_chest_pain" not in pending
    assert "VA_sweating_with_chest_pain" not in missing_on_dangerous_branch(kb, chest_pain)


def test_a_fired_rule_asks_nothing_more(kb: KnowledgeBase) -> None:
    cardiac = patient("E_53", ("E_55", "V_101"), ("E_57", "V_121"))

    pending = dict(pending_red_flag_questions(kb, cardiac))

    assert "VA_sweating_with_chest_pain" not in pending


def test_a_follow_up_question_waits_for_its_parent(kb: KnowledgeBase) -> None:
    # "Too breathless to finish a sentence?" only makes sense after "short of breath?".
    choking = patient("E_75")
    not_breathless = patient("E_75", ("E_66", False))

    assert "E_66" in dict(pending_red_flag_questions(kb, choking))
    assert "VA_unable_to_speak_in_sentences" not in dict(pending_red_flag_questions(kb, choking))
    assert "VA_unable_to_speak_in_sentences" not in dict(
        pending_red_flag_questions(kb, not_breathless)
    )


def test_nothing_is_pending_without_a_plausible_danger(kb: KnowledgeBase) -> None:
    hay_fever = patient("E_181", "E_169", ("E_42", False), ("E_12", False), age=30)

    assert pending_red_flag_questions(kb, hay_fever) == ()
    assert missing_on_dangerous_branch(kb, hay_fever) == ()


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, copy)
    return copy


def _with_first_rule_when(directory: Path, when: object) -> KnowledgeBase:
    path = directory / "red_flags.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["rules"][0]["when"] = when
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return load_knowledge(directory)


def test_an_unknown_evidence_id_in_a_rule_is_refused(knowledge_copy: Path) -> None:
    kb = _with_first_rule_when(knowledge_copy, {"present": "E_9999"})

    with pytest.raises(KnowledgeError, match=r"stroke_be_fast.*E_9999"):
        compile_rules(kb)


def test_an_unknown_value_id_in_a_rule_is_refused(knowledge_copy: Path) -> None:
    kb = _with_first_rule_when(knowledge_copy, {"value": {"E_55": ["V_99999"]}})

    with pytest.raises(KnowledgeError, match=r"stroke_be_fast.*V_99999"):
        compile_rules(kb)


def test_a_rule_without_a_source_is_refused(knowledge_copy: Path) -> None:
    path = knowledge_copy / "red_flags.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["rules"][0]["source"] = ""
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    with pytest.raises(KnowledgeError, match="source"):
        compile_rules(load_knowledge(knowledge_copy))
