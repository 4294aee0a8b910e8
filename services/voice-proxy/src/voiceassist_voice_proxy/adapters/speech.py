"""The stt and tts services as the conversation uses them, called as the patient.

`Recognition` is one turn's streaming recognition, for the partial transcripts the patient sees
while speaking: opened when the patient starts, fed 16 kHz PCM16 as it arrives (with the
pre-roll before it), cancelled when the turn ends. `recognize` transcribes the turn's audio so
far in one call, with the question's expected answers: at each pause, to know whether the answer
is finished (an early end of the turn), and at the end of the turn when no pause had it already.
One call on the whole turn rather than the stream's own finals gives Whisper the whole sentence
as context, and it can start before the turn has ended. `speak` streams a reply's audio sentence
by sentence at the client's playback rate. All forward the patient's token; deadlines bound
them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voiceassist.common.v1 import audio_pb2, language_pb2
from voiceassist.stt.v1 import stt_pb2
from voiceassist.tts.v1 import tts_pb2

if TYPE_CHECKING:
    from voiceassist.stt.v1.stt_pb2_grpc import SpeechToTextServiceAsyncStub
    from voiceassist.tts.v1.tts_pb2_grpc import TextToSpeechServiceAsyncStub

__all__ = ["Heard", "Recognition", "recognize", "speak"]

RECOGNITION_SECONDS = 90.0
RECOGNIZE_SECONDS = 20.0
SPEAK_SECONDS = 60.0

_LANGUAGES = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}


def _config(language: str, expected: Sequence[str]) -> stt_pb2.RecognitionConfig:
    return stt_pb2.RecognitionConfig(
        encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
        sample_rate_hertz=16_000,
        language=_LANGUAGES.get(language, language_pb2.LANGUAGE_ENGLISH),
        expected_answers=[
            stt_pb2.ExpectedAnswer(value=text, phrases=[text]) for text in expected if text
        ],
    )


@dataclass(frozen=True)
class Heard:
    """What one recognition of a turn's audio found."""

    transcript: str
    answer: str
    """The expected answer it matched ("Yes" for "yeah"), or empty."""

    @property
    def text(self) -> str:
        """The turn's words: a recognised short answer reads better as the expected wording."""
        return self.answer or self.transcript


async def recognize(
    stub: SpeechToTextServiceAsyncStub,
    metadata: Sequence[tuple[str, str]],
    *,
    pcm16: bytes,
    language: str,
    expected: Sequence[str],
) -> Heard:
    """Transcribe a turn's 16 kHz PCM16 audio in one call."""
    response = await stub.Recognize(
        stt_pb2.RecognizeRequest(config=_config(language, expected), audio=pcm16),
        metadata=tuple(metadata),
        timeout=RECOGNIZE_SECONDS,
    )
    result = response.result
    return Heard(result.transcript.strip(), result.answer.value)


class Recognition:
    """One turn's streaming recognition: the partial transcripts shown while the patient speaks."""

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
        config = _config(language, expected)
        self._first = stt_pb2.StreamingRecognizeRequest(
            streaming_config=stt_pb2.StreamingRecognitionConfig(config=config, partial_results=True)
        )
        self._call: Any = stub.StreamingRecognize(
            self._requests(), metadata=tuple(metadata), timeout=RECOGNITION_SECONDS
        )
        self._finals: list[str] = []
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
            elif text:
                await self._on_partial(" ".join([*self._finals, text]))

    def send(self, pcm16: bytes) -> None:
        """Queue 16 kHz PCM16 audio of the turn."""
        self._chunks.put_nowait(pcm16)

    async def cancel(self) -> None:
        """Stop the partials: the turn has ended, or the conversation."""
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
