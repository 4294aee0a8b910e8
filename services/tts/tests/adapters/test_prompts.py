"""The fixed prompts are every triage question and instruction, in English and French."""

from __future__ import annotations

from voiceassist_tts.adapters.prompts import Prompt, find_triage_knowledge, fixed_prompts
from voiceassist_tts.domain.voices import Language

FEVER_EN = "Do you have a fever (either felt or measured with a thermometer)?"
FEVER_FR = "Avez-vous objectivé ou ressenti de la fièvre?"


def test_emergency_instructions_come_first_then_every_question_in_both_languages() -> None:
    knowledge = find_triage_knowledge()
    assert knowledge is not None, "the triage package is part of the workspace"

    prompts = fixed_prompts(knowledge)

    assert prompts[0].language == Language.EN
    assert prompts[0].text.startswith("Call emergency services now")
    french_ambulance = next(p for p in prompts if p.text.startswith("Appelez les secours"))
    first_question = prompts.index(Prompt(Language.EN, FEVER_EN))
    assert prompts.index(french_ambulance) < first_question
    assert Prompt(Language.FR, FEVER_FR) in prompts
    assert any("Celsius" in p.text and p.language == Language.EN for p in prompts)  # extension
    assert any(p.text.startswith("Hello") for p in prompts)
    assert len(prompts) == len(set(prompts))
    assert sum(p.language == Language.FR for p in prompts) > 200


def test_without_the_triage_knowledge_the_dialog_prompts_remain() -> None:
    prompts = fixed_prompts(None)

    assert {p.language for p in prompts} == {Language.EN, Language.FR}
    assert all("Call emergency" not in p.text for p in prompts)
