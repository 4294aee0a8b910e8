"""Uploads and streams become 16 kHz samples whatever their rate or container; junk is refused."""

from __future__ import annotations

import io
import wave

import av
import numpy as np
import pytest
from voiceassist_stt.adapters.audio import (
    AudioError,
    Container,
    PcmResampler,
    decode,
    pcm16_to_float,
    sniff,
)
from voiceassist_stt.domain.recognition import SAMPLE_RATE


def pcm16(seconds: float, rate: int) -> bytes:
    time = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * time) * 32767).astype("<i2").tobytes()


def wav(seconds: float, rate: int, channels: int = 1) -> bytes:
    frames = pcm16(seconds, rate)
    if channels == 2:
        mono = np.frombuffer(frames, dtype="<i2")
        frames = np.repeat(mono, 2).tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as output:
        output.setnchannels(channels)
        output.setsampwidth(2)
        output.setframerate(rate)
        output.writeframes(frames)
    return buffer.getvalue()


def ogg_opus(seconds: float) -> bytes:
    """Encode a tone as Ogg Opus with PyAV, as a browser or phone might upload it."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, layout="mono")
        samples = pcm16(seconds, 48_000)
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(samples, dtype="<i2").reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 48_000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def test_linear16_at_another_rate_is_resampled_to_16_khz() -> None:
    audio = decode(pcm16(2.0, 44_100), linear16_rate=44_100)

    assert audio.dtype == np.float32
    assert abs(audio.size - 2 * SAMPLE_RATE) <= 32


@pytest.mark.parametrize(("rate", "channels"), [(8_000, 1), (48_000, 2)])
def test_a_wav_file_states_its_own_rate_and_channels(rate: int, channels: int) -> None:
    audio = decode(wav(1.5, rate, channels), linear16_rate=None)

    assert abs(audio.size - 1.5 * SAMPLE_RATE) <= 32
    assert 0.1 < float(np.abs(audio).max()) <= 1.0


def test_an_ogg_opus_upload_is_decoded() -> None:
    data = ogg_opus(1.0)

    assert sniff(data) is Container.OGG
    audio = decode(data, linear16_rate=None)
    assert abs(audio.size - SAMPLE_RATE) <= 0.05 * SAMPLE_RATE


def test_bytes_that_are_not_audio_are_refused_naming_the_field() -> None:
    with pytest.raises(AudioError, match=r"^audio: is not WAV, Ogg or WebM"):
        decode(b"%PDF-1.7 not a recording", linear16_rate=None)


def test_a_broken_wav_file_is_refused() -> None:
    with pytest.raises(AudioError, match=r"^audio: (could not be decoded as WAV|holds no audio)"):
        decode(wav(1.0, 16_000)[:44] + b"\xff" * 3, linear16_rate=None)


def test_an_odd_number_of_linear16_bytes_is_refused() -> None:
    with pytest.raises(AudioError, match="16-bit samples"):
        pcm16_to_float(b"\x00\x01\x02", "audio_chunk")


def test_a_stream_resampled_chunk_by_chunk_matches_the_whole() -> None:
    samples = pcm16_to_float(pcm16(1.0, 22_050), "audio")
    whole = decode(pcm16(1.0, 22_050), linear16_rate=22_050)
    stream = PcmResampler(22_050)

    pieces = [stream.feed(chunk) for chunk in np.array_split(samples, 7)]
    chunked = np.concatenate([*pieces, stream.flush()])

    assert chunked.size == whole.size
    assert np.allclose(chunked, whole, atol=1e-4)
