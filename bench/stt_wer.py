"""Word error rate of the stt service's recogniser on a folder of recordings.

DIR holds ``*.wav`` files, each with a ``*.txt`` reference beside it (bench/make_speech_set.py
writes such folders). Every file is transcribed in-process by the same `WhisperRecognizer` the
service runs, with the same settings (model, window, margin, beam, medical prompt), so the
figure is the service's own.

Normaliser (applied to reference and hypothesis alike, voiceassist_stt.domain.answers.normalise
plus spelling): lower case; Unicode NFC; curly apostrophes straightened; punctuation removed
(hyphens split words: "co-codamol" = "co codamol"); number words joined and written as digits
in English and French ("thirty nine" = "39", "sept" = "7"); a few British/American spellings
folded to one form ("centre" = "center", "diarrhea" = "diarrhoea", "nappy"/"diaper" are kept
apart). WER = (substitutions + deletions + insertions) / reference words, over the whole set.

Prints one line per file with --verbose, then a JSON line: {"wer", "n", "rtf", ...}; rtf is
recognition time / audio duration.

Run: .venv/bin/python bench/stt_wer.py --data .data/speech/hibari-en [--model base]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from voiceassist_stt.adapters.audio import decode
from voiceassist_stt.adapters.models import prepare_model
from voiceassist_stt.adapters.vocabulary import load_vocabularies
from voiceassist_stt.adapters.whisper import LEAD_SECONDS, WhisperRecognizer
from voiceassist_stt.domain.answers import normalise
from voiceassist_stt.domain.recognition import SAMPLE_RATE, RecognitionOptions

DASHES = re.compile(r"[-\u2010\u2013\u2014/]")
SPELLINGS = {
    "centre": "center",
    "diarrhea": "diarrhoea",
    "hemoptysis": "haemoptysis",
    "esophageal": "oesophageal",
    "anemia": "anaemia",
    "color": "colour",
    "behaviour": "behavior",
    "ok": "okay",
}


def words(text: str) -> list[str]:
    """Normalise ``text`` for scoring (see the module docstring)."""
    split = DASHES.sub(" ", text)
    return [SPELLINGS.get(word, word) for word in normalise(split)]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Return the word-level Levenshtein distance."""
    previous = list(range(len(hypothesis) + 1))
    for index, word in enumerate(reference, 1):
        current = [index]
        for column, other in enumerate(hypothesis, 1):
            current.append(
                min(previous[column] + 1, current[column - 1] + 1,
                    previous[column - 1] + (word != other))
            )  # fmt: skip
        previous = current
    return previous[-1]


def main() -> int:
    """Transcribe DIR and print the WER."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", default="base", choices=("base", "tiny.en"))
    parser.add_argument("--window", default="fitted", choices=("fitted", "full"))
    parser.add_argument("--margin", type=float, default=2.0, help="fitted window margin, s")
    parser.add_argument("--min-window", type=float, default=8.0, help="fitted window floor, s")
    parser.add_argument("--lead", type=float, default=LEAD_SECONDS, help="silence before, s")
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--language", default=None, help="en, fr, or detect when omitted")
    parser.add_argument("--prompt-tokens", type=int, default=100, help="prompt budget")
    parser.add_argument("--no-prompt", action="store_true", help="no medical vocabulary")
    parser.add_argument("--cache", type=Path, default=Path(".data/stt/models"))
    parser.add_argument("--verbose", action="store_true")
    arguments = parser.parse_args()
    files = sorted(arguments.data.glob("*.wav"))
    if not files:
        print(f"no *.wav in {arguments.data}", file=sys.stderr)
        return 1
    recognizer = WhisperRecognizer(
        prepare_model(arguments.model, arguments.cache),
        name=arguments.model,
        beam_size=arguments.beam,
        cpu_threads=arguments.threads,
        window=arguments.window,
        window_margin_seconds=arguments.margin,
        window_min_seconds=arguments.min_window,
        window_lead_seconds=arguments.lead,
        prompt_tokens=arguments.prompt_tokens,
        vocabularies={} if arguments.no_prompt else load_vocabularies(),
    )
    errors = reference_words = fallbacks = 0
    busy = audio_seconds = 0.0
    for path in files:
        audio = decode(path.read_bytes(), linear16_rate=None)
        reference = words(path.with_suffix(".txt").read_text(encoding="utf-8"))
        started = time.perf_counter()
        result = recognizer.transcribe(audio, RecognitionOptions(language=arguments.language))
        busy += time.perf_counter() - started
        audio_seconds += audio.size / SAMPLE_RATE
        hypothesis = words(result.text)
        distance = edit_distance(reference, hypothesis)
        errors += distance
        reference_words += len(reference)
        fallbacks += int(result.details.get("fallback", 0))
        if arguments.verbose and distance:
            print(f"{path.name}: {distance} | {' '.join(reference)} | {' '.join(hypothesis)}")
    print(
        json.dumps(
            {
                "wer": round(errors / max(reference_words, 1), 4),
                "n": len(files),
                "rtf": round(busy / audio_seconds, 4),
                "words": reference_words,
                "model": arguments.model,
                "window": arguments.window,
                "margin": arguments.margin,
                "min_window": arguments.min_window,
                "lead": arguments.lead,
                "beam": arguments.beam,
                "prompt": 0 if arguments.no_prompt else arguments.prompt_tokens,
                "fallbacks": fallbacks,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
