"""What a speech recogniser is to the rest of the service: audio in, a transcription out.

The handlers speak to a `Recognizer` and never to Whisper, so a second engine is one new
adapter (adapters/whisper.py is the first) and the handlers can be tested against a fake. Audio
is always 16 kHz mono float32 in [-1, 1] here: decoding and resampling happen before (adapters/
audio.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

SAMPLE_RATE = 16_000
"""Sample rate of the audio every recogniser receives, in hertz."""

Audio = NDArray[np.float32]


@dataclass(frozen=True)
class RecognitionOptions:
    """How to recognise one piece of audio."""

    language: str | None = None
    """ISO 639-1 code of the language spoken, or None to detect it."""
    vocabulary: tuple[str, ...] = ()
    """Words to bias recognition towards, most important first (request hints, then built-in)."""
    word_offsets: bool = False
    """Also return each word with its time offsets."""


@dataclass(frozen=True)
class Word:
    """A recognised word and where it lies in the audio (seconds)."""

    text: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Segment:
    """A stretch of recognised speech (seconds from the start of the audio)."""

    text: str
    start: float
    end: float
    confidence: float
    words: tuple[Word, ...] = ()


@dataclass(frozen=True)
class Transcription:
    """What a recogniser heard in one piece of audio."""

    text: str
    segments: tuple[Segment, ...]
    language_code: str
    language_probability: float
    duration: float
    details: dict[str, float] = field(default_factory=dict)
    """Engine figures for benchmarks (e.g. the encoder window used); never shown to users."""


class Recognizer(Protocol):
    """A speech recogniser loaded once per process; `transcribe` blocks (run it in a thread)."""

    @property
    def name(self) -> str:
        """Name of the model, for metrics and logs (e.g. "whisper-base")."""
        ...

    def transcribe(self, audio: Audio, options: RecognitionOptions) -> Transcription:
        """Transcribe 16 kHz mono float32 ``audio``."""
        ...
