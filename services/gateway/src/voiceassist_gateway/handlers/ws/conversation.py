"""The conversation WebSocket, ``/ws/v1/conversation``: one patient's socket, relayed to Converse.

The browser cannot speak gRPC (ADR 0002), so the gateway accepts the patient's WebSocket and
relays it, frame for frame, to one ``VoiceProxyService.Converse`` stream (docs/voice-protocol.md;
the mapping is in frames.py). What it adds is what the edge is for:

- **Who is calling.** The opening handshake is an HTTP GET (RFC 6455 §4.1), so it is checked as
  one by the same `Require` as every /api/v1 route: the session cookie or `Authorization:
  Bearer`, token verification, the per-user rate limit, the policy table and their audit
  records. A refused handshake is answered with the HTTP problem (401, 403, 429, 503) before
  the socket exists. The conversation needs ``triage:assess``: it is a triage assessment (and
  a booking); guests, patients and clinicians hold it.
- **Cross-site WebSocket hijacking.** Browsers send cookies with a WebSocket handshake from any
  site and WebSockets have no CORS, so a cookie-authenticated handshake must come from an
  allowed Origin (the gateway's own, or one CORS_ALLOWED_ORIGINS lists): that is what stands
  in for the CSRF token a GET does not carry. A Bearer token cannot be sent by another site's
  page, so API clients need no Origin.
- **Limits.** Text frames up to 64 KiB and audio frames up to 32 KiB (100 ms of 48 kHz PCM16
  is 9.6 KiB) are relayed; larger ones are answered with ``voice.frame_too_large`` and the
  conversation goes on, as it does after ``voice.bad_frame``. A socket silent for the idle
  timeout, or sending frames faster than a microphone does, is closed with a fatal error.
- **The caller's token** travels to the voice proxy in the gRPC metadata, with the request id,
  so the voice proxy calls triage and scheduling as the patient.

Both directions run at once (two tasks); when one ends the other is stopped: a client that
leaves cancels the gRPC call (the voice proxy keeps the session to resume), and a stream that
ends closes the socket, after a fatal ``error`` frame when it ended with a status. Transcripts
and typed text are PHI: nothing here logs a frame's content.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlsplit

import grpc
from fastapi import APIRouter, Depends, WebSocket
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.websockets import WebSocketDisconnect, WebSocketState
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist_common.events import AuditOutcome
from voiceassist_common.grpc.principal import bearer_metadata
from voiceassist_common.logging import safe

from voiceassist_gateway.adapters.voice_proxy import VoiceProxyClient
from voiceassist_gateway.domain.access import Permission
from voiceassist_gateway.domain.problems import http_problem
from voiceassist_gateway.domain.rate_limits import RateLimiter
from voiceassist_gateway.domain.web_sessions import SESSION_COOKIE
from voiceassist_gateway.handlers.http.identity import Caller, Gatekeeper, Require
from voiceassist_gateway.handlers.http.problem_responses import problem_response, request_id_of
from voiceassist_gateway.handlers.ws import frames
from voiceassist_gateway.handlers.ws.frames import BadFrameError, Ending

logger = logging.getLogger(__name__)

PATH = "/ws/v1/conversation"
REQUEST_ID_KEY = "x-request-id"
_KIB = 1024


@dataclass(frozen=True, slots=True)
class ConversationLimits:
    """Where sockets may come from and what one socket may send; ``app.state.conversation``."""

    allowed_origins: frozenset[str]
    """Origins a cookie-authenticated handshake may come from (scheme://host[:port])."""
    max_text_frame_bytes: int = 64 * _KIB
    max_audio_frame_bytes: int = 32 * _KIB
    idle_timeout_seconds: float = 300.0
    """How long a socket may send nothing (a hands-free microphone sends all the time)."""
    frames_per_second: int = 100
    """Sustained frame rate allowed (20 ms audio frames are 50 a second)."""
    frame_burst: int = 200

    @classmethod
    def of(cls, public_base_url: str, cors_allowed_origins: list[str]) -> ConversationLimits:
        """Allow the gateway's own origin (it serves the web client) and the CORS origins."""
        return cls(allowed_origins=frozenset({origin_of(public_base_url), *cors_allowed_origins}))


def origin_of(url: str) -> str:
    """Return the origin of a URL as a browser writes it in an Origin header."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A handshake the gateway refuses, as the HTTP problem to answer it with."""

    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


class SocketRequire:
    """A WebSocket route dependency: a permitted caller from an allowed origin, or a `Refusal`.

    It returns rather than raises, because a WebSocket route answers a refusal itself (an HTTP
    denial response before accepting), where an HTTP route lets the error handlers answer.
    """

    def __init__(self, *permissions: Permission) -> None:
        self._require = Require(*permissions)
        self.permissions = self._require.permissions

    def __repr__(self) -> str:
        return f"SocketRequire({', '.join(sorted(self.permissions))})"

    async def __call__(self, websocket: WebSocket) -> Caller | Refusal:
        """Check the handshake as `Require` checks a GET, after the Origin check."""
        if websocket.headers.get("authorization") is None:
            refusal = await _foreign_origin(websocket)
            if refusal is not None:
                return refusal
        # The handshake is a GET: the scope is the same request, seen as HTTP.
        handshake = Request({**websocket.scope, "type": "http", "method": "GET"})
        try:
            return await self._require(handshake)
        except HTTPException as refused:
            return Refusal(refused.status_code, str(refused.detail), dict(refused.headers or {}))


async def _foreign_origin(websocket: WebSocket) -> Refusal | None:
    """Refuse a cookie handshake from an origin the gateway does not serve; audit it."""
    if websocket.cookies.get(SESSION_COOKIE) is None:
        return None  # no credentials at all: Require answers 401
    origin = (websocket.headers.get("origin") or "").lower()
    limits: ConversationLimits = websocket.app.state.conversation
    if origin and origin in limits.allowed_origins:
        return None
    keeper: Gatekeeper = websocket.app.state.gatekeeper
    await keeper.audit.record(
        actor="anonymous",
        action="auth.origin_rejected",
        resource_type="web_session",
        resource_id="websocket",
        outcome=AuditOutcome.DENIED,
        request_id=request_id_of(websocket.scope),
    )
    return Refusal(403, "This page's origin may not open a conversation with your session.")


router = APIRouter()
Admitted = Annotated[Caller | Refusal, Depends(SocketRequire(Permission.TRIAGE_ASSESS))]


@router.websocket(PATH, name="conversation")
async def conversation(websocket: WebSocket, admitted: Admitted) -> None:
    """Relay one patient's conversation between the socket and the voice proxy."""
    if isinstance(admitted, Refusal):
        await _deny(websocket, admitted)
        return
    limits: ConversationLimits = websocket.app.state.conversation
    client: VoiceProxyClient = websocket.app.state.voice_proxy
    metadata = bearer_metadata(admitted.access_token)
    request_id = request_id_of(websocket.scope)
    if request_id:
        metadata += ((REQUEST_ID_KEY, request_id),)
    await websocket.accept()
    relay = Relay(websocket, limits)
    # Requests are written one by one (call.write) as the socket delivers them.
    call = client.stub.Converse(None, metadata=metadata)
    ending = await relay.run(call)
    logger.info(
        "conversation socket closed: code=%s reason=%s frames_in=%d frames_out=%d",
        ending.close_code,
        safe(ending.reason or "client left"),
        relay.frames_in,
        relay.frames_out,
    )


async def _deny(websocket: WebSocket, refusal: Refusal) -> None:
    """Answer a refused handshake with its HTTP problem, or close 1008 where that is impossible."""
    problem = http_problem(refusal.status, refusal.detail, request_id_of(websocket.scope))
    response = problem_response(problem, refusal.headers)
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(frames.CLOSE_POLICY_VIOLATION, refusal.detail)


Call = grpc.aio.StreamStreamCall[pb.ConverseRequest, pb.ConverseResponse]


class Relay:
    """Moves one socket's frames to a ``Converse`` call and back, until either side ends."""

    def __init__(self, websocket: WebSocket, limits: ConversationLimits) -> None:
        self.websocket = websocket
        self.limits = limits
        self.language = "en"
        self.frames_in = 0
        self.frames_out = 0
        self._started = False
        self._sending = asyncio.Lock()
        self._frame_rate = RateLimiter(limits.frames_per_second * 60, burst=limits.frame_burst)

    async def run(self, call: Call) -> Ending:
        """Relay both ways; return how the socket ended (after closing it)."""
        upstream = asyncio.create_task(self._upstream(call), name="conversation-upstream")
        downstream = asyncio.create_task(self._downstream(call), name="conversation-downstream")
        try:
            done, _ = await asyncio.wait(
                {upstream, downstream}, return_when=asyncio.FIRST_COMPLETED
            )
            first = done.pop()
            ending = first.result()
            if first is upstream and ending is None:
                # The voice proxy's stream broke under a write: it reports why when read.
                ending = await downstream
        finally:
            call.cancel()
            for task in (upstream, downstream):
                task.cancel()
            for task in (upstream, downstream):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if ending is None:
            return Ending(frames.CLOSE_NORMAL, reason="")
        await self._close(ending)
        return ending

    # -- client to voice proxy ------------------------------------------------------------------

    async def _upstream(self, call: Call) -> Ending | None:
        """Forward the client's frames; return an ending, or None if the call stopped taking them.

        The client leaving ends this with the sentinel `_CLIENT_LEFT`.
        """
        while True:
            try:
                message = await asyncio.wait_for(
                    self.websocket.receive(), self.limits.idle_timeout_seconds
                )
            except TimeoutError:
                return frames.ending_for(frames.IDLE_TIMEOUT, frames.CLOSE_NORMAL, self.language)
            except (WebSocketDisconnect, RuntimeError):
                return _CLIENT_LEFT
            if message["type"] == "websocket.disconnect":
                return _CLIENT_LEFT
            self.frames_in += 1
            if self._frame_rate.take("socket") > 0:
                return frames.ending_for(
                    frames.TOO_MANY_FRAMES, frames.CLOSE_POLICY_VIOLATION, self.language
                )
            try:
                request = self._request_of(message)
            except BadFrameError as bad:
                await self._send(frames.error_frame(bad.code, bad.message, fatal=False))
                continue
            try:
                await call.write(request)
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                return None

    def _request_of(self, message: Mapping[str, Any]) -> pb.ConverseRequest:
        """Map one received WebSocket message, enforcing the size limits and the start rule."""
        data: bytes | None = message.get("bytes")
        text: str | None = message.get("text")
        if data is not None:
            if len(data) > self.limits.max_audio_frame_bytes:
                raise BadFrameError(
                    f"An audio frame may hold at most {self.limits.max_audio_frame_bytes} bytes.",
                    frames.FRAME_TOO_LARGE,
                )
            if not self._started:
                raise BadFrameError("Send session.start before audio.")
            return frames.audio_request(data)
        if text is None:
            raise BadFrameError("An empty frame cannot be read.")
        if len(text.encode()) > self.limits.max_text_frame_bytes:
            raise BadFrameError(
                f"A text frame may hold at most {self.limits.max_text_frame_bytes} bytes.",
                frames.FRAME_TOO_LARGE,
            )
        parsed = frames.parse_text_frame(text)
        starting = frames.frame_type(parsed) == "session.start"
        if starting and self._started:
            raise BadFrameError("The conversation has already started.")
        if not starting and not self._started and frames.frame_type(parsed) in frames.CLIENT_TYPES:
            raise BadFrameError("Send session.start first.")
        request = frames.request_of(parsed)
        if starting:
            self._started = True
            self.language = frames.language_tag(request)
        return request

    # -- voice proxy to client ------------------------------------------------------------------

    async def _downstream(self, call: Call) -> Ending | None:
        """Send the voice proxy's events to the client; return how its stream ended."""
        relayed_fatal = False
        try:
            while True:
                response = await call.read()
                if not isinstance(response, pb.ConverseResponse):
                    break  # grpc.aio.EOF: the voice proxy ended the stream
                frame = frames.frame_of(response)
                if frame is None:
                    continue
                relayed_fatal = relayed_fatal or frames.is_fatal_error(response)
                await self._send(frame)
        except grpc.aio.AioRpcError as error:
            ending = frames.ending_of_status(error.code(), self.language)
            logger.warning("voice proxy ended a conversation with %s", safe(error.code().name))
        except (WebSocketDisconnect, OSError, RuntimeError):
            return _CLIENT_LEFT
        else:
            ending = frames.ending_of_status(await call.code(), self.language)
        if relayed_fatal:
            # The voice proxy already told the patient why, in the conversation's language.
            return Ending(ending.close_code, None, ending.reason)
        return ending

    # -- the socket -----------------------------------------------------------------------------

    async def _send(self, frame: frames.JsonObject | bytes) -> None:
        """Send one frame; both directions send (errors go upstream's way), one at a time."""
        async with self._sending:
            if isinstance(frame, bytes):
                await self.websocket.send_bytes(frame)
            else:
                await self.websocket.send_json(frame)
            self.frames_out += 1

    async def _close(self, ending: Ending) -> None:
        """Send the ending's frame and close with its code, unless the client has gone."""
        if ending is _CLIENT_LEFT or self.websocket.client_state is not WebSocketState.CONNECTED:
            return
        with contextlib.suppress(WebSocketDisconnect, OSError, RuntimeError):
            if ending.frame is not None:
                await self._send(ending.frame)
            await self.websocket.close(ending.close_code, ending.reason)


_CLIENT_LEFT = Ending(frames.CLOSE_NORMAL, reason="client left")
"""The client closed the socket or vanished: nothing more can be sent to it."""
