"""Microphone frames: resampled to 16 kHz, refused with a code when they are not PCM16."""

from __future__ import annotations

import numpy as np
import pytest
from voiceassist_voice_proxy.domain.audio import (
    AudioRefusedError,
    check_rate,
    looks_like_audio,
    to_float16k,
    to_pcm16,
)


def test_a_48_khz_frame_becomes_16_khz() -> None:
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(960) / 48_000)).astype(np.float32)
    samples = to_float16k(to_pcm16(tone), 48_000)
    assert samples.size == 320  # 20 ms at 16 kHz
    assert 0.4 < float(np.abs(samples).max()) < 0.6


@pytest.mark.parametrize(
    ("frame", "code"),
    [(b"\x00" * 3, "voice.unsupported_audio"), (b"\x00" * 70_000, "voice.frame_too_large")],
)
def test_frames_that_are_not_pcm16_are_refused_with_a_code(frame: bytes, code: str) -> None:
    with pytest.raises(AudioRefusedError) as refused:
        to_float16k(frame, 16_000)
    assert refused.value.code == code


def test_a_rate_no_microphone_produces_is_refused() -> None:
    assert check_rate(0) == 16_000
    with pytest.raises(AudioRefusedError):
        check_rate(4_000)


def test_a_file_or_json_sent_as_audio_is_recognised() -> None:
    assert not looks_like_audio(b'{"type": "text"}')
    assert not looks_like_audio(b"RIFF\x00\x00")
    assert looks_like_audio(to_pcm16(np.zeros(320, dtype=np.float32)) + b"\x01\x00")


def test_speech_whose_first_sample_looks_like_a_brace_is_still_audio() -> None:
    # About 1 frame in 128 of real speech starts with the byte of "{" or "[": it is heard.
    rng = np.random.default_rng(7)
    speech = to_pcm16((rng.standard_normal(320) * 0.2).astype(np.float32))
    assert looks_like_audio(b"{" + speech[1:])
    assert looks_like_audio(b"[" + speech[1:])
    assert not looks_like_audio(b'[{"type": "text", "text": "hello"}]\n')
