"""The fixed prompts to synthesise ahead of time, in the order they matter.

Emergency instructions come first (they must never wait for an engine), then the dialog's own
prompts (prompts.yaml beside this package), then every triage question, English before French.
The triage texts are read from the triage service's knowledge base files (levels.yaml,
extensions.yaml, ddxplus/release_evidences.json), found where the voiceassist-triage package is
installed or in TTS_PROMPTS_KNOWLEDGE_DIR; when neither is there (a tts-only image), only the
dialog's own prompts are warmed and the log says so.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from voiceassist_common.logging import safe

from voiceassist_tts.domain.voices import Language

__all__ = ["Prompt", "find_triage_knowledge", "fixed_prompts"]

logger = logging.getLogger(__name__)

_LANGUAGES = (Language.EN, Language.FR)


@dataclass(frozen=True)
class Prompt:
    """A fixed text the dialog speaks, in one language."""

    language: Language
    text: str


def find_triage_knowledge() -> Path | None:
    """Return the triage knowledge directory of the installed triage package, if any.

    Located without importing the triage service (only its package's location is needed).
    """
    spec = importlib.util.find_spec("voiceassist_triage")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "knowledge"
        if (candidate / "levels.yaml").is_file():
            return candidate
    return None


def fixed_prompts(knowledge_dir: Path | None) -> list[Prompt]:
    """Every fixed prompt, most urgent first, without duplicates."""
    triage = _triage_texts(knowledge_dir) if knowledge_dir is not None else _Texts([], [])
    if knowledge_dir is None:
        logger.info("no triage knowledge found: only the dialog's own prompts are warmed")
    urgent = [*triage.instructions, *_own_texts()]
    seen: set[Prompt] = set()
    prompts: list[Prompt] = []
    # Instructions and the dialog's prompts of both languages before any question.
    for group in (urgent, triage.questions):
        for language in _LANGUAGES:
            for texts in group:
                text = " ".join(str(texts.get(language.value) or "").split())
                prompt = Prompt(language, text)
                if text and prompt not in seen:
                    seen.add(prompt)
                    prompts.append(prompt)
    return prompts


@dataclass(frozen=True)
class _Texts:
    instructions: list[Mapping[str, Any]]
    questions: list[Mapping[str, Any]]


def _own_texts() -> list[Mapping[str, Any]]:
    source = importlib.resources.files("voiceassist_tts").joinpath("prompts.yaml")
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    return list(document.values())


def _triage_texts(directory: Path) -> _Texts:
    try:
        levels = yaml.safe_load((directory / "levels.yaml").read_text(encoding="utf-8"))
        extensions = yaml.safe_load((directory / "extensions.yaml").read_text(encoding="utf-8"))
        evidences = json.loads(
            (directory / "ddxplus" / "release_evidences.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError, yaml.YAMLError) as error:
        logger.warning(
            "triage knowledge unreadable (%s): its prompts are not warmed",
            safe(type(error).__name__),
        )
        return _Texts([], [])
    instructions: list[Mapping[str, Any]] = [
        level["instruction"] for level in levels.get("levels", {}).values()
    ]
    note = levels.get("missing_evidence", {}).get("note")
    if note:
        instructions.append(note)
    questions = [*_extension_questions(extensions), *_ddxplus_questions(evidences)]
    return _Texts(instructions, questions)


def _extension_questions(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for item in document.get("evidences", []):
        if isinstance(item.get("question"), Mapping):
            yield item["question"]


def _ddxplus_questions(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for item in document.values():
        yield {"en": item.get("question_en", ""), "fr": item.get("question_fr", "")}
