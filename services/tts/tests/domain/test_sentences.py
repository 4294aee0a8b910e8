"""Text is cut into sentences where a listener hears one end, and nowhere else."""

from __future__ import annotations

import pytest
from voiceassist_tts.domain.sentences import MAX_SENTENCE_CHARS, split_sentences
from voiceassist_tts.domain.voices import Language


def test_an_english_paragraph_is_cut_at_each_sentence_end() -> None:
    text = "I have a sore throat. It started on Tuesday! Is it serious? Thanks…  Bye."

    assert split_sentences(text) == [
        "I have a sore throat.",
        "It started on Tuesday!",
        "Is it serious?",
        "Thanks…",
        "Bye.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Your appointment is with Dr. Smith at 3 p.m. Tomorrow is fine.",
        "Mrs. Jones and J. K. Rowling arrived. They sat down.",
        "Take 2.5 mg, e.g. after lunch. Then rest.",
        "See Prof. Adams etc. in the morning. Then rest.",
    ],
)
def test_english_titles_initials_and_decimals_do_not_end_a_sentence(text: str) -> None:
    sentences = split_sentences(text)

    assert len(sentences) == 2
    assert "".join(sentences).replace(" ", "") == text.replace(" ", "")


def test_a_period_before_a_lowercase_word_does_not_end_a_sentence() -> None:
    assert split_sentences("It hurts approx. three days a week.") == [
        "It hurts approx. three days a week."
    ]


def test_french_sentences_split_at_spaced_question_marks_but_not_at_titles() -> None:
    text = (
        "Avez-vous de la fièvre ? Le Dr. Martin vous recevra. "
        "Mme. Dupont et M. Durand attendent, p. ex. à 10 h. Merci !"
    )

    assert split_sentences(text, Language.FR) == [
        "Avez-vous de la fièvre ?",
        "Le Dr. Martin vous recevra.",
        "Mme. Dupont et M. Durand attendent, p. ex. à 10 h.",
        "Merci !",
    ]


def test_lines_are_sentences_and_punctuation_alone_is_not_speech() -> None:
    assert split_sentences("Hello\nHow are you\n...\n", Language.EN) == ["Hello", "How are you"]
    assert split_sentences("  ?! ", Language.EN) == []


def test_a_very_long_sentence_is_cut_at_clauses_so_the_first_audio_is_not_held_back() -> None:
    clause = "the pain spreads to my left arm and my jaw when I climb the stairs"
    text = ", ".join([clause] * 12) + "."

    pieces = split_sentences(text)

    assert len(pieces) > 1
    assert all(len(piece) <= MAX_SENTENCE_CHARS for piece in pieces)
    assert " ".join(pieces).replace(",", "") == text.replace(",", "")
