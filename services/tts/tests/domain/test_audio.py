"""Audio leaves the service in the format asked for: resampled faithfully, framed as WAV."""

from __future__ import annotations

import io
import wave

import numpy as np
from voiceassist_tts.domain.audio import float_to_pcm16, resample, rms_dbfs, wav_header


def _tone(frequency: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return float_to_pcm16(0.5 * np.sin(2 * np.pi * frequency * t))


def _peak_frequency(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[int(np.argmax(spectrum))])


def test_resampling_keeps_duration_and_pitch() -> None:
    for source, target in ((24_000, 16_000), (22_050, 16_000), (16_000, 48_000)):
        tone = _tone(440.0, source, 1.0)

        out = resample(tone, source, target)

        assert abs(out.size - target) <= 1
        assert abs(_peak_frequency(out, target) - 440.0) < 2.0
        assert abs(rms_dbfs(out) - rms_dbfs(tone)) < 0.5


def test_downsampling_removes_what_the_new_rate_cannot_carry() -> None:
    tone = _tone(10_000.0, 24_000, 1.0)  # above 8 kHz, the Nyquist limit of 16 kHz audio

    assert rms_dbfs(resample(tone, 24_000, 16_000)) < rms_dbfs(tone) - 40


def test_the_wav_header_describes_the_audio_that_follows() -> None:
    pcm = _tone(300.0, 16_000, 0.25)
    data = pcm.astype("<i2").tobytes()

    with wave.open(io.BytesIO(wav_header(16_000, len(data)) + data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16_000)
        assert wav.readframes(wav.getnframes()) == data


def test_silence_has_no_loudness_and_clipping_stays_in_range() -> None:
    assert rms_dbfs(np.zeros(100, dtype=np.int16)) == float("-inf")
    assert float_to_pcm16(np.array([2.0, -2.0])).tolist() == [32767, -32767]
