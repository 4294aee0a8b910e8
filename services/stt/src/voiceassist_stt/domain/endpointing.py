"""Where one utterance ends in a stream of audio: speech followed by enough silence.

A streamed recognition gives one final transcript per utterance, so the service must notice
that the patient stopped talking. This is a plain energy detector over 30 ms frames: a frame
is speech when its RMS level is above an absolute floor and well above the background level
(which follows the quiet frames); an utterance ends after ``silence_seconds`` of non-speech
following some speech. The voice proxy runs its own, better voice activity detection and
usually half-closes or asks for single_utterance; this keeps the stt contract whole for clients
that simply stream.
"""

from __future__ import annotations

import numpy as np

from voiceassist_stt.domain.recognition import SAMPLE_RATE, Audio

FRAME = SAMPLE_RATE * 30 // 1000
"""Samples per analysis frame (30 ms)."""
SPEECH_FLOOR = 0.01
"""RMS (full scale = 1) below which a frame is never speech: about -40 dBFS."""
NOISE_RATIO = 3.0
"""A speech frame is this many times louder than the background level."""
BACKGROUND_ADAPTATION = 0.05
"""How fast the background level follows quiet frames."""


class Endpointer:
    """Follow one stream's audio and say when the current utterance has ended."""

    def __init__(self, silence_seconds: float) -> None:
        self._frames_needed = max(1, round(silence_seconds * SAMPLE_RATE / FRAME))
        self._carry = np.zeros(0, dtype=np.float32)
        self._background = SPEECH_FLOOR / NOISE_RATIO
        self.heard_speech = False
        self._silent_frames = 0

    def feed(self, samples: Audio) -> int | None:
        """Consume 16 kHz ``samples``; return where in them the utterance ended, if it did.

        The return value counts samples of ``samples``: the utterance is the audio before that
        point (its trailing silence included). The samples after it are not consumed: feed
        them again for the next utterance. The detector is reset for it.
        """
        carried = self._carry.size
        buffer = np.concatenate((self._carry, samples)) if carried else samples
        whole = buffer.size // FRAME * FRAME
        for start in range(0, whole, FRAME):
            level = float(np.sqrt(np.mean(np.square(buffer[start : start + FRAME]))))
            if level >= max(SPEECH_FLOOR, self._background * NOISE_RATIO):
                self.heard_speech = True
                self._silent_frames = 0
                continue
            self._background += BACKGROUND_ADAPTATION * (level - self._background)
            if self.heard_speech:
                self._silent_frames += 1
                if self._silent_frames >= self._frames_needed:
                    end = start + FRAME - carried
                    self.reset()
                    return max(0, end)
        self._carry = buffer[whole:].copy()
        return None

    def reset(self) -> None:
        """Start listening for a new utterance (the background level is kept)."""
        self._carry = np.zeros(0, dtype=np.float32)
        self.heard_speech = False
        self._silent_frames = 0


SILENCE_FLOOR = 0.003
"""RMS (about -50 dBFS) under which a whole recording is taken for silence, even a quiet one."""


def is_silent(samples: Audio) -> bool:
    """Whether no 30 ms frame of ``samples`` is louder than a whisper: nothing to transcribe.

    Whisper asked to transcribe silence often invents a sentence ("Thank you."); checking the
    level first answers an empty transcript at once instead.
    """
    whole = samples.size // FRAME * FRAME
    if whole == 0:
        return True
    frames = samples[:whole].reshape(-1, FRAME)
    return bool(np.sqrt(np.mean(np.square(frames), axis=1)).max() < SILENCE_FLOOR)
