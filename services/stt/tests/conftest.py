"""Shared fixtures of the stt tests: the real Whisper model, loaded once, and real speech.

Speech is made at test time by espeak-ng (a Debian package listed in
deploy/local/apt-packages.txt) and, for the few tests whose words espeak-ng says too
mechanically for Whisper base ("seven" heard as "salmon"), by hibari, the tts service's voice;
no recording is committed. The model comes from the installed
PyPI packages; HF_HUB_OFFLINE=1 makes sure nothing is fetched from a hub.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from voiceassist_stt.adapters.models import prepare_model
from voiceassist_stt.adapters.vocabulary import load_vocabularies
from voiceassist_stt.adapters.whisper import WhisperRecognizer

Speak = Callable[..., bytes]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a cache directory for the assembled base model, shared by the session."""
    return tmp_path_factory.mktemp("stt-models")


@pytest.fixture(scope="session")
def recognizer(model_cache: Path) -> WhisperRecognizer:
    """Whisper base as the service runs it (fitted window, medical prompt), loaded once."""
    return WhisperRecognizer(
        prepare_model("base", model_cache),
        name="base",
        cpu_threads=2,
        window="fitted",
        window_margin_seconds=2.0,
        window_min_seconds=8.0,
        prompt_tokens=100,
        vocabularies=load_vocabularies(),
    )


@pytest.fixture(scope="session")
def speak() -> Speak:
    """Return a function speaking text with espeak-ng as WAV bytes (22,050 Hz mono)."""
    program = shutil.which("espeak-ng")
    if program is None:
        pytest.skip("espeak-ng is not installed (deploy/local/apt-packages.txt lists it)")

    def spoken(text: str, voice: str = "en") -> bytes:
        # 150 words a minute: espeak-ng's default 175 slurs "I have" into "I am" for Whisper.
        result = subprocess.run(
            [program, "-v", voice, "-s", "150", "--stdout", text], check=True, capture_output=True
        )
        return result.stdout

    return spoken


@pytest.fixture(scope="session")
def speak_hibari() -> Speak:
    """Return a function speaking English text with hibari as WAV bytes (24 kHz mono)."""
    hibari = pytest.importorskip("hibari", reason="hibari-tts (the tts service's voice) is absent")
    voice = hibari.Hibari()

    def spoken(text: str) -> bytes:
        samples = np.clip(np.asarray(voice(text, seed=1)), -1.0, 1.0)
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as output:
            output.setnchannels(1)
            output.setsampwidth(2)
            output.setframerate(int(hibari.SAMPLE_RATE))
            output.writeframes((samples * 32767).astype("<i2").tobytes())
        return buffer.getvalue()

    return spoken
