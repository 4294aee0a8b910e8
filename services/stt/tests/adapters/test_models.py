"""The packaged Whisper models are assembled once and refused when they are not the pinned ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from voiceassist_stt.adapters import models
from voiceassist_stt.adapters.models import (
    PACKAGED_MODELS,
    ModelIntegrityError,
    prepare_model,
    sha256_of,
)


def test_the_split_base_model_is_assembled_with_the_pinned_hash(model_cache: Path) -> None:
    directory = prepare_model("base", model_cache)

    assert sha256_of(directory / "model.bin") == PACKAGED_MODELS["base"].sha256
    assert {"config.json", "tokenizer.json", "vocabulary.json"} <= {
        path.name for path in directory.iterdir()
    }
    assert prepare_model("base", model_cache) == directory


def test_tiny_en_is_used_where_its_package_installed_it(tmp_path: Path) -> None:
    directory = prepare_model("tiny.en", tmp_path)

    assert (directory / "model.bin").is_file()
    assert not any(tmp_path.iterdir())


def test_a_model_with_another_hash_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tampered = dataclasses.replace(PACKAGED_MODELS["tiny.en"], sha256="0" * 64)
    monkeypatch.setitem(models.PACKAGED_MODELS, "tiny.en", tampered)

    with pytest.raises(ModelIntegrityError, match="refusing to start"):
        prepare_model("tiny.en", tmp_path)


def test_an_unknown_model_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match=r"base, tiny\.en"):
        prepare_model("large-v3", tmp_path)
