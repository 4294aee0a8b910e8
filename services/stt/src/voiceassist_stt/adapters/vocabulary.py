"""Read the packaged medical vocabulary (data/vocabulary/<lang>.txt) once at start.

The files are generated from the triage lexicon by scripts/make_vocabulary.py, so the stt service
needs neither the triage code nor its YAML at run time.
"""

from __future__ import annotations

from importlib import resources

LANGUAGES = ("en", "fr")


def builtin_vocabulary(language: str) -> tuple[str, ...]:
    """Return the packaged medical vocabulary of ``language`` ("en" or "fr"), rarest first."""
    path = resources.files("voiceassist_stt") / "data" / "vocabulary" / f"{language}.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def load_vocabularies() -> dict[str, tuple[str, ...]]:
    """Return every packaged vocabulary by language code."""
    return {language: builtin_vocabulary(language) for language in LANGUAGES}
