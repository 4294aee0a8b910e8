"""Audio frames from the patient's microphone: checked, resampled to 16 kHz, never kept.

Browsers capture at 44.1 or 48 kHz; the recogniser and the voice activity detector want 16 kHz
mono. Frames are PCM16 little-endian (docs/voice-protocol.md); anything else is refused with a
reason the client can show, and the conversation goes on.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import numpy.typing as npt

# scipy ships no type information.
from scipy.signal import resample_poly  # type: ignore[import-untyped]

__all__ = [
    "MAX_FRAME_BYTES",
    "TARGET_RATE",
    "AudioRefusedError",
    "resample_to_16k",
    "to_float16k",
    "to_pcm16",
]

TARGET_RATE = 16_000
MAX_FRAME_BYTES = 64 * 1024
"""About 0.7 s at 48 kHz: clients send 20 to 100 ms per frame."""
SUPPORTED_RATES = range(8_000, 48_001)


class AudioRefusedError(ValueError):
    """A frame that is not PCM16 mono at a supported rate; ``code`` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_rate(rate: int) -> int:
    """Return the input rate (0 means 16 kHz), refusing rates no microphone produces."""
    rate = rate or TARGET_RATE
    if rate not in SUPPORTED_RATES:
        raise AudioRefusedError("voice.unsupported_sample_rate", "sample rate must be 8 to 48 kHz")
    return rate


def to_float16k(frame: bytes, rate: int) -> npt.NDArray[np.float32]:
    """Decode a PCM16 frame at ``rate`` into 16 kHz float samples in [-1, 1]."""
    if len(frame) > MAX_FRAME_BYTES:
        raise AudioRefusedError("voice.frame_too_large", "an audio frame must be under 64 KiB")
    if len(frame) % 2:
        raise AudioRefusedError("voice.unsupported_audio", "audio must be 16-bit PCM (even length)")
    return resample_to_16k(np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0, rate)


def resample_to_16k(samples: npt.NDArray[np.float32], rate: int) -> npt.NDArray[np.float32]:
    """Resample float samples at ``rate`` to 16 kHz (polyphase filter)."""
    if rate == TARGET_RATE or samples.size == 0:
        return samples
    ratio = Fraction(TARGET_RATE, rate).limit_denominator(1000)
    resampled = resample_poly(samples, ratio.numerator, ratio.denominator)
    return np.asarray(resampled, dtype=np.float32)


def to_pcm16(samples: npt.NDArray[np.float32]) -> bytes:
    """Encode float samples as PCM16 little-endian (clipped)."""
    clipped = np.clip(samples, -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


def looks_like_audio(frame: bytes) -> bool:
    """Whether a frame is plausibly PCM16 speech rather than text or a file.

    A text or JSON payload sent as binary by mistake decodes to samples that are almost all
    large and smooth in byte pairs; real microphone PCM has a spread of small values. The check
    is cheap and only catches obvious mistakes (the recogniser copes with noise).
    """
    if not frame:
        return False
    head = frame[:4]
    if head in (b"RIFF", b"OggS", b"\x1aE\xdf\xa3"):
        return False
    if head[:1] not in (b"{", b"["):
        return True
    # JSON sent as binary is text from end to end; a PCM frame that merely starts with these
    # bytes (about 1 in 128 frames of real speech) is not, and must not be dropped.
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return not all(character.isprintable() or character.isspace() for character in text)
