"""The clinical data files are complete.

Every rule cites a source, every required danger has a rule, every condition has plain names, a
specialty and an urgency, and every level an instruction.
"""

from __future__ import annotations

import json
import re

import pytest
from voiceassist.common.v1 import clinical_pb2
from voiceassist_triage.domain.case import Language, Urgency
from voiceassist_triage.domain.knowledge import KNOWLEDGE_DIR, KnowledgeBase, load_knowledge
from voiceassist_triage.domain.urgency import level_policy

REQUIRED_CATEGORIES = {
    "stroke",
    "cardiac_chest_pain",
    "breathing_difficulty",
    "anaphylaxis",
    "meningism",
    "sepsis",
    "altered_consciousness",
    "severe_bleeding",
    "suicidal_ideation",
    "poisoning",
    "pregnancy_emergency",
    "infant_fever",
    "acute_abdomen",
    "testicular_torsion",
    "diabetic_emergency",
    "dehydration",
}

REQUIRED_EXTENSIONS = {
    "VA_temperature",
    "VA_arm_leg_weakness_one_side",
    "VA_speech_difficulty",
    "VA_sudden_severe_headache",
    "VA_neck_stiffness",
    "VA_rash_non_blanching",
    "VA_severe_bleeding",
    "VA_vaginal_bleeding",
    "VA_suicidal_thoughts",
    "VA_suicide_plan_or_intent",
    "VA_self_harm",
    "VA_overdose_or_poisoning",
    "VA_throat_or_tongue_swelling",
    "VA_unable_to_speak_in_sentences",
    "VA_blue_lips",
    "VA_abdominal_pain_severe",
    "VA_abdominal_guarding",
    "VA_testicular_pain_sudden",
    "VA_high_blood_sugar",
    "VA_low_blood_sugar",
    "VA_diabetes",
    "VA_no_urine_12h",
    "VA_unable_to_keep_fluids",
    "VA_drowsy_hard_to_wake",
    "VA_seizure_now_or_ongoing",
    "VA_heart_rate_fast",
    "VA_cold_mottled_skin",
    "VA_chest_pain_exertional",
    "VA_sweating_with_chest_pain",
    "VA_head_injury",
    "VA_immunosuppressed",
}

SPECIALTIES = {
    name.removeprefix("SPECIALTY_").lower()
    for name in clinical_pb2.Specialty.keys()  # noqa: SIM118 - protobuf enum wrapper, not a dict
    if name != "SPECIALTY_UNSPECIFIED"
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def test_every_rule_cites_a_source_and_explains_itself(kb: KnowledgeBase) -> None:
    rules = kb.red_flag_rules

    assert len(rules) >= len(REQUIRED_CATEGORIES)
    assert len({rule.id for rule in rules}) == len(rules)
    for rule in rules:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", rule.id), rule.id
        assert len(rule.source) > 10, rule.id
        assert all(rule.name[lang] and rule.reason[lang] for lang in Language), rule.id
        assert rule.specialty is None or rule.specialty in SPECIALTIES, rule.id


def test_every_required_danger_has_an_emergency_rule(kb: KnowledgeBase) -> None:
    emergency_categories = {rule.category for rule in kb.red_flag_rules if rule.level.is_emergency}

    assert emergency_categories >= REQUIRED_CATEGORIES


def test_every_rule_that_asks_has_a_plausibility_condition(kb: KnowledgeBase) -> None:
    for rule in kb.red_flag_rules:
        assert bool(rule.asks) == (rule.plausible_when is not None), rule.id


def test_the_extension_evidences_are_asked_in_both_languages(kb: KnowledgeBase) -> None:
    extensions = {e.id: e for e in kb.evidences.values() if e.source == "voiceassist"}

    assert set(extensions) >= REQUIRED_EXTENSIONS
    for evidence in extensions.values():
        assert evidence.id.startswith("VA_")
        assert evidence.question[Language.EN].endswith("?"), evidence.id
        assert evidence.question[Language.FR].endswith("?"), evidence.id
    temperature = extensions["VA_temperature"]
    assert (temperature.scale, temperature.unit) == ((30.0, 45.0), "°C")


def test_every_condition_has_plain_names_a_specialty_and_an_urgency(kb: KnowledgeBase) -> None:
    names = json.loads((KNOWLEDGE_DIR / "ddxplus" / "release_conditions.json").read_text())
    ours = kb.documents["conditions"]["conditions"]

    assert set(ours) == set(names)
    assert len(ours) == 49
    for name, meta in ours.items():
        assert meta["lay_name"]["en"], name
        assert meta["lay_name"]["fr"], name
        assert meta["specialty"] in SPECIALTIES, name
        assert meta["urgency"].upper() in Urgency.__members__, name
    heart_attack = kb.condition_by_ddxplus_name("Possible NSTEMI / STEMI")
    assert heart_attack.lay_name[Language.EN] == "Heart attack"
    assert heart_attack.urgency is Urgency.EMERGENCY_AMBULANCE
    assert kb.condition_by_ddxplus_name("URTI").urgency is Urgency.SELF_CARE


def test_every_level_has_an_instruction_and_emergencies_say_call(kb: KnowledgeBase) -> None:
    policy = level_policy(kb)

    assert set(policy.instructions) == set(Urgency)
    for level in (Urgency.EMERGENCY_AMBULANCE, Urgency.EMERGENCY):
        assert "emergency services" in policy.instructions[level][Language.EN]
        assert "112" in policy.instructions[level][Language.FR]
    thresholds = [policy.thresholds[level] for level in sorted(policy.thresholds)]
    assert thresholds == sorted(thresholds), "dangerous levels need the lower thresholds"
    assert policy.no_evidence_level is not Urgency.SELF_CARE
