"""The expected answer is found in what the patient said, however they said it."""

from __future__ import annotations

import pytest
from voiceassist_stt.domain.answers import ExpectedAnswer, match_answer, normalise

YES_NO = (ExpectedAnswer("yes"), ExpectedAnswer("no"))
SCALE = tuple(ExpectedAnswer(str(value)) for value in range(11))


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("Yes.", "yes"),
        ("Yeah.", "yes"),
        ("Yes, I do.", "yes"),
        ("No.", "no"),
        ("Not really.", "no"),
        ("No, I don't.", "no"),
        ("Oui.", "yes"),
        ("Pas vraiment.", "no"),
    ],
)
def test_yes_and_no_are_understood_in_everyday_words(said: str, value: str) -> None:
    match = match_answer(said, YES_NO)

    assert match is not None
    assert match.value == value


@pytest.mark.parametrize("said", ["Seven.", "7", "About a seven.", "sept"])
def test_a_number_is_the_same_answer_in_words_or_digits(said: str) -> None:
    match = match_answer(said, SCALE)

    assert match is not None
    assert match.value == "7"


def test_a_misheard_no_still_counts_but_with_less_confidence() -> None:
    match = match_answer("Now.", YES_NO)

    assert match is not None
    assert match.value == "no"
    assert match.confidence < 1


def test_the_answers_own_phrases_are_used() -> None:
    expected = (
        ExpectedAnswer("V_TUESDAY", ("since Tuesday", "on Tuesday")),
        ExpectedAnswer("V_WEEK", ("a week", "last week")),
    )

    match = match_answer("It started on Tuesday morning.", expected)

    assert match is not None
    assert match.value == "V_TUESDAY"


def test_nothing_is_reported_when_no_answer_was_given() -> None:
    assert match_answer("I'm not sure.", YES_NO) is None
    assert match_answer("I don't know.", YES_NO) is None
    assert match_answer("", YES_NO) is None
    assert match_answer("twenty one", SCALE) is None


def test_number_words_become_digits() -> None:
    assert normalise("Thirty-nine point, two and twenty one!") == [
        "39",
        "point",
        "2",
        "21",
    ]
