"""Which of the expected answers the patient gave, read from the transcript.

Short answers are what Whisper gets wrong most ("no" heard as "Now." or "Nuh.", "seven" as
"7." or "Heaven"), and the question being asked knows what it expects. So the transcript is matched
against each `ExpectedAnswer`'s value and phrases after normalising both (lower case, no
punctuation, number words as digits in English and French, so "seven", "Seven." and "7" are one
answer), with the everyday ways of saying yes and no added ("yeah", "not really", "ouais",
"pas vraiment"). A whole-word phrase found in the transcript wins, the longest first (so "not
really" beats "really"); otherwise the closest phrase by edit similarity, when close enough.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

FUZZY_THRESHOLD = 0.75
"""Least similarity (0-1) at which a phrase not found word for word still counts."""

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "zéro": 0, "zero_fr": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
    "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20, "trente": 30, "quarante": 40,
    "cinquante": 50, "soixante": 60, "cent": 100,
}  # fmt: skip
# "six" is the same word in both languages; "oh" only counts as zero between digits, which this
# simple matcher does not try: drop it.
_UNITS.pop("oh")
_UNITS.pop("zero_fr")

_AFFIRMATIVE = (
    "yes", "yeah", "yep", "yup", "yes i do", "i do", "i have", "i am", "sure", "correct",
    "that's right", "right", "absolutely", "definitely", "of course", "uh huh", "indeed",
    "oui", "ouais", "bien sûr", "tout à fait", "exactement", "absolument", "c'est ça",
)  # fmt: skip
_NEGATIVE = (
    "no", "nope", "nah", "nuh", "not really", "i don't", "i do not", "i haven't", "i have not",
    "i'm not", "i am not", "not at all", "never", "none", "no i don't",
    "non", "pas vraiment", "pas du tout", "jamais", "aucun", "aucune",
)  # fmt: skip
_UNSURE = (
    "not sure", "i don't know", "i do not know", "don't know", "no idea", "maybe", "perhaps",
    "je ne sais pas", "je sais pas", "pas sûr", "pas sûre", "peut être",
)  # fmt: skip
_SYNONYMS = {"yes": _AFFIRMATIVE, "oui": _AFFIRMATIVE, "no": _NEGATIVE, "non": _NEGATIVE}


@dataclass(frozen=True)
class ExpectedAnswer:
    """One answer the question expects: the value to report and the ways of saying it."""

    value: str
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerMatch:
    """The expected answer recognised and how sure the match is (0-1)."""

    value: str
    confidence: float


def normalise(text: str) -> list[str]:
    """Return ``text`` as lower-case words without punctuation, number words as digits."""
    text = unicodedata.normalize("NFC", text.casefold()).replace("\u2019", "'")
    text = re.sub(r"(\d),(\d)", r"\1.\2", text)
    words = re.findall(r"[\w']+(?:\.\d+)?", text)
    return _numbers_as_digits([word.strip("'") for word in words if word.strip("'")])


def _numbers_as_digits(words: list[str]) -> list[str]:
    """Join runs of number words into one number in digits ("twenty one" -> "21")."""
    result: list[str] = []
    total: int | None = None
    for word in words:
        value = _UNITS.get(word)
        if value is None and total is not None and word in {"and", "et"}:
            continue
        if value is None:
            if total is not None:
                result.append(str(total))
                total = None
            result.append(word)
        elif total is None:
            total = value
        elif value == 100:
            total = total * 100
        elif total % 10 == 0 and total >= 20 and value < 10:
            total += value
        else:
            result.append(str(total))
            total = value
    if total is not None:
        result.append(str(total))
    return result


def _phrases(answer: ExpectedAnswer, *, synonyms: bool = True) -> list[list[str]]:
    """Every way of saying ``answer``, normalised, the built-in synonyms of yes and no added."""
    said = [answer.value, *answer.phrases]
    for text in list(said) if synonyms else ():
        said.extend(_SYNONYMS.get(" ".join(normalise(text)), ()))
    phrases = [normalise(text) for text in said]
    return [phrase for phrase in phrases if phrase]


def _contains(words: list[str], phrase: list[str]) -> bool:
    """Whether ``phrase`` occurs in ``words`` as whole words."""
    size = len(phrase)
    return any(words[index : index + size] == phrase for index in range(len(words) - size + 1))


def _similarity(words: list[str], phrase: list[str]) -> float:
    """Best similarity of ``phrase`` to any run of as many words of ``words``."""
    size = len(phrase)
    target = " ".join(phrase)
    best = 0.0
    for index in range(max(1, len(words) - size + 1)):
        window = " ".join(words[index : index + size])
        best = max(best, difflib.SequenceMatcher(None, window, target).ratio())
    return best


def match_answer(transcript: str, expected: Sequence[ExpectedAnswer]) -> AnswerMatch | None:
    """Return the expected answer said in ``transcript``, or None when none is close enough."""
    words = normalise(transcript)
    if not words or not expected:
        return None
    # "I'm not sure" is no "no": when the patient is unsure only the answers' own phrases count.
    synonyms = not any(_contains(words, normalise(phrase)) for phrase in _UNSURE)
    exact: list[tuple[int, int, ExpectedAnswer]] = []
    for order, answer in enumerate(expected):
        longest = max(
            (
                len(phrase)
                for phrase in _phrases(answer, synonyms=synonyms)
                if _contains(words, phrase)
            ),
            default=0,
        )
        if longest:
            exact.append((longest, -order, answer))
    if exact:
        longest, _, answer = max(exact, key=lambda item: (item[0], item[1]))
        rivals = sum(1 for item in exact if item[0] == longest)
        # Two answers said equally clearly ("yes ... no") is an ambiguous answer.
        return AnswerMatch(answer.value, 1.0 if rivals == 1 else 0.5)
    if not synonyms:
        return None
    scored = [
        (max((_similarity(words, phrase) for phrase in _phrases(answer)), default=0.0), answer)
        for answer in expected
    ]
    score, answer = max(scored, key=lambda item: item[0])
    if score < FUZZY_THRESHOLD:
        return None
    return AnswerMatch(answer.value, round(score * 0.9, 3))


_NUMBER_WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    "fr": ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
}


def answer_hints(expected: Sequence[ExpectedAnswer], language: str | None) -> tuple[str, ...]:
    """Return the words of the expected answers, to show the recogniser before it listens.

    A lone "seven" is easily heard as "salmon"; told that "seven" is likely, Whisper hears it.
    Digit values are spelled out ("7" -> "seven") in the language spoken (English when unknown).
    """
    numbers = _NUMBER_WORDS.get(language or "en", _NUMBER_WORDS["en"])
    hints: list[str] = []
    for answer in expected:
        for text in (answer.value, *answer.phrases):
            if text.isdigit() and int(text) < len(numbers):
                hints.append(numbers[int(text)])
            elif text.strip():
                hints.append(text.strip())
    return tuple(hints)
