"""Shared fixtures of the stt tests: the real Whisper model, loaded once, and real speech.

Speech is made at test time by espeak-ng (a Debian package listed in
deploy/local/apt-packages.txt) and, for the few tests whose words espeak-ng says too
mechanically for Whisper base ("seven" heard as "salmon"), by hibari, the tts service's voice;
no recording is committed. Real human speech comes from registry packages (a PyPI wheel, an npm
tarball), fetched at setup by bench/fetch_recordings.py. The model comes from the installed
PyPI packages; HF_HUB_OFFLINE=1 makes sure nothing is fetched from a hub.
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import subprocess
import sys
import wave
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from voiceassist_stt.adapters.models import prepare_model
from voiceassist_stt.adapters.vocabulary import load_vocabularies
from voiceassist_stt.adapters.whisper import WhisperRecognizer

Speak = Callable[..., bytes]
UNREACHABLE = 3
"""bench/fetch_recordings.py's exit status when a registry cannot be reached."""


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


REPOSITORY = Path(__file__).resolve().parents[3]
"""The checkout's root: bench/ and the git-ignored .cache/ live there."""


@pytest.fixture(scope="session")
def human_recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a folder of real human recordings (``*.wav`` + ``*.txt``) from registry packages.

    bench/fetch_recordings.py downloads the moonshine-voice wheel (PyPI) and the nodejs-whisper
    tarball (npm) once into .cache/test-audio, checks their pinned sha256, and writes the
    LibriVox readings and JFK's inaugural line with their reference texts; nothing is committed.
    """
    out = tmp_path_factory.mktemp("human-recordings")
    result = subprocess.run(
        [
            sys.executable,
            str(REPOSITORY / "bench" / "fetch_recordings.py"),
            str(out),
            "--cache",
            str(REPOSITORY / ".cache" / "test-audio"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode == UNREACHABLE:
        pytest.skip(f"the package registries cannot be reached: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def wer_words() -> Callable[[str], list[str]]:
    """Return bench/stt_wer.py's documented normaliser, so tests score as the benchmark does."""
    spec = importlib.util.spec_from_file_location("stt_wer", REPOSITORY / "bench" / "stt_wer.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    words: Callable[[str], list[str]] = module.words
    return words


def word_errors(reference: Sequence[str], hypothesis: Sequence[str]) -> int:
    """Return the word-level edit distance between two word lists (the WER numerator)."""
    previous = list(range(len(hypothesis) + 1))
    for row, word in enumerate(reference, 1):
        current = [row]
        for column, other in enumerate(hypothesis, 1):
            current.append(
                min(previous[column] + 1, current[-1] + 1, previous[column - 1] + (word != other))
            )
        previous = current
    return previous[-1]
