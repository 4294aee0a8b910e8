"""Turn-taking from speech probabilities: when a patient starts, pauses, and has finished.

The voice activity detector gives a speech probability for every 32 ms of audio. This module
turns them into the events the conversation acts on:

- ``speech_started`` after a short run of speech (so a cough or a click does not start a turn),
  with the audio from a little before it (the first syllable is not cut);
- ``barge_in`` when the patient speaks over a reply that may be interrupted: a run of speech
  of `barge_in_ms` stops the reply (well within the 200 ms the issue asks for once the audio
  reaches us), without waiting for the end of the turn;
- ``paused`` once per pause, after `probe_silence_ms` of silence: the conversation then
  recognises the words so far, and when they make a finished answer (`sounds_finished`: an
  expected answer such as "yes", or a sentence that does not stop on "and" or "my") it allows
  this pause to end the turn early (`allow_early_end`), after `answer_end_ms` or
  `sentence_end_ms` of silence; speech resuming cancels that;
- ``turn_ended`` after `end_silence_ms` of silence otherwise. Patients pause while they think
  ("it started on... Tuesday"), so the silence that ends an unfinished-sounding turn is longer
  than a conversational gap, and longer again after a short first burst ("um"), when people
  take a breath before answering;
- ``too_long`` when one turn passes `max_turn_ms`: the turn is ended and the patient told.

Pure and deterministic: the same probabilities give the same events, so it is tested without a
model. Hysteresis (a lower threshold to stay in speech than to enter it) keeps a soft syllable
from splitting a turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["FRAME_MS", "TurnDetector", "TurnEvent", "TurnSettings", "sounds_finished"]

FRAME_MS = 32
"""One VAD window: 512 samples at 16 kHz."""


class TurnEvent(StrEnum):
    """What a window of audio changed."""

    SPEECH_STARTED = "speech_started"
    PAUSED = "paused"
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
    probe_silence_ms: int = 192
    """Silence after which the words so far are recognised, to see if the answer is finished."""
    answer_end_ms: int = 320
    """Silence that ends a turn whose words are one of the question's expected answers."""
    sentence_end_ms: int = 480
    """Silence that ends a turn whose words make a finished sentence."""
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
        self.pause_index = 0
        """Counts pauses; a recognition started at one pause is stale once the next begins."""
        self._early_end_ms: int | None = None
        self.last_silence_ms = 0
        """Silence at the end of the last turn: the end of speech was this long before."""

    @property
    def silence_ms(self) -> int:
        """Milliseconds of silence since the patient last spoke in this turn."""
        return self._silence_run if self.in_turn else 0

    @property
    def paused(self) -> bool:
        """Whether the patient is in a pause long enough to have been probed."""
        return self.in_turn and self._silence_run >= self.settings.probe_silence_ms

    def allow_early_end(self, pause_index: int, silence_ms: int) -> bool:
        """Let pause ``pause_index`` end the turn after ``silence_ms``; True if it already has.

        Ignored when the patient has spoken again since (the pause is over). When the silence
        is already long enough the turn is ended here and True returned: the caller ends it.
        """
        if not self.paused or pause_index != self.pause_index:
            return False
        if self._silence_run >= silence_ms:
            self._reset()
            return True
        self._early_end_ms = silence_ms
        return False

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
        self.last_silence_ms = self._silence_run if self.in_turn else 0
        self._early_end_ms = None
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
            self._early_end_ms = None
        elif self._silence_run == settings.probe_silence_ms // FRAME_MS * FRAME_MS:
            self.pause_index += 1
            events.append(TurnEvent.PAUSED)
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
        if self._early_end_ms is not None:
            patient_pause = min(patient_pause, self._early_end_ms)
        if self._silence_run >= patient_pause:
            self._reset()
            events.append(TurnEvent.TURN_ENDED)
        return events


_UNFINISHED_WORDS = (
    # English: words a sentence does not end on.
    "a an and the my his her their our your of to in on at with for from about because but or "
    "so than that which who if when since like until um uh er erm hmm "
    # French.
    "et ou mais de du des le la les un une mon ma mes son sa ses à au aux avec pour par dans sur "
    "parce que qui si quand depuis comme euh"
)
_UNFINISHED = frozenset(_UNFINISHED_WORDS.split())
_TRAILING_PAUSE = ("...", "…", ",", "-", "—", ":", ";")


def sounds_finished(text: str, *, answered: bool) -> bool:
    """Say whether recognised words make a finished answer, worth ending the turn on early.

    An expected answer of the question ("yes", "about a seven") is finished. Otherwise the
    words must not stop where a sentence goes on: on a comma or an ellipsis (Whisper marks a
    trailing-off voice so), or on a word like "and", "my" or "because". Anything else may still
    be followed by more, but a nurse would answer there too.
    """
    if answered:
        return True
    words = re.findall(r"[\w']+", text.lower())
    if not words:
        return False
    if text.rstrip().endswith(_TRAILING_PAUSE):
        return False
    return words[-1] not in _UNFINISHED
