"""TextToSpeechService over gRPC: streamed speech in the format asked for, clear refusals.

A loopback server over the real voices (hibari for English, espeak-ng for French) answers most
tests; the last one runs the service as its own process, as ``make up`` does.
"""

from __future__ import annotations

import asyncio
import io
import threading
import wave
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
import pytest

# google-rpc ships no type information for its generated modules.
from google.rpc import status_pb2  # type: ignore[import-untyped]
from voiceassist.common.v1 import audio_pb2, language_pb2, problem_pb2
from voiceassist.tts.v1 import tts_pb2, tts_pb2_grpc
from voiceassist_common.grpc.problems import PROBLEM_DETAILS_KEY
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.testing import service_process
from voiceassist_tts.adapters.espeak import EspeakSynthesizer
from voiceassist_tts.adapters.hibari import HibariSynthesizer
from voiceassist_tts.adapters.prompt_cache import PromptCache
from voiceassist_tts.domain.audio import rms_dbfs
from voiceassist_tts.domain.voices import Language, Voice
from voiceassist_tts.handlers.grpc import SERVICE, registrar
from voiceassist_tts.handlers.synthesis import SpeechSynthesis

from ..conftest import Transcribe

PARAGRAPH = "Hello. I will ask you a few questions about your sore throat. Is that all right?"


@pytest.fixture
async def stub(
    hibari: HibariSynthesizer, espeak_en: EspeakSynthesizer, espeak_fr: EspeakSynthesizer
) -> AsyncIterator[tts_pb2_grpc.TextToSpeechServiceAsyncStub]:
    synthesis = SpeechSynthesis(
        [hibari, espeak_en, espeak_fr], PromptCache(memory_bytes=64 << 20), max_requests=4
    )
    server = await start_grpc_server("127.0.0.1:0", registrar(synthesis, max_text_chars=400))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield tts_pb2_grpc.TextToSpeechServiceStub(channel)
    finally:
        await channel.close(grace=None)
        await server.stop(0)
        synthesis.close()


async def _synthesize(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub, **fields: Any
) -> list[tts_pb2.SynthesizeResponse]:
    return [response async for response in stub.Synthesize(tts_pb2.SynthesizeRequest(**fields))]


def _pcm(responses: list[tts_pb2.SynthesizeResponse]) -> np.ndarray:
    return np.frombuffer(b"".join(r.audio_chunk for r in responses), dtype="<i2")


async def test_a_paragraph_streams_sentence_by_sentence_with_the_format_first(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub,
) -> None:
    responses = await _synthesize(stub, text=PARAGRAPH)

    assert responses[0].HasField("format")
    assert responses[0].format.encoding == audio_pb2.AUDIO_ENCODING_LINEAR16
    assert responses[0].format.sample_rate_hertz == 24_000
    assert not any(r.HasField("format") for r in responses[1:])
    ends = [r.sentence_index for r in responses if r.sentence_end]
    assert ends == [0, 1, 2]
    offsets = [r.offset.ToNanoseconds() for r in responses]
    assert offsets == sorted(offsets)
    assert offsets[0] == 0
    seconds = _pcm(responses).size / 24_000
    assert 3 < seconds < 12
    assert rms_dbfs(_pcm(responses)) > -35


async def test_audio_resampled_to_16_khz_is_still_the_sentence_spoken(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub, transcribe: Transcribe
) -> None:
    responses = await _synthesize(stub, text="I have a sore throat.", sample_rate_hertz=16_000)

    assert responses[0].format.sample_rate_hertz == 16_000
    heard = transcribe(_pcm(responses).astype(np.int16), 16_000).lower()
    assert "sore throat" in heard


async def test_the_second_request_for_a_sentence_is_served_from_the_cache(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub,
) -> None:
    first = await _synthesize(stub, text="Do you have a fever?")
    second = await _synthesize(stub, text="Do you have a fever?")

    assert [r.cached for r in first] == [False] * len(first)
    assert [r.cached for r in second] == [True] * len(second)
    assert _pcm(first).tobytes() == _pcm(second).tobytes()


async def test_wav_is_one_playable_file_with_the_exact_length(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub,
) -> None:
    responses = await _synthesize(
        stub, text=PARAGRAPH, encoding=audio_pb2.AUDIO_ENCODING_WAV, sample_rate_hertz=16_000
    )

    assert responses[0].format.encoding == audio_pb2.AUDIO_ENCODING_WAV
    with wave.open(io.BytesIO(b"".join(r.audio_chunk for r in responses))) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (1, 16_000)
        assert 3 < wav.getnframes() / 16_000 < 12
        assert len(wav.readframes(wav.getnframes())) == wav.getnframes() * 2


