"""PCM16 audio as the service hands it out: conversion, resampling, WAV framing, chunking.

Engines produce float or PCM16 audio at their native rate; callers ask for raw PCM16 mono
(LINEAR16) or a WAV file at the rate their pipeline runs (16 kHz for speech recognition, 24 or
48 kHz for playback). Resampling is polyphase with an anti-aliasing filter (scipy), so speech
downsampled for recognition keeps no aliasing from the high band.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

# scipy ships no type information (scipy-stubs is a separate project).
from scipy.signal import resample_poly  # type: ignore[import-untyped]

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "PCM16",
    "float_to_pcm16",
    "resample",
    "rms_dbfs",
    "wav_header",
]

PCM16 = NDArray[np.int16]
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 48_000


def float_to_pcm16(audio: NDArray[np.floating]) -> PCM16:
    """Convert float audio in [-1, 1] to PCM16, clipping what lies outside."""
    scaled = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0) * 32767.0
    return np.round(scaled).astype(np.int16)


def resample(pcm: PCM16, from_rate: int, to_rate: int) -> PCM16:
    """Return ``pcm`` resampled from ``from_rate`` to ``to_rate`` hertz (unchanged when equal)."""
    if from_rate == to_rate or pcm.size == 0:
        return pcm
    ratio = Fraction(to_rate, from_rate)
    resampled: NDArray[np.float64] = resample_poly(
        pcm.astype(np.float32), ratio.numerator, ratio.denominator
    )
    return np.clip(np.round(resampled), -32768, 32767).astype(np.int16)


def wav_header(sample_rate: int, data_bytes: int) -> bytes:
    """Return the 44-byte RIFF/WAVE header of mono PCM16 audio of ``data_bytes`` bytes."""
    return b"".join(
        (
            b"RIFF",
            struct.pack("<I", 36 + data_bytes),
            b"WAVEfmt ",
            struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16),
            b"data",
            struct.pack("<I", data_bytes),
        )
    )


def rms_dbfs(pcm: PCM16) -> float:
    """Loudness of ``pcm`` in dB relative to full scale (-inf for silence)."""
    if pcm.size == 0:
        return -math.inf
    rms = float(np.sqrt(np.mean(np.square(pcm.astype(np.float64)))))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else -math.inf
