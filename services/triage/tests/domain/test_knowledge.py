"""The knowledge base loads from its data files, cross-checked, with a version that tracks them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from voiceassist_triage.domain.case import Language, Urgency
from voiceassist_triage.domain.knowledge import (
    KNOWLEDGE_DIR,
    EvidenceKind,
    KnowledgeError,
    condition_id,
    load_knowledge,
)


def test_holds_every_ddxplus_condition_and_evidence_with_both_languages() -> None:
    kb = load_knowledge()

    assert len(kb.conditions) == 49
    ddxplus = [e for e in kb.evidences.values() if e.source == "ddxplus"]
    assert len(ddxplus) == 223
    assert all(e.question[Language.FR] and e.question[Language.EN] for e in kb.evidences.values())
    fever = kb.evidence("E_91")
    assert fever.kind is EvidenceKind.BINARY
    assert "fièvre" in fever.question[Language.FR]


def test_pain_intensity_is_a_zero_to_ten_scale_asked_after_pain() -> None:
    intensity = load_knowledge().evidence("E_56")

    assert intensity.is_scale
    assert intensity.scale == (0.0, 10.0)
    assert intensity.parent == "E_53"


def test_conditions_have_ids_icd10_and_an_urgency() -> None:
    kb = load_knowledge()
    heart_attack = kb.conditions["possible_nstemi_stemi"]

    assert heart_attack.ddxplus_name == "Possible NSTEMI / STEMI"
    assert heart_attack.icd10 == "I21"
    assert heart_attack.urgency is Urgency.EMERGENCY_AMBULANCE
    assert kb.condition_by_ddxplus_name("Pneumonia").id == "pneumonia"
    assert condition_id("Guillain-Barré syndrome") == "guillain_barre_syndrome"


def test_unknown_evidence_id_is_named() -> None:
    with pytest.raises(KeyError, match="E_9999"):
        load_knowledge().evidence("E_9999")


def test_version_changes_when_any_file_changes(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, copy)
    before = load_knowledge(copy).version
    edited = tmp_path / "edited"
    shutil.copytree(KNOWLEDGE_DIR, edited)
    model = edited / "model.yaml"
    model.write_text(model.read_text() + "\n# a reviewed comment\n")

    after = load_knowledge(edited).version

    assert before.split("+")[0] == after.split("+")[0]
    assert before != after


def test_a_condition_naming_an_unknown_evidence_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, copy)
    conditions = copy / "ddxplus" / "release_conditions.json"
    conditions.write_text(conditions.read_text().replace('"E_91"', '"E_9991"', 1))

    with pytest.raises(KnowledgeError, match="E_9991"):
        load_knowledge(copy)
