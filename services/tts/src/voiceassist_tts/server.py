"""Process start of the tts service: ``serve`` (the default) or ``prewarm``.

Serving loads the installed voices once (in a worker thread, about two seconds), then serves
while a background task synthesises every fixed prompt into the cache between calls: readiness
waits for the models only, never for the warm-up. ``prewarm`` synthesises the fixed prompts
into TTS_CACHE_DIR and exits, so an image or a data volume can carry them ready-made.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

import grpc
from voiceassist_common.logging import configure_logging, safe
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_tts.adapters.engines import load_installed_voices
from voiceassist_tts.adapters.prompt_cache import PromptCache
from voiceassist_tts.adapters.prompts import Prompt, find_triage_knowledge, fixed_prompts
from voiceassist_tts.config import Settings
from voiceassist_tts.handlers.grpc import registrar
from voiceassist_tts.handlers.synthesis import SpeechSynthesis

__all__ = ["TtsProcess", "main", "prewarm"]

logger = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the tts service until SIGTERM, or fill the prompt cache with ``prewarm``."""
    if argv is None:
        import sys

        argv = sys.argv[1:]
    if list(argv[:1]) == ["prewarm"]:
        parser = argparse.ArgumentParser(
            prog="tts prewarm",
            description="Synthesise every fixed prompt into TTS_CACHE_DIR and exit.",
        )
        parser.parse_args(argv[1:])
        settings = load_settings(Settings)
        configure_logging(settings.service_name, settings.log_level)
        raise SystemExit(asyncio.run(prewarm(settings)))
    read_command(argv, prog="tts", migrates=False)
    settings = load_settings(Settings)
    process = TtsProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


def _prompts(settings: Settings) -> list[Prompt]:
    return fixed_prompts(settings.tts_prompts_knowledge_dir or find_triage_knowledge())


def _synthesis(settings: Settings) -> SpeechSynthesis:
    voices = load_installed_voices(piper=settings.tts_piper)
    if not voices:
        raise RuntimeError("no voice could be loaded: install hibari-tts or espeak-ng")
    cache = PromptCache(
        memory_bytes=settings.tts_cache_memory_mb * 1024 * 1024, directory=settings.tts_cache_dir
    )
    return SpeechSynthesis(
        voices, cache, workers=settings.tts_workers, max_requests=settings.tts_max_requests
    )


async def prewarm(settings: Settings) -> int:
    """Synthesise the fixed prompts into TTS_CACHE_DIR; return the exit status."""
    if settings.tts_cache_dir is None:
        logger.error("prewarm needs TTS_CACHE_DIR: the directory to write the prompts to")
        return 2
    synthesis = await asyncio.to_thread(_synthesis, settings)
    try:
        prompts = _prompts(settings)
        started = time.perf_counter()
        rendered = await synthesis.warm(prompts, persist=True)
        logger.info(
            "prewarm: %d prompts, %d sentences synthesised in %.1f s",
            len(prompts),
            rendered,
            time.perf_counter() - started,
        )
    finally:
        synthesis.close()
    return 0


class TtsProcess:
    """What one serving process holds: the loaded voices, the cache and the warm-up task."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._synthesis: SpeechSynthesis | None = None
        self._warm_up: asyncio.Task[None] | None = None

    @property
    def synthesis(self) -> SpeechSynthesis | None:
        """The synthesis pipeline once `start` has loaded the voices."""
        return self._synthesis

    async def start(self) -> None:
        """Load the voices off the event loop, then start the warm-up in the background."""
        self._synthesis = await asyncio.to_thread(_synthesis, self._settings)
        if self._settings.tts_prewarm:
            self._warm_up = asyncio.create_task(self._warm(), name="tts-prewarm")

    async def _warm(self) -> None:
        synthesis = self._synthesis
        assert synthesis is not None  # noqa: S101 - started after the voices
        prompts = await asyncio.to_thread(_prompts, self._settings)
        started = time.perf_counter()
        rendered = await synthesis.warm(prompts, persist=True)
        logger.info(
            "fixed prompts ready: %d prompts, %d sentences synthesised in %.1f s",
            len(prompts),
            rendered,
            time.perf_counter() - started,
        )

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add TextToSpeechService over what `start` loaded."""
        if self._synthesis is None:
            raise RuntimeError("register() runs after start()")
        return registrar(self._synthesis, max_text_chars=self._settings.tts_max_text_chars)(server)

    async def stop(self) -> None:
        """Stop the warm-up and the worker threads."""
        if self._warm_up is not None:
            self._warm_up.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._warm_up
        if self._synthesis is not None:
            self._synthesis.close()
        logger.info("%s stopped", safe(self._settings.service_name))
