"""gRPC entry point of the tts service: ``voiceassist.tts.v1.TextToSpeechService``.

Synthesize validates the request, picks the voice (the one named, else the language's default:
hibari for English, espeak-ng for French), and streams the audio sentence by sentence through
handlers/synthesis.py: the first message goes out as soon as the first sentence is ready (or
found in the prompt cache), carrying the format; each sentence is sent in chunks of at most
half a second, the last one marked ``sentence_end``.

Encodings: LINEAR16 (the default) streams raw PCM16 mono. WAV is a single RIFF file whose
header states the exact length, so the service synthesises the whole text before the first
chunk; callers that want audio while the rest is synthesised ask for LINEAR16 and add a header
themselves if they need one. Any rate from 8 to 48 kHz can be asked for; the voice's audio is
resampled to it.

Refusals: empty, wordless or over-long text, an unknown enum value, a rate out of range or a
speaking rate that is not a number are INVALID_ARGUMENT naming the field (with a Problem in the
status details for the gateway, `voiceassist_common.grpc.problems`). So is a ``voice_id`` that
no installed voice has, or a language no installed voice speaks: the request names something
this service cannot provide, which ListVoices would have shown (INVALID_ARGUMENT, not NOT_FOUND,
so the gateway answers 422 naming the field). A full service is RESOURCE_EXHAUSTED with a
message saying to retry. The text may be PHI: no log line, metric or message contains it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import duration_pb2
from prometheus_client import Histogram
from voiceassist.common.v1 import audio_pb2, language_pb2
from voiceassist.tts.v1 import tts_pb2, tts_pb2_grpc
from voiceassist_common.grpc.problems import PROBLEM_DETAILS_KEY, InvalidField, problem_status
from voiceassist_common.grpc.server import Register

from voiceassist_tts.adapters.synthesizer import Synthesizer
from voiceassist_tts.domain.audio import (
    MAX_SAMPLE_RATE,
    MIN_SAMPLE_RATE,
    PCM16,
    resample,
    wav_header,
)
from voiceassist_tts.domain.sentences import split_sentences
from voiceassist_tts.domain.voices import Language, Voice
from voiceassist_tts.handlers.synthesis import (
    NoVoiceForLanguageError,
    SentenceAudio,
    SpeechSynthesis,
    UnknownVoiceError,
    normal_speed,
)

__all__ = [
    "CHUNK_SECONDS",
    "DEFAULT_MAX_TEXT_CHARS",
    "FIRST_AUDIO_SECONDS",
    "SERVICE",
    "TextToSpeechServicer",
    "registrar",
]

SERVICE = tts_pb2.DESCRIPTOR.services_by_name["TextToSpeechService"]

CHUNK_SECONDS = 0.5
DEFAULT_MAX_TEXT_CHARS = 5_000
"""About five minutes of speech: longer texts are a client error, not a dialog turn."""
MAX_VOICE_ID_CHARS = 64

FIRST_AUDIO_SECONDS = Histogram(
    "voiceassist_tts_first_audio_seconds",
    "Seconds from a Synthesize request to its first audio chunk, by engine and whether the "
    "first sentence came from the prompt cache.",
    ["engine", "cached"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5),
)

_LANGUAGES = {
    language_pb2.LANGUAGE_ENGLISH: Language.EN,
    language_pb2.LANGUAGE_FRENCH: Language.FR,
    language_pb2.LANGUAGE_URDU: Language.UR,
}
_PROTO_LANGUAGES = {language: value for value, language in _LANGUAGES.items()}
_ENCODINGS = {
    audio_pb2.AUDIO_ENCODING_UNSPECIFIED: audio_pb2.AUDIO_ENCODING_LINEAR16,
    audio_pb2.AUDIO_ENCODING_LINEAR16: audio_pb2.AUDIO_ENCODING_LINEAR16,
    audio_pb2.AUDIO_ENCODING_WAV: audio_pb2.AUDIO_ENCODING_WAV,
}


@dataclass(frozen=True)
class _Plan:
    synthesizer: Synthesizer
    sentences: list[str]
    encoding: int
    rate: int
    speed: float


class TextToSpeechServicer(tts_pb2_grpc.TextToSpeechServiceServicer):
    """Synthesize and ListVoices over one shared `SpeechSynthesis`."""

    def __init__(
        self, synthesis: SpeechSynthesis, *, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
    ) -> None:
        self._synthesis = synthesis
        self._max_text_chars = max_text_chars

    async def Synthesize(  # noqa: N802 - gRPC method name
        self, request: tts_pb2.SynthesizeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[tts_pb2.SynthesizeResponse]:
        """Stream the speech of ``request.text``, sentence by sentence."""
        started = time.perf_counter()
        try:
            plan = self._plan(request)
        except InvalidField as error:
            await _refuse(context, error)
            return
        async with self._synthesis.admitted():
            audio = self._synthesis.speak(plan.synthesizer, plan.sentences, speed=plan.speed)
            responses = (
                _wav_responses(audio, plan)
                if plan.encoding == audio_pb2.AUDIO_ENCODING_WAV
                else _linear_responses(audio, plan)
            )
            first = True
            async for response in responses:
                if first:
                    FIRST_AUDIO_SECONDS.labels(
                        plan.synthesizer.voice.engine, str(response.cached).lower()
                    ).observe(time.perf_counter() - started)
                    first = False
                yield response

    async def ListVoices(  # noqa: N802 - gRPC method name
        self, request: tts_pb2.ListVoicesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> tts_pb2.ListVoicesResponse:
        """List the installed voices, of one language when asked."""
        language = None
        if request.language != language_pb2.LANGUAGE_UNSPECIFIED:
            language = _LANGUAGES.get(request.language)
            if language is None:
                await _refuse(context, InvalidField("language", "unknown value", code="tts.enum"))
        return tts_pb2.ListVoicesResponse(
            voices=[
                _voice_out(voice, default) for voice, default in self._synthesis.voices(language)
            ]
        )

    def _plan(self, request: tts_pb2.SynthesizeRequest) -> _Plan:
        text = request.text
        if not text.strip():
            raise InvalidField("text", "must not be empty", code="tts.text_empty")
        if len(text) > self._max_text_chars:
            raise InvalidField(
                "text",
                f"must be at most {self._max_text_chars} characters",
                code="tts.text_too_long",
            )
        language = None
        if request.language != language_pb2.LANGUAGE_UNSPECIFIED:
            language = _LANGUAGES.get(request.language)
            if language is None:
                raise InvalidField("language", "unknown value", code="tts.enum")
        encoding = _ENCODINGS.get(request.encoding)
        if encoding is None:
            raise InvalidField("encoding", "must be LINEAR16 or WAV", code="tts.encoding")
        rate = request.sample_rate_hertz
        if rate and not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
            raise InvalidField(
                "sample_rate_hertz",
                f"must be 0 (the voice's own rate) or {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}",
                code="tts.sample_rate",
            )
        if not math.isfinite(request.speaking_rate):
            raise InvalidField("speaking_rate", "must be a number", code="tts.speaking_rate")
        synthesizer = self._voice(request.voice_id, language)
        sentences = split_sentences(text, synthesizer.voice.language)
        if not sentences:
            raise InvalidField("text", "must contain words to speak", code="tts.text_empty")
        return _Plan(
            synthesizer=synthesizer,
            sentences=sentences,
            encoding=encoding,
            rate=rate or synthesizer.voice.sample_rate,
            speed=normal_speed(request.speaking_rate),
        )

    def _voice(self, voice_id: str, language: Language | None) -> Synthesizer:
        if len(voice_id) > MAX_VOICE_ID_CHARS:
            raise InvalidField(
                "voice_id", f"must be at most {MAX_VOICE_ID_CHARS} characters", code="tts.voice"
            )
        try:
            return self._synthesis.choose(voice_id, language)
        except UnknownVoiceError:
            raise InvalidField(
                "voice_id", "no installed voice has this id (see ListVoices)", code="tts.voice"
            ) from None
        except NoVoiceForLanguageError:
            raise InvalidField(
                "language", "no installed voice speaks this language", code="tts.language"
            ) from None


async def _pcm_at(sentence: SentenceAudio, voice: Voice, rate: int) -> PCM16:
    """Return the sentence at the rate asked for, resampled off the event loop."""
    if rate == voice.sample_rate:
        return sentence.pcm
    return await asyncio.to_thread(resample, sentence.pcm, voice.sample_rate, rate)


async def _linear_responses(
    audio: AsyncIterator[SentenceAudio], plan: _Plan
) -> AsyncIterator[tts_pb2.SynthesizeResponse]:
    voice = plan.synthesizer.voice
    chunk_samples = max(1, int(plan.rate * CHUNK_SECONDS))
    offset = 0
    first = True
    async for sentence in audio:
        pcm = await _pcm_at(sentence, voice, plan.rate)
        starts = range(0, max(pcm.size, 1), chunk_samples)
        for position, start in enumerate(starts):
            piece = pcm[start : start + chunk_samples]
            response = tts_pb2.SynthesizeResponse(
                audio_chunk=piece.astype("<i2").tobytes(),
                sentence_index=sentence.index,
                sentence_end=position == len(starts) - 1,
                offset=_duration(offset, plan.rate),
                cached=sentence.cached,
            )
            if first:
                response.format.CopyFrom(_format(audio_pb2.AUDIO_ENCODING_LINEAR16, plan.rate))
                first = False
            offset += piece.size
            yield response


async def _wav_responses(
    audio: AsyncIterator[SentenceAudio], plan: _Plan
) -> AsyncIterator[tts_pb2.SynthesizeResponse]:
    voice = plan.synthesizer.voice
    sentences = [(sentence, await _pcm_at(sentence, voice, plan.rate)) async for sentence in audio]
    total = sum(pcm.nbytes for _, pcm in sentences)
    header: bytes | None = wav_header(plan.rate, total)
    chunk_samples = max(1, int(plan.rate * CHUNK_SECONDS))
    offset = 0
    for sentence, pcm in sentences:
        starts = range(0, max(pcm.size, 1), chunk_samples)
        for position, start in enumerate(starts):
            piece = pcm[start : start + chunk_samples]
            response = tts_pb2.SynthesizeResponse(
                audio_chunk=(header or b"") + piece.astype("<i2").tobytes(),
                sentence_index=sentence.index,
                sentence_end=position == len(starts) - 1,
                offset=_duration(offset, plan.rate),
                cached=sentence.cached,
            )
            if header is not None:
                response.format.CopyFrom(_format(audio_pb2.AUDIO_ENCODING_WAV, plan.rate))
                header = None
            offset += piece.size
            yield response


def _format(encoding: int, rate: int) -> tts_pb2.AudioFormat:
    return tts_pb2.AudioFormat(encoding=encoding, sample_rate_hertz=rate)  # type: ignore[arg-type]


def _duration(samples: int, rate: int) -> duration_pb2.Duration:
    nanos = samples * 1_000_000_000 // rate
    return duration_pb2.Duration(seconds=nanos // 1_000_000_000, nanos=nanos % 1_000_000_000)


def _voice_out(voice: Voice, default: bool) -> tts_pb2.Voice:
    return tts_pb2.Voice(
        voice_id=voice.voice_id,
        display_name=voice.display_name,
        language=_PROTO_LANGUAGES[voice.language],
        engine=voice.engine,
        license=voice.license,
        sample_rate_hertz=voice.sample_rate,
        is_default=default,
    )


async def _refuse(context: grpc.aio.ServicerContext[Any, Any], error: InvalidField) -> None:
    await context.abort(
        grpc.StatusCode.INVALID_ARGUMENT,
        error.message,
        trailing_metadata=((PROBLEM_DETAILS_KEY, problem_status(error)),),
    )


def registrar(
    synthesis: SpeechSynthesis, *, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS
) -> Register:
    """Return the function that adds TextToSpeechService over ``synthesis`` to a server."""

    def register(server: grpc.aio.Server) -> Sequence[str]:
        servicer = TextToSpeechServicer(synthesis, max_text_chars=max_text_chars)
        tts_pb2_grpc.add_TextToSpeechServiceServicer_to_server(servicer, server)
        return (SERVICE.full_name,)

    return register
