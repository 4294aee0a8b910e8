"""Turn the bytes a client sends into 16 kHz mono float32 samples for the recogniser.

Raw LINEAR16 at any rate is resampled with libswresample (through PyAV, which faster-whisper
already brings); WAV, Ogg and WebM files are recognised by their first bytes (RIFF/WAVE, OggS,
the EBML magic) whatever the request's encoding says, and decoded with PyAV (FFmpeg). Anything
else is refused with an `AudioError` naming the field, never a stack trace.
"""

from __future__ import annotations

import io
from enum import Enum

import av
import numpy as np
from av.audio.resampler import AudioResampler

from voiceassist_stt.domain.recognition import SAMPLE_RATE, Audio

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MIN_SAMPLES = SAMPLE_RATE // 100
"""Fewer decoded samples than 10 ms means the file was empty or cut short."""


class Container(Enum):
    """Audio file formats the service decodes."""

    WAV = "WAV"
    OGG = "Ogg"
    WEBM = "WebM"


class AudioError(ValueError):
    """Audio the service cannot use; ``field`` names the request field at fault."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


def sniff(data: bytes) -> Container | None:
    """Return the container ``data`` starts like, or None for raw or unknown bytes."""
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return Container.WAV
    if data[:4] == b"OggS":
        return Container.OGG
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return Container.WEBM
    return None


def check_sample_rate(rate: int, field: str) -> None:
    """Refuse a LINEAR16 sample rate outside what telephones to studio recorders use."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            field, f"must be between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz for LINEAR16"
        )


def pcm16_to_float(data: bytes, field: str) -> Audio:
    """Read little-endian signed 16-bit mono samples as float32 in [-1, 1]."""
    if len(data) % 2:
        raise AudioError(field, "LINEAR16 audio must be a whole number of 16-bit samples")
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0).astype(np.float32)


def resample(samples: Audio, rate: int) -> Audio:
    """Resample mono float32 ``samples`` from ``rate`` to 16 kHz."""
    if rate == SAMPLE_RATE or samples.size == 0:
        return samples
    stream = PcmResampler(rate)
    head = stream.feed(samples)
    tail = stream.flush()
    return np.concatenate((head, tail)).astype(np.float32)


class PcmResampler:
    """Stateful resampler of a stream of mono float32 chunks to 16 kHz (no seams at chunk ends)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._resampler = (
            None
            if rate == SAMPLE_RATE
            else AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        )
        self._pts = 0

    def feed(self, samples: Audio) -> Audio:
        """Resample the next chunk; returns what is ready (a few samples may lag behind)."""
        if self._resampler is None or samples.size == 0:
            return samples
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._pts
        self._pts += samples.size
        return _joined(self._resampler.resample(frame))

    def flush(self) -> Audio:
        """Return the samples still held by the resampler at the end of the stream."""
        if self._resampler is None:
            return np.zeros(0, dtype=np.float32)
        return _joined(self._resampler.resample(None))


def _joined(frames: list[av.AudioFrame]) -> Audio:
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([frame.to_ndarray().reshape(-1) for frame in frames]).astype(np.float32)


def decode_container(data: bytes, container: Container, field: str) -> Audio:
    """Decode a WAV, Ogg or WebM file to 16 kHz mono float32 (all channels mixed down)."""
    resampler = AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[Audio] = []
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as source:
            if not source.streams.audio:
                raise AudioError(field, f"the {container.value} file has no audio stream")
            stream = source.streams.audio[0]
            for frame in source.decode(stream):
                frame.pts = None
                chunks.append(_joined(resampler.resample(frame)))
            chunks.append(_joined(resampler.resample(None)))
    except AudioError:
        raise
    except (av.FFmpegError, ValueError, EOFError) as error:
        raise AudioError(
            field, f"could not be decoded as {container.value} audio ({type(error).__name__})"
        ) from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if samples.size < MIN_SAMPLES:
        raise AudioError(field, f"holds no audio samples (an empty or cut {container.value} file)")
    return samples.astype(np.float32)


def decode(data: bytes, *, linear16_rate: int | None, field: str = "audio") -> Audio:
    """Decode request bytes: a sniffed container, else LINEAR16 at ``linear16_rate``.

    ``linear16_rate`` is None when the request did not say the bytes are LINEAR16: then bytes
    that are no known container are refused.
    """
    if not data:
        raise AudioError(field, "is empty")
    container = sniff(data)
    if container is not None:
        return decode_container(data, container, field)
    if linear16_rate is None:
        raise AudioError(
            field,
            "is not WAV, Ogg or WebM audio; raw PCM needs config.encoding LINEAR16 and "
            "config.sample_rate_hertz",
        )
    return resample(pcm16_to_float(data, field), linear16_rate)
