"""The pipeline serves cached sentences without an engine, bounds its work and yields to calls."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from voiceassist_common.errors import ResourceExhausted
from voiceassist_tts.adapters.prompt_cache import PromptCache
from voiceassist_tts.adapters.prompts import Prompt
from voiceassist_tts.domain.audio import PCM16
from voiceassist_tts.domain.voices import Language, Voice
from voiceassist_tts.handlers.synthesis import (
    NoVoiceForLanguageError,
    SpeechSynthesis,
    UnknownVoiceError,
    normal_speed,
)


class RecordingVoice:
    """A fake engine: one sample per character, every sentence it was asked for recorded."""

    def __init__(self, voice_id: str, language: Language, gate: threading.Event | None = None):
        self._voice = Voice(voice_id, voice_id, language, "fake", "MIT", 16_000)
        self.spoken: list[str] = []
        self._gate = gate

    @property
    def voice(self) -> Voice:
        return self._voice

    def synthesize(self, text: str, *, speed: float = 1.0) -> PCM16:
        if self._gate is not None:
            assert self._gate.wait(timeout=30)
        self.spoken.append(text)
        return np.full(len(text), 100, dtype=np.int16)


def _synthesis(*voices: RecordingVoice, max_requests: int = 8) -> SpeechSynthesis:
    cache = PromptCache(memory_bytes=1 << 20)
    return SpeechSynthesis(voices, cache, workers=2, max_requests=max_requests)


async def _speak(synthesis: SpeechSynthesis, voice: RecordingVoice, *sentences: str) -> list[bool]:
    return [audio.cached async for audio in synthesis.speak(voice, list(sentences))]


async def test_the_second_request_is_served_from_the_cache_without_synthesis() -> None:
    voice = RecordingVoice("en", Language.EN)
    synthesis = _synthesis(voice)

    first = await _speak(synthesis, voice, "Hello.", "How are you?")
    second = await _speak(synthesis, voice, "Hello.", "Anything else?")

    assert first == [False, False]
    assert second == [True, False]
    assert voice.spoken == ["Hello.", "How are you?", "Anything else?"]


async def test_sentences_come_back_in_order_with_their_audio() -> None:
    voice = RecordingVoice("en", Language.EN)
    synthesis = _synthesis(voice)

    sizes = [(a.index, a.pcm.size) async for a in synthesis.speak(voice, ["One.", "Three."])]

    assert sizes == [(0, 4), (1, 6)]


async def test_a_full_service_refuses_at_once_and_recovers_when_work_ends() -> None:
    gate = threading.Event()
    voice = RecordingVoice("en", Language.EN, gate)
    synthesis = _synthesis(voice, max_requests=1)

    async def busy() -> list[bool]:
        async with synthesis.admitted():
            return await _speak(synthesis, voice, "Slow.")

    running = asyncio.create_task(busy())
    await asyncio.sleep(0)  # let it take the only place
    with pytest.raises(ResourceExhausted, match="at capacity"):
        async with synthesis.admitted():
            pass
    gate.set()
    assert await running == [False]
    async with synthesis.admitted():
        pass


async def test_the_warm_up_waits_while_a_call_is_in_progress() -> None:
    gate = threading.Event()
    voice = RecordingVoice("en", Language.EN, gate)
    synthesis = _synthesis(voice)
    prompts = [Prompt(Language.EN, "Call emergency services now. Do not drive.")]

    async with synthesis.admitted():
        warm = asyncio.create_task(synthesis.warm(prompts))
        await asyncio.sleep(0.05)
        assert voice.spoken == []  # nothing started while the call holds its place
    gate.set()

    assert await warm == 2
    assert await _speak(synthesis, voice, "Call emergency services now.", "Do not drive.") == [
        True,
        True,
    ]
    assert await synthesis.warm(prompts) == 0


def test_the_first_voice_of_a_language_is_its_default() -> None:
    english, joe, french = (
        RecordingVoice("en-1", Language.EN),
        RecordingVoice("en-2", Language.EN),
        RecordingVoice("fr-1", Language.FR),
    )
    synthesis = _synthesis(english, joe, french)

    assert synthesis.choose("", None) is english
    assert synthesis.choose("", Language.FR) is french
    assert synthesis.choose("en-2", Language.FR) is joe
    assert [(v.voice_id, d) for v, d in synthesis.voices(Language.EN)] == [
        ("en-1", True),
        ("en-2", False),
    ]
    with pytest.raises(UnknownVoiceError):
        synthesis.choose("nobody", None)
    with pytest.raises(NoVoiceForLanguageError):
        synthesis.choose("", Language.UR)


def test_speaking_rates_are_normal_when_unset_and_clamped() -> None:
    assert [normal_speed(r) for r in (0.0, 1.234, 0.1, 5.0)] == [1.0, 1.23, 0.5, 2.0]
