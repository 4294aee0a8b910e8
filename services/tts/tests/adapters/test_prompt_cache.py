"""Cached sentences come back unchanged; only fixed prompts reach the disk; memory stays bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from voiceassist_tts.adapters.prompt_cache import PromptCache, cache_key
from voiceassist_tts.domain.voices import Language, Voice

VOICE = Voice("v", "V", Language.EN, "engine", "MIT", 16_000)


def _audio(samples: int, value: int = 7) -> np.ndarray:
    return np.full(samples, value, dtype=np.int16)


def test_keys_differ_by_voice_speed_and_text_and_never_show_the_text() -> None:
    other = Voice("w", "W", Language.EN, "engine", "MIT", 16_000)
    keys = {
        cache_key(VOICE, 1.0, "Hello."),
        cache_key(VOICE, 1.0, "Hello!"),
        cache_key(VOICE, 1.2, "Hello."),
        cache_key(other, 1.0, "Hello."),
    }

    assert len(keys) == 4
    assert all("Hello" not in key for key in keys)


def test_the_least_recently_used_sentence_leaves_memory_first() -> None:
    cache = PromptCache(memory_bytes=3 * 200)
    for name in ("a", "b", "c"):
        cache.put(name, _audio(100))
    assert cache.get("a") is not None  # a is now the most recent

    cache.put("d", _audio(100))

    assert cache.get("b") is None
    assert [cache.get(name) is not None for name in ("a", "c", "d")] == [True, True, True]
    assert cache.memory_bytes == 600


def test_fixed_prompts_survive_a_restart_but_other_text_never_touches_the_disk(
    tmp_path: Path,
) -> None:
    cache = PromptCache(memory_bytes=1 << 20, directory=tmp_path)
    prompt_key, private_key = cache_key(VOICE, 1.0, "Fixed."), cache_key(VOICE, 1.0, "Private.")
    cache.put(prompt_key, _audio(50, 3), persist=True)
    cache.put(private_key, _audio(50, 4))

    restarted = PromptCache(memory_bytes=1 << 20, directory=tmp_path)

    restored = restarted.get(prompt_key)
    assert restored is not None
    assert restored.tolist() == [3] * 50
    assert restarted.on_disk(prompt_key)
    assert restarted.get(private_key) is None
    assert len([path for path in tmp_path.rglob("*") if path.is_file()]) == 1
