"""The synthesis pipeline the gRPC handler drives: voice choice, cache, worker threads, admission.

Text is split into sentences (domain/sentences.py); each sentence is looked up in the prompt
cache and only synthesised on a miss, in a worker thread (engines are CPU-bound: the event loop
that answers every other call never waits for one). The next sentence is synthesised while the
current one is being sent, so a paragraph streams without gaps after the first sentence.

Capacity is bounded twice: ``workers`` threads synthesise at once, and at most ``max_requests``
calls are in progress or waiting; one more is refused at once with RESOURCE_EXHAUSTED rather
than queued behind minutes of work. The warm-up of fixed prompts runs only while no call is in
progress, so it never delays a patient's audio.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from prometheus_client import Counter
from voiceassist_common.errors import ResourceExhausted
from voiceassist_common.logging import safe

from voiceassist_tts.adapters.prompt_cache import PromptCache, cache_key
from voiceassist_tts.adapters.prompts import Prompt
from voiceassist_tts.adapters.synthesizer import SynthesisError, Synthesizer
from voiceassist_tts.domain.audio import PCM16
from voiceassist_tts.domain.sentences import split_sentences
from voiceassist_tts.domain.voices import Language, Voice

__all__ = [
    "CACHE_LOOKUPS",
    "MAX_SPEED",
    "MIN_SPEED",
    "NoVoiceForLanguageError",
    "SentenceAudio",
    "SpeechSynthesis",
    "UnknownVoiceError",
    "normal_speed",
]

logger = logging.getLogger(__name__)

MIN_SPEED = 0.5
MAX_SPEED = 2.0

CACHE_LOOKUPS = Counter(
    "voiceassist_tts_cache_lookups",
    "Sentences looked up in the prompt cache, by engine and result (hit or miss).",
    ["engine", "result"],
)


class UnknownVoiceError(LookupError):
    """No installed voice has the id asked for."""


class NoVoiceForLanguageError(LookupError):
    """No installed voice speaks the language asked for."""


@dataclass(frozen=True)
class SentenceAudio:
    """One sentence's audio at the voice's native rate."""

    index: int
    pcm: PCM16
    cached: bool


def normal_speed(speaking_rate: float) -> float:
    """Return the speaking rate an engine gets: 0 is normal; clamped to 0.5-2.0; two decimals."""
    if speaking_rate == 0:
        return 1.0
    return round(min(max(speaking_rate, MIN_SPEED), MAX_SPEED), 2)


class SpeechSynthesis:
    """The installed voices, the cache and the worker threads, shared by every call."""

    def __init__(
        self,
        synthesizers: Sequence[Synthesizer],
        cache: PromptCache,
        *,
        workers: int = 2,
        max_requests: int = 8,
    ) -> None:
        self._by_id = {synthesizer.voice.voice_id: synthesizer for synthesizer in synthesizers}
        self._defaults: dict[Language, Synthesizer] = {}
        for synthesizer in synthesizers:
            self._defaults.setdefault(synthesizer.voice.language, synthesizer)
        self._cache = cache
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tts-engine")
        self._max_requests = max_requests
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def voices(self, language: Language | None = None) -> list[tuple[Voice, bool]]:
        """Installed voices (of ``language`` if given), each with whether it is the default."""
        return [
            (synthesizer.voice, self._defaults.get(synthesizer.voice.language) is synthesizer)
            for synthesizer in self._by_id.values()
            if language is None or synthesizer.voice.language == language
        ]

    def choose(self, voice_id: str, language: Language | None) -> Synthesizer:
        """Return the voice named, else the default of ``language`` (English when unspecified)."""
        if voice_id:
            synthesizer = self._by_id.get(voice_id)
            if synthesizer is None:
                raise UnknownVoiceError(voice_id)
            return synthesizer
        synthesizer = self._defaults.get(language or Language.EN)
        if synthesizer is None:
            raise NoVoiceForLanguageError(language or Language.EN)
        return synthesizer

    @property
    def busy(self) -> bool:
        """Whether any call is in progress (the warm-up waits until none is)."""
        return self._active > 0

    @contextlib.asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold one of the ``max_requests`` places, or refuse with RESOURCE_EXHAUSTED."""
        if self._active >= self._max_requests:
            raise ResourceExhausted(
                f"speech synthesis is at capacity ({self._max_requests} requests in progress); "
                "retry shortly"
            )
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def speak(
        self, synthesizer: Synthesizer, sentences: Sequence[str], *, speed: float = 1.0
    ) -> AsyncIterator[SentenceAudio]:
        """Yield each sentence's audio in order, as soon as it is ready."""
        if not sentences:
            return
        pending = asyncio.ensure_future(self._render(synthesizer, sentences[0], speed))
        try:
            for index in range(len(sentences)):
                pcm, cached = await pending
                if index + 1 < len(sentences):
                    # Synthesise the next sentence while this one is sent and played.
                    pending = asyncio.ensure_future(
                        self._render(synthesizer, sentences[index + 1], speed)
                    )
                yield SentenceAudio(index, pcm, cached)
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, SynthesisError):
                    await pending

    async def _render(
        self, synthesizer: Synthesizer, sentence: str, speed: float
    ) -> tuple[PCM16, bool]:
        voice = synthesizer.voice
        key = cache_key(voice, speed, sentence)
        audio = await self._cached(key)
        CACHE_LOOKUPS.labels(voice.engine, "miss" if audio is None else "hit").inc()
        if audio is not None:
            return audio, True
        audio = await self._synthesize(synthesizer, sentence, speed)
        self._cache.put(key, audio)
        return audio, False

    async def _cached(self, key: str) -> PCM16 | None:
        audio = self._cache.peek(key)
        if audio is None and self._cache.on_disk(key):
            audio = await asyncio.to_thread(self._cache.get, key)
        return audio

    async def _synthesize(self, synthesizer: Synthesizer, sentence: str, speed: float) -> PCM16:
        loop = asyncio.get_running_loop()
        work = functools.partial(synthesizer.synthesize, sentence, speed=speed)
        return await loop.run_in_executor(self._executor, work)

    async def warm(self, prompts: Sequence[Prompt], *, persist: bool = True) -> int:
        """Synthesise every fixed prompt not cached yet, between calls; return how many.

        Each prompt is spoken by its language's default voice at normal speed, split exactly
        as a call would split it, so a call finds its sentences. ``persist`` writes them to the
        cache directory too, when one is configured.
        """
        rendered = 0
        for prompt in prompts:
            synthesizer = self._defaults.get(prompt.language)
            if synthesizer is None:
                continue
            for sentence in split_sentences(prompt.text, prompt.language):
                key = cache_key(synthesizer.voice, 1.0, sentence)
                if self._cache.peek(key) is not None or self._cache.on_disk(key):
                    continue
                await self._idle.wait()  # calls first: the warm-up only fills idle time
                try:
                    audio = await self._synthesize(synthesizer, sentence, 1.0)
                except SynthesisError as error:
                    logger.warning("a fixed prompt was not synthesised (%s)", safe(str(error)))
                    continue
                self._cache.put(key, audio, persist=persist)
                rendered += 1
        return rendered

    def close(self) -> None:
        """Stop the worker threads once the work in hand is done."""
        self._executor.shutdown(wait=False, cancel_futures=True)
