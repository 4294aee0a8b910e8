"""The stt and tts services as the conversation uses them, called as the patient.

`Recognition` is one turn's streaming recognition: opened when the patient starts speaking, fed
16 kHz PCM16 as it arrives (with the pre-roll before it), half-closed when the turn ends; it
reports partial transcripts as they come and returns the turn's text (the finals the recogniser
gave, joined). `speak` streams a reply's audio sentence by sentence at the client's playback
rate. Both forward the patient's token; deadlines bound them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from voiceassist.common.v1 import audio_pb2, language_pb2
from voiceassist.stt.v1 import stt_pb2
from voiceassist.tts.v1 import tts_pb2

if TYPE_CHECKING:
    from voiceassist.stt.v1.stt_pb2_grpc import SpeechToTextServiceAsyncStub
    from voiceassist.tts.v1.tts_pb2_grpc import TextToSpeechServiceAsyncStub

__all__ = ["Recognition", "speak"]

RECOGNITION_SECONDS = 90.0
SPEAK_SECONDS = 60.0

_LANGUAGES = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}


class Recognition:
    """One turn's streaming recognition."""

    def __init__(
        self,
        stub: SpeechToTextServiceAsyncStub,
        metadata: Sequence[tuple[str, str]],
        *,
        language: str,
        expected: Sequence[str],
        on_partial: Callable[[str], Awaitable[None]],
    ) -> None:
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._on_partial = on_partial
        config = stt_pb2.RecognitionConfig(
            encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
            sample_rate_hertz=16_000,
            language=_LANGUAGES.get(language, language_pb2.LANGUAGE_ENGLISH),
            expected_answers=[
                stt_pb2.ExpectedAnswer(value=text, phrases=[text]) for text in expected if text
            ],
        )
        self._first = stt_pb2.StreamingRecognizeRequest(
            streaming_config=stt_pb2.StreamingRecognitionConfig(config=config, partial_results=True)
        )
        self._call: Any = stub.StreamingRecognize(
            self._requests(), metadata=tuple(metadata), timeout=RECOGNITION_SECONDS
        )
        self._finals: list[str] = []
        self._answer = ""
        self.latency_seconds: float | None = None
        self._reading = asyncio.create_task(self._read())

    async def _requests(self) -> AsyncIterator[stt_pb2.StreamingRecognizeRequest]:
        yield self._first
        while (chunk := await self._chunks.get()) is not None:
            yield stt_pb2.StreamingRecognizeRequest(audio_chunk=chunk)

    async def _read(self) -> None:
        async for response in self._call:
            text = response.result.transcript.strip()
            if response.is_final:
                if text:
                    self._finals.append(text)
                if response.result.answer.value:
                    self._answer = response.result.answer.value
                if response.HasField("latency"):
                    self.latency_seconds = response.latency.ToTimedelta().total_seconds()
            elif text:
                await self._on_partial(" ".join([*self._finals, text]))

    def send(self, pcm16: bytes) -> None:
        """Queue 16 kHz PCM16 audio of the turn."""
        self._chunks.put_nowait(pcm16)

    async def finish(self) -> str:
        """End the turn's audio and return its text (the expected answer when one matched)."""
        self._chunks.put_nowait(None)
        await self._reading
        text = " ".join(self._finals)
        # A recognised short answer ("yeah") reads better as the expected wording ("Yes").
        return self._answer or text

    async def cancel(self) -> None:
        """Drop the turn (the client ended the conversation)."""
        self._chunks.put_nowait(None)
        self._call.cancel()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reading


async def speak(
    stub: TextToSpeechServiceAsyncStub,
    metadata: Sequence[tuple[str, str]],
    *,
    text: str,
    language: str,
    sample_rate: int,
) -> AsyncIterator[tuple[int, bytes]]:
    """Yield (sample rate, PCM16 chunk) of ``text`` spoken in ``language``, as synthesised."""
    call = stub.Synthesize(
        tts_pb2.SynthesizeRequest(
            text=text,
            language=_LANGUAGES.get(language, language_pb2.LANGUAGE_ENGLISH),
            encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
            sample_rate_hertz=sample_rate,
        ),
        metadata=tuple(metadata),
        timeout=SPEAK_SECONDS,
    )
    rate = sample_rate
    async for response in call:
        if response.HasField("format"):
            rate = response.format.sample_rate_hertz or rate
        if response.audio_chunk:
            yield rate, response.audio_chunk
