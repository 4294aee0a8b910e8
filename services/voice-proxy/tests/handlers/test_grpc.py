"""The voice-proxy process serves conversations and their operations view.

Started as `make up` starts it (here without NATS: conversations are kept in memory until it
answers, and the service still serves), a text conversation begins with the greeting and the
consent question, and ends when the patient leaves; GetSession then shows it ended, with no
content.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist.voice_proxy.v1 import voice_proxy_pb2_grpc
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.testing import free_port, health_status, service_process
from voiceassist_voice_proxy.handlers.grpc import SERVICE

# Nothing listens there: the process must serve while NATS is unreachable.
NO_NATS = {"NATS_URL": f"nats://127.0.0.1:{free_port()}", "VOICEASSIST_ENV": "test"}


async def leave_after_greeting() -> AsyncIterator[pb.ConverseRequest]:
    yield pb.ConverseRequest(start=pb.ConversationStart(channel=pb.CHANNEL_TEXT))
    yield pb.ConverseRequest(action=pb.CLIENT_ACTION_END_SESSION)


async def test_a_conversation_starts_with_consent_and_ends_when_the_patient_leaves() -> None:
    assert SERVICE.full_name == "voiceassist.voice_proxy.v1.VoiceProxyService"
    async with (
        service_process("voiceassist_voice_proxy", env=NO_NATS) as service,
        create_channel(service.grpc_address) as channel,
    ):
        assert await health_status(channel, SERVICE.full_name) == "SERVING"
        stub = voice_proxy_pb2_grpc.VoiceProxyServiceStub(channel)
        events = [event async for event in stub.Converse(leave_after_greeting())]
        kinds = [event.WhichOneof("event") for event in events]
        assert kinds == ["session_started", "assistant_text"]
        started, greeting = events[0].session_started, events[1].assistant_text
        assert not started.resumed
        assert greeting.stage == pb.DIALOG_STAGE_CONSENT
        assert not greeting.interruptible
        assert [reply.text for reply in greeting.quick_replies] == ["Yes", "No"]

        session = (
            await stub.GetSession(pb.GetSessionRequest(session_id=started.session_id))
        ).session
        assert session.state == pb.SESSION_STATE_ENDED
        assert session.channel == pb.CHANNEL_TEXT
        missing = pb.GetSessionRequest(session_id="00000000-0000-4000-8000-000000000000")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.GetSession(missing)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