async def test_french_is_spoken_by_espeak_ng(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub,
) -> None:
    responses = await _synthesize(
        stub,
        text="Avez-vous de la fièvre ? Le Dr. Martin vous rappellera.",
        language=language_pb2.LANGUAGE_FRENCH,
    )

    assert responses[0].format.sample_rate_hertz == 22_050
    assert [r.sentence_index for r in responses if r.sentence_end] == [0, 1]
    assert _pcm(responses).size / 22_050 > 2


async def test_the_voices_installed_are_listed_with_engine_language_and_licence(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub,
) -> None:
    voices = (await stub.ListVoices(tts_pb2.ListVoicesRequest())).voices
    french = (
        await stub.ListVoices(tts_pb2.ListVoicesRequest(language=language_pb2.LANGUAGE_FRENCH))
    ).voices

    listed = {v.voice_id: (v.engine, v.license, v.is_default) for v in voices}
    assert listed == {
        "hibari-en": ("hibari", "Apache-2.0", True),
        "espeak-en": ("espeak-ng", "GPL-3.0-or-later", False),
        "espeak-fr": ("espeak-ng", "GPL-3.0-or-later", True),
    }
    assert [v.voice_id for v in french] == ["espeak-fr"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "word " * 100}, "text"),
        ({"text": "?!"}, "text"),
        ({"text": "Hello.", "voice_id": "nobody"}, "voice_id"),
        ({"text": "Hello.", "language": language_pb2.LANGUAGE_URDU}, "language"),
        ({"text": "Hello.", "encoding": audio_pb2.AUDIO_ENCODING_OGG_OPUS}, "encoding"),
        ({"text": "Hello.", "sample_rate_hertz": 100}, "sample_rate_hertz"),
        ({"text": "Hello.", "speaking_rate": float("nan")}, "speaking_rate"),
    ],
)
async def test_a_bad_request_is_refused_naming_the_field(
    stub: tts_pb2_grpc.TextToSpeechServiceAsyncStub, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _synthesize(stub, **fields)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith(f"{field}:")
    metadata: Any = refused.value.trailing_metadata() or ()
    details = dict(metadata)[PROBLEM_DETAILS_KEY]
    status = status_pb2.Status.FromString(details)
    problem = problem_pb2.Problem()
    status.details[0].Unpack(problem)
    assert [v.field for v in problem.violations] == [field]


class GatedVoice:
    """A fake engine that holds every sentence until the test opens the gate."""

    def __init__(self, gate: threading.Event) -> None:
        self._gate = gate

    @property
    def voice(self) -> Voice:
        return Voice("gated", "Gated", Language.EN, "fake", "MIT", 16_000)

    def synthesize(self, text: str, *, speed: float = 1.0) -> np.ndarray:
        assert self._gate.wait(timeout=30)
        return np.ones(1600, dtype=np.int16)


async def test_a_full_service_answers_resource_exhausted_saying_to_retry() -> None:
    gate = threading.Event()
    synthesis = SpeechSynthesis([GatedVoice(gate)], PromptCache(memory_bytes=0), max_requests=1)
    server = await start_grpc_server("127.0.0.1:0", registrar(synthesis))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
            first = stub.Synthesize(tts_pb2.SynthesizeRequest(text="One. Two."))
            started = await wait_for_in_flight(synthesis)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await _synthesize(stub, text="Three.")
            gate.set()
            answered = [response async for response in first]
    finally:
        gate.set()
        await server.stop(0)
        synthesis.close()

    assert started
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry" in (refused.value.details() or "")
    assert [r.sentence_index for r in answered if r.sentence_end] == [0, 1]


async def wait_for_in_flight(synthesis: SpeechSynthesis) -> bool:
    """Wait (with a deadline) until the first call holds its place."""
    deadline = asyncio.get_running_loop().time() + 10
    while not synthesis.busy:
        assert asyncio.get_running_loop().time() < deadline, "the first call never started"
        await asyncio.sleep(0.01)
    return True


async def test_the_process_serves_voices_and_stops_on_sigterm() -> None:
    env = {"TTS_PREWARM": "false", "TTS_PIPER": "false", "HF_HUB_OFFLINE": "1"}
    async with (
        service_process("voiceassist_tts", env=env) as service,
        grpc.aio.insecure_channel(service.grpc_address) as channel,
    ):
        stub = tts_pb2_grpc.TextToSpeechServiceStub(channel)
        voices = (await stub.ListVoices(tts_pb2.ListVoicesRequest())).voices
        responses = await _synthesize(stub, text="Hello.")

    assert SERVICE.full_name == "voiceassist.tts.v1.TextToSpeechService"
    assert "hibari-en" in {v.voice_id for v in voices}
    assert _pcm(responses).size > 0
