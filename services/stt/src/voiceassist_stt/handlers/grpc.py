"""gRPC entry point of the stt service: ``voiceassist.stt.v1.SpeechToTextService``.

Recognize decodes one recording (adapters/audio.py: WAV, Ogg or WebM sniffed from its bytes, or
LINEAR16 at any rate, resampled to 16 kHz), queues it for the recogniser (adapters/queue.py,
RESOURCE_EXHAUSTED when full) and answers with the transcript, its segments, the language and,
when the question's expected answers were given, which one was said (domain/answers.py).

StreamingRecognize takes the config first and LINEAR16 chunks after it. While audio arrives it
answers with partial transcripts (re-decodes of the buffered utterance, at most one per
STT_PARTIAL_INTERVAL_SECONDS of audio and only when a worker is free); when the patient pauses for
STT_ENDPOINT_SILENCE_SECONDS (domain/endpointing.py), when the utterance reaches
STT_MAX_UTTERANCE_SECONDS, and when the client half-closes, it answers with a final transcript.
A container encoding (WAV, Ogg, WebM) may be streamed too: it is decoded whole at half-close and
answered with one final.

Bad input is refused with INVALID_ARGUMENT naming the field (and a Problem for the gateway's
problem+json). Audio and transcripts are never logged.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import numpy as np
from google.protobuf import duration_pb2
from prometheus_client import Histogram
from voiceassist.common.v1 import audio_pb2, language_pb2
from voiceassist.stt.v1 import stt_pb2, stt_pb2_grpc
from voiceassist_common.grpc.problems import (
    PROBLEM_DETAILS_KEY,
    InvalidField,
    answering,
    problem_status,
)
from voiceassist_common.grpc.server import Register

from voiceassist_stt.adapters.audio import (
    AudioError,
    PcmResampler,
    check_sample_rate,
    decode,
    pcm16_to_float,
)
from voiceassist_stt.adapters.queue import RecognitionQueue
from voiceassist_stt.domain.answers import ExpectedAnswer, answer_hints, match_answer
from voiceassist_stt.domain.endpointing import Endpointer, is_silent
from voiceassist_stt.domain.recognition import (
    SAMPLE_RATE,
    Audio,
    RecognitionOptions,
    Transcription,
)
from voiceassist_stt.domain.vocabulary import MAX_HINT_CHARACTERS, MAX_HINTS

__all__ = ["RECOGNITION_SECONDS", "SERVICE", "Limits", "SpeechToTextServicer", "registrar"]

SERVICE = stt_pb2.DESCRIPTOR.services_by_name["SpeechToTextService"]

RECOGNITION_SECONDS = Histogram(
    "voiceassist_stt_recognition_seconds",
    "Time the recogniser took per transcription, by kind (recognize, partial, final).",
    ["kind"],
    buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0),
)

MAX_EXPECTED_ANSWERS = 100
MAX_ANSWER_PHRASES = 50
LEAD_IN_SECONDS = 0.5
"""Audio kept from before the first sound of an utterance."""
MAX_CONTAINER_BYTES = 32 << 20
LINEAR16 = audio_pb2.AUDIO_ENCODING_LINEAR16
ENCODINGS = frozenset(audio_pb2.AudioEncoding.values())
LANGUAGE_CODES = {
    language_pb2.LANGUAGE_ENGLISH: "en",
    language_pb2.LANGUAGE_FRENCH: "fr",
    language_pb2.LANGUAGE_URDU: "ur",
}
LANGUAGES_BY_CODE = {code: language for language, code in LANGUAGE_CODES.items()}


@dataclass(frozen=True)
class Limits:
    """The service's settings that shape requests (see config.py)."""

    max_audio_seconds: float = 120.0
    max_utterance_seconds: float = 30.0
    partial_interval_seconds: float = 1.0
    endpoint_silence_seconds: float = 0.8


