"""The cache of synthesised sentences that lets fixed prompts play at once.

Synthesize looks here before it asks an engine. Entries are keyed by engine, voice, native
rate, speaking rate and a hash of the sentence, and hold PCM16 at the voice's native rate
(resampling to the rate a caller asks for is a few milliseconds). Two layers:

- memory: a least-recently-used map bounded in bytes, holding whatever was synthesised lately
  (fixed prompts warmed at start, and the dialog's own sentences after their first use);
- disk (optional, TTS_CACHE_DIR): fixed prompts only, written by the warm-up or the
  ``prewarm`` command, so a restarted service has them without synthesising again. Arbitrary
  text may be PHI and is never written to disk; file names are hashes, never text.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from voiceassist_common.logging import safe

from voiceassist_tts.domain.audio import PCM16
from voiceassist_tts.domain.voices import Voice

__all__ = ["PromptCache", "cache_key"]

logger = logging.getLogger(__name__)

_FORMAT_VERSION = "1"
"""Part of every key: changing how audio is produced or stored changes it, orphaning old files."""


def cache_key(voice: Voice, speed: float, sentence: str) -> str:
    """Return the key of a sentence rendered by ``voice`` at ``speed`` (hex: text unreadable)."""
    material = "\x00".join(
        (
            _FORMAT_VERSION,
            voice.engine,
            voice.voice_id,
            str(voice.sample_rate),
            f"{speed:.2f}",
            sentence,
        )
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class PromptCache:
    """Memory LRU over an optional directory of fixed prompts; safe to use from any thread."""

    def __init__(self, *, memory_bytes: int, directory: Path | None = None) -> None:
        self._budget = memory_bytes
        self._used = 0
        self._entries: OrderedDict[str, PCM16] = OrderedDict()
        self._lock = threading.Lock()
        self._directory = directory
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    @property
    def directory(self) -> Path | None:
        """Where fixed prompts are kept across restarts, if anywhere."""
        return self._directory

    @property
    def memory_bytes(self) -> int:
        """Bytes of audio held in memory now."""
        with self._lock:
            return self._used

    def peek(self, key: str) -> PCM16 | None:
        """Return the audio held in memory under ``key``, or None (never touches the disk)."""
        with self._lock:
            audio = self._entries.get(key)
            if audio is not None:
                self._entries.move_to_end(key)
            return audio

    def get(self, key: str) -> PCM16 | None:
        """Return the audio stored under ``key`` in memory or on disk, or None."""
        with self._lock:
            audio = self._entries.get(key)
            if audio is not None:
                self._entries.move_to_end(key)
                return audio
        audio = self._read(key)
        if audio is not None:
            self._remember(key, audio)
        return audio

    def on_disk(self, key: str) -> bool:
        """Whether ``key`` is stored on disk (the warm-up skips those)."""
        return self._directory is not None and self._path(key).exists()

    def put(self, key: str, audio: PCM16, *, persist: bool = False) -> None:
        """Store ``audio``; ``persist`` (fixed prompts only, never PHI) also writes it to disk."""
        self._remember(key, audio)
        if persist and self._directory is not None:
            self._write(key, audio)

    def _remember(self, key: str, audio: PCM16) -> None:
        size = audio.nbytes
        if size > self._budget:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._used -= previous.nbytes
            self._entries[key] = audio
            self._used += size
            while self._used > self._budget:
                _, evicted = self._entries.popitem(last=False)
                self._used -= evicted.nbytes

    def _path(self, key: str) -> Path:
        assert self._directory is not None  # noqa: S101 - callers check
        return self._directory / key[:2] / f"{key}.pcm"

    def _read(self, key: str) -> PCM16 | None:
        if self._directory is None:
            return None
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            logger.warning("prompt cache file unreadable (%s)", safe(type(error).__name__))
            return None
        return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.int16)

    def _write(self, key: str, audio: PCM16) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed: a reader never sees half a file.
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(handle, "wb") as file:
                file.write(audio.astype("<i2").tobytes())
            Path(temporary).replace(path)
        except OSError as error:
            logger.warning("prompt cache file not written (%s)", safe(type(error).__name__))
