"""Turn-taking as a patient would notice it.

A cough does not start a turn, a thinking pause does not end one, a finished answer is answered
sooner than an unfinished one, and speaking over an interruptible reply stops it.
"""

from __future__ import annotations

import pytest
from voiceassist_voice_proxy.domain.turns import (
    FRAME_MS,
    TurnDetector,
    TurnEvent,
    TurnSettings,
    sounds_finished,
)


def run(
    detector: TurnDetector, pattern: list[tuple[float, int]], *, pauses: bool = False
) -> list[tuple[int, TurnEvent]]:
    """Feed (probability, milliseconds) runs; return (time in ms, event) pairs.

    PAUSED events are left out unless ``pauses``: most tests are about where turns end.
    """
    events: list[tuple[int, TurnEvent]] = []
    clock = 0
    for probability, milliseconds in pattern:
        for _ in range(milliseconds // FRAME_MS):
            clock += FRAME_MS
            events.extend(
                (clock, event)
                for event in detector.feed(probability)
                if pauses or event != TurnEvent.PAUSED
            )
    return events


def test_a_sentence_then_silence_is_one_turn() -> None:
    events = run(TurnDetector(), [(0.0, 320), (0.9, 1600), (0.0, 1600)])
    assert [e for _, e in events] == [TurnEvent.SPEECH_STARTED, TurnEvent.TURN_ENDED]
    ended = events[1][0]
    assert ended - (320 + 1600) <= TurnSettings().end_silence_ms + FRAME_MS


def test_a_cough_is_not_a_turn() -> None:
    assert run(TurnDetector(), [(0.0, 320), (0.9, 64), (0.0, 2000)]) == []


def test_a_thinking_pause_inside_an_answer_does_not_end_the_turn() -> None:
    # "It started on..." (pause 700 ms) "...Tuesday": one turn.
    pattern = [(0.9, 1200), (0.1, 700), (0.9, 600), (0.0, 1600)]
    events = [e for _, e in run(TurnDetector(), pattern)]
    assert events == [TurnEvent.SPEECH_STARTED, TurnEvent.TURN_ENDED]


def test_a_short_um_before_the_answer_earns_a_longer_pause() -> None:
    # "Um..." (1 s of thought) "yes, since yesterday": still one turn.
    pattern = [(0.9, 320), (0.0, 1000), (0.9, 900), (0.0, 1600)]
    events = [e for _, e in run(TurnDetector(), pattern)]
    assert events == [TurnEvent.SPEECH_STARTED, TurnEvent.TURN_ENDED]


def test_speaking_over_an_interruptible_reply_barges_in_within_200_ms() -> None:
    detector = TurnDetector()
    detector.reply_started()
    events = run(detector, [(0.0, 320), (0.9, 640)])
    barge = [t for t, e in events if e == TurnEvent.BARGE_IN]
    assert len(barge) == 1
    assert barge[0] - 320 <= 200


def test_no_barge_in_while_nothing_interruptible_plays() -> None:
    events = run(TurnDetector(), [(0.9, 640)])
    assert TurnEvent.BARGE_IN not in [e for _, e in events]


def test_a_turn_that_never_ends_is_cut_at_the_limit() -> None:
    detector = TurnDetector(TurnSettings(max_turn_ms=3000))
    events = [e for _, e in run(detector, [(0.9, 4000)])]
    # Cut at the limit; a patient who keeps talking starts a new turn.
    assert events[:2] == [TurnEvent.SPEECH_STARTED, TurnEvent.TOO_LONG]


def test_a_finished_answer_ends_the_turn_at_its_first_pause() -> None:
    # "Yes." then silence: recognised at the pause as an expected answer, answered at 320 ms.
    detector = TurnDetector()
    events = run(detector, [(0.0, 320), (0.9, 480)], pauses=True)
    events += run(detector, [(0.0, 224)], pauses=True)
    paused = [t for t, e in events if e == TurnEvent.PAUSED]
    assert len(paused) == 1
    assert detector.allow_early_end(detector.pause_index, TurnSettings().answer_end_ms) is False
    rest = run(detector, [(0.0, 1600)])
    assert [e for _, e in rest] == [TurnEvent.TURN_ENDED]
    ended_after_silence = 224 + rest[0][0]
    assert ended_after_silence <= TurnSettings().answer_end_ms + FRAME_MS
    assert detector.last_silence_ms >= TurnSettings().answer_end_ms


def test_an_early_end_allowed_after_the_silence_was_reached_ends_at_once() -> None:
    detector = TurnDetector()
    run(detector, [(0.9, 800), (0.0, 512)])
    assert detector.allow_early_end(detector.pause_index, 480) is True
    assert not detector.in_turn
    assert detector.last_silence_ms == 512


def test_speech_after_the_pause_cancels_its_early_end() -> None:
    # "I have a pain in my chest." (pause) "And my left arm hurts." - one turn, not two.
    detector = TurnDetector()
    run(detector, [(0.9, 1500), (0.0, 224)])
    pause = detector.pause_index
    assert detector.allow_early_end(pause, 480) is False
    events = run(detector, [(0.0, 64), (0.9, 1216), (0.0, 1600)])
    # The early end was dropped when speech resumed, and a stale recognition cannot bring it back.
    assert detector.allow_early_end(pause, 480) is False
    assert [e for _, e in events] == [TurnEvent.TURN_ENDED]
    assert events[0][0] - (64 + 1216) >= TurnSettings().end_silence_ms


@pytest.mark.parametrize(
    ("text", "answered", "finished"),
    [
        ("Yes.", True, True),
        ("I have a crushing pain in my chest.", False, True),
        ("Since Tuesday.", False, True),
        ("I have a pain in my", False, False),
        ("It started when I was...", False, False),
        ("My throat hurts and", False, False),
        ("Um.", False, False),
        ("J'ai mal à la gorge depuis", False, False),
        ("J'ai mal à la gorge.", False, True),
        ("", False, False),
    ],
)
def test_only_finished_answers_may_end_a_turn_early(
    text: str, answered: bool, finished: bool
) -> None:
    assert sounds_finished(text, answered=answered) is finished
