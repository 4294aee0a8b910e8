"""What a voice is, in the words of the people who pick one: its language, engine and licence.

Engines (adapters/) describe the voice they render with a `Voice`; the catalogue of installed
voices and the choice of a language's default are made from these descriptions alone, so they
can be tested without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Language", "Voice"]


class Language(StrEnum):
    """Languages the voice dialog speaks (ISO 639-1)."""

    EN = "en"
    FR = "fr"
    UR = "ur"


@dataclass(frozen=True)
class Voice:
    """One installed voice as ListVoices shows it."""

    voice_id: str
    display_name: str
    language: Language
    engine: str
    license: str
    """SPDX identifier covering the engine and the voice model."""
    sample_rate: int
    """Native output rate in hertz; other rates are resampled."""
