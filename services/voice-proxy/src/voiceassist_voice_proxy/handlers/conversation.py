"""The Converse stream: one patient's conversation, turn by turn, kept between turns.

The gateway relays the patient's WebSocket here (docs/voice-protocol.md). The first request
starts a conversation or resumes one the same patient started (a dropped connection, another
replica); every later request is a turn: typed text (or, on the voice channel, a final
transcript), a tapped slot, or an action. Each turn runs the dialog (domain/dialog.py) on a copy
of the state, so a turn that fails half way (triage or scheduling unreachable) changes nothing:
the patient hears that something went wrong and can say it again. After each turn the state is
saved (adapters/sessions.py), so the conversation survives the connection and the process.

Audio frames are answered with a non-fatal ``voice.audio_unavailable`` error until the speech
path (stt, tts, voice activity) is wired in: typed text works at every step. Transcripts and
typed text are PHI: nothing here logs them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import duration_pb2, timestamp_pb2
from prometheus_client import Counter, Histogram
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist_common.grpc.principal import Callers, bearer_metadata, bearer_token
from voiceassist_common.logging import safe

from voiceassist_voice_proxy.adapters.services import GrpcScheduling, GrpcTriage
from voiceassist_voice_proxy.adapters.sessions import SessionRecord, SessionStore
from voiceassist_voice_proxy.domain.dialog import (
    Dialog,
    DialogState,
    Output,
    Say,
    ShowBooked,
    ShowOffer,
    ShowTriage,
    Stage,
)

if TYPE_CHECKING:
    from voiceassist.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceAsyncStub
    from voiceassist.triage.v1.triage_pb2_grpc import TriageServiceAsyncStub

__all__ = ["TURNS", "TURN_SECONDS", "Conversations", "events_of"]

logger = logging.getLogger(__name__)

TURNS = Counter(
    "voiceassist_voice_turns",
    "Conversation turns by kind (text, slot, action) and outcome (ok, failed).",
    ["kind", "outcome"],
)
TURN_SECONDS = Histogram(
    "voiceassist_voice_turn_seconds",
    "Seconds from a patient's turn arriving to the last reply event of that turn.",
    ["kind"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)

MAX_TEXT = 2000
_STAGES = {stage: pb.DialogStage.Value(f"DIALOG_STAGE_{stage.name}") for stage in Stage}
_LANGUAGES_IN = {language_pb2.LANGUAGE_FRENCH: "fr"}
_LANGUAGES_OUT = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}
_ERRORS = {
    "service": {
        "en": "Sorry, something went wrong on our side. Please say that again in a moment.",
        "fr": "Désolé, un problème est survenu de notre côté. Répétez dans un instant, s'il vous "
        "plaît.",
    },
    "audio": {
        "en": "Speech is not available yet on this server: please type your answer.",
        "fr": "La voix n'est pas encore disponible sur ce serveur : tapez votre réponse, s'il "
        "vous plaît.",
    },
    "text": {
        "en": "That message is too long: please keep it under 2,000 characters.",
        "fr": "Ce message est trop long : moins de 2 000 caractères, s'il vous plaît.",
    },
}


def _stamp(instant: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(instant.astimezone(UTC))
    return stamp


def events_of(outputs: list[Output]) -> list[pb.ConverseResponse]:
    """Translate the dialog's outputs into Converse responses."""
    events = []
    for output in outputs:
        if isinstance(output, Say):
            events.append(
                pb.ConverseResponse(
                    assistant_text=pb.AssistantText(
                        text=output.text,
                        stage=_STAGES[output.stage],
                        interruptible=output.interruptible,
                        quick_replies=[pb.QuickReply(text=r) for r in output.quick_replies],
                        utterance_id=str(uuid.uuid4()),
                    )
                )
            )
        elif isinstance(output, ShowTriage):
            outcome = output.outcome
            events.append(
                pb.ConverseResponse(
                    triage_result=pb.TriageResult(
                        level=clinical_pb2.UrgencyLevel.ValueType(int(outcome.level)),
                        instruction=outcome.instruction,
                        reasons=list(outcome.reasons),
                        conditions=[
                            pb.LikelyCondition(name=name, probability=p)
                            for name, p in outcome.conditions
                        ],
                        disclaimer=outcome.disclaimer,
                        assessment_id=outcome.assessment_id,
                        emergency_number=output.emergency_number,
                        bookable=output.bookable,
                    )
                )
            )
        elif isinstance(output, ShowOffer):
            offer = pb.BookingOffer(advice=output.offers.advice)
            for practitioner in output.offers.practitioners:
                offer.practitioners.append(
                    pb.OfferedPractitioner(
                        practitioner_id=practitioner.practitioner_id,
                        display_name=practitioner.name,
                        practice=practitioner.practice,
                        timezone=practitioner.timezone,
                        slots=[
                            pb.OfferedSlot(
                                slot_id=slot.slot_id,
                                start_time=_stamp(slot.start),
                                duration=duration_pb2.Duration(
                                    seconds=int((slot.end - slot.start).total_seconds())
                                ),
                                spoken_time=output.spoken_times.get(slot.slot_id, ""),
                            )
                            for slot in practitioner.slots
                        ],
                    )
                )
            events.append(pb.ConverseResponse(booking_offer=offer))
        elif isinstance(output, ShowBooked):
            booked = output.booked
            events.append(
                pb.ConverseResponse(
                    booking_confirmed=pb.BookingConfirmed(
                        appointment_id=booked.appointment_id,
                        practitioner_name=booked.practitioner_name,
                        practice=booked.practice,
                        start_time=_stamp(booked.start),
                        spoken_time=output.spoken_time,
                    )
                )
            )
    return events


