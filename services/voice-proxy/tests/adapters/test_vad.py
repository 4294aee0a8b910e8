"""Silero VAD (shipped inside faster-whisper) finds real speech made with espeak-ng.

The audio is synthesised at test time: a sentence between two seconds of silence, at espeak's
22,050 Hz, resampled to 16 kHz as a browser's 48 kHz frames would be.
"""

from __future__ import annotations

import io
import subprocess
import wave

import numpy as np
import pytest
from voiceassist_voice_proxy.adapters.vad import StreamingVad
from voiceassist_voice_proxy.domain.audio import TARGET_RATE, resample_to_16k
from voiceassist_voice_proxy.domain.turns import TurnDetector, TurnEvent


def espeak(text: str) -> tuple[bytes, int]:
    """Return PCM16 mono and its rate for ``text`` spoken by espeak-ng."""
    wav = subprocess.run(
        ["espeak-ng", "--stdout", text], check=True, capture_output=True, timeout=30
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


@pytest.fixture(scope="module")
def sentence() -> np.ndarray:
    pcm, rate = espeak("I have had a sore throat for three days.")
    samples = (np.frombuffer(pcm, dtype="<i2") / 32768).astype(np.float32)
    speech = resample_to_16k(samples, rate)
    silence = np.zeros(2 * TARGET_RATE, dtype=np.float32)
    return np.concatenate([silence, speech, silence])


def test_speech_is_found_between_silences(sentence: np.ndarray) -> None:
    vad = StreamingVad()
    probabilities = []
    # 20 ms frames, as a browser sends them.
    for start in range(0, sentence.size, 320):
        probabilities.extend(vad.feed(sentence[start : start + 320]))
    windows = np.array(probabilities)
    speaking = np.flatnonzero(windows > 0.5)
    assert speaking.size > 0
    first, last = speaking[0] * 0.032, speaking[-1] * 0.032
    assert 1.7 < first < 2.5  # the speech starts after two seconds of silence
    assert windows[: int(1.5 / 0.032)].max() < 0.5  # silence is silence
    assert last < sentence.size / TARGET_RATE - 1.5

    detector = TurnDetector()
    events = [event for p in probabilities for event in detector.feed(p)]
    turn = [event for event in events if event != TurnEvent.PAUSED]  # pauses between words
    assert turn == [TurnEvent.SPEECH_STARTED, TurnEvent.TURN_ENDED]


def test_silence_and_hum_are_not_speech() -> None:
    vad = StreamingVad()
    times = np.arange(3 * TARGET_RATE) / TARGET_RATE
    hum = (0.05 * np.sin(2 * np.pi * 50 * times)).astype(np.float32)
    quiet = np.zeros(TARGET_RATE, dtype=np.float32)
    probabilities = vad.feed(np.concatenate([quiet, hum]))
    assert max(probabilities) < 0.5
