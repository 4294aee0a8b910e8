"""REST speech for clients other than the conversation: transcribe a recording, speak a text.

``POST /api/v1/speech/transcribe`` takes the recording as the request body, its type in
Content-Type (``audio/wav``, ``audio/ogg``, ``audio/webm``; anything else is sniffed by the stt
service), and answers the text, the language and the segments. The gateway's body limit
applies (MAX_REQUEST_BODY_BYTES, 1 MiB by default: half a minute of 16 kHz WAV, several minutes
of Opus). ``POST /api/v1/speech/synthesize`` takes JSON text and answers ``audio/wav``.

Recordings, transcripts and texts are PHI: they pass through, are never logged, and are not
kept. The conversation itself runs over ``/ws/v1/conversation`` (docs/voice-protocol.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from voiceassist.common.v1 import audio_pb2, language_pb2
from voiceassist.stt.v1 import stt_pb2
from voiceassist.tts.v1 import tts_pb2
from voiceassist_common.grpc.principal import bearer_metadata

from voiceassist_gateway.adapters.speech import SpeechClients
from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.problems import Problem
from voiceassist_gateway.handlers.http.api.grpc_refusals import (
    REQUEST_ID_KEY,
    Backend,
    FieldErrors,
    problem_of,
    refusal,
)
from voiceassist_gateway.handlers.http.identity import Caller, Require
from voiceassist_gateway.handlers.http.problem_responses import request_id_of

router = APIRouter(prefix="/speech", tags=["speech"])

_ENCODINGS = {
    "audio/wav": audio_pb2.AUDIO_ENCODING_WAV,
    "audio/x-wav": audio_pb2.AUDIO_ENCODING_WAV,
    "audio/wave": audio_pb2.AUDIO_ENCODING_WAV,
    "audio/ogg": audio_pb2.AUDIO_ENCODING_OGG_OPUS,
    "audio/webm": audio_pb2.AUDIO_ENCODING_WEBM_OPUS,
}
_LANGUAGES = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}
_LANGUAGE_CODES = {value: code for code, value in _LANGUAGES.items()}
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": Problem, "description": "The audio or a field was refused (named)."},
    429: {"model": Problem, "description": "The speech service is busy; retry shortly."},
    503: {"model": Problem, "description": "The speech service is unavailable; retry shortly."},
}


def _violations(name: str) -> Any:
    """Name the fields a speech service refused (from its Problem), else the request itself."""

    def fields(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
        problem = problem_of(error)
        if problem is None or not problem.violations:
            refused = f"the {name} refused the request"
            return [{"loc": (location,), "msg": refused, "type": "invalid_argument"}]
        return [
            {"loc": (location, v.field), "msg": v.description, "type": problem.code or "invalid"}
            for v in problem.violations
        ]

    return fields


_STT = Backend(
    name="speech recognition service",
    not_found="Nothing to transcribe.",
    field_errors=_violations("speech recognition service"),
    timeout_seconds=120.0,
)
_TTS = Backend(
    name="speech synthesis service",
    not_found="No such voice.",
    field_errors=_violations("speech synthesis service"),
    timeout_seconds=60.0,
)


def _refused(backend: Backend, error: grpc.aio.AioRpcError, location: str) -> Exception:
    """Return the HTTP error for a refusal; a busy service is 429 with Retry-After."""
    if error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
        return HTTPException(
            429, f"The {backend.name} is busy; try again shortly.", headers={"Retry-After": "2"}
        )
    return refusal(backend, error, location)


def _metadata(request: Request, caller: Caller) -> tuple[tuple[str, str], ...]:
    metadata = bearer_metadata(caller.access_token)
    if (request_id := request_id_of(request.scope)) is not None:
        metadata += ((REQUEST_ID_KEY, request_id),)
    return metadata


def speech_clients(request: Request) -> SpeechClients:
    """Return the gateway's clients of the speech services."""
    clients: SpeechClients = request.app.state.speech
    return clients


