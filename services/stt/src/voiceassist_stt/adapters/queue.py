"""The bounded queue in front of the recogniser: a few transcriptions at once, a few waiting.

Whisper on two shared cores cannot take every request at once, and a request left to wait
behind a long queue would time out anyway. So at most ``workers`` transcriptions run (each in a
worker thread, so the event loop keeps serving health checks and other streams) and at most
``capacity`` more wait; the next is refused at once with RESOURCE_EXHAUSTED and a message saying
so, which the voice proxy can tell the patient about instead of going silent.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor

from voiceassist_common.errors import ResourceExhausted

from voiceassist_stt.domain.recognition import (
    Audio,
    RecognitionOptions,
    Recognizer,
    Transcription,
)


class RecognitionQueueFull(ResourceExhausted):
    """Every worker is busy and the queue is full."""


class RecognitionQueue:
    """Run a `Recognizer` in worker threads, refusing work beyond a fixed bound."""

    def __init__(self, recognizer: Recognizer, *, workers: int, capacity: int) -> None:
        self.recognizer = recognizer
        self.workers = workers
        self.capacity = capacity
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stt")
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Transcriptions running or waiting now."""
        return self._admitted

    def has_room(self) -> bool:
        """Whether a transcription submitted now would be accepted."""
        return self._admitted < self.workers + self.capacity

    async def transcribe(self, audio: Audio, options: RecognitionOptions) -> Transcription:
        """Transcribe in a worker thread; raises `RecognitionQueueFull` at once when full."""
        if not self.has_room():
            raise RecognitionQueueFull(
                f"speech recognition is at capacity ({self.workers} running, {self.capacity} "
                "waiting); retry shortly"
            )
        loop = asyncio.get_running_loop()
        self._admitted += 1
        future: Future[Transcription] = self._executor.submit(
            self.recognizer.transcribe, audio, options
        )

        def release(_: Future[Transcription]) -> None:
            # Released when the thread is done, not when the caller gives up: a cancelled RPC
            # still occupies its worker until Whisper returns.
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._release)

        future.add_done_callback(release)
        return await asyncio.wrap_future(future)

    def _release(self) -> None:
        self._admitted -= 1

    def close(self) -> None:
        """Stop taking work; waiting transcriptions are dropped."""
        self._executor.shutdown(wait=False, cancel_futures=True)
