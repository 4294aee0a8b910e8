"""A busy recogniser refuses more work at once instead of letting it time out."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from voiceassist_stt.adapters.queue import RecognitionQueue, RecognitionQueueFull
from voiceassist_stt.domain.recognition import Audio, RecognitionOptions, Transcription


class HeldRecognizer:
    """A recogniser that does not answer until released (a fake standing in for Whisper)."""

    name = "held"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def transcribe(self, audio: Audio, options: RecognitionOptions) -> Transcription:
        self.started.release()
        self.release.wait(timeout=30)
        return Transcription("done", (), "en", 1.0, audio.size / 16_000)


async def test_work_beyond_the_workers_and_the_queue_is_refused_at_once() -> None:
    recognizer = HeldRecognizer()
    queue = RecognitionQueue(recognizer, workers=1, capacity=1)
    audio = np.zeros(16_000, dtype=np.float32)
    try:
        running = asyncio.create_task(queue.transcribe(audio, RecognitionOptions()))
        waiting = asyncio.create_task(queue.transcribe(audio, RecognitionOptions()))
        await asyncio.to_thread(recognizer.started.acquire, timeout=10)

        with pytest.raises(RecognitionQueueFull, match="at capacity"):
            await queue.transcribe(audio, RecognitionOptions())

        recognizer.release.set()
        assert [result.text for result in await asyncio.gather(running, waiting)] == [
            "done",
            "done",
        ]
        assert queue.admitted == 0
        assert queue.has_room()
    finally:
        recognizer.release.set()
        queue.close()
