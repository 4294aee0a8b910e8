"""The free-text parser: what a patient says becomes the evidence the engine reasons with.

Each test reads one sentence the way a caller would say it and checks what the triage engine
would hear: the symptom, whether it was denied, the number, the age, where in the text it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from voiceassist_triage.domain.case import AnswerValue, Language, Sex
from voiceassist_triage.domain.knowledge import (
    KNOWLEDGE_DIR,
    KnowledgeBase,
    KnowledgeError,
    load_knowledge,
)
from voiceassist_triage.domain.parser import compile_lexicon, detect_language, parse_text
from voiceassist_triage.domain.results import ParsedEvidence, ParseResult


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge()


def found(result: ParseResult, evidence_id: str) -> list[ParsedEvidence]:
    return [e for e in result.evidence if e.answer.evidence_id == evidence_id]


def value(result: ParseResult, evidence_id: str) -> AnswerValue | str:
    """Return the single value found for ``evidence_id`` ("missing" when nothing was)."""
    items = found(result, evidence_id)
    assert len(items) <= 1, items
    return items[0].answer.value if items else "missing"


def values(result: ParseResult, evidence_id: str) -> set[AnswerValue]:
    return {e.answer.value for e in found(result, evidence_id) if not e.negated}


def said(text: str, item: ParsedEvidence) -> list[str]:
    return [text[start:end] for start, end in item.spans]


# --------------------------------------------------------------------------- negation


@pytest.mark.parametrize(
    ("text", "evidence_id"),
    [
        ("I've had a crushing pain in my chest for two hours, no fever", "E_91"),
        ("denies shortness of breath", "E_66"),
        ("I'm not short of breath", "E_66"),
        ("tummy ache without vomiting", "E_211"),
        ("I don't have a cough", "E_201"),
        ("j'ai mal au ventre depuis hier, pas de fièvre", "E_91"),
        ("une douleur au ventre sans toux", "E_201"),
        ("je n'ai pas de fièvre", "E_91"),
        ("il ne vomit pas", "E_211"),
    ],
)
def test_a_denied_symptom_is_heard_as_absent(
    kb: KnowledgeBase, text: str, evidence_id: str
) -> None:
    result = parse_text(kb, text)

    [item] = found(result, evidence_id)
    assert item.answer.value is False
    assert item.negated


@pytest.mark.parametrize(
    ("text", "denied", "affirmed"),
    [
        ("no fever but a bad cough", "E_91", "E_201"),
        ("no cough, a fever since yesterday", "E_201", "E_91"),
        ("no rash and she is vomiting", "E_129", "E_211"),
        ("pas de fièvre mais je tousse", "E_91", "E_201"),
        ("je ne tousse pas, j'ai de la fièvre", "E_201", "E_91"),
    ],
)
def test_a_denial_stops_at_the_end_of_its_clause(
    kb: KnowledgeBase, text: str, denied: str, affirmed: str
) -> None:
    result = parse_text(kb, text)

    assert value(result, denied) is False
    assert value(result, affirmed) is True


def test_pain_said_after_a_denial_of_pain_still_counts(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "No pain anywhere else, but my belly hurts a lot")

    assert value(result, "E_53") is True
    assert values(result, "E_55") == {"V_187"}
    assert "VA_abdominal_pain_severe" not in {e.answer.evidence_id for e in result.evidence}


def test_not_sure_is_not_a_denial(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "I'm not sure but I think I have a fever")

    [fever] = found(result, "E_91")
    assert fever.answer.value is True
    assert fever.confidence < 1


# --------------------------------------------------------------------------- lay terms


@pytest.mark.parametrize(
    ("text", "evidence_id", "expected"),
    [
        ("my tummy hurts", "E_55", "V_187"),
        ("a pain in my belly", "E_55", "V_187"),
        ("I can't catch my breath", "E_66", True),
        ("she's really short of breath", "E_66", True),
        ("he keeps throwing up", "E_211", True),
        ("runny nose and a sore throat", "E_181", True),
        ("runny nose and a sore throat", "E_97", True),
        ("my heart is racing", "E_155", True),
        ("he passed out in the kitchen", "E_159", True),
        ("I feel like I'm going to die", "E_111", True),
        ("her lips are going blue", "VA_blue_lips", True),
        ("his face is drooping and his speech is slurred", "E_156", True),
        ("his face is drooping and his speech is slurred", "VA_speech_difficulty", True),
        ("I want to end my life", "VA_suicidal_thoughts", True),
        ("my baby hasn't had a wet nappy all day", "VA_no_urine_12h", True),
        ("a rash that doesn't fade when I press a glass on it", "VA_rash_non_blanching", True),
        ("j'ai mal au ventre", "E_55", "V_187"),
        ("j'ai du mal à respirer", "E_66", True),
        ("il n'arrête pas de vomir", "E_211", True),
        ("j'ai mal à la gorge", "E_97", True),
        ("mon cœur s'emballe", "E_155", True),
        ("je me suis évanouie", "E_159", True),
    ],
)
def test_lay_words_map_to_the_evidence_they_mean(
    kb: KnowledgeBase, text: str, evidence_id: str, expected: AnswerValue
) -> None:
    result = parse_text(kb, text)

    assert expected in values(result, evidence_id)


def test_difficulty_breathing_in_french_is_not_a_pain(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "j'ai du mal à respirer")

    assert "E_53" not in {e.answer.evidence_id for e in result.evidence}


def test_heart_attack_pain_gives_location_character_and_radiation(kb: KnowledgeBase) -> None:
    text = "A crushing pain in the middle of my chest going down my left arm, and I'm sweating"

    result = parse_text(kb, text)

    assert values(result, "E_55") == {"V_101", "V_29"}
    assert values(result, "E_54") == {"V_183"}
    assert values(result, "E_57") == {"V_31"}  # the left arm; "left" is not the chest's side
    assert value(result, "E_53") is True  # implied by its location
    assert value(result, "VA_sweating_with_chest_pain") is True


def test_right_now_is_not_a_side(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "my chest hurts right now")

    assert values(result, "E_55") == {"V_101", "V_29"}


def test_a_side_picks_the_left_or_right_value(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "sudden pain in my right testicle")

    assert values(result, "E_55") == {"V_168"}
    assert value(result, "VA_testicular_pain_sudden") is True


def test_severe_belly_pain_is_recognised_as_such(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "severe pain in my lower right tummy")

    assert values(result, "E_55") == {"V_87"}
    assert value(result, "E_56") == 8
    assert value(result, "VA_abdominal_pain_severe") is True


def test_a_phrase_means_something_only_in_context(kb: KnowledgeBase) -> None:
    plan_alone = parse_text(kb, "I have a plan to see my GP")
    suicidal = parse_text(kb, "I want to kill myself and I have a plan")

    assert value(plan_alone, "VA_suicide_plan_or_intent") == "missing"
    assert value(suicidal, "VA_suicide_plan_or_intent") is True


# --------------------------------------------------------------------------- numbers


def test_a_temperature_is_a_measurement_and_a_fever(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "temperature 39.2")

    assert value(result, "VA_temperature") == pytest.approx(39.2)
    assert value(result, "E_91") is True


@pytest.mark.parametrize(
    ("text", "celsius"),
    [
        ("his temperature was 102 F", 38.9),
        ("temp of thirty eight point five", 38.5),
        ("il a 39,5 de fièvre", 39.5),
        ("température à trente-neuf", 39.0),
    ],
)
def test_temperatures_are_read_in_any_form(kb: KnowledgeBase, text: str, celsius: float) -> None:
    assert value(parse_text(kb, text), "VA_temperature") == pytest.approx(celsius)


def test_a_normal_temperature_is_not_a_fever(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "my temperature is 37.1")

    assert value(result, "VA_temperature") == pytest.approx(37.1)
    assert value(result, "E_91") == "missing"


@pytest.mark.parametrize(
    "text", ["pain is 7 out of 10", "it's about a 7/10", "douleur à 7 sur 10", "sept sur dix"]
)
def test_a_pain_score_is_read(kb: KnowledgeBase, text: str) -> None:
    result = parse_text(kb, text)

    assert value(result, "E_56") == 7
    assert value(result, "E_53") is True


def test_a_duration_decides_whether_no_urine_is_a_red_flag(kb: KnowledgeBase) -> None:
    long = parse_text(kb, "I haven't peed for fourteen hours")
    short = parse_text(kb, "I haven't peed for two hours")

    assert value(long, "VA_no_urine_12h") is True
    assert value(short, "VA_no_urine_12h") == "missing"


def test_a_meter_reading_gives_low_or_high_blood_sugar(kb: KnowledgeBase) -> None:
    low = parse_text(kb, "my sugar is 2.8")
    high = parse_text(kb, "blood sugar reading 450 mg/dl")
    french_high = parse_text(kb, "ma glycémie est à 3 g/l")

    assert value(low, "VA_low_blood_sugar") is True
    assert value(high, "VA_high_blood_sugar") is True
    assert value(french_high, "VA_high_blood_sugar") is True
    assert value(french_high, "VA_low_blood_sugar") == "missing"


# --------------------------------------------------------------------------- age and sex


@pytest.mark.parametrize(
    ("text", "age", "sex"),
    [
        ("A 64-year-old man with crushing chest pain", 64, Sex.MALE),
        ("my 2 month old daughter has a cough", 2 / 12, Sex.FEMALE),
        ("my 2 month old baby is hot", 2 / 12, None),
        ("she is 8 and has a sore throat", 8, Sex.FEMALE),
        ("my son is 3 weeks old", 3 * 7 / 365.25, Sex.MALE),
        ("Mon bébé de 3 semaines a de la fièvre", 3 * 7 / 365.25, None),
        ("J'ai 45 ans et je suis enceinte", 45, Sex.FEMALE),
    ],
)
def test_age_and_sex_are_read_from_the_text(
    kb: KnowledgeBase, text: str, age: float, sex: Sex | None
) -> None:
    result = parse_text(kb, text)

    assert result.age_years == pytest.approx(age, abs=0.001)
    assert result.sex is sex


@pytest.mark.parametrize(
    "text",
    ["I'm 8 weeks pregnant", "je suis enceinte de 3 mois", "j'ai de la fièvre depuis 3 jours"],
)
def test_a_number_of_weeks_or_days_is_not_always_an_age(kb: KnowledgeBase, text: str) -> None:
    assert parse_text(kb, text).age_years is None


def test_a_fever_in_a_two_month_old_reaches_the_infant_rule(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "my 2 month old baby is hot")

    assert result.age_years is not None
    assert result.age_years < 0.25
    assert value(result, "E_91") is True


# --------------------------------------------------------------------------- spans


def test_spans_point_at_the_words_in_the_original_text(kb: KnowledgeBase) -> None:
    text = "I've had a crushing pain in my chest for two hours, no fever"

    result = parse_text(kb, text)

    assert said(text, found(result, "E_91")[0]) == ["fever"]
    assert said(text, found(result, "E_54")[0]) == ["crushing"]
    assert {s for e in found(result, "E_55") for s in said(text, e)} == {"chest"}


def test_spans_count_code_points_of_accented_text(kb: KnowledgeBase) -> None:
    text = "Sœur Élodie a très mal à la tête, pas de fièvre"

    result = parse_text(kb, text)

    assert said(text, found(result, "E_91")[0]) == ["fièvre"]
    assert "tête" in {s for e in found(result, "E_55") for s in said(text, e)}


# --------------------------------------------------------------------------- short answers


@pytest.mark.parametrize(
    ("reply", "answer"),
    [
        ("yes", True),
        ("yeah", True),
        ("yep, since yesterday", True),
        ("I think so", True),
        ("no", False),
        ("nope", False),
        ("not really", False),
        ("I don't know", None),
        ("oui", True),
        ("non", False),
        ("pas vraiment", False),
        ("je ne sais pas", None),
    ],
)
def test_a_short_reply_answers_the_question_just_asked(
    kb: KnowledgeBase, reply: str, answer: bool | None
) -> None:
    result = parse_text(kb, reply, answering_evidence_id="E_91")

    [item] = found(result, "E_91")
    assert item.answer.value is answer
    assert item.spans


def test_a_hedged_yes_is_less_certain(kb: KnowledgeBase) -> None:
    sure = found(parse_text(kb, "yes", answering_evidence_id="E_91"), "E_91")[0]
    hedged = found(parse_text(kb, "I think so", answering_evidence_id="E_91"), "E_91")[0]

    assert hedged.confidence < sure.confidence


@pytest.mark.parametrize("reply", ["about a seven", "7", "sept", "seven out of ten"])
def test_a_number_answers_a_scale_question(kb: KnowledgeBase, reply: str) -> None:
    result = parse_text(kb, reply, answering_evidence_id="E_56")

    assert value(result, "E_56") == 7


def test_a_choice_answers_a_choice_question(kb: KnowledgeBase) -> None:
    where = parse_text(kb, "in my chest", answering_evidence_id="E_55")
    character = parse_text(kb, "burning", answering_evidence_id="E_54")
    french = parse_text(kb, "une brûlure", Language.FR, answering_evidence_id="E_54")

    assert values(where, "E_55") == {"V_101", "V_29"}
    assert values(character, "E_54") == {"V_181"}
    assert values(french, "E_54") == {"V_181"}


@pytest.mark.parametrize(
    ("reply", "language", "meant"),
    [
        ("yes", Language.EN, "V_12"),
        ("no, it does not", Language.EN, "V_10"),
        ("nope", Language.EN, "V_10"),
        ("oui", Language.FR, "V_12"),
    ],
)
def test_a_yes_no_question_asked_as_a_choice_takes_yes_and_no(
    kb: KnowledgeBase, reply: str, language: Language, meant: str
) -> None:
    # "Do your lesions peel off?" has the choices N and Y in DDXPlus: said as "No" and "Yes".
    assert [v.text[Language.EN] for v in kb.evidence("E_131").values] == ["No", "Yes"]
    result = parse_text(kb, reply, language, answering_evidence_id="E_131")

    # "no" is both the choice and a negation word: the choice is what the dialog takes.
    assert {e.answer.value for e in found(result, "E_131")} == {meant}


def test_a_longer_answer_still_gives_its_own_evidence(kb: KnowledgeBase) -> None:
    result = parse_text(kb, "no, but I've been vomiting", answering_evidence_id="E_91")

    assert value(result, "E_91") is False
    assert value(result, "E_211") is True


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("my tummy hurts and I can't catch my breath", Language.EN),
        ("j'ai mal au ventre depuis hier", Language.FR),
        ("oui", Language.FR),
        ("yes", Language.EN),
        ("pas vraiment", Language.FR),
        ("fièvre", Language.FR),
        ("fever", Language.EN),
    ],
)
def test_the_language_is_detected(text: str, language: Language) -> None:
    assert detect_language(text) is language


# --------------------------------------------------------------------------- the lexicon


def test_an_unknown_evidence_id_in_a_lexicon_is_rejected(tmp_path: Path) -> None:
    directory = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, directory)
    lexicon = directory / "lexicon" / "en.yaml"
    raw = yaml.safe_load(lexicon.read_text(encoding="utf-8"))
    raw["terms"].append({"phrases": ["purple elbows"], "evidence": "E_9999"})
    lexicon.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    broken = load_knowledge(directory)

    with pytest.raises(KnowledgeError, match="E_9999"):
        compile_lexicon(broken, Language.EN)


def test_an_unknown_value_id_in_a_lexicon_is_rejected(tmp_path: Path) -> None:
    directory = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, directory)
    lexicon = directory / "lexicon" / "fr.yaml"
    raw = yaml.safe_load(lexicon.read_text(encoding="utf-8"))
    raw["sites"].append({"phrases": ["coude violet"], "values": ["V_9999"]})
    lexicon.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")

    with pytest.raises(KnowledgeError, match="V_9999"):
        compile_lexicon(load_knowledge(directory), Language.FR)


@pytest.mark.parametrize("language", list(Language))
def test_the_shipped_lexicons_compile(kb: KnowledgeBase, language: Language) -> None:
    lexicon = compile_lexicon(kb, language)

    assert lexicon.terms
    assert lexicon.anchors
    assert lexicon.sites


@pytest.mark.parametrize(
    ("text", "hours", "words"),
    [
        ("chest pain for two hours", 2.0, "two hours"),
        ("I've been vomiting since yesterday", 24.0, "since yesterday"),
        ("j'ai de la fièvre depuis 3 jours", 72.0, "3 jours"),
    ],
)
def test_a_stated_duration_is_reported_in_hours_with_its_span(
    kb: KnowledgeBase, text: str, hours: float, words: str
) -> None:
    result = parse_text(kb, text)

    (duration,) = result.durations
    assert duration.hours == pytest.approx(hours)
    start, end = duration.span
    assert words in text[start:end]
