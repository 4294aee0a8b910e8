"""Turn-taking from speech probabilities: when a patient starts, pauses, and has finished.

The voice activity detector gives a speech probability for every 32 ms of audio. This module
turns them into the events the conversation acts on:

- ``speech_started`` after a short run of speech (so a cough or a click does not start a turn),
  with the audio from a little before it (the first syllable is not cut);
- ``barge_in`` when the patient speaks over a reply that may be interrupted: a run of speech
  of `barge_in_ms` stops the reply (well within the 200 ms the issue asks for once the audio
  reaches us), without waiting for the end of the turn;
- ``turn_ended`` after `end_silence_ms` of silence. Patients pause while they think ("it started
  on... Tuesday"), so the silence that ends a turn is longer than a conversational gap, and
  longer again right after a question was asked, when people take a breath before answering;
- ``too_long`` when one turn passes `max_turn_ms`: the turn is ended and the patient told.

Pure and deterministic: the same probabilities give the same events, so it is tested without a
model. Hysteresis (a lower threshold to stay in speech than to enter it) keeps a soft syllable
from splitting a turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FRAME_MS", "TurnDetector", "TurnEvent", "TurnSettings"]

FRAME_MS = 32
"""One VAD window: 512 samples at 16 kHz."""


class TurnEvent(StrEnum):
    """What a window of audio changed."""

    SPEECH_STARTED = "speech_started"
    BARGE_IN = "barge_in"
    TURN_ENDED = "turn_ended"
    TOO_LONG = "too_long"


@dataclass(frozen=True)
class TurnSettings:
    """Thresholds and durations, in milliseconds of audio."""

    start_threshold: float = 0.5
    stay_threshold: float = 0.35
    start_speech_ms: int = 96
    """Speech needed to start a turn (three windows)."""
    end_silence_ms: int = 800
    after_question_silence_ms: int = 1200
    """The first pause of an answer may be longer: people think before they answer."""
    barge_in_ms: int = 160
    max_turn_ms: int = 60_000
    pre_roll_ms: int = 320
    """Audio kept from before the turn started."""


class TurnDetector:
    """Consumes one probability per 32 ms window and reports turn events."""

    def __init__(self, settings: TurnSettings | None = None) -> None:
        self.settings = settings or TurnSettings()
        self.in_turn = False
        self._speech_run = 0
        self._silence_run = 0
        self._turn_ms = 0
        self._heard_in_turn = 0
        self.reply_playing = False
        """Set while interruptible reply audio plays: speech then means barge-in."""
        self._barged = False

    def reply_started(self) -> None:
        """Note that an interruptible reply began playing."""
        self.reply_playing = True
        self._barged = False

    def reply_stopped(self) -> None:
        """Note that the reply ended or was stopped."""
        self.reply_playing = False

    def end_turn(self) -> None:
        """End the turn at the client's word (push-to-talk released)."""
        self._reset()

    def _reset(self) -> None:
        self.in_turn = False
        self._speech_run = self._silence_run = self._turn_ms = self._heard_in_turn = 0

    def feed(self, probability: float) -> list[TurnEvent]:
        """Take the next window's speech probability; return what it changed."""
        settings = self.settings
        events: list[TurnEvent] = []
        threshold = settings.stay_threshold if self.in_turn else settings.start_threshold
        speaking = probability >= threshold
        if speaking:
            self._speech_run += FRAME_MS
            self._silence_run = 0
        else:
            self._silence_run += FRAME_MS
            self._speech_run = 0
        if (
            self.reply_playing
            and not self._barged
            and speaking
            and self._speech_run >= settings.barge_in_ms
        ):
            self._barged = True
            events.append(TurnEvent.BARGE_IN)
        if not self.in_turn:
            if self._speech_run >= settings.start_speech_ms:
                self.in_turn = True
                self._turn_ms = self._speech_run
                self._heard_in_turn = self._speech_run
                events.append(TurnEvent.SPEECH_STARTED)
            return events
        self._turn_ms += FRAME_MS
        if speaking:
            self._heard_in_turn += FRAME_MS
        if self._turn_ms >= settings.max_turn_ms:
            self._reset()
            events.append(TurnEvent.TOO_LONG)
            return events
        # A short first burst ("um") earns the longer, thinking pause.
        patient_pause = (
            settings.after_question_silence_ms
            if self._heard_in_turn < 600
            else settings.end_silence_ms
        )
        if self._silence_run >= patient_pause:
            self._reset()
            events.append(TurnEvent.TURN_ENDED)
        return events
