"""Free-text clinical vignettes come out at a safe urgency, one-shot.

Each case in vignettes.yaml (its header says how they were written) is parsed and triaged with
only what its text says, as a caller who hangs up after one sentence would be. An emergency
case must reach one of the two emergency levels: that is the hard safety requirement. Any other
case must reach its expected level or one of its clinically acceptable neighbours; a case with a
documented ``known_gap`` (never an emergency case) is expected to fail until the gap is closed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from voiceassist_triage.domain.case import Answer, Case, Language, Sex, Urgency
from voiceassist_triage.domain.engine import TriageEngine
from voiceassist_triage.domain.knowledge import load_knowledge
from voiceassist_triage.domain.results import TriageDecision

VIGNETTES: list[dict[str, Any]] = yaml.safe_load(
    (Path(__file__).with_name("vignettes.yaml")).read_text(encoding="utf-8")
)["vignettes"]

LEVELS = {level.name.lower(): level for level in Urgency}


def _params() -> list[Any]:
    params = []
    for vignette in VIGNETTES:
        marks = []
        if vignette.get("known_gap"):
            marks.append(pytest.mark.xfail(strict=True, reason=str(vignette["known_gap"])))
        params.append(pytest.param(vignette, id=str(vignette["id"]), marks=marks))
    return params


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine(load_knowledge())


def one_shot(engine: TriageEngine, vignette: dict[str, Any]) -> TriageDecision:
    """Parse the text, then triage with every answer found.

    Age and sex come from the vignette when it gives them, else from the text.
    """
    parsed = engine.parse(str(vignette["text"]))
    age = vignette.get("age")
    case = Case(
        age_years=float(age) if age is not None else parsed.age_years,
        sex=Sex(vignette["sex"]) if vignette.get("sex") else parsed.sex,
        answers=tuple(Answer(e.answer.evidence_id, e.answer.value) for e in parsed.evidence),
    )
    return engine.triage(case, parsed.language)


def test_the_vignettes_are_well_formed() -> None:
    ids = [v["id"] for v in VIGNETTES]
    assert len(ids) == len(set(ids)), "duplicate vignette ids"
    assert len(ids) >= 60
    for vignette in VIGNETTES:
        expected = LEVELS[vignette["level"]]
        acceptable = [LEVELS[name] for name in vignette.get("acceptable_levels", [])]
        assert vignette.get("note"), f"{vignette['id']} says why its level is right"
        for level in acceptable:
            assert level.is_emergency == expected.is_emergency, (
                f"{vignette['id']} mixes emergency and non-emergency levels"
            )
            assert abs(level - expected) == 1, f"{vignette['id']}: {level.name} is not adjacent"
        assert not (expected.is_emergency and vignette.get("known_gap")), (
            f"{vignette['id']}: an emergency vignette must pass, it cannot be a known gap"
        )


def test_the_vignettes_cover_every_level_language_and_danger() -> None:
    levels = {v["level"] for v in VIGNETTES}
    flags = {flag for v in VIGNETTES for flag in v.get("red_flags", [])}
    french = [v for v in VIGNETTES if v["id"].startswith("fr_")]

    assert levels == set(LEVELS)
    assert len(french) >= 8
    for rule_id in (
        "stroke_be_fast",
        "cardiac_chest_pain",
        "severe_breathing_difficulty",
        "anaphylaxis",
        "meningism_with_fever",
        "sepsis_high_risk",
        "new_confusion",
        "uncontrolled_bleeding",
        "suicide_plan_or_self_harm",
        "overdose_or_poisoning",
        "pregnancy_bleeding_or_severe_pain",
        "fever_infant_under_3_months",
        "abdominal_guarding",
        "testicular_torsion",
        "diabetic_ketoacidosis_signs",
        "severe_dehydration",
    ):
        assert rule_id in flags, f"no vignette exercises {rule_id}"


@pytest.mark.parametrize("vignette", _params())
def test_a_vignette_gets_a_safe_urgency(engine: TriageEngine, vignette: dict[str, Any]) -> None:
    decision = one_shot(engine, vignette)
    expected = LEVELS[vignette["level"]]
    fired = {flag.id for flag in decision.red_flags}

    if expected.is_emergency:
        assert decision.level.is_emergency, (
            f"emergency case sent to {decision.level.name}; flags {sorted(fired)}"
        )
    else:
        acceptable = {expected, *(LEVELS[n] for n in vignette.get("acceptable_levels", []))}
        assert decision.level in acceptable, (
            f"{decision.level.name} instead of {expected.name}; flags {sorted(fired)}"
        )
    assert set(vignette.get("red_flags", [])) <= fired


def test_french_vignettes_are_heard_as_french(engine: TriageEngine) -> None:
    for vignette in VIGNETTES:
        language = Language.FR if vignette["id"].startswith("fr_") else Language.EN
        assert engine.parse(str(vignette["text"])).language is language, vignette["id"]