def _error(code: str, key: str, language: str, *, fatal: bool = False) -> pb.ConverseResponse:
    texts = _ERRORS[key]
    return pb.ConverseResponse(
        error=pb.ConversationError(code=code, message=texts.get(language, texts["en"]), fatal=fatal)
    )


class Conversations:
    """Runs Converse streams over the session store and the triage and scheduling stubs."""

    def __init__(
        self,
        store: SessionStore,
        callers: Callers,
        triage: TriageServiceAsyncStub,
        scheduling: SchedulingServiceAsyncStub,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._callers = callers
        self._triage = triage
        self._scheduling = scheduling
        self._clock = clock

    async def converse(
        self,
        requests: AsyncIterator[pb.ConverseRequest],
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[pb.ConverseResponse]:
        """Serve one conversation until the client half-closes or it ends."""
        principal = await self._callers.authenticate(context)
        token = bearer_token(context.invocation_metadata())
        metadata = bearer_metadata(token) if token else ()
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("event") != "start":
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, "the first message must be a ConversationStart"
            )
            return
        subject = principal.subject if principal is not None else "unverified"
        guest = principal is not None and principal.claims.get("voiceassist_guest") is True
        record, resumed = await self._open(first.start, subject, guest)
        if record is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no conversation of yours has this id")
            return
        state = record.state
        dialog = Dialog(
            GrpcTriage(self._triage, metadata),
            GrpcScheduling(self._scheduling, metadata),
            clock=self._clock,
        )
        yield pb.ConverseResponse(
            session_started=pb.SessionStarted(
                session_id=state.session_id,
                resumed=resumed,
                stage=_STAGES[state.stage],
                language=_LANGUAGES_OUT[state.language],
            )
        )
        if resumed:
            last = record.extra.get("last_said")
            if last:
                # Where the conversation stood: the question the patient has not answered yet.
                yield pb.ConverseResponse(
                    assistant_text=pb.AssistantText(
                        text=last, stage=_STAGES[state.stage], interruptible=True
                    )
                )
        else:
            for event in self._remember(record, dialog.begin(state)):
                yield event
            await self._save(record)
        async for request in requests:
            which = request.WhichOneof("event")
            if which == "audio":
                TURNS.labels("audio", "unavailable").inc()
                yield _error("voice.audio_unavailable", "audio", state.language)
                continue
            if which == "action":
                if request.action == pb.CLIENT_ACTION_END_SESSION:
                    record.end_time = self._clock()
                    state.stage = Stage.DONE
                    await self._save(record)
                    TURNS.labels("action", "ok").inc()
                    return
                continue  # stop_audio / end_of_turn: nothing plays on the text path
            if which not in ("text", "select_slot_id"):
                continue
            if which == "text" and len(request.text) > MAX_TEXT:
                yield _error("voice.text_too_long", "text", state.language)
                continue
            kind = "text" if which == "text" else "slot"
            started = time.perf_counter()
            before = state.to_dict()
            try:
                if which == "text":
                    outputs = await dialog.hear(state, request.text)
                else:
                    outputs = await dialog.pick_slot(state, request.select_slot_id)
            except grpc.aio.AioRpcError as error:
                # Put the state back: the turn did not happen, the patient may say it again.
                record.state = state = DialogState.from_dict(before)
                TURNS.labels(kind, "failed").inc()
                logger.warning("a conversation turn failed: %s", safe(error.code().name))
                yield _error("voice.service_unavailable", "service", state.language)
                continue
            for event in self._remember(record, outputs):
                yield event
            if state.stage == Stage.DONE and record.end_time is None:
                record.end_time = self._clock()
            await self._save(record)
            TURNS.labels(kind, "ok").inc()
            TURN_SECONDS.labels(kind).observe(time.perf_counter() - started)

    async def _open(
        self, start: pb.ConversationStart, subject: str, guest: bool
    ) -> tuple[SessionRecord | None, bool]:
        """Resume the patient's conversation, or start a new one."""
        now = self._clock()
        if start.session_id:
            try:
                session_id = str(uuid.UUID(start.session_id))
            except ValueError:
                return None, False
            found = await self._store.load(session_id)
            # Someone else's conversation is answered like a missing one.
            if found is None or found.patient_subject != subject or found.end_time is not None:
                return None, False
            found.last_activity_time = now
            return found, True
        language = _LANGUAGES_IN.get(start.language, "en")
        channel = "text" if start.channel == pb.CHANNEL_TEXT else "voice"
        state = DialogState(session_id=str(uuid.uuid4()), language=language)  # type: ignore[arg-type]
        record = SessionRecord(
            state=state,
            patient_subject=subject,
            guest=guest,
            channel=channel,
            start_time=now,
            last_activity_time=now,
        )
        return record, False

    def _remember(self, record: SessionRecord, outputs: list[Output]) -> list[pb.ConverseResponse]:
        said = [o.text for o in outputs if isinstance(o, Say)]
        if said:
            record.extra["last_said"] = said[-1]
        record.last_activity_time = self._clock()
        return events_of(outputs)

    async def _save(self, record: SessionRecord) -> None:
        await self._store.save(record)