Clients = Annotated[SpeechClients, Depends(speech_clients)]
Speaking = Annotated[Caller, Depends(Require(Permission.SPEECH_USE))]


class TranscriptSegment(BaseModel):
    """A stretch of recognised speech."""

    model_config = ConfigDict(extra="forbid")

    text: str
    start_seconds: float
    end_seconds: float
    confidence: float


class Transcription(BaseModel):
    """What was said in the recording."""

    model_config = ConfigDict(extra="forbid")

    text: str
    language: str = Field(description="ISO 639-1 code of the language spoken, e.g. en.")
    language_probability: float
    duration_seconds: float
    segments: list[TranscriptSegment]


class SynthesisRequest(BaseModel):
    """A text to speak."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000, description="What to say (PHI).")
    language: Literal["en", "fr"] = "en"
    voice_id: str = Field(default="", max_length=64, description="Empty: the language's default.")
    sample_rate: int = Field(default=0, ge=0, le=48_000, description="0: the voice's own rate.")


@router.post(
    "/transcribe",
    summary="Speech to text",
    response_model=Transcription,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in ("audio/wav", "audio/ogg", "audio/webm")
            },
        }
    },
)
async def transcribe(
    request: Request,
    clients: Clients,
    caller: Speaking,
    language: Annotated[
        Literal["en", "fr"] | None, Query(description="Language spoken; omit to detect it.")
    ] = None,
) -> Transcription:
    """Transcribe an uploaded recording (wav, ogg or webm): text, language and segments."""
    body = await request.body()
    if not body:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "send the recording as the body", "type": "missing"}]
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    message = stt_pb2.RecognizeRequest(
        config=stt_pb2.RecognitionConfig(
            encoding=_ENCODINGS.get(kind, audio_pb2.AUDIO_ENCODING_UNSPECIFIED),
            language=_LANGUAGES[language] if language else language_pb2.LANGUAGE_UNSPECIFIED,
        ),
        audio=body,
    )
    try:
        reply = await clients.stt.Recognize(
            message, metadata=_metadata(request, caller), timeout=_STT.timeout_seconds
        )
    except grpc.aio.AioRpcError as error:
        raise _refused(_STT, error, "body") from None
    result = reply.result
    return Transcription(
        text=result.transcript,
        language=result.language_code or _LANGUAGE_CODES.get(result.language, ""),
        language_probability=round(result.language_probability, 3),
        duration_seconds=result.audio_duration.ToTimedelta().total_seconds(),
        segments=[
            TranscriptSegment(
                text=segment.text,
                start_seconds=segment.start_offset.ToTimedelta().total_seconds(),
                end_seconds=segment.end_offset.ToTimedelta().total_seconds(),
                confidence=round(segment.confidence, 3),
            )
            for segment in result.segments
        ],
    )


@router.post(
    "/synthesize",
    summary="Text to speech",
    response_class=Response,
    responses={200: {"content": {"audio/wav": {}}, "description": "The speech."}, **_ERRORS},
)
async def synthesize(
    request: Request, body: SynthesisRequest, clients: Clients, caller: Speaking
) -> Response:
    """Speak a text; the answer is audio/wav."""
    call = clients.tts.Synthesize(
        tts_pb2.SynthesizeRequest(
            text=body.text,
            language=_LANGUAGES[body.language],
            voice_id=body.voice_id,
            encoding=audio_pb2.AUDIO_ENCODING_WAV,
            sample_rate_hertz=body.sample_rate,
        ),
        metadata=_metadata(request, caller),
        timeout=_TTS.timeout_seconds,
    )
    audio = bytearray()
    try:
        async for chunk in call:
            audio.extend(chunk.audio_chunk)
    except grpc.aio.AioRpcError as error:
        raise _refused(_TTS, error, "body") from None
    return Response(bytes(audio), media_type="audio/wav")