@dataclass(frozen=True)
class _Request:
    options: RecognitionOptions
    expected: tuple[ExpectedAnswer, ...]
    linear16_rate: int | None


class SpeechToTextServicer(stt_pb2_grpc.SpeechToTextServiceServicer):
    """Speech recognition over one recogniser queue."""

    def __init__(self, queue: RecognitionQueue, limits: Limits) -> None:
        self._queue = queue
        self._limits = limits

    @answering
    async def Recognize(  # noqa: N802 - gRPC method name
        self, request: stt_pb2.RecognizeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> stt_pb2.RecognizeResponse:
        """Transcribe one complete recording."""
        parsed = _parse_config(request.config, "config")
        audio = _decode(request.audio, parsed.linear16_rate, "audio")
        self._check_length(audio, "audio", self._limits.max_audio_seconds)
        transcription = await self.transcribe(audio, parsed.options, "recognize")
        return stt_pb2.RecognizeResponse(result=_result(transcription, parsed.expected))

    async def StreamingRecognize(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[stt_pb2.StreamingRecognizeRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[stt_pb2.StreamingRecognizeResponse]:
        """Transcribe a stream: partials while audio arrives, a final per utterance."""
        try:
            async for response in self._stream(request_iterator):
                yield response
        except InvalidField as error:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                error.message,
                trailing_metadata=((PROBLEM_DETAILS_KEY, problem_status(error)),),
            )

    async def _stream(
        self, requests: AsyncIterator[stt_pb2.StreamingRecognizeRequest]
    ) -> AsyncIterator[stt_pb2.StreamingRecognizeResponse]:
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("streaming_request") != "streaming_config":
            raise InvalidField(
                "streaming_config",
                "must be the first message of the stream",
                code="stt.streaming_config_first",
            )
        streaming = first.streaming_config
        parsed = _parse_config(streaming.config, "streaming_config.config")
        utterance = _Utterance(self, parsed, partials=streaming.partial_results)
        containers = parsed.linear16_rate is None
        container_bytes = bytearray()
        resampler = PcmResampler(parsed.linear16_rate or SAMPLE_RATE)
        endpointer = Endpointer(self._limits.endpoint_silence_seconds)
        odd_byte = b""
        async for request in requests:
            if request.WhichOneof("streaming_request") != "audio_chunk":
                raise InvalidField(
                    "streaming_config",
                    "may only be sent as the first message",
                    code="stt.streaming_config_first",
                )
            if containers:
                container_bytes.extend(request.audio_chunk)
                if len(container_bytes) > MAX_CONTAINER_BYTES:
                    raise InvalidField(
                        "audio_chunk",
                        f"a streamed file may be at most {MAX_CONTAINER_BYTES >> 20} MiB",
                        code="stt.too_long",
                    )
                continue
            data = odd_byte + request.audio_chunk
            odd_byte = data[-1:] if len(data) % 2 else b""
            samples = resampler.feed(pcm16_to_float(data[: len(data) - len(odd_byte)], "audio"))
            while samples.size:
                end = endpointer.feed(samples)
                if end is None:
                    utterance.add(samples)
                    break
                utterance.add(samples[:end])
                samples = samples[end:]
                yield await utterance.final(time.monotonic())
                if streaming.single_utterance:
                    return
            if utterance.seconds >= self._limits.max_utterance_seconds:
                endpointer.reset()
                yield await utterance.final(time.monotonic())
                if streaming.single_utterance:
                    return
            elif endpointer.heard_speech:
                partial = await utterance.partial()
                if partial is not None:
                    yield partial
            else:
                # Before anyone speaks only a short lead-in is worth keeping.
                utterance.keep_last(LEAD_IN_SECONDS)
        ended = time.monotonic()
        if containers:
            if container_bytes:
                audio = _decode(bytes(container_bytes), None, "audio_chunk")
                self._check_length(audio, "audio_chunk", self._limits.max_audio_seconds)
                utterance.add(audio)
        else:
            utterance.add(resampler.flush())
        # A final for the audio since the last one, unless it was only silence (every stream
        # gets at least one final, even an empty one).
        if utterance.index == 0 or (containers or endpointer.heard_speech):
            yield await utterance.final(ended)

    async def transcribe(
        self, audio: Audio, options: RecognitionOptions, kind: str
    ) -> Transcription:
        """Queue one transcription and record how long it took; silence is answered at once."""
        if is_silent(audio):
            return Transcription("", (), options.language or "", 0.0, audio.size / SAMPLE_RATE)
        started = time.perf_counter()
        transcription = await self._queue.transcribe(audio, options)
        RECOGNITION_SECONDS.labels(kind).observe(time.perf_counter() - started)
        return transcription

    def has_room(self) -> bool:
        """Whether the recogniser could take a transcription now (partials are skipped if not)."""
        return self._queue.has_room()

    @property
    def partial_interval(self) -> float:
        """Least time between two partial transcripts of a stream."""
        return self._limits.partial_interval_seconds

    @staticmethod
    def _check_length(audio: Audio, field: str, limit: float) -> None:
        if audio.size / SAMPLE_RATE > limit:
            raise InvalidField(
                field, f"is longer than the {limit:g} s this service accepts", code="stt.too_long"
            )


class _Utterance:
    """The audio of the utterance being spoken in one stream, and its numbering."""

    def __init__(self, service: SpeechToTextServicer, request: _Request, *, partials: bool) -> None:
        self._service = service
        self._request = request
        self._partials = partials
        self._chunks: list[Audio] = []
        self._size = 0
        self._partial_at = 0.0
        self.index = 0

    @property
    def seconds(self) -> float:
        """Duration of the audio buffered for this utterance."""
        return self._size / SAMPLE_RATE

    def add(self, samples: Audio) -> None:
        """Append audio to the utterance."""
        if samples.size:
            self._chunks.append(samples)
            self._size += samples.size

    def keep_last(self, seconds: float) -> None:
        """Drop all but the last ``seconds`` of buffered audio (silence before speech)."""
        keep = int(seconds * SAMPLE_RATE)
        if self._size > 2 * keep:
            tail = self._audio()[-keep:]
            self._chunks, self._size = [tail], tail.size

    def _audio(self) -> Audio:
        if not self._chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(self._chunks).astype(np.float32)

    async def partial(self) -> stt_pb2.StreamingRecognizeResponse | None:
        """Re-decode the buffered audio when a partial is due and a worker is free."""
        # Throttled by audio received, not wall time: a client sending faster than real time
        # gets as many partials per second of speech as one sending in real time.
        if (
            not self._partials
            or self.seconds - self._partial_at < self._service.partial_interval
            or not self._service.has_room()
        ):
            return None
        self._partial_at = self.seconds
        transcription = await self._service.transcribe(
            self._audio(), self._request.options, "partial"
        )
        return stt_pb2.StreamingRecognizeResponse(
            result=_result(transcription, ()), is_final=False, utterance_index=self.index
        )

    async def final(self, ended: float) -> stt_pb2.StreamingRecognizeResponse:
        """Transcribe the whole utterance, start the next one, and answer with the final."""
        audio = self._audio()
        self._chunks, self._size = [], 0
        transcription = await self._service.transcribe(audio, self._request.options, "final")
        latency = duration_pb2.Duration()
        latency.FromNanoseconds(int((time.monotonic() - ended) * 1e9))
        response = stt_pb2.StreamingRecognizeResponse(
            result=_result(transcription, self._request.expected),
            is_final=True,
            utterance_index=self.index,
            latency=latency,
        )
        self.index += 1
        self._partial_at = 0.0
        return response


def _parse_config(config: stt_pb2.RecognitionConfig, prefix: str) -> _Request:
    """Check a RecognitionConfig and turn it into recognition options."""
    if config.encoding not in ENCODINGS:
        raise InvalidField(f"{prefix}.encoding", "is not a known encoding", code="stt.encoding")
    rate: int | None = None
    if config.encoding == LINEAR16:
        rate = config.sample_rate_hertz
        try:
            check_sample_rate(rate, f"{prefix}.sample_rate_hertz")
        except AudioError as error:
            raise InvalidField(error.field, error.description, code="stt.sample_rate") from None
    if config.language and config.language not in LANGUAGE_CODES:
        raise InvalidField(f"{prefix}.language", "is not a known language", code="stt.language")
    hints = tuple(config.phrase_hints)
    if len(hints) > MAX_HINTS or any(len(hint) > MAX_HINT_CHARACTERS for hint in hints):
        raise InvalidField(
            f"{prefix}.phrase_hints",
            f"at most {MAX_HINTS} hints of at most {MAX_HINT_CHARACTERS} characters",
            code="stt.phrase_hints",
        )
    if len(config.expected_answers) > MAX_EXPECTED_ANSWERS:
        raise InvalidField(
            f"{prefix}.expected_answers",
            f"at most {MAX_EXPECTED_ANSWERS} answers",
            code="stt.expected_answers",
        )
    expected = []
    for index, answer in enumerate(config.expected_answers):
        if not answer.value.strip() or len(answer.phrases) > MAX_ANSWER_PHRASES:
            raise InvalidField(
                f"{prefix}.expected_answers[{index}]",
                f"needs a value and at most {MAX_ANSWER_PHRASES} phrases",
                code="stt.expected_answers",
            )
        expected.append(ExpectedAnswer(answer.value, tuple(answer.phrases)))
    language = LANGUAGE_CODES.get(config.language)
    options = RecognitionOptions(
        language=language,
        vocabulary=(*answer_hints(expected, language), *hints),
        word_offsets=config.word_offsets,
    )
    return _Request(options, tuple(expected), rate)


def _decode(data: bytes, linear16_rate: int | None, field: str) -> Audio:
    try:
        return decode(data, linear16_rate=linear16_rate, field=field)
    except AudioError as error:
        raise InvalidField(error.field, error.description, code="stt.audio") from None


def _seconds(value: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(value * 1e9))
    return duration


def _result(
    transcription: Transcription, expected: Sequence[ExpectedAnswer]
) -> stt_pb2.RecognitionResult:
    """Build the RecognitionResult of a transcription, with the expected answer said."""
    result = stt_pb2.RecognitionResult(
        transcript=transcription.text,
        segments=[
            stt_pb2.Segment(
                text=segment.text,
                start_offset=_seconds(segment.start),
                end_offset=_seconds(segment.end),
                confidence=segment.confidence,
                words=[
                    stt_pb2.WordInfo(
                        word=word.text,
                        start_offset=_seconds(word.start),
                        end_offset=_seconds(word.end),
                        confidence=word.confidence,
                    )
                    for word in segment.words
                ],
            )
            for segment in transcription.segments
        ],
        language=LANGUAGES_BY_CODE.get(
            transcription.language_code, language_pb2.LANGUAGE_UNSPECIFIED
        ),
        language_code=transcription.language_code,
        language_probability=transcription.language_probability,
        audio_duration=_seconds(transcription.duration),
    )
    answer = match_answer(transcription.text, expected)
    if answer is not None:
        result.answer.CopyFrom(
            stt_pb2.AnswerMatch(value=answer.value, confidence=answer.confidence)
        )
    return result


def registrar(queue: RecognitionQueue, limits: Limits | None = None) -> Register:
    """Return the function that adds SpeechToTextService to a server."""
    servicer = SpeechToTextServicer(queue, limits or Limits())

    def register(server: grpc.aio.Server) -> Sequence[str]:
        stt_pb2_grpc.add_SpeechToTextServiceServicer_to_server(servicer, server)
        return (SERVICE.full_name,)

    return register
