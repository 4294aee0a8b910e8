"""SpeechToTextService over gRPC: uploads and streams transcribed, bad input refused clearly.

A loopback server over the real Whisper base model (loaded once per session) answers most
tests, with espeak-ng speech made at test time; the queue test uses a recogniser that holds
its answer, and the last test runs the service as its own process, as ``make up`` does.
"""

from __future__ import annotations

import asyncio
import io
import threading
import wave
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import numpy as np
import pytest

# google-rpc ships no type information for its generated modules.
from google.rpc import status_pb2  # type: ignore[import-untyped]
from grpc_health.v1 import health_pb2, health_pb2_grpc
from voiceassist.common.v1 import audio_pb2, language_pb2, problem_pb2
from voiceassist.stt.v1 import stt_pb2, stt_pb2_grpc
from voiceassist_common.grpc.problems import PROBLEM_DETAILS_KEY
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import service_process
from voiceassist_stt.adapters.queue import RecognitionQueue
from voiceassist_stt.adapters.whisper import WhisperRecognizer
from voiceassist_stt.domain.recognition import Audio, RecognitionOptions, Transcription
from voiceassist_stt.handlers.grpc import SERVICE, Limits, registrar

if TYPE_CHECKING:
    Stub = stt_pb2_grpc.SpeechToTextServiceAsyncStub

from ..conftest import Speak

YES_NO = [stt_pb2.ExpectedAnswer(value="yes"), stt_pb2.ExpectedAnswer(value="no")]


