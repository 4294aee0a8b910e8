"""Converse over loopback gRPC: typed conversations, kept in NATS KV, resumed after a drop.

The voice-proxy's servicer runs against the real triage and scheduling services (conftest.py)
and a real NATS server's key-value bucket. What a patient would notice: the greeting asks for
consent, chest pain spreading to the arm gets the emergency advice at once, a dropped
connection resumes where it stood (for that patient only), a failed turn can be said again, and
what they said is not readable in the bucket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any

import grpc
import nats
import pytest
from voiceassist.common.v1 import clinical_pb2
from voiceassist.triage.v1 import triage_pb2_grpc
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist.voice_proxy.v1 import voice_proxy_pb2_grpc
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.messaging import key_value
from voiceassist_common.testing import free_port
from voiceassist_voice_proxy.adapters.sessions import (
    KvSessionStore,
    MemorySessionStore,
    StateSealer,
)
from voiceassist_voice_proxy.handlers.conversation import Conversations
from voiceassist_voice_proxy.handlers.grpc import registrar

pytestmark = pytest.mark.integration

KEY = bytes(range(32))
OTHER_PATIENT = "66666666-6666-4666-8666-666666666666"
CHEST_PAIN = "I have a crushing pain in my chest spreading to my left arm"


class Patient:
    """A client that sends requests when told and reads responses as they come."""

    def __init__(self, stub: Any, metadata: Any) -> None:
        self._queue: asyncio.Queue[pb.ConverseRequest | None] = asyncio.Queue()
        self._call = stub.Converse(self._requests(), metadata=metadata)

    async def _requests(self) -> AsyncIterator[pb.ConverseRequest]:
        while (request := await self._queue.get()) is not None:
            yield request

    async def send(self, **event: Any) -> None:
        await self._queue.put(pb.ConverseRequest(**event))

    async def read_until(self, kind: str, limit: int = 20) -> list[pb.ConverseResponse]:
        """Read responses up to and including the first of ``kind``."""
        events = []
        for _ in range(limit):
            event = await asyncio.wait_for(self._call.read(), timeout=30)
            assert event is not grpc.aio.EOF, f"the stream ended before {kind}"  # type: ignore[attr-defined]
            events.append(event)
            if event.WhichOneof("event") == kind:
                return events
        raise AssertionError(f"no {kind} in {limit} responses")

    async def leave(self) -> None:
        await self._queue.put(None)
        self._call.cancel()


def kinds(events: Iterable[pb.ConverseResponse]) -> list[str]:
    return [str(event.WhichOneof("event")) for event in events]


@pytest.fixture
async def voice(
    services: tuple[Any, Any], callers: Callers, nats_url: str, now: datetime
) -> AsyncIterator[tuple[Any, Any]]:
    """Serve Converse over the real services and a real KV bucket; return (stub, bucket)."""
    triage, scheduling = services
    client = await nats.connect(nats_url)
    bucket = await key_value(
        client.jetstream(), f"voice_test_{free_port()}", ttl=timedelta(minutes=5)
    )
    store = KvSessionStore(bucket, StateSealer(KEY))
    conversations = Conversations(store, callers, triage, scheduling, clock=lambda: now)
    server = await start_grpc_server("127.0.0.1:0", registrar(conversations, store, callers))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        yield voice_proxy_pb2_grpc.VoiceProxyServiceStub(channel), bucket
    finally:
        await channel.close(grace=None)
        await server.stop(0)
        await client.close()


async def test_chest_pain_gets_the_emergency_advice_at_once(voice: Any, token: Any) -> None:
    stub, _ = voice
    patient = Patient(stub, token())
    await patient.send(start=pb.ConversationStart(channel=pb.CHANNEL_TEXT))
    assert kinds(await patient.read_until("assistant_text")) == [
        "session_started",
        "assistant_text",
    ]
    await patient.send(text="yes")
    await patient.read_until("assistant_text")
    await patient.send(text=CHEST_PAIN)
    events = await patient.read_until("triage_result")
    result = events[-1].triage_result
    assert result.level in (
        clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE,
        clinical_pb2.URGENCY_LEVEL_EMERGENCY,
    )
    assert result.emergency_number
    assert result.disclaimer
    assert not result.bookable
    advice = (await patient.read_until("assistant_text"))[-1].assistant_text
    assert not advice.interruptible
    await patient.leave()


async def test_a_dropped_conversation_resumes_for_its_patient_only(voice: Any, token: Any) -> None:
    stub, bucket = voice
    first = Patient(stub, token())
    await first.send(start=pb.ConversationStart(channel=pb.CHANNEL_TEXT))
    session_id = (await first.read_until("session_started"))[0].session_started.session_id
    await first.read_until("assistant_text")
    await first.send(text="yes")
    asked = (await first.read_until("assistant_text"))[-1].assistant_text.text
    await first.leave()

    again = Patient(stub, token())
    # Typed first, back with the microphone: the conversation follows the new channel.
    await again.send(start=pb.ConversationStart(session_id=session_id, channel=pb.CHANNEL_VOICE))
    events = await again.read_until("assistant_text")
    assert events[0].session_started.resumed
    assert events[0].session_started.stage == pb.DIALOG_STAGE_CHIEF_COMPLAINT
    assert events[-1].assistant_text.text == asked
    await again.leave()
    session = await stub.GetSession(pb.GetSessionRequest(session_id=session_id), metadata=token())
    assert session.session.channel == pb.CHANNEL_VOICE

    # What the patient said is sealed in the bucket.
    stored = (await bucket.get(session_id)).value
    assert b"yes" not in stored
    assert b"chief_complaint" not in stored

    stranger = Patient(stub, token(OTHER_PATIENT))
    await stranger.send(start=pb.ConversationStart(session_id=session_id))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stranger.read_until("session_started")
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_audio_before_speech_is_wired_is_refused_without_ending_the_conversation(
    voice: Any, token: Any
) -> None:
    stub, _ = voice
    patient = Patient(stub, token())
    await patient.send(start=pb.ConversationStart(channel=pb.CHANNEL_VOICE))
    await patient.read_until("assistant_text")
    await patient.send(audio=b"\x00\x00" * 320)
    error = (await patient.read_until("error"))[-1].error
    assert error.code == "voice.audio_unavailable"
    assert not error.fatal
    await patient.send(text="yes")
    said = (await patient.read_until("assistant_text"))[-1].assistant_text
    assert said.stage == pb.DIALOG_STAGE_CHIEF_COMPLAINT
    await patient.leave()


async def test_a_turn_that_fails_can_be_said_again(
    services: tuple[Any, Any], callers: Callers, token: Any, now: datetime
) -> None:
    _, scheduling = services
    # Triage is unreachable: the complaint turn fails, the conversation stays where it was.
    dead = grpc.aio.insecure_channel(f"127.0.0.1:{free_port()}")
    store = MemorySessionStore()
    conversations = Conversations(
        store, callers, triage_pb2_grpc.TriageServiceStub(dead), scheduling, clock=lambda: now
    )
    server = await start_grpc_server("127.0.0.1:0", registrar(conversations, store, callers))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        patient = Patient(voice_proxy_pb2_grpc.VoiceProxyServiceStub(channel), token())
        await patient.send(start=pb.ConversationStart(channel=pb.CHANNEL_TEXT))
        session_id = (await patient.read_until("session_started"))[0].session_started.session_id
        await patient.read_until("assistant_text")
        await patient.send(text="yes")
        await patient.read_until("assistant_text")
        await patient.send(text=CHEST_PAIN)
        error = (await patient.read_until("error"))[-1].error
        assert error.code == "voice.service_unavailable"
        assert not error.fatal
        kept = await store.load(session_id)
        assert kept is not None
        assert kept.state.pending == "complaint"
        assert kept.state.answers == []
        await patient.leave()
    finally:
        await channel.close(grace=None)
        await dead.close(grace=None)
        await server.stop(0)
