"""The conversation WebSocket relays a signed-in patient's socket to the voice proxy and back.

The gateway runs in a real uvicorn on a free port and a `websockets` client talks to it as a
browser or an app would. Behind it stands `EchoVoiceProxy`, a stand-in VoiceProxyService over
loopback gRPC (the real Converse is being written in parallel): it starts sessions, echoes typed
text as the assistant's words and audio as reply audio, confirms a selected slot, and fails on
request, so the relay and the mapping are checked both ways without the speech models.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import grpc
import pytest
import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist.voice_proxy.v1 import voice_proxy_pb2_grpc
from voiceassist_common.grpc.server import GrpcServer, start_grpc_server
from voiceassist_gateway.config import Settings
from voiceassist_gateway.domain.readiness import DownstreamHealth
from voiceassist_gateway.domain.web_sessions import SESSION_COOKIE, WebSession, storage_key
from voiceassist_gateway.handlers.http.app import create_app
from voiceassist_gateway.handlers.http.identity import Gatekeeper
from voiceassist_gateway.handlers.ws.conversation import PATH
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PATIENT = "cccccccc-0000-4000-8000-000000000003"
APP_ORIGIN = "https://app.test"
DEADLINE = 10.0
"""Longest wait for anything in these tests (a guard against hanging, not a performance bound)."""


class EchoVoiceProxy(voice_proxy_pb2_grpc.VoiceProxyServiceServicer):
    """Stand-in voice proxy: echoes typed text and audio back; 'fail CODE' aborts with CODE."""

    def __init__(self) -> None:
        self.metadata: dict[str, str] = {}
        self.received: list[str] = []
        self.abandoned = asyncio.Event()

    async def Converse(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[pb.ConverseRequest],
        context: grpc.aio.ServicerContext[pb.ConverseRequest, pb.ConverseResponse],
    ) -> AsyncIterator[pb.ConverseResponse]:
        self.metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        async for request in request_iterator:
            event = request.WhichOneof("event")
            self.received.append(str(event))
            if event == "start":
                yield pb.ConverseResponse(
                    session_started=pb.SessionStarted(
                        session_id=request.start.session_id or "conv-1",
                        stage=pb.DIALOG_STAGE_CONSENT,
                        language=request.start.language,
                    )
                )
            elif event == "text" and request.text.startswith("fail "):
                code = grpc.StatusCode[request.text.split()[1]]
                await context.abort(code, f"voice proxy words about {request.text}")
            elif event == "text":
                yield pb.ConverseResponse(
                    assistant_text=pb.AssistantText(
                        text=f"You said: {request.text}",
                        stage=pb.DIALOG_STAGE_CHIEF_COMPLAINT,
                        interruptible=True,
                        utterance_id="u-1",
                    )
                )
            elif event == "audio":
                yield pb.ConverseResponse(
                    audio_start=pb.AudioStart(utterance_id="u-2", sample_rate_hertz=24000)
                )
                yield pb.ConverseResponse(audio=request.audio)
                yield pb.ConverseResponse(audio_end=pb.AudioEnd(utterance_id="u-2"))
            elif event == "select_slot_id":
                yield pb.ConverseResponse(
                    booking_confirmed=pb.BookingConfirmed(
                        appointment_id=f"booked-{request.select_slot_id}"
                    )
                )
            elif request.action == pb.CLIENT_ACTION_END_SESSION:
                return
        # The requests stopped without end_session. The gateway never half-closes, so the
        # call was cancelled (grpc.aio shows a client's cancel to a streaming handler as the
        # end of its requests, and context.cancelled() stays False).
        self.abandoned.set()

    # The operations API is not what the gateway relays; the stand-in does not offer it.
    async def GetSession(  # noqa: N802 - gRPC method name
        self, request: pb.GetSessionRequest, context: Any
    ) -> pb.GetSessionResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in the stand-in")
        raise AssertionError("unreachable")

    async def ListSessions(  # noqa: N802 - gRPC method name
        self, request: pb.ListSessionsRequest, context: Any
    ) -> pb.ListSessionsResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in the stand-in")
        raise AssertionError("unreachable")

    async def EndSession(  # noqa: N802 - gRPC method name
        self, request: pb.EndSessionRequest, context: Any
    ) -> pb.EndSessionResponse:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "not in the stand-in")
        raise AssertionError("unreachable")


@pytest.fixture
def voice_proxy() -> EchoVoiceProxy:
    return EchoVoiceProxy()


@pytest.fixture
async def voice_proxy_server(voice_proxy: EchoVoiceProxy) -> AsyncIterator[GrpcServer]:
    def register(server: grpc.aio.Server) -> Sequence[str]:
        voice_proxy_pb2_grpc.add_VoiceProxyServiceServicer_to_server(voice_proxy, server)
        return (pb.DESCRIPTOR.services_by_name["VoiceProxyService"].full_name,)

    server = await start_grpc_server("127.0.0.1:0", register)
    yield server
    await server.stop(0)


@pytest.fixture
def settings(voice_proxy_server: GrpcServer, identity_settings: dict[str, Any]) -> Settings:
    return Settings(
        voice_proxy_grpc_addr=f"127.0.0.1:{voice_proxy_server.port}",
        cors_allowed_origins=APP_ORIGIN,
        **identity_settings,
    )


@pytest.fixture
def app(
    settings: Settings,
    downstream_health: DownstreamHealth,
    tracer_provider: TracerProvider,
    gatekeeper: Gatekeeper,
    idp: Any,
) -> FastAPI:
    return create_app(
        settings,
        downstream_health=downstream_health,
        tracer_provider=tracer_provider,
        gatekeeper=gatekeeper,
        provider_proxy=idp.http_client(),
    )


@pytest.fixture
async def gateway_url(app: FastAPI) -> AsyncIterator[str]:
    """Serve the app with uvicorn on a free port; yield the conversation's ws:// URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + DEADLINE
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert not serving.done(), "uvicorn stopped"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"ws://127.0.0.1:{port}{PATH}"
    server.should_exit = True
    await asyncio.wait_for(serving, DEADLINE)


