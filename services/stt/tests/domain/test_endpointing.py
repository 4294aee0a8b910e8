"""An utterance ends when the patient has been quiet long enough after speaking."""

from __future__ import annotations

import numpy as np
from voiceassist_stt.domain.endpointing import Endpointer, is_silent
from voiceassist_stt.domain.recognition import SAMPLE_RATE


def tone(seconds: float) -> np.ndarray:
    """Return a loud 220 Hz tone standing in for speech."""
    time = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * 220 * time)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


def test_the_utterance_ends_after_the_configured_silence() -> None:
    endpointer = Endpointer(silence_seconds=0.5)
    audio = np.concatenate((silence(0.3), tone(1.0), silence(1.0)))

    end = endpointer.feed(audio)

    assert end is not None
    assert 1.7 <= end / SAMPLE_RATE <= 1.9


def test_a_short_pause_does_not_end_the_utterance_even_across_chunks() -> None:
    endpointer = Endpointer(silence_seconds=0.8)
    audio = np.concatenate((tone(0.5), silence(0.4), tone(0.5), silence(0.2)))

    ends = [endpointer.feed(chunk) for chunk in np.array_split(audio, 17)]

    assert ends == [None] * 17
    assert endpointer.heard_speech


def test_silence_alone_is_no_utterance() -> None:
    endpointer = Endpointer(silence_seconds=0.3)

    assert endpointer.feed(silence(3.0)) is None
    assert not endpointer.heard_speech


def test_a_silent_recording_is_recognised_as_such_but_quiet_speech_is_not() -> None:
    assert is_silent(silence(2.0))
    assert is_silent(np.zeros(10, dtype=np.float32))
    assert not is_silent(np.concatenate((silence(1.0), tone(0.2) * 0.05)))
