"""Load the voices installed on this machine, in order of preference per language.

hibari is the default English voice; Piper's joe is offered when its optional extra is
installed and enabled; espeak-ng gives French, Urdu (best effort) and an English fallback when
the Debian package is installed. An engine that fails to load is logged and left out: the
service serves what it has, and ListVoices says what that is.
"""

from __future__ import annotations

import logging

from voiceassist_common.logging import safe

from voiceassist_tts.adapters.espeak import ESPEAK_VOICES, EspeakSynthesizer, espeak_program
from voiceassist_tts.adapters.synthesizer import Synthesizer

__all__ = ["load_installed_voices"]

logger = logging.getLogger(__name__)


def load_installed_voices(*, piper: bool = True, hibari_threads: int = 1) -> list[Synthesizer]:
    """Load every available engine; the first voice of each language is its default."""
    voices: list[Synthesizer] = []
    try:
        from voiceassist_tts.adapters.hibari import HibariSynthesizer

        voices.append(HibariSynthesizer(threads=hibari_threads))
    except Exception as error:
        logger.warning("hibari voice not loaded (%s)", safe(type(error).__name__))
    if piper:
        from voiceassist_tts.adapters.piper import PiperSynthesizer, piper_installed

        if piper_installed():
            try:
                voices.append(PiperSynthesizer())
            except Exception as error:
                logger.warning("piper voice not loaded (%s)", safe(type(error).__name__))
    program = espeak_program()
    if program is None:
        logger.warning("espeak-ng is not installed: no French voice and no fallback voice")
    else:
        for language in ESPEAK_VOICES:
            try:
                voices.append(EspeakSynthesizer(language, program))
            except Exception as error:
                logger.warning(
                    "espeak-ng %s voice not loaded (%s)",
                    safe(language.value),
                    safe(type(error).__name__),
                )
    logger.info(
        "voices loaded: %s", safe(", ".join(voice.voice.voice_id for voice in voices) or "none")
    )
    return voices
