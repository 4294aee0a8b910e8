"""Split text into the sentences the service synthesises and streams one by one.

The first audio plays as soon as the first sentence is synthesised, so the split decides how
soon the patient hears anything. A period after an abbreviation ("Dr.", "Mme.", "e.g."), an
initial ("J. Smith") or a number's decimal point does not end a sentence, and neither does one
followed by a lowercase word; a very long sentence is cut at clause punctuation so that one
sentence never holds the first audio back for long. The same split runs when fixed prompts are
synthesised ahead of time, so their sentences are found again in the cache.
"""

from __future__ import annotations

import re

from voiceassist_tts.domain.voices import Language

__all__ = ["MAX_SENTENCE_CHARS", "split_sentences"]

MAX_SENTENCE_CHARS = 250
"""A sentence longer than this is cut at its clause punctuation (about 15 s of speech)."""

# Lowercased, without the final period. Titles and common abbreviations of both languages:
# the dialog's texts are English or French, and a name may carry a title of either.
_ABBREVIATIONS: dict[Language, frozenset[str]] = {
    Language.EN: frozenset(
        {
            "dr",
            "mr",
            "mrs",
            "ms",
            "mx",
            "prof",
            "st",
            "sr",
            "jr",
            "mt",
            "ft",
            "vs",
            "etc",
            "e.g",
            "i.e",
            "approx",
            "dept",
            "appt",
            "min",
            "max",
            "tel",
            "fig",
            "jan",
            "feb",
            "mar",
            "apr",
            "jun",
            "jul",
            "aug",
            "sep",
            "sept",
            "oct",
            "nov",
            "dec",
            "mon",
            "tue",
            "tues",
            "wed",
            "thu",
            "thur",
            "thurs",
            "fri",
            "sat",
            "sun",
            "u.s",
            "u.k",
            "mg",
            "ml",
            "hr",
            "hrs",
            "wk",
            "wks",
            "inc",
            "ltd",
        }
    ),
    Language.FR: frozenset(
        {
            "m",
            "mm",
            "mme",
            "mmes",
            "mlle",
            "mlles",
            "dr",
            "pr",
            "me",
            "mgr",
            "st",
            "ste",
            "etc",
            "cf",
            "env",
            "ex",
            "p.ex",
            "p. ex",
            "av",
            "bd",
            "boul",
            "tél",
            "tel",
            "n°",
            "janv",
            "févr",
            "avr",
            "juil",
            "sept",
            "oct",
            "nov",
            "déc",
            "lun",
            "mar",
            "mer",
            "jeu",
            "ven",
            "sam",
            "dim",
            "c.-à-d",
            "c.à.d",
            "vol",
            "min",
            "max",
            "mg",
            "ml",
            "sem",
        }
    ),
    Language.UR: frozenset({"dr", "mr", "mrs", "ms", "prof", "etc"}),
}

# A sentence end: terminal punctuation (possibly repeated, possibly with closing quotes or
# brackets) followed by whitespace. French puts a space before ? and !, which changes nothing
# here since the space comes before the mark.
_END = re.compile(r"[.!?\u2026\u3002\u061f\u06d4]+[\"'»\u201d\u2019)\]]*(?=\s)")
_CLAUSE = re.compile(r"(?<=[,;:\u2014\u2013])\s+")
_WORD_BEFORE = re.compile(r"(\S+)$")


def split_sentences(text: str, language: Language = Language.EN) -> list[str]:
    """Return the sentences of ``text`` in order, stripped, with no empty ones."""
    abbreviations = _ABBREVIATIONS.get(language, _ABBREVIATIONS[Language.EN])
    sentences: list[str] = []
    for paragraph in re.split(r"\s*\n\s*", text.strip()):
        cut = 0
        for match in _END.finditer(paragraph):
            if not _ends_sentence(paragraph, match.start(), match.end(), abbreviations):
                continue
            sentences.append(paragraph[cut : match.end()])
            cut = match.end()
        sentences.append(paragraph[cut:])
    pieces = (piece for sentence in sentences for piece in _bounded(sentence.strip()))
    return [piece for piece in pieces if _speakable(piece)]


def _ends_sentence(paragraph: str, start: int, end: int, abbreviations: frozenset[str]) -> bool:
    rest = paragraph[end:].lstrip()
    if rest and rest[0].islower():
        return False
    if paragraph[start] != "." or end - start > 1:
        return True
    match = _WORD_BEFORE.search(paragraph[:start])
    if match is None:
        return True
    word = match.group(1).lstrip("(\"'«\u201c\u2018[")
    if len(word) == 1 and word.isalpha() and word.isupper():
        return False  # an initial: "J. Smith"
    word = word.lower()
    if word in abbreviations:
        return False
    # "p. ex." and "c.-à-d." arrive as two tokens; look at the last two words together too.
    two = " ".join(paragraph[:start].split()[-2:]).lower()
    return two not in abbreviations


def _bounded(sentence: str) -> list[str]:
    """Cut an over-long sentence at clause punctuation, then at spaces, into short pieces."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for part in _CLAUSE.split(sentence):
        for word_group in _fitting(part):
            if current and len(current) + 1 + len(word_group) > MAX_SENTENCE_CHARS:
                pieces.append(current)
                current = word_group
            else:
                current = f"{current} {word_group}" if current else word_group
    if current:
        pieces.append(current)
    return pieces


def _fitting(part: str) -> list[str]:
    """Split a clause that is itself too long at spaces."""
    if len(part) <= MAX_SENTENCE_CHARS:
        return [part]
    groups: list[str] = []
    current = ""
    for word in part.split():
        if current and len(current) + 1 + len(word) > MAX_SENTENCE_CHARS:
            groups.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        groups.append(current)
    return groups


def _speakable(piece: str) -> bool:
    return any(character.isalnum() for character in piece)