@pytest.fixture
async def stub(recognizer: WhisperRecognizer) -> AsyncIterator[Stub]:
    queue = RecognitionQueue(recognizer, workers=1, capacity=2)
    server = await start_grpc_server(
        "127.0.0.1:0", registrar(queue, Limits(partial_interval_seconds=0.5))
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield stt_pb2_grpc.SpeechToTextServiceStub(channel)
    finally:
        await channel.close(grace=None)
        await server.stop(0)
        queue.close()


def pcm_of(wav_bytes: bytes) -> tuple[bytes, int]:
    """Return the raw LINEAR16 samples and rate of a mono WAV file."""
    with wave.open(io.BytesIO(wav_bytes)) as source:
        return source.readframes(source.getnframes()), source.getframerate()


def problem_field(error: grpc.aio.AioRpcError) -> str:
    """Return the field a refusal's Problem names."""
    metadata: Any = error.trailing_metadata() or ()
    status = status_pb2.Status.FromString(dict(metadata)[PROBLEM_DETAILS_KEY])
    problem = problem_pb2.Problem()
    status.details[0].Unpack(problem)
    return str(problem.violations[0].field)


async def test_an_uploaded_wav_is_transcribed_with_its_language(stub: Stub, speak: Speak) -> None:
    response = await stub.Recognize(stt_pb2.RecognizeRequest(audio=speak("I have a sore throat.")))

    result = response.result
    assert "sore throat" in result.transcript.lower()
    assert result.language == language_pb2.LANGUAGE_ENGLISH
    assert result.language_code == "en"
    assert 1.0 < result.audio_duration.ToTimedelta().total_seconds() < 3.0
    assert result.segments[0].text == result.transcript


async def test_linear16_at_22050_hz_is_resampled_and_the_answer_matched(
    stub: Stub, speak: Speak
) -> None:
    pcm, rate = pcm_of(speak("No, not really."))
    assert rate == 22_050
    config = stt_pb2.RecognitionConfig(
        encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
        sample_rate_hertz=rate,
        language=language_pb2.LANGUAGE_ENGLISH,
        expected_answers=YES_NO,
    )

    response = await stub.Recognize(stt_pb2.RecognizeRequest(audio=pcm, config=config))

    assert response.result.answer.value == "no"


async def test_a_spoken_number_is_matched_to_the_expected_value(
    stub: Stub, speak_hibari: Speak
) -> None:
    config = stt_pb2.RecognitionConfig(
        language=language_pb2.LANGUAGE_ENGLISH,
        expected_answers=[stt_pb2.ExpectedAnswer(value=str(value)) for value in range(11)],
    )

    response = await stub.Recognize(
        stt_pb2.RecognizeRequest(audio=speak_hibari("About a seven."), config=config)
    )

    assert response.result.answer.value == "7"


async def test_bytes_that_are_not_audio_are_refused_naming_the_field(stub: Stub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.Recognize(stt_pb2.RecognizeRequest(audio=b"<html>not audio</html>"))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "audio" in (refused.value.details() or "")
    assert problem_field(refused.value) == "audio"


async def test_linear16_without_a_sample_rate_is_refused(stub: Stub) -> None:
    config = stt_pb2.RecognitionConfig(encoding=audio_pb2.AUDIO_ENCODING_LINEAR16)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.Recognize(stt_pb2.RecognizeRequest(audio=b"\x00\x00" * 800, config=config))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem_field(refused.value) == "config.sample_rate_hertz"


def chunks(pcm: bytes, size: int = 3200) -> Iterator[bytes]:
    for start in range(0, len(pcm), size):
        yield pcm[start : start + size]


async def test_a_stream_gives_partials_then_one_final_per_utterance(
    stub: Stub, speak: Speak
) -> None:
    pcm, rate = pcm_of(speak("I have had a cough for a week. My chest hurts when I breathe."))
    pause = b"\x00\x00" * rate  # one second of silence ends the first utterance

    async def requests() -> AsyncIterator[stt_pb2.StreamingRecognizeRequest]:
        config = stt_pb2.RecognitionConfig(
            encoding=audio_pb2.AUDIO_ENCODING_LINEAR16,
            sample_rate_hertz=rate,
            language=language_pb2.LANGUAGE_ENGLISH,
        )
        yield stt_pb2.StreamingRecognizeRequest(
            streaming_config=stt_pb2.StreamingRecognitionConfig(config=config, partial_results=True)
        )
        for chunk in chunks(pcm + pause + pcm):
            yield stt_pb2.StreamingRecognizeRequest(audio_chunk=chunk)

    responses = [response async for response in stub.StreamingRecognize(requests())]

    finals = [response for response in responses if response.is_final]
    assert [final.utterance_index for final in finals] == [0, 1]
    assert all("cough" in final.result.transcript.lower() for final in finals)
    assert any(not response.is_final for response in responses)
    assert all(final.latency.ToNanoseconds() > 0 for final in finals)


async def test_a_silent_stream_ends_with_one_empty_final(stub: Stub) -> None:
    async def requests() -> AsyncIterator[stt_pb2.StreamingRecognizeRequest]:
        config = stt_pb2.RecognitionConfig(
            encoding=audio_pb2.AUDIO_ENCODING_LINEAR16, sample_rate_hertz=8_000
        )
        yield stt_pb2.StreamingRecognizeRequest(
            streaming_config=stt_pb2.StreamingRecognitionConfig(config=config, partial_results=True)
        )
        for chunk in chunks(b"\x00\x00" * 8_000 * 3, size=1601):
            yield stt_pb2.StreamingRecognizeRequest(audio_chunk=chunk)

    responses = [response async for response in stub.StreamingRecognize(requests())]

    assert [(response.is_final, response.result.transcript) for response in responses] == [
        (True, "")
    ]


async def test_a_stream_must_start_with_its_config(stub: Stub) -> None:
    async def requests() -> AsyncIterator[stt_pb2.StreamingRecognizeRequest]:
        yield stt_pb2.StreamingRecognizeRequest(audio_chunk=b"\x00\x00" * 160)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        _ = [response async for response in stub.StreamingRecognize(requests())]

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert problem_field(refused.value) == "streaming_config"


class HeldRecognizer:
    """A recogniser that holds its answer until released, to fill the queue."""

    name = "held"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def transcribe(self, audio: Audio, options: RecognitionOptions) -> Transcription:
        self.started.set()
        self.release.wait(timeout=30)
        return Transcription("yes", (), "en", 1.0, audio.size / 16_000)


async def test_a_full_queue_refuses_at_once_with_resource_exhausted() -> None:
    recognizer = HeldRecognizer()
    queue = RecognitionQueue(recognizer, workers=1, capacity=0)
    server = await start_grpc_server("127.0.0.1:0", registrar(queue))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    stub = stt_pb2_grpc.SpeechToTextServiceStub(channel)
    hum = (np.sin(np.arange(16_000) * 0.2) * 8_000).astype("<i2")  # not silence: it is queued
    request = stt_pb2.RecognizeRequest(
        audio=hum.tobytes(),
        config=stt_pb2.RecognitionConfig(
            encoding=audio_pb2.AUDIO_ENCODING_LINEAR16, sample_rate_hertz=16_000
        ),
    )
    try:

        async def recognize() -> stt_pb2.RecognizeResponse:
            return await stub.Recognize(request)

        first = asyncio.create_task(recognize())
        assert await asyncio.to_thread(recognizer.started.wait, 10)
        assert not queue.has_room()

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Recognize(request)

        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "at capacity" in (refused.value.details() or "")
        recognizer.release.set()
        assert (await first).result.transcript == "yes"
    finally:
        recognizer.release.set()
        await channel.close(grace=None)
        await server.stop(0)
        queue.close()


async def test_the_process_loads_the_model_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    assert SERVICE.full_name == "voiceassist.stt.v1.SpeechToTextService"
    environment = {"STT_MODEL": "tiny.en", "STT_MODEL_CACHE_DIR": str(tmp_path)}

    async with (
        service_process("voiceassist_stt", env=environment) as service,
        grpc.aio.insecure_channel(service.grpc_address) as channel,
    ):
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE.full_name)
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        response = await stt_pb2_grpc.SpeechToTextServiceStub(channel).Recognize(
            stt_pb2.RecognizeRequest(
                audio=np.zeros(16_000, dtype="<i2").tobytes(),
                config=stt_pb2.RecognitionConfig(
                    encoding=audio_pb2.AUDIO_ENCODING_LINEAR16, sample_rate_hertz=16_000
                ),
            )
        )
        # One second of digital silence: answered empty, not with an invented sentence.
        assert response.result.transcript == ""
        assert response.result.audio_duration.ToTimedelta().total_seconds() == 1.0
