"""The prompt shows the question's own hints first, then the built-in medical words, once each."""

from __future__ import annotations

from voiceassist_stt.domain.vocabulary import prompt_words


def test_hints_come_first_and_repeats_are_dropped() -> None:
    words = prompt_words(["Rivaroxaban", "  co-codamol "], ["rivaroxaban", "warfarin", ""])

    assert words == ("Rivaroxaban", "co-codamol", "warfarin")
