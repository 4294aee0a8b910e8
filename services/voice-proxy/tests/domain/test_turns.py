"""Turn-taking as a patient would notice it.

A cough does not start a turn, a thinking pause does not end one, and speaking over an
interruptible reply stops it.
"""

from __future__ import annotations

from voiceassist_voice_proxy.domain.turns import FRAME_MS, TurnDetector, TurnEvent, TurnSettings


def run(detector: TurnDetector, pattern: list[tuple[float, int]]) -> list[tuple[int, TurnEvent]]:
    """Feed (probability, milliseconds) runs; return (time in ms, event) pairs."""
    events: list[tuple[int, TurnEvent]] = []
    clock = 0
    for probability, milliseconds in pattern:
        for _ in range(milliseconds // FRAME_MS):
            clock += FRAME_MS
            events.extend((clock, event) for event in detector.feed(probability))
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
