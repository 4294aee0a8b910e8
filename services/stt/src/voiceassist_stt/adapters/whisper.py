"""Whisper on CTranslate2 (faster-whisper), with the encoder run on a window fitted to the audio.

Whisper's encoder was trained on 30-second windows and faster-whisper always pads to 30 s, so a
3-second answer costs as much as 30 seconds of speech (about 0.7 s of encoder time for base on
this 2-core machine, twice that with language detection). CTranslate2 accepts fewer than 3000
mel frames: the encoder's positional embeddings are simply taken for the first N positions, as
whisper.cpp's ``audio_ctx`` does. With window "fitted" this adapter pads the audio only to
the utterance plus a margin (STT_WINDOW_MARGIN_SECONDS), and to at least
STT_WINDOW_MIN_SECONDS, which cut the encoder to about a tenth
and the end-of-speech-to-transcript time several-fold with no loss of WER on our sets
(docs/benchmarks.md, "Speech recognition"). Audio longer than one window, word offsets, and a
fitted decode that looks unreliable (repetitive or improbable) go through faster-whisper's
ordinary 30-second path instead.

The prompt carries the medical vocabulary (domain/vocabulary.py) within Whisper's 223-token
limit, request hints first.
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from faster_whisper import WhisperModel  # type: ignore[import-untyped]  # no stubs
from faster_whisper.tokenizer import Tokenizer  # type: ignore[import-untyped]
from faster_whisper.transcribe import (  # type: ignore[import-untyped]
    get_ctranslate2_storage,
    get_suppressed_tokens,
)

from voiceassist_stt.domain.recognition import (
    SAMPLE_RATE,
    Audio,
    RecognitionOptions,
    Segment,
    Transcription,
    Word,
)
from voiceassist_stt.domain.vocabulary import prompt_words

Window = Literal["fitted", "full"]

FULL_FRAMES = 3000
"""Mel frames of Whisper's 30-second window (100 frames a second)."""
FRAMES_PER_SECOND = 100
HOP = SAMPLE_RATE // FRAMES_PER_SECOND
"""Audio samples per mel frame."""
FRAME_QUANTUM = 100
"""Fitted windows are rounded up to whole seconds, so few distinct shapes reach the runtime."""
PROMPT_TOKENS = 223
"""Whisper's prompt limit: half its 448-token context, less the start-of-previous token."""
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0
COMPRESSION_RATIO_THRESHOLD = 2.4
PROMPT_PREFIX = {
    "en": "A patient describes symptoms and medicines, such as",
    "fr": "Un patient décrit ses symptômes et ses médicaments, comme",
}
LEAD_SECONDS = 0.15
"""Silence put before the utterance in the fitted window (see `_transcribe_fitted`)."""
TOKENS_PER_SECOND = 12
"""Generous bound on tokens per second of speech: stops a runaway (hallucinating) decode."""


