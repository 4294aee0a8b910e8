"""REST speech through the gateway: a text spoken back as WAV by the real tts service.

Behind the gateway runs the real tts service (hibari for English, espeak-ng for French) on a
loopback gRPC port; the gateway reaches it over gRPC as in production.
"""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_gateway.config import Settings
from voiceassist_tts.adapters.espeak import EspeakSynthesizer, espeak_program
from voiceassist_tts.adapters.hibari import HibariSynthesizer
from voiceassist_tts.adapters.prompt_cache import PromptCache
from voiceassist_tts.domain.voices import Language
from voiceassist_tts.handlers.grpc import registrar
from voiceassist_tts.handlers.synthesis import SpeechSynthesis

SPEECH = "/api/v1/speech"


@pytest.fixture(scope="module")
def voices() -> list[Any]:
    program = espeak_program()
    assert program is not None, "espeak-ng is in deploy/local/apt-packages.txt (make up)"
    return [HibariSynthesizer(), EspeakSynthesizer(Language.FR, program)]


@pytest.fixture
async def tts_address(voices: list[Any]) -> AsyncIterator[str]:
    synthesis = SpeechSynthesis(voices, PromptCache(memory_bytes=0), max_requests=2)
    server = await start_grpc_server("127.0.0.1:0", registrar(synthesis))
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.stop(0)


@pytest.fixture
def settings(tts_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(tts_grpc_addr=tts_address, **identity_settings)


def read_wav(data: bytes) -> tuple[int, float]:
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getframerate(), reader.getnframes() / reader.getframerate()


async def test_a_text_comes_back_as_speech_in_a_wav_file(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{SPEECH}/synthesize", json={"text": "Please call your doctor tomorrow morning."}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    rate, seconds = read_wav(response.content)
    assert rate == 24_000
    assert 1.0 < seconds < 8.0


async def test_french_at_the_rate_asked(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{SPEECH}/synthesize",
        json={
            "text": "Appelez votre médecin demain matin.",
            "language": "fr",
            "sample_rate": 16000,
        },
    )
    assert response.status_code == 200, response.text
    rate, seconds = read_wav(response.content)
    assert rate == 16_000
    assert seconds > 1.0


async def test_an_unknown_voice_is_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{SPEECH}/synthesize", json={"text": "Hello.", "voice_id": "no-such-voice"}
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "voice_id" in response.text


async def test_an_empty_upload_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{SPEECH}/transcribe", content=b"", headers={"Content-Type": "audio/wav"}
    )
    assert response.status_code == 422, response.text


async def test_speech_needs_a_signed_in_caller(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.post(f"{SPEECH}/synthesize", json={"text": "Hello."})
    assert response.status_code == 401
