"""The packaged medical vocabulary is the one the triage lexicon gives today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_vocabulary.py"


def test_the_vocabulary_files_are_current_with_the_triage_lexicon() -> None:
    spec = importlib.util.spec_from_file_location("make_vocabulary", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.main(["--check"]) == 0, "run services/stt/scripts/make_vocabulary.py"


def test_drug_names_are_in_the_english_vocabulary() -> None:
    from voiceassist_stt.adapters.vocabulary import builtin_vocabulary

    words = builtin_vocabulary("en")

    assert {"amoxicillin", "atorvastatin", "paracetamol"} <= set(words)
