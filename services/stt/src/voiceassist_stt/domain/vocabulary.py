"""The medical words Whisper is shown before it listens, so it spells drug names right.

Whisper conditions on a text prompt of at most 223 tokens. The prompt puts the request's own
phrase hints first (the question being asked knows best), then the built-in vocabulary
generated from the triage lexicon (data/vocabulary/<lang>.txt, read by adapters/vocabulary.py).
adapters/whisper.py frames the list as a finished sentence so that Whisper reads it as words
of this conversation rather than as text to continue.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_HINTS = 50
"""Most phrase hints one request may carry."""
MAX_HINT_CHARACTERS = 100
"""Longest phrase hint accepted."""


def prompt_words(hints: Iterable[str], builtin: Iterable[str]) -> tuple[str, ...]:
    """Return the words to show Whisper: hints first, then the built-in ones, without repeats."""
    seen: set[str] = set()
    words: list[str] = []
    for word in (*hints, *builtin):
        cleaned = " ".join(word.split())
        key = cleaned.casefold()
        if cleaned and key not in seen:
            seen.add(key)
            words.append(cleaned)
    return tuple(words)


def prompt_text(words: Iterable[str]) -> str:
    """Render the prompt words as Whisper's prompt text."""
    return ", ".join(words)
