"""Whisper base, as the service runs it, transcribes real human recordings without error.

Issue 6's target is 0% WER on the real recordings that registry packages carry, scored with
bench/stt_wer.py's documented normaliser. The recordings (LibriVox readings in the
moonshine-voice wheel, JFK's inaugural line in the nodejs-whisper tarball) are fetched at setup
and never committed; without network the tests skip.

Measured with the shipped settings: JFK and Beckett 0 errors. The 44-second LibriVox reading of
*A Tale of Two Cities* loses three words ("in short, the") where faster-whisper joins its two
30-second windows: 3 errors in 119 words (2.5% WER). The service never decodes such audio as one
utterance (STT_MAX_UTTERANCE_SECONDS is 30), but the gap is kept visible as a strict xfail.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from voiceassist_stt.adapters.audio import decode
from voiceassist_stt.adapters.whisper import WhisperRecognizer
from voiceassist_stt.domain.recognition import RecognitionOptions

from ..conftest import word_errors

Words = Callable[[str], list[str]]


@pytest.fixture(scope="module")
def errors_in(
    recognizer: WhisperRecognizer, human_recordings: Path, wer_words: Words
) -> Callable[[str], tuple[int, int]]:
    """Return a function giving (word errors, reference words) of one recording, memoised."""

    @cache
    def errors(stem: str) -> tuple[int, int]:
        audio = decode((human_recordings / f"{stem}.wav").read_bytes(), linear16_rate=None)
        reference = wer_words((human_recordings / f"{stem}.txt").read_text(encoding="utf-8"))
        result = recognizer.transcribe(audio, RecognitionOptions(language="en"))
        return word_errors(reference, wer_words(result.text)), len(reference)

    return errors


@pytest.mark.parametrize("stem", ["jfk", "beckett"])
def test_a_short_human_recording_is_transcribed_without_error(
    errors_in: Callable[[str], tuple[int, int]], stem: str
) -> None:
    errors, words = errors_in(stem)

    assert words > 10
    assert errors == 0


def test_a_long_librivox_reading_misses_at_most_three_words(
    errors_in: Callable[[str], tuple[int, int]],
) -> None:
    errors, words = errors_in("two_cities")

    assert words == 119
    assert errors <= 3


@pytest.mark.xfail(
    strict=True,
    reason="measured 3 errors in 119 words (2.5% WER): 'in short, the' lost at the 30 s seam",
)
def test_a_long_librivox_reading_is_transcribed_without_error(
    errors_in: Callable[[str], tuple[int, int]],
) -> None:
    errors, _ = errors_in("two_cities")

    assert errors == 0