@pytest.fixture
def bearer(idp: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {idp.access_token(PATIENT, ['patient'])}"}


@contextlib.asynccontextmanager
async def talking(url: str, headers: dict[str, str]) -> AsyncIterator[ClientConnection]:
    async with connect(url, additional_headers=headers, open_timeout=DEADLINE) as socket:
        yield socket


async def receive(socket: ClientConnection) -> Any:
    """Return the next frame: a JSON object for text frames, bytes for audio."""
    frame = await asyncio.wait_for(socket.recv(), DEADLINE)
    return json.loads(frame) if isinstance(frame, str) else frame


async def send(socket: ClientConnection, frame: dict[str, Any]) -> None:
    await socket.send(json.dumps(frame))


async def closed_with(socket: ClientConnection) -> int | None:
    """Wait for the server to close the socket; return its close code."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(socket.recv(), DEADLINE)
    return socket.close_code


async def start(socket: ClientConnection, **fields: Any) -> dict[str, Any]:
    await send(socket, {"type": "session.start", **fields})
    started: dict[str, Any] = await receive(socket)
    assert started["type"] == "session.started", started
    return started


async def test_a_typed_and_spoken_conversation_is_relayed_both_ways(
    gateway_url: str, bearer: dict[str, str], voice_proxy: EchoVoiceProxy
) -> None:
    audio = bytes(range(256)) * 4  # 1 KiB of PCM16, about 32 ms at 16 kHz

    async with talking(gateway_url, bearer) as socket:
        started = await start(socket, language="fr", channel="voice", sample_rate=48000)
        await send(socket, {"type": "text", "text": "I have a sore throat"})
        said = await receive(socket)
        await socket.send(audio)
        reply = [await receive(socket) for _ in range(3)]
        await send(socket, {"type": "slot.select", "slot_id": "slot-7"})
        booked = await receive(socket)
        await send(socket, {"type": "action", "action": "end_session"})
        code = await closed_with(socket)

    assert started == {
        "type": "session.started",
        "session_id": "conv-1",
        "resumed": False,
        "stage": "consent",
        "language": "fr",
        "audio_retention_consent": False,
    }
    assert said["type"] == "assistant.text"
    assert (said["text"], said["stage"]) == ("You said: I have a sore throat", "chief_complaint")
    assert reply[0] == {"type": "audio.start", "utterance_id": "u-2", "sample_rate": 24000}
    assert reply[1] == audio
    assert reply[2] == {"type": "audio.end", "utterance_id": "u-2", "interrupted": False}
    assert (booked["type"], booked["appointment_id"]) == ("booking.confirmed", "booked-slot-7")
    assert code == 1000
    assert voice_proxy.received == ["start", "text", "audio", "select_slot_id", "action"]


async def test_the_callers_token_and_request_id_go_to_the_voice_proxy(
    gateway_url: str, bearer: dict[str, str], voice_proxy: EchoVoiceProxy
) -> None:
    headers = {**bearer, "X-Request-ID": "req-conversation-1"}

    async with talking(gateway_url, headers) as socket:
        await start(socket)

    assert voice_proxy.metadata["authorization"] == bearer["Authorization"]
    assert voice_proxy.metadata["x-request-id"] == "req-conversation-1"


async def test_a_guest_may_hold_a_conversation(gateway_url: str, idp: Any) -> None:
    token = idp.access_token("guest-7", ["patient"], guest=True)

    async with talking(gateway_url, {"Authorization": f"Bearer {token}"}) as socket:
        started = await start(socket)

    assert started["session_id"] == "conv-1"


async def refused_status(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    with pytest.raises(InvalidStatus) as refused:
        async with talking(url, headers):
            pass
    response = refused.value.response
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, json.loads(response.body or b"{}")


async def test_a_socket_without_credentials_is_refused_before_it_opens(
    gateway_url: str, voice_proxy: EchoVoiceProxy
) -> None:
    status, problem = await refused_status(gateway_url, {})

    assert status == 401
    assert problem["status"] == 401
    assert voice_proxy.received == []


async def test_a_forged_token_is_refused_and_audited(gateway_url: str, audit_records: Any) -> None:
    status, _ = await refused_status(gateway_url, {"Authorization": "Bearer not-a-token"})

    assert status == 401
    assert ("auth.token_rejected", "denied") in audit_records.actions()


async def test_a_role_without_triage_is_refused_and_audited(
    gateway_url: str, idp: Any, audit_records: Any
) -> None:
    token = idp.access_token("dddddddd-0000-4000-8000-000000000004", ["admin"])

    status, _ = await refused_status(gateway_url, {"Authorization": f"Bearer {token}"})

    assert status == 403
    record = audit_records.records[-1]
    assert (record.action, record.resource_id) == ("auth.access_denied", "triage:assess")


@pytest.fixture
async def session_cookie(gatekeeper: Gatekeeper, idp: Any) -> str:
    """Sign a browser in: a web session in the store; return its Cookie header."""
    session = WebSession(
        subject=PATIENT,
        access_token=idp.access_token(PATIENT, ["patient"]),
        access_expires_at=time.time() + 300,
        refresh_token=None,
        id_token=None,
        csrf_token="csrf-1",
    )
    await gatekeeper.sessions.put(storage_key("session", "browser-1"), session.to_bytes())
    return f"{SESSION_COOKIE}=browser-1"


@pytest.mark.parametrize("origin", [APP_ORIGIN, "https://gateway.test"])
async def test_a_signed_in_browser_on_an_allowed_origin_converses_with_its_cookie(
    gateway_url: str, session_cookie: str, voice_proxy: EchoVoiceProxy, origin: str
) -> None:
    async with talking(gateway_url, {"Cookie": session_cookie, "Origin": origin}) as socket:
        await start(socket)

    assert voice_proxy.metadata["authorization"].startswith("Bearer ey")


@pytest.mark.parametrize("origin", ["https://evil.example", None])
async def test_a_cookie_socket_from_another_site_is_refused_and_audited(
    gateway_url: str,
    session_cookie: str,
    voice_proxy: EchoVoiceProxy,
    audit_records: Any,
    origin: str | None,
) -> None:
    headers = {"Cookie": session_cookie}
    if origin is not None:
        headers["Origin"] = origin

    status, _ = await refused_status(gateway_url, headers)

    assert status == 403
    assert ("auth.origin_rejected", "denied") in audit_records.actions()
    assert voice_proxy.received == []


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json at all", "voice.bad_frame"),
        (json.dumps({"type": "dance"}), "voice.bad_frame"),
        (json.dumps({"type": "text"}), "voice.bad_frame"),
        (json.dumps({"type": "session.start"}), "voice.bad_frame"),  # a second start
        (json.dumps({"type": "text", "text": "x" * (65 * 1024)}), "voice.frame_too_large"),
        (b"\x00" * (33 * 1024), "voice.frame_too_large"),
    ],
)
async def test_a_bad_frame_is_answered_with_an_error_and_the_conversation_goes_on(
    gateway_url: str, bearer: dict[str, str], frame: str | bytes, code: str
) -> None:
    async with talking(gateway_url, bearer) as socket:
        await start(socket)
        await socket.send(frame)
        error = await receive(socket)
        await send(socket, {"type": "text", "text": "still here"})
        said = await receive(socket)

    assert (error["type"], error["code"], error["fatal"]) == ("error", code, False)
    assert "xxxx" not in error["message"]
    assert said["text"] == "You said: still here"


async def test_nothing_but_session_start_is_taken_first(
    gateway_url: str, bearer: dict[str, str], voice_proxy: EchoVoiceProxy
) -> None:
    async with talking(gateway_url, bearer) as socket:
        await send(socket, {"type": "text", "text": "hello"})
        first = await receive(socket)
        await socket.send(b"\x00\x00" * 160)
        second = await receive(socket)
        await start(socket)

    assert (first["code"], second["code"]) == ("voice.bad_frame", "voice.bad_frame")
    assert "session.start" in first["message"]
    assert voice_proxy.received == ["start"]


@pytest.mark.parametrize(
    ("status", "code", "close_code"),
    [
        ("UNAVAILABLE", "voice.service_unavailable", 1013),
        ("RESOURCE_EXHAUSTED", "voice.service_busy", 1013),
        ("INTERNAL", "voice.internal", 1011),
    ],
)
async def test_a_failed_voice_proxy_ends_the_socket_with_a_fatal_error(
    gateway_url: str, bearer: dict[str, str], status: str, code: str, close_code: int
) -> None:
    async with talking(gateway_url, bearer) as socket:
        await start(socket)
        await send(socket, {"type": "text", "text": f"fail {status}"})
        error = await receive(socket)
        closed = await closed_with(socket)

    assert (error["type"], error["code"], error["fatal"]) == ("error", code, True)
    assert "voice proxy words" not in error["message"]  # the gateway words it itself
    assert closed == close_code


async def test_an_unreachable_voice_proxy_says_try_again_later(
    gateway_url: str, bearer: dict[str, str], voice_proxy_server: GrpcServer
) -> None:
    await voice_proxy_server.stop(0)

    async with talking(gateway_url, bearer) as socket:
        await send(socket, {"type": "session.start"})
        error = await receive(socket)
        closed = await closed_with(socket)

    assert (error["code"], error["fatal"], closed) == ("voice.service_unavailable", True, 1013)


async def test_a_client_that_leaves_cancels_the_voice_proxy_call(
    gateway_url: str, bearer: dict[str, str], voice_proxy: EchoVoiceProxy
) -> None:
    async with talking(gateway_url, bearer) as socket:
        await start(socket)

    await asyncio.wait_for(voice_proxy.abandoned.wait(), DEADLINE)
    assert "action" not in voice_proxy.received


async def test_a_silent_socket_is_closed_after_the_idle_timeout(
    gateway_url: str, app: FastAPI, bearer: dict[str, str]
) -> None:
    app.state.conversation = replace(app.state.conversation, idle_timeout_seconds=0.2)

    async with talking(gateway_url, bearer) as socket:
        await start(socket)
        error = await receive(socket)
        closed = await closed_with(socket)

    assert (error["code"], error["fatal"], closed) == ("voice.idle_timeout", True, 1000)


async def test_a_flood_of_frames_is_cut_off(
    gateway_url: str, app: FastAPI, bearer: dict[str, str]
) -> None:
    app.state.conversation = replace(app.state.conversation, frames_per_second=1, frame_burst=3)

    async with talking(gateway_url, bearer) as socket:
        for _ in range(6):
            await socket.send(b"\x00\x00" * 160)
        frames = []
        with contextlib.suppress(ConnectionClosed):
            while True:
                frames.append(await receive(socket))
        closed = socket.close_code

    assert frames[-1]["code"] == "voice.too_many_frames"
    assert frames[-1]["fatal"] is True
    assert closed == 1008


async def test_what_the_patient_types_is_never_logged(
    gateway_url: str, bearer: dict[str, str], log_stream: io.StringIO
) -> None:
    async with talking(gateway_url, bearer) as socket:
        await start(socket)
        await send(socket, {"type": "text", "text": "I have a secret rash"})
        await receive(socket)
        await send(socket, {"type": "text", "text": "fail INTERNAL secret rash"})
        await closed_with(socket)

    assert "conversation socket closed" in log_stream.getvalue()
    assert "secret rash" not in log_stream.getvalue()
