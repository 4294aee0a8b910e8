"""Process start of the stt service: load the Whisper model once, then serve.

`SttProcess.start` assembles and checks the packaged model (adapters/models.py; a wrong sha256
stops the service before it reports healthy), loads it and decodes one second of silence, in
a thread so the event loop stays free, so the first patient does not wait for the model. The
gRPC server is registered only after that, which makes readiness mean "can transcribe now".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import grpc
from voiceassist_common.logging import safe
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_stt.adapters.models import PACKAGED_MODELS, prepare_model
from voiceassist_stt.adapters.queue import RecognitionQueue
from voiceassist_stt.adapters.vocabulary import load_vocabularies
from voiceassist_stt.adapters.whisper import WhisperRecognizer
from voiceassist_stt.config import Settings
from voiceassist_stt.handlers.grpc import Limits, registrar

logger = logging.getLogger(__name__)

__all__ = ["SttProcess", "load_recognizer", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the stt service until SIGTERM."""
    read_command(argv, prog="stt", migrates=False)
    settings = load_settings(Settings)
    process = SttProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


def load_recognizer(settings: Settings) -> WhisperRecognizer:
    """Prepare, check and load the configured model (blocking: seconds)."""
    model_dir = prepare_model(settings.stt_model, settings.stt_model_cache_dir)
    return WhisperRecognizer(
        model_dir,
        name=settings.stt_model,
        compute_type=settings.stt_compute_type,
        cpu_threads=settings.stt_cpu_threads,
        workers=settings.stt_workers,
        beam_size=settings.stt_beam_size,
        window=settings.stt_window,
        window_margin_seconds=settings.stt_window_margin_seconds,
        window_min_seconds=settings.stt_window_min_seconds,
        prompt_tokens=settings.stt_prompt_tokens,
        vocabularies=load_vocabularies() if settings.stt_medical_prompt else {},
    )


class SttProcess:
    """What one serving process holds: the loaded recogniser and its queue."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._queue: RecognitionQueue | None = None

    async def start(self) -> None:
        """Load the model (in a thread) before the server accepts calls."""
        settings = self._settings
        recognizer = await asyncio.to_thread(load_recognizer, settings)
        self._queue = RecognitionQueue(
            recognizer, workers=settings.stt_workers, capacity=settings.stt_queue_size
        )
        logger.info(
            "model %s loaded (%s, window %s, licence %s)",
            safe(recognizer.name),
            safe(settings.stt_compute_type),
            safe(settings.stt_window),
            safe(PACKAGED_MODELS[settings.stt_model].licence),
        )

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add SpeechToTextService over the queue `start` made."""
        if self._queue is None:
            raise RuntimeError("register() runs after start()")
        settings = self._settings
        limits = Limits(
            max_audio_seconds=settings.stt_max_audio_seconds,
            max_utterance_seconds=settings.stt_max_utterance_seconds,
            partial_interval_seconds=settings.stt_partial_interval_seconds,
            endpoint_silence_seconds=settings.stt_endpoint_silence_seconds,
        )
        return registrar(self._queue, limits)(server)

    async def stop(self) -> None:
        """Stop taking transcriptions."""
        if self._queue is not None:
            self._queue.close()