class WhisperRecognizer:
    """A `Recognizer` over one faster-whisper model, loaded once and warmed up at construction."""

    def __init__(
        self,
        model_dir: Path,
        *,
        name: str,
        compute_type: str = "int8",
        cpu_threads: int = 2,
        workers: int = 1,
        beam_size: int = 5,
        window: Window = "fitted",
        window_margin_seconds: float = 2.0,
        window_min_seconds: float = 8.0,
        window_lead_seconds: float = LEAD_SECONDS,
        prompt_tokens: int = 100,
        vocabularies: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self._name = f"whisper-{name}"
        self._model = WhisperModel(
            str(model_dir),
            device="cpu",
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=workers,
            local_files_only=True,
        )
        self._beam_size = beam_size
        self._window: Window = window
        self._margin_frames = round(window_margin_seconds * FRAMES_PER_SECOND)
        self._min_frames = round(window_min_seconds * FRAMES_PER_SECOND)
        self._lead_samples = round(window_lead_seconds * SAMPLE_RATE)
        self._prompt_budget = min(prompt_tokens, PROMPT_TOKENS)
        self._vocabularies = vocabularies or {}
        self._multilingual = bool(self._model.model.is_multilingual)
        self._n_mels = int(self._model.feature_extractor.mel_filters.shape[0])
        self.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32), RecognitionOptions("en"))

    @property
    def name(self) -> str:
        """Name of the model, e.g. "whisper-base"."""
        return self._name

    @property
    def model(self) -> Any:
        """The faster-whisper model underneath (for benchmarks comparing with its defaults)."""
        return self._model

    @property
    def multilingual(self) -> bool:
        """Whether the model knows languages other than English."""
        return self._multilingual

    def transcribe(self, audio: Audio, options: RecognitionOptions) -> Transcription:
        """Transcribe 16 kHz mono ``audio`` (blocking: call it from a worker thread)."""
        duration = audio.size / SAMPLE_RATE
        lead_frames = self._lead_samples / HOP
        fits = duration * FRAMES_PER_SECOND + lead_frames + self._margin_frames <= FULL_FRAMES
        if self._window == "fitted" and fits and not options.word_offsets:
            fitted = self._transcribe_fitted(audio, options, self._min_frames)
            if isinstance(fitted, Transcription):
                return fitted
            if fitted == "repeats" and 2 * self._min_frames < FULL_FRAMES:
                # A short answer said twice ("Yes. Yes.") is the small window's own failure:
                # a window twice as long (about 0.4 s here) fixes it where the 30-second
                # window costs about 0.8 s ("Yes." from hibari: 0.60 s instead of 0.87 s).
                retried = self._transcribe_fitted(audio, options, 2 * self._min_frames)
                if isinstance(retried, Transcription):
                    return retried
            return self._transcribe_full(audio, options, fallback=True)
        return self._transcribe_full(audio, options, fallback=False)

    # The fitted-window path: CTranslate2 called directly.
    def _transcribe_fitted(
        self, audio: Audio, options: RecognitionOptions, min_frames: int
    ) -> Transcription | Literal["unsure", "repeats"]:
        """Decode on a window fitted to ``audio``, or say why the result looks unreliable."""
        duration = audio.size / SAMPLE_RATE
        frames = math.ceil((audio.size + self._lead_samples) / HOP)
        fitted = math.ceil((frames + self._margin_frames) / FRAME_QUANTUM) * FRAME_QUANTUM
        # Below about 8 s Whisper tends to say a short answer twice ("7 7"); the floor avoids
        # most such retries on the 30-second path at a small encoder cost.
        window = min(FULL_FRAMES, max(fitted, min_frames))
        # Pad with silence before the mel transform, as Whisper's training data was padded,
        # rather than padding the features with zeros (which is not what silence looks like).
        # 0.15 s of silence before the speech too: audio cut at its first sound had its first
        # word misheard ("Ever tried" as "Never tried"); it lowered WER on every set (hibari
        # 2.69 -> 2.27%, Piper joe 5.79 -> 4.96%, espeak-ng 18.4 -> 17.1%; 0.3 and 0.5 s less so).
        lead = self._lead_samples
        silent = np.pad(audio, (lead, max(0, window * HOP - audio.size - lead)))
        padded = np.ascontiguousarray(self._model.feature_extractor(silent)[:, :window])
        model = self._model.model
        encoded = model.encode(get_ctranslate2_storage(padded[np.newaxis]), to_cpu=False)
        language, probability = self._language(options, encoded)
        tokenizer = self._tokenizer(language)
        prompt = [
            tokenizer.sot_prev,
            *self._prompt_tokens(language, options.vocabulary),
            *tokenizer.sot_sequence,
            tokenizer.no_timestamps,
        ]
        max_new = min(int(duration * TOKENS_PER_SECOND) + 16, self._model.max_length - len(prompt))
        result = model.generate(
            encoded,
            [prompt],
            beam_size=self._beam_size,
            max_length=len(prompt) + max_new,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
        )[0]
        tokens = result.sequences_ids[0]
        text = tokenizer.decode(tokens).strip()
        average = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_THRESHOLD and average < LOGPROB_THRESHOLD:
            text = ""
        elif _repeats(text):
            return "repeats"
        elif average < LOGPROB_THRESHOLD or _compression_ratio(text) > COMPRESSION_RATIO_THRESHOLD:
            return "unsure"
        segments = (Segment(text, 0.0, duration, float(math.exp(average))),) if text else ()
        return Transcription(
            text=text,
            segments=segments,
            language_code=language,
            language_probability=probability,
            duration=duration,
            details={"window_seconds": window / FRAMES_PER_SECOND, "fallback": 0.0},
        )

    def _language(self, options: RecognitionOptions, encoded: Any) -> tuple[str, float]:
        """Return the language to decode in and its probability (detected when not given)."""
        if not self._multilingual:
            return "en", 1.0
        if options.language:
            return options.language, 1.0
        token, probability = self._model.model.detect_language(encoded)[0][0]
        return str(token)[2:-2], float(probability)

    # The ordinary path: faster-whisper's own 30-second windows.
    def _transcribe_full(
        self, audio: Audio, options: RecognitionOptions, *, fallback: bool
    ) -> Transcription:
        """Transcribe with faster-whisper's padded 30-second windows (any length, word times)."""
        duration = audio.size / SAMPLE_RATE
        language = options.language if self._multilingual else "en"
        if language is None:
            language, probability, _ = self._model.detect_language(audio)
        else:
            probability = 1.0
        segments, _ = self._model.transcribe(
            audio,
            language=language,
            beam_size=self._beam_size,
            initial_prompt=self._prompt_tokens(language, options.vocabulary) or None,
            condition_on_previous_text=False,
            word_timestamps=options.word_offsets,
            without_timestamps=duration <= FULL_FRAMES / FRAMES_PER_SECOND
            and not options.word_offsets,
            vad_filter=False,
        )
        found = tuple(
            Segment(
                text=segment.text.strip(),
                start=float(segment.start),
                end=float(min(segment.end, duration)),
                confidence=float(math.exp(segment.avg_logprob)),
                words=tuple(
                    Word(
                        word.word.strip(),
                        float(word.start),
                        float(word.end),
                        float(word.probability),
                    )
                    for word in segment.words or ()
                ),
            )
            for segment in segments
            if segment.text.strip()
        )
        return Transcription(
            text=" ".join(segment.text for segment in found),
            segments=found,
            language_code=language,
            language_probability=float(probability),
            duration=duration,
            details={
                "window_seconds": FULL_FRAMES / FRAMES_PER_SECOND,
                "fallback": 1.0 if fallback else 0.0,
            },
        )

    @lru_cache(maxsize=16)  # noqa: B019 - one recogniser per process, kept for its lifetime
    def _tokenizer(self, language: str) -> Tokenizer:
        return Tokenizer(
            self._model.hf_tokenizer, self._multilingual, task="transcribe", language=language
        )

    def _prompt_tokens(self, language: str, hints: Iterable[str]) -> list[int]:
        """Encode hints then the built-in vocabulary as far as Whisper's prompt limit allows.

        The words are framed as a finished sentence ("... such as amoxicillin, warfarin."): a
        bare comma-separated list made Whisper continue the list instead of transcribing.
        """
        words = prompt_words(hints, self._vocabularies.get(language, ()))
        if not words:
            return []
        tokens = list(self._word_tokens(PROMPT_PREFIX.get(language, PROMPT_PREFIX["en"])))
        end = self._word_tokens(".")
        for index, word in enumerate(words):
            piece = self._word_tokens(word if index == 0 else f", {word}")
            if len(tokens) + len(piece) + len(end) > self._prompt_budget:
                break
            tokens.extend(piece)
        return [*tokens, *end]

    @lru_cache(maxsize=4096)  # noqa: B019 - bounded; the vocabulary is fixed per process
    def _word_tokens(self, text: str) -> tuple[int, ...]:
        spaced = text if text.startswith((",", ".")) else " " + text
        return tuple(self._model.hf_tokenizer.encode(spaced, add_special_tokens=False).ids)


def _compression_ratio(text: str) -> float:
    """Whisper's repetition check: how much zlib shrinks the text (high = looping)."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def _repeats(text: str) -> bool:
    """Whether ``text`` repeats itself ("front left front left"), the fitted window's failure.

    Short windows sometimes make Whisper say the utterance twice; such a decode is redone on
    the 30-second window. A whole text made of one phrase said again, or any three words said
    twice, counts.
    """
    words = re.findall(r"\w+", text.casefold())
    count = len(words)
    for size in range(1, count // 2 + 1):
        if count % size == 0 and words == words[:size] * (count // size):
            return True
    trigrams = [tuple(words[index : index + 3]) for index in range(count - 2)]
    return len(trigrams) != len(set(trigrams))
