"""The voice channel over the real speech services: hearing, speaking, barge-in, bad audio.

Converse runs against the real stt service (Whisper base, from the PyPI packages) and tts
service (hibari), plus the real triage and scheduling services of conftest.py. The patient's
voice is hibari's too, made at test time. What a patient would notice: what they say is
transcribed and answered aloud; speaking over a question stops it at once; silence is not a
turn; a wrong kind of audio gets a message and the conversation goes on. Each answered spoken
turn's latencies are published on the session's NATS as ``voice.turn.completed``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from nats import connect
from prometheus_client import REGISTRY

# scipy ships no type information.
from scipy.signal import resample_poly  # type: ignore[import-untyped]
from voiceassist.stt.v1 import stt_pb2_grpc
from voiceassist.tts.v1 import tts_pb2_grpc
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist.voice_proxy.v1 import voice_proxy_pb2_grpc
from voiceassist_common.events import VoiceTurnCompleted, parse_event
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.messaging import VOICE, ensure_streams
from voiceassist_stt.adapters.models import prepare_model
from voiceassist_stt.adapters.queue import RecognitionQueue
from voiceassist_stt.adapters.vocabulary import load_vocabularies
from voiceassist_stt.adapters.whisper import WhisperRecognizer
from voiceassist_stt.handlers.grpc import registrar as stt_registrar
from voiceassist_tts.adapters.hibari import HibariSynthesizer
from voiceassist_tts.adapters.prompt_cache import PromptCache
from voiceassist_tts.handlers.grpc import registrar as tts_registrar
from voiceassist_tts.handlers.synthesis import SpeechSynthesis
from voiceassist_voice_proxy.adapters.recordings import AudioRecordings, recordings_bucket
from voiceassist_voice_proxy.adapters.sessions import MemorySessionStore, StateSealer
from voiceassist_voice_proxy.adapters.turn_events import TurnEvents
from voiceassist_voice_proxy.handlers.conversation import Conversations, Speech
from voiceassist_voice_proxy.handlers.grpc import registrar

pytestmark = pytest.mark.integration
os.environ.setdefault("HF_HUB_OFFLINE", "1")

RATE = 16_000
FRAME = RATE // 50  # 20 ms


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory: pytest.TempPathFactory) -> WhisperRecognizer:
    cache: Path = tmp_path_factory.mktemp("stt-models")
    return WhisperRecognizer(
        prepare_model("base", cache),
        name="base",
        cpu_threads=2,
        window="fitted",
        window_margin_seconds=2.0,
        window_min_seconds=8.0,
        prompt_tokens=100,
        vocabularies=load_vocabularies(),
    )


@pytest.fixture(scope="module")
def hibari() -> HibariSynthesizer:
    return HibariSynthesizer()


_PATIENT_VOICE: list[HibariSynthesizer] = []


def hibari_pcm(text: str) -> bytes:
    """Return ``text`` spoken by hibari as 16 kHz PCM16 (the patient's microphone)."""
    if not _PATIENT_VOICE:
        _PATIENT_VOICE.append(HibariSynthesizer())
    pcm24k = _PATIENT_VOICE[0].synthesize(text).astype(np.float32)
    resampled = np.asarray(resample_poly(pcm24k, 2, 3))  # 24 kHz to 16 kHz
    return bytes(np.clip(resampled, -32768, 32767).astype("<i2").tobytes())


@pytest.fixture
async def kept(nats_url: str) -> AsyncIterator[AudioRecordings]:
    """Where consenting patients' audio is kept: the real NATS object store, sealed."""
    client = await connect(nats_url, name="voice-test")
    store = await recordings_bucket(client.jetstream(), timedelta(days=1))
    try:
        yield AudioRecordings(StateSealer(os.urandom(32)), store)
    finally:
        await client.close()


@pytest.fixture
async def turn_events(nats_url: str) -> AsyncIterator[TurnEvents]:
    """Where answered turns' latencies go: the real VOICE stream."""
    client = await connect(nats_url, name="voice-turn-test")
    await ensure_streams(client.jetstream())
    try:
        yield TurnEvents(client.jetstream())
    finally:
        await client.close()


async def published_turns(events: TurnEvents, session_id: str) -> list[VoiceTurnCompleted]:
    """Return the session's turn events on the VOICE stream, waiting a little for the first."""
    assert events.js is not None
    subscription = await events.js.pull_subscribe(VoiceTurnCompleted.subject, stream=VOICE.name)
    found: list[VoiceTurnCompleted] = []
    try:
        for _ in range(20):  # published off the reply's path: it may land just after it
            try:
                messages = await subscription.fetch(100, timeout=0.5)
            except TimeoutError:
                messages = []
            for message in messages:
                payload = parse_event(message.data).payload
                if isinstance(payload, VoiceTurnCompleted) and str(payload.session_id) == (
                    session_id
                ):
                    found.append(payload)
            if found:
                return found
    finally:
        await subscription.unsubscribe()
    return found


@pytest.fixture
async def voice(
    services: tuple[Any, Any],
    callers: Callers,
    now: datetime,
    recognizer: WhisperRecognizer,
    hibari: HibariSynthesizer,
    kept: AudioRecordings,
    turn_events: TurnEvents,
) -> AsyncIterator[Any]:
    triage, scheduling = services
    stt_server = await start_grpc_server(
        "127.0.0.1:0", stt_registrar(RecognitionQueue(recognizer, workers=1, capacity=4))
    )
    synthesis = SpeechSynthesis([hibari], PromptCache(memory_bytes=64 << 20), max_requests=8)
    tts_server = await start_grpc_server("127.0.0.1:0", tts_registrar(synthesis))
    stt_channel = grpc.aio.insecure_channel(f"127.0.0.1:{stt_server.port}")
    tts_channel = grpc.aio.insecure_channel(f"127.0.0.1:{tts_server.port}")
    speech = Speech(
        stt=stt_pb2_grpc.SpeechToTextServiceStub(stt_channel),
        tts=tts_pb2_grpc.TextToSpeechServiceStub(tts_channel),
    )
    store = MemorySessionStore()
    conversations = Conversations(
        store,
        callers,
        triage,
        scheduling,
        speech=speech,
        recordings=kept,
        turn_events=turn_events,
        clock=lambda: now,
    )
    server = await start_grpc_server("127.0.0.1:0", registrar(conversations, store, callers))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield voice_proxy_pb2_grpc.VoiceProxyServiceStub(channel)
    finally:
        for open_channel in (channel, stt_channel, tts_channel):
            await open_channel.close(grace=None)
        for running in (server, stt_server, tts_server):
            await running.stop(0)


class Patient:
    """A voice client: sends frames, reads events (audio counted)."""

    def __init__(self, stub: Any, metadata: Any) -> None:
        self._queue: asyncio.Queue[pb.ConverseRequest | None] = asyncio.Queue()
        self._call = stub.Converse(self._requests(), metadata=metadata)
        self.audio_bytes = 0
        self.started = pb.ConverseResponse()

    async def _requests(self) -> AsyncIterator[pb.ConverseRequest]:
        while (request := await self._queue.get()) is not None:
            yield request

    async def send(self, **event: Any) -> None:
        await self._queue.put(pb.ConverseRequest(**event))

    async def speak(self, pcm: bytes, *, silence_ms: int = 1500, pace: float = 0.0) -> None:
        for start in range(0, len(pcm), FRAME * 2):
            await self.send(audio=pcm[start : start + FRAME * 2])
            await asyncio.sleep(pace)
        for _ in range(silence_ms // 20):
            await self.send(audio=b"\x00\x00" * FRAME)
            await asyncio.sleep(pace)

    async def until(self, kind: str, limit: int = 2000) -> list[pb.ConverseResponse]:
        events = []
        for _ in range(limit):
            event = await asyncio.wait_for(self._call.read(), timeout=60)
            assert event is not grpc.aio.EOF, f"the stream ended before {kind}"  # type: ignore[attr-defined]
            if event.WhichOneof("event") == "audio":
                self.audio_bytes += len(event.audio)
                continue
            events.append(event)
            if event.WhichOneof("event") == kind:
                return events
        raise AssertionError(f"no {kind}")

    async def leave(self) -> None:
        await self._queue.put(None)
        self._call.cancel()


def kinds(events: Iterable[pb.ConverseResponse]) -> list[str]:
    return [str(e.WhichOneof("event")) for e in events]


async def started(stub: Any, token: Any, *, keep_audio: bool = False) -> Patient:
    patient = Patient(stub, token())
    await patient.send(
        start=pb.ConversationStart(
            channel=pb.CHANNEL_VOICE,
            input_sample_rate_hertz=RATE,
            audio_retention_consent=keep_audio,
        )
    )
    events = await patient.until("audio_end")  # the greeting, spoken whole
    patient.started = events[0]
    return patient


async def test_what_the_patient_says_is_transcribed_and_answered_aloud(
    voice: Any, token: Any, turn_events: TurnEvents
) -> None:
    patient = await started(voice, token)
    assert patient.audio_bytes > RATE  # the greeting was spoken (24 kHz PCM16)
    await patient.speak(hibari_pcm("Yes, that's fine."))
    events = await patient.until("audio_end")
    finals = [
        e.transcript.text
        for e in events
        if e.WhichOneof("event") == "transcript" and e.transcript.final
    ]
    assert finals
    assert "yes" in finals[-1].lower()
    said = [e.assistant_text for e in events if e.WhichOneof("event") == "assistant_text"]
    assert said[-1].stage == pb.DIALOG_STAGE_CHIEF_COMPLAINT
    assert "audio_start" in kinds(events)
    await patient.leave()
    # The answered turn's latencies went out for the admin analytics, once.
    session_id = patient.started.session_started.session_id
    [turn] = await published_turns(turn_events, session_id)
    latencies = turn.latencies
    assert latencies.stt_seconds > 0
    assert latencies.end_of_speech_to_first_audio_seconds == pytest.approx(
        latencies.stt_seconds + latencies.reasoning_seconds + latencies.tts_first_audio_seconds
    )
    assert not turn.interrupted


def _declined() -> float:
    """Spoken turns whose audio was not kept for want of consent (the recordings counter)."""
    value = REGISTRY.get_sample_value(
        "voiceassist_voice_recordings_total", {"outcome": "not_consented"}
    )
    return value or 0.0


@pytest.mark.parametrize("consent", [False, True])
async def test_a_spoken_turn_is_kept_only_with_the_patients_consent(
    voice: Any, token: Any, kept: AudioRecordings, consent: bool
) -> None:
    declined_before = _declined()
    patient = await started(voice, token, keep_audio=consent)
    session_id = patient.started.session_started.session_id
    assert patient.started.session_started.audio_retention_consent is consent
    spoken = hibari_pcm("Yes, that's fine.")
    await patient.speak(spoken)
    await patient.until("audio_end")
    await patient.leave()
    if not consent:
        for _ in range(100):  # wait until the turn's audio was offered and declined
            if _declined() > declined_before:
                break
            await asyncio.sleep(0.05)
        assert _declined() == declined_before + 1
        assert await kept.turns(session_id) == []
        return
    for _ in range(100):  # kept off the reply's path: it may land just after the reply
        if await kept.turns(session_id):
            break
        await asyncio.sleep(0.05)
    turn = await kept.read(session_id, 1)
    assert turn is not None
    # The turn as heard: the speech, the little before it, and the pause that ended it.
    heard = len(turn.wav) - 44  # a PCM16 WAV file
    assert len(spoken) <= heard <= len(spoken) + RATE * 2 * 2


async def test_speaking_over_a_question_stops_it(voice: Any, token: Any) -> None:
    patient = await started(voice, token)
    await patient.send(text="yes")
    await patient.until("audio_start")  # "what is bothering you today?" starts playing
    await patient.speak(hibari_pcm("I have a sore throat"), silence_ms=200)
    events = await patient.until("interrupt")
    assert events[-1].interrupt.reason == "barge_in"
    ended = await patient.until("audio_end")
    assert ended[-1].audio_end.interrupted
    await patient.leave()


async def test_silence_is_not_a_turn_and_bad_audio_gets_a_message(voice: Any, token: Any) -> None:
    patient = await started(voice, token)
    await patient.speak(b"", silence_ms=2000)
    await patient.send(audio=b'{"type": "text", "text": "hello"}')
    error = (await patient.until("error"))[-1].error
    assert error.code == "voice.unsupported_audio"
    assert not error.fatal
    await patient.send(audio=b"\x00" * 3)
    assert (await patient.until("error"))[-1].error.code == "voice.unsupported_audio"
    # Nothing was heard as a turn: the conversation still waits for consent.
    await patient.send(text="yes")
    said = (await patient.until("assistant_text"))[-1].assistant_text
    assert said.stage == pb.DIALOG_STAGE_CHIEF_COMPLAINT
    await patient.leave()


async def test_a_sample_rate_no_microphone_makes_is_refused(voice: Any, token: Any) -> None:
    patient = Patient(voice, token())
    await patient.send(
        start=pb.ConversationStart(channel=pb.CHANNEL_VOICE, input_sample_rate_hertz=4000)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await patient.until("session_started")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "input_sample_rate_hertz" in (refused.value.details() or "")


async def test_a_48_khz_microphone_is_resampled(voice: Any, token: Any) -> None:
    pcm16k = np.frombuffer(hibari_pcm("Yes please."), dtype="<i2").astype(np.float32)

    pcm48k = resample_poly(pcm16k, 3, 1).astype("<i2").tobytes()
    patient = Patient(voice, token())
    await patient.send(
        start=pb.ConversationStart(channel=pb.CHANNEL_VOICE, input_sample_rate_hertz=48_000)
    )
    await patient.until("audio_end")
    await patient.speak(pcm48k)
    events = await patient.until("assistant_text")
    assert events[-1].assistant_text.stage == pb.DIALOG_STAGE_CHIEF_COMPLAINT
    await patient.leave()
