"""The default English voice: hibari-tts (Apache-2.0), a Kokoro voice distilled to 7.9 MB.

Only the American "heart" voice ships inside the wheel; hibari's other voices (British emma and
fable, American fenrir and kore) would be downloaded from a model hub on first use, which this
service never does, so they are not offered. Measured here: about 25 ms for a short sentence
on one core (docs/benchmarks.md, "Speech synthesis").
"""

from __future__ import annotations

import threading
from typing import Any

from voiceassist_tts.adapters.synthesizer import SynthesisError
from voiceassist_tts.domain.audio import PCM16, float_to_pcm16
from voiceassist_tts.domain.voices import Language, Voice

__all__ = ["HIBARI_VOICE", "HibariSynthesizer"]

HIBARI_VOICE = Voice(
    voice_id="hibari-en",
    display_name="Hibari heart (English, American, female)",
    language=Language.EN,
    engine="hibari",
    license="Apache-2.0",
    sample_rate=24_000,
)
_BUNDLED_VOICE = "heart"
_SEED = 0
"""hibari adds a random noise component; a fixed seed makes the same text give the same audio."""


class HibariSynthesizer:
    """hibari's bundled voice, loaded once (about 1.5 s with its imports)."""

    def __init__(self, *, threads: int = 1) -> None:
        # Imported here: loading hibari pulls in onnxruntime, which only this engine needs.
        # hibari ships no type information.
        from hibari import Hibari  # type: ignore[import-untyped]
        from hibari.voices import VOICES  # type: ignore[import-untyped]

        if not VOICES[_BUNDLED_VOICE].get("bundled"):
            raise SynthesisError("hibari: the bundled voice is missing from the package")
        self._tts: Any = Hibari(voice=_BUNDLED_VOICE, threads=threads)
        # The phonemiser is built lazily and keeps state; one sentence at a time per voice.
        self._lock = threading.Lock()
        self.synthesize("Ready.")

    @property
    def voice(self) -> Voice:
        """The bundled American English voice."""
        return HIBARI_VOICE

    def synthesize(self, text: str, *, speed: float = 1.0) -> PCM16:
        """Render one sentence at 24 kHz."""
        with self._lock:
            try:
                audio = self._tts(text, speed=speed, seed=_SEED)
            except Exception as error:
                raise SynthesisError(f"hibari failed ({type(error).__name__})") from None
        return float_to_pcm16(audio)
