"""The one interface every speech engine implements, so a new engine is one new file.

An engine renders one sentence at a time (the service splits text into sentences, caches and
streams them); it is called from worker threads, never from the event loop, and must be safe
to call from several threads at once (each adapter serialises what its engine cannot share).
"""

from __future__ import annotations

from typing import Protocol

from voiceassist_tts.domain.audio import PCM16
from voiceassist_tts.domain.voices import Voice

__all__ = ["SynthesisError", "Synthesizer"]


class SynthesisError(Exception):
    """The engine could not render the sentence (the message names the engine, not the text)."""


class Synthesizer(Protocol):
    """A loaded voice that turns one sentence into speech."""

    @property
    def voice(self) -> Voice:
        """The voice this engine renders (id, language, licence, native rate)."""
        ...

    def synthesize(self, text: str, *, speed: float = 1.0) -> PCM16:
        """Return PCM16 mono audio at ``voice.sample_rate`` for one sentence.

        ``speed`` is the speaking rate relative to normal (0.5 to 2.0). Raises
        `SynthesisError` when the engine fails.
        """
        ...
