"""gRPC entry point of the voice-proxy service: ``voiceassist.voice_proxy.v1.VoiceProxyService``.

``Converse`` is the patient's conversation (handlers/conversation.py). The operations RPCs
(GetSession, ListSessions, EndSession) show and end conversations without their content: no
transcript, no answer, no audio. Admins see all of them; a patient sees and ends only their own
(another patient's answers NOT_FOUND, like a missing one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import timestamp_pb2
from voiceassist.common.v1 import clinical_pb2, language_pb2, paging_pb2
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist.voice_proxy.v1 import voice_proxy_pb2_grpc
from voiceassist_common.errors import InvalidArgument, NotFound
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import Register
from voiceassist_common.tokens import Principal, Role

from voiceassist_voice_proxy.adapters.sessions import SessionRecord, SessionStore
from voiceassist_voice_proxy.domain.dialog import Stage
from voiceassist_voice_proxy.handlers.conversation import Conversations

__all__ = ["SERVICE", "VoiceProxyServicer", "registrar", "session_out"]

SERVICE = pb.DESCRIPTOR.services_by_name["VoiceProxyService"]
MAX_PAGE = 500


def _stamp(instant: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(instant.astimezone(UTC))
    return stamp


def session_out(record: SessionRecord, *, connected: bool = False) -> pb.Session:
    """Return the operational view of a conversation (no content)."""
    state = record.state
    if record.end_time is not None:
        session_state = pb.SESSION_STATE_ENDED
    elif connected:
        session_state = pb.SESSION_STATE_CONNECTED
    else:
        session_state = pb.SESSION_STATE_DISCONNECTED
    session = pb.Session(
        session_id=state.session_id,
        state=session_state,
        stage=pb.DialogStage.Value(f"DIALOG_STAGE_{Stage(state.stage).name}"),
        channel=pb.CHANNEL_TEXT if record.channel == "text" else pb.CHANNEL_VOICE,
        patient_subject=record.patient_subject,
        guest=record.guest,
        language=(
            language_pb2.LANGUAGE_FRENCH
            if state.language == "fr"
            else language_pb2.LANGUAGE_ENGLISH
        ),
        turn_count=state.turns,
        triage_assessment_id=state.outcome.assessment_id if state.outcome else "",
        appointment_id=state.appointment_id,
        audio_retention_consent=record.audio_retention_consent,
        start_time=_stamp(record.start_time),
        last_activity_time=_stamp(record.last_activity_time),
    )
    if state.outcome is not None:
        session.urgency = clinical_pb2.UrgencyLevel.ValueType(int(state.outcome.level))
    if record.end_time is not None:
        session.end_time.CopyFrom(_stamp(record.end_time))
    return session


class VoiceProxyServicer(voice_proxy_pb2_grpc.VoiceProxyServiceServicer):
    """Converse plus the operations view of conversations."""

    def __init__(self, conversations: Conversations, store: SessionStore, callers: Callers) -> None:
        self._conversations = conversations
        self._store = store
        self._callers = callers

    async def Converse(  # noqa: N802 - gRPC method name
        self,
        request_iterator: AsyncIterator[pb.ConverseRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.ConverseResponse]:
        """Hold one patient's conversation (docs/voice-protocol.md)."""
        # An async generator itself: grpc.aio serves a stream only from one.
        async for event in self._conversations.converse(request_iterator, context):
            yield event

    async def _mine(
        self, context: grpc.aio.ServicerContext[Any, Any], session_id: str
    ) -> tuple[Principal | None, SessionRecord]:
        principal = await self._callers.authenticate(context)
        record = await self._store.load(session_id) if session_id else None
        if record is None or not _may_see(principal, record):
            raise NotFound("no conversation has this id")
        return principal, record

    async def GetSession(  # noqa: N802 - gRPC method name
        self, request: pb.GetSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetSessionResponse:
        """Read one conversation's state (admins, or the patient it belongs to)."""
        _, record = await self._mine(context, request.session_id)
        return pb.GetSessionResponse(session=session_out(record))

    async def ListSessions(  # noqa: N802 - gRPC method name
        self, request: pb.ListSessionsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListSessionsResponse:
        """List conversations, newest first (a patient sees only their own)."""
        principal = await self._callers.authenticate(context)
        size = request.page.page_size or 50
        if not 1 <= size <= MAX_PAGE:
            raise InvalidArgument(f"page.page_size: must be 1 to {MAX_PAGE}")
        try:
            offset = int(request.page.page_token or "0")
        except ValueError:
            raise InvalidArgument("page.page_token: is not a token from a previous page") from None
        records = [r for r in await self._store.all() if _may_see(principal, r)]
        if request.patient_subject:
            records = [r for r in records if r.patient_subject == request.patient_subject]
        sessions = [session_out(r) for r in records]
        if request.states:
            sessions = [s for s in sessions if s.state in request.states]
        if request.window.HasField("start_time"):
            start = request.window.start_time.ToDatetime(UTC)
            sessions = [s for s in sessions if s.start_time.ToDatetime(UTC) >= start]
        if request.window.HasField("end_time"):
            end = request.window.end_time.ToDatetime(UTC)
            sessions = [s for s in sessions if s.start_time.ToDatetime(UTC) < end]
        sessions.sort(key=lambda s: s.start_time.ToDatetime(UTC), reverse=True)
        page = sessions[offset : offset + size]
        more = len(sessions) > offset + size
        return pb.ListSessionsResponse(
            sessions=page,
            page_info=paging_pb2.PageInfo(next_page_token=str(offset + size) if more else ""),
        )

    async def EndSession(  # noqa: N802 - gRPC method name
        self, request: pb.EndSessionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.EndSessionResponse:
        """End a conversation; it cannot resume (ending it again changes nothing)."""
        _, record = await self._mine(context, request.session_id)
        if record.end_time is None:
            record.end_time = datetime.now(UTC)
            await self._store.save(record)
        return pb.EndSessionResponse(session=session_out(record))


def _may_see(principal: Principal | None, record: SessionRecord) -> bool:
    if principal is None or principal.has_role(Role.ADMIN):
        return True
    return record.patient_subject == principal.subject


def registrar(conversations: Conversations, store: SessionStore, callers: Callers) -> Register:
    """Return the function that adds VoiceProxyService to a server."""
    servicer = VoiceProxyServicer(conversations, store, callers)

    def register(server: grpc.aio.Server) -> Sequence[str]:
        voice_proxy_pb2_grpc.add_VoiceProxyServiceServicer_to_server(servicer, server)
        return (SERVICE.full_name,)

    return register
