"""The Converse stream: one patient's conversation, turn by turn, kept between turns.

The gateway relays the patient's WebSocket here (docs/voice-protocol.md). The first request
starts a conversation or resumes one the same patient started (a dropped connection, another
replica); every later request is a turn: typed text (or, on the voice channel, a final
transcript), a tapped slot, or an action. Each turn runs the dialog (domain/dialog.py) on a copy
of the state, so a turn that fails half way (triage or scheduling unreachable) changes nothing:
the patient hears that something went wrong and can say it again. After each turn the state is
saved (adapters/sessions.py), so the conversation survives the connection and the process.

On the voice channel the patient's audio frames go through voice activity detection
(adapters/vad.py, Silero) and turn-taking (domain/turns.py): speech opens a streaming
recognition (adapters/speech.py) with the audio from just before it, whose partial transcripts
go to the client as they come. At each pause (about 200 ms of silence) the turn's audio so far
is recognised in one call; if the words are a finished answer the pause ends the turn early
(320 ms for an expected answer such as "yes", 480 ms for a finished sentence) instead of the
patient-length 800 ms, and that recognition is already the final transcript. Speech resuming
makes it stale. The final transcript takes the same path as typed text.

Every assistant sentence is then spoken (tts, streamed sentence by sentence); speaking over an
interruptible reply stops it at once (barge-in: an ``interrupt`` event, and no more audio),
while consent and emergency instructions play to the end. Each answered spoken turn's
latencies (end of speech to final transcript, to first reply text, to first reply audio) go to
the latency histogram and, best effort and off the reply's path, out as ``voice.turn.completed``
(adapters/turn_events.py) for the admin analytics. Requests are read by one task and
turns run in another, so audio keeps flowing (and barge-in keeps working) while a turn is being
answered; one turn at a time. Transcripts and typed text are PHI: nothing here logs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import duration_pb2, timestamp_pb2
from prometheus_client import Counter, Histogram
from voiceassist.common.v1 import clinical_pb2, language_pb2
from voiceassist.voice_proxy.v1 import voice_proxy_pb2 as pb
from voiceassist_common.grpc.principal import Callers, bearer_metadata, bearer_token
from voiceassist_common.logging import safe

from voiceassist_voice_proxy.adapters.recordings import (
    AudioRecordings,
    grant_consent,
    withdraw_consent,
)
from voiceassist_voice_proxy.adapters.services import GrpcScheduling, GrpcTriage
from voiceassist_voice_proxy.adapters.sessions import SessionRecord, SessionStore
from voiceassist_voice_proxy.adapters.speech import Heard, Recognition, recognize, speak
from voiceassist_voice_proxy.adapters.turn_events import TurnEvents
from voiceassist_voice_proxy.adapters.vad import StreamingVad
from voiceassist_voice_proxy.domain.audio import (
    AudioRefusedError,
    check_rate,
    looks_like_audio,
    to_float16k,
    to_pcm16,
)
from voiceassist_voice_proxy.domain.dialog import (
    Dialog,
    DialogState,
    Listening,
    Output,
    Say,
    ShowBooked,
    ShowOffer,
    ShowTriage,
    Stage,
    listening_for,
)
from voiceassist_voice_proxy.domain.turns import TurnDetector, TurnEvent, sounds_finished

if TYPE_CHECKING:
    from voiceassist.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceAsyncStub
    from voiceassist.stt.v1.stt_pb2_grpc import SpeechToTextServiceAsyncStub
    from voiceassist.triage.v1.triage_pb2_grpc import TriageServiceAsyncStub
    from voiceassist.tts.v1.tts_pb2_grpc import TextToSpeechServiceAsyncStub

__all__ = ["STAGE_SECONDS", "TURNS", "TURN_SECONDS", "Conversations", "Speech", "events_of"]

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

STAGE_SECONDS = Histogram(
    "voiceassist_voice_latency_seconds",
    "Seconds from the end of the patient's speech to the final transcript (transcript), the "
    "first reply text (reply_text) and the first reply audio byte (reply_audio).",
    ["stage"],
    buckets=(0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0),
)

MAX_TEXT = 2000
PRE_ROLL_FRAMES = 10
"""Windows of audio (32 ms each) kept from before speech starts: the first syllable."""
DEFAULT_OUTPUT_RATE = 24_000
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
    "bad_audio": {
        "en": "I could not read that audio: the app should send 16-bit PCM sound.",
        "fr": "Je n'ai pas pu lire ce son : l'application doit envoyer du son PCM 16 bits.",
    },
    "too_long": {
        "en": "That was a long answer, so I stopped listening there. Please go on in short "
        "sentences.",
        "fr": "C'était une longue réponse, j'ai donc arrêté d'écouter. Continuez par phrases "
        "courtes, s'il vous plaît.",
    },
    "busy": {
        "en": "Speech recognition is busy right now. Please say that again, or type it.",
        "fr": "La reconnaissance vocale est occupée. Répétez, ou tapez votre réponse.",
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


@dataclass(frozen=True)
class Speech:
    """The speech services a voice conversation uses; absent, voice frames are refused."""

    stt: SpeechToTextServiceAsyncStub
    tts: TextToSpeechServiceAsyncStub


class Conversations:
    """Runs Converse streams over the session store and the services the dialog calls."""

    def __init__(
        self,
        store: SessionStore,
        callers: Callers,
        triage: TriageServiceAsyncStub,
        scheduling: SchedulingServiceAsyncStub,
        *,
        speech: Speech | None = None,
        recordings: AudioRecordings | None = None,
        turn_events: TurnEvents | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._callers = callers
        self._triage = triage
        self._scheduling = scheduling
        self._speech = speech
        self.recordings = recordings
        """Where consenting patients' turns are kept; None keeps nothing (tests of other things)."""
        self.turn_events = turn_events
        """Where answered spoken turns' latencies are published; None publishes nothing."""
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
        start = first.start
        try:
            input_rate = check_rate(start.input_sample_rate_hertz)
        except AudioRefusedError as error:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"input_sample_rate_hertz: {error}"
            )
            return
        subject = principal.subject if principal is not None else "unverified"
        guest = principal is not None and principal.claims.get("voiceassist_guest") is True
        record, resumed = await self._open(start, subject, guest)
        if record is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no conversation of yours has this id")
            return
        dialog = Dialog(
            GrpcTriage(self._triage, metadata),
            GrpcScheduling(self._scheduling, metadata),
            clock=self._clock,
        )
        conversation = _Conversation(
            self,
            record,
            dialog,
            metadata,
            speech=self._speech if record.channel == "voice" else None,
            input_rate=input_rate,
            output_rate=start.output_sample_rate_hertz or DEFAULT_OUTPUT_RATE,
        )
        async for event in conversation.run(requests, resumed):
            yield event

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
            # The patient may come back on another channel (typed first, then the microphone).
            found.channel = "text" if start.channel == pb.CHANNEL_TEXT else "voice"
            if start.audio_retention_consent:
                grant_consent(found, now)
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
        if start.audio_retention_consent:
            grant_consent(record, now)
        return record, False

    async def save(self, record: SessionRecord) -> None:
        """Keep the conversation for the next turn (and a reconnect)."""
        await self._store.save(record)

    def now(self) -> datetime:
        """Return the current time."""
        return self._clock()


class _Conversation:
    """One live stream: reads requests, runs turns, speaks replies, listens for barge-in."""

    def __init__(
        self,
        owner: Conversations,
        record: SessionRecord,
        dialog: Dialog,
        metadata: tuple[tuple[str, str], ...] | tuple[()],
        *,
        speech: Speech | None,
        input_rate: int,
        output_rate: int,
    ) -> None:
        self._owner = owner
        self._record = record
        self._dialog = dialog
        self._metadata = metadata
        self._speech = speech
        self._input_rate = input_rate
        self._output_rate = output_rate
        self._out: asyncio.Queue[pb.ConverseResponse | None] = asyncio.Queue()
        self._turn_lock = asyncio.Lock()
        self._turns: set[asyncio.Task[None]] = set()
        self._keeping: set[asyncio.Task[bool]] = set()
        """Recordings being written and turn events published; awaited when the stream ends."""
        # Voice only.
        self._vad = StreamingVad() if speech is not None else None
        self._detector = TurnDetector()
        self._pre_roll: deque[bytes] = deque(maxlen=PRE_ROLL_FRAMES)
        self._recognition: Recognition | None = None
        self._turn_audio: list[bytes] = []
        """The turn's 16 kHz PCM16 audio, from the pre-roll on."""
        self._probe: tuple[int, asyncio.Task[Heard | grpc.StatusCode]] | None = None
        """(pause index, recognition) of the turn's words at its latest pause."""
        self._listening = Listening()
        self._playback: asyncio.Task[None] | None = None
        self._playing: tuple[str, bool] | None = None
        """(utterance id, interruptible) of the reply being spoken."""
        self._speech_ended_at = 0.0
        self._barged_in = False
        """The patient spoke over this turn's reply: its remaining sentences are not spoken."""
        self._audio_timed = False
        self._timings: dict[str, float] = {}
        """Seconds from the end of speech to each stage of the turn being answered (voice)."""
        self._turn_index = 0

    @property
    def _state(self) -> DialogState:
        return self._record.state

    def _emit(self, event: pb.ConverseResponse) -> None:
        self._out.put_nowait(event)

    async def run(
        self, requests: AsyncIterator[pb.ConverseRequest], resumed: bool
    ) -> AsyncIterator[pb.ConverseResponse]:
        """Yield the conversation's events until it ends or the client goes away."""
        state = self._state
        self._emit(
            pb.ConverseResponse(
                session_started=pb.SessionStarted(
                    session_id=state.session_id,
                    resumed=resumed,
                    stage=_STAGES[state.stage],
                    language=_LANGUAGES_OUT[state.language],
                    audio_retention_consent=self._record.audio_retention_consent,
                )
            )
        )
        if resumed:
            await self._owner.save(self._record)  # its new channel and activity time
            last = self._record.extra.get("last_said")
            if last:
                # Where the conversation stood: the question the patient has not answered yet.
                self._emit(
                    pb.ConverseResponse(
                        assistant_text=pb.AssistantText(
                            text=last, stage=_STAGES[state.stage], interruptible=True
                        )
                    )
                )
        else:
            self._spawn(self._reply(self._dialog.begin(state)))
        reader = asyncio.create_task(self._read(requests))
        try:
            while (event := await self._out.get()) is not None:
                yield event
        finally:
            reader.cancel()
            for task in (reader, *self._turns, self._playback):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            if self._recognition is not None:
                await self._recognition.cancel()
            await asyncio.gather(*self._keeping)
            if self._probe is not None:
                self._probe[1].cancel()

    def _keep(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._keeping.add(task)
        task.add_done_callback(self._keeping.discard)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(self._serialised(work))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _serialised(self, work: Any) -> None:
        async with self._turn_lock:
            await work

    async def _read(self, requests: AsyncIterator[pb.ConverseRequest]) -> None:
        try:
            async for request in requests:
                which = request.WhichOneof("event")
                if which == "audio":
                    await self._hear_audio(request.audio)
                elif which == "text":
                    if len(request.text) > MAX_TEXT:
                        self._emit(_error("voice.text_too_long", "text", self._state.language))
                        continue
                    self._stop_reply("stop")
                    self._spawn(self._turn("text", text=request.text))
                elif which == "select_slot_id":
                    self._spawn(self._turn("slot", slot_id=request.select_slot_id))
                elif which == "action":
                    if request.action == pb.CLIENT_ACTION_END_SESSION:
                        await self._end()
                        return
                    if request.action == pb.CLIENT_ACTION_STOP_AUDIO:
                        self._stop_reply("stop")
                    elif request.action == pb.CLIENT_ACTION_END_OF_TURN:
                        await self._end_of_speech()
                    elif request.action == pb.CLIENT_ACTION_WITHDRAW_AUDIO_CONSENT:
                        await self._withdraw_audio_consent()
            # The client half-closed: finish the turn in progress, then end the stream.
            await asyncio.gather(*self._turns, return_exceptions=True)
        finally:
            self._out.put_nowait(None)

    async def _withdraw_audio_consent(self) -> None:
        """Keep no more of the patient's audio and delete what this conversation kept."""
        record = self._record
        recordings = self._owner.recordings
        try:
            if recordings is None:
                withdraw_consent(record, self._owner.now())
                deleted = 0
            else:
                deleted = await recordings.withdraw(record, self._owner.now())
        except Exception as error:  # NATS down: consent is off, but the deletion must be retried
            await self._owner.save(record)
            logger.warning("kept audio was not deleted: %s", safe(type(error).__name__))
            self._emit(_error("voice.service_unavailable", "service", self._state.language))
            return
        await self._owner.save(record)
        self._emit(
            pb.ConverseResponse(
                audio_retention=pb.AudioRetention(consent=False, recordings_deleted=deleted)
            )
        )

    async def _end(self) -> None:
        record = self._record
        record.end_time = self._owner.now()
        record.state.stage = Stage.DONE
        await self._owner.save(record)
        TURNS.labels("action", "ok").inc()

    # --- turns -------------------------------------------------------------------------------

    async def _turn(self, kind: str, *, text: str = "", slot_id: str = "") -> None:
        started = time.perf_counter()
        state = self._state
        before = state.to_dict()
        try:
            if kind == "slot":
                outputs = await self._dialog.pick_slot(state, slot_id)
            else:
                outputs = await self._dialog.hear(state, text)
        except grpc.aio.AioRpcError as error:
            # Put the state back: the turn did not happen, the patient may say it again.
            self._record.state = DialogState.from_dict(before)
            self._timings = {}  # nothing was answered: no latency to publish
            TURNS.labels(kind, "failed").inc()
            logger.warning("a conversation turn failed: %s", safe(error.code().name))
            self._emit(_error("voice.service_unavailable", "service", state.language))
            return
        if state.stage == Stage.DONE and self._record.end_time is None:
            self._record.end_time = self._owner.now()
        await self._reply(outputs)
        TURNS.labels(kind, "ok").inc()
        TURN_SECONDS.labels(kind).observe(time.perf_counter() - started)

    async def _reply(self, outputs: list[Output]) -> None:
        self._barged_in = False
        self._audio_timed = False
        record = self._record
        said = [o.text for o in outputs if isinstance(o, Say)]
        if said:
            record.extra["last_said"] = said[-1]
        record.last_activity_time = self._owner.now()
        await self._owner.save(record)
        first_text = True
        for event in events_of(outputs):
            self._emit(event)
            if event.WhichOneof("event") == "assistant_text":
                if first_text and self._speech_ended_at:
                    seconds = time.perf_counter() - self._speech_ended_at
                    STAGE_SECONDS.labels("reply_text").observe(seconds)
                    self._timings["reply_text"] = seconds
                first_text = False
                if self._speech is not None:
                    await self._say(event.assistant_text)
        self._speech_ended_at = 0.0
        self._publish_turn()

    def _publish_turn(self) -> None:
        """Publish the answered spoken turn's latencies (once all three stages were timed)."""
        timings, self._timings = self._timings, {}
        events = self._owner.turn_events
        if events is None or not {"transcript", "reply_text", "reply_audio"} <= timings.keys():
            return
        transcript, text = timings["transcript"], timings["reply_text"]
        # Stages are timed from the end of speech; the event wants each part on its own.
        self._keep(
            events.turn_completed(
                session_id=self._state.session_id,
                turn_index=self._turn_index,
                stt_seconds=transcript,
                reasoning_seconds=max(0.0, text - transcript),
                tts_first_audio_seconds=max(0.0, timings["reply_audio"] - text),
                interrupted=self._barged_in,
            )
        )

    async def _say(self, text: pb.AssistantText) -> None:
        """Speak one utterance; barge-in cancels it (unless it may not be interrupted).

        After a barge-in the rest of the turn's sentences are shown, not spoken: the patient
        has started talking.
        """
        if self._barged_in:
            return
        self._playing = (text.utterance_id, text.interruptible)
        if text.interruptible:
            self._detector.reply_started()
        self._playback = asyncio.create_task(self._stream_audio(text))
        try:
            await self._playback
        except asyncio.CancelledError:
            if self._playback is not None and self._playback.cancelled():
                return  # stopped by barge-in: the turn goes on to its next event
            raise
        finally:
            self._detector.reply_stopped()
            self._playing = None
            self._playback = None

    async def _stream_audio(self, text: pb.AssistantText) -> None:
        """Send the utterance's audio as it is synthesised, then wait while the client plays it.

        Synthesis is far faster than speech, so the audio reaches the client long before it has
        been heard; the reply counts as playing (and barge-in can stop it) until its duration
        has passed since the first chunk, and ``audio.end`` says when it was played out.
        """
        assert self._speech is not None  # noqa: S101 - voice only
        started = False
        first_chunk_at = 0.0
        seconds = 0.0
        try:
            async for rate, chunk in speak(
                self._speech.tts,
                self._metadata,
                text=text.text,
                language=self._state.language,
                sample_rate=self._output_rate,
            ):
                seconds += len(chunk) / 2 / rate
                if not started:
                    started = True
                    first_chunk_at = time.perf_counter()
                    if self._speech_ended_at and not self._audio_timed:
                        # Once per turn: the first byte of the reply, not of every sentence.
                        self._audio_timed = True
                        seconds = time.perf_counter() - self._speech_ended_at
                        STAGE_SECONDS.labels("reply_audio").observe(seconds)
                        self._timings["reply_audio"] = seconds
                    self._emit(
                        pb.ConverseResponse(
                            audio_start=pb.AudioStart(
                                utterance_id=text.utterance_id, sample_rate_hertz=rate
                            )
                        )
                    )
                self._emit(pb.ConverseResponse(audio=chunk))
        except grpc.aio.AioRpcError as error:
            logger.warning("a reply could not be spoken: %s", safe(error.code().name))
        if started:
            await asyncio.sleep(max(0.0, seconds - (time.perf_counter() - first_chunk_at)))
            self._emit(pb.ConverseResponse(audio_end=pb.AudioEnd(utterance_id=text.utterance_id)))

    def _stop_reply(self, reason: str) -> None:
        """Stop the reply being spoken, if it may be stopped."""
        playing, playback = self._playing, self._playback
        if playing is None or playback is None or not playing[1] or playback.done():
            return
        playback.cancel()
        self._barged_in = True
        self._emit(
            pb.ConverseResponse(interrupt=pb.Interrupt(utterance_id=playing[0], reason=reason))
        )
        self._emit(
            pb.ConverseResponse(audio_end=pb.AudioEnd(utterance_id=playing[0], interrupted=True))
        )

    # --- listening -----------------------------------------------------------------------------

    async def _hear_audio(self, frame: bytes) -> None:
        language = self._state.language
        if self._speech is None or self._vad is None:
            TURNS.labels("audio", "unavailable").inc()
            self._emit(_error("voice.audio_unavailable", "audio", language))
            return
        if not looks_like_audio(frame):
            self._emit(_error("voice.unsupported_audio", "bad_audio", language))
            return
        try:
            samples = to_float16k(frame, self._input_rate)
        except AudioRefusedError as error:
            self._emit(_error(error.code, "bad_audio", language))
            return
        pcm = to_pcm16(samples)
        if self._recognition is not None:
            self._turn_audio.append(pcm)
            if not self._detector.silence_ms:
                # Only speech goes to the partials: a partial started on the pause at the end
                # would hold the one recogniser while the pause's own recognition waits.
                self._recognition.send(pcm)
        else:
            self._pre_roll.append(pcm)
        for probability in self._vad.feed(samples):
            for event in self._detector.feed(probability):
                await self._on_turn_event(event)

    async def _on_turn_event(self, event: TurnEvent) -> None:
        if event == TurnEvent.BARGE_IN:
            self._stop_reply("barge_in")
        elif event == TurnEvent.SPEECH_STARTED:
            self._start_recognition()
        elif event == TurnEvent.PAUSED:
            self._probe_pause()
        elif event == TurnEvent.TURN_ENDED:
            await self._end_of_speech()
        elif event == TurnEvent.TOO_LONG:
            self._emit(_error("voice.utterance_too_long", "too_long", self._state.language))
            await self._end_of_speech()

    def _start_recognition(self) -> None:
        assert self._speech is not None  # noqa: S101 - voice only
        state = self._state
        self._listening = listening_for(state)
        expected = self._listening.expected
        turn = state.turns + 1

        async def partial(text: str) -> None:
            self._emit(pb.ConverseResponse(transcript=pb.Transcript(text=text, turn=turn)))

        self._recognition = Recognition(
            self._speech.stt,
            self._metadata,
            language=state.language,
            expected=expected,
            on_partial=partial,
        )
        for chunk in self._pre_roll:
            self._recognition.send(chunk)
        self._turn_audio = list(self._pre_roll)
        self._pre_roll.clear()

    def _probe_pause(self) -> None:
        """Recognise the turn's words so far; if they are a finished answer, end the turn soon."""
        assert self._speech is not None  # noqa: S101 - voice only
        if self._probe is not None:
            self._probe[1].cancel()  # the patient spoke again: that recognition is stale
        pause = self._detector.pause_index
        task = asyncio.create_task(self._recognize(b"".join(self._turn_audio)))
        self._probe = (pause, task)
        task.add_done_callback(lambda done: self._probed(pause, done))

    def _probed(self, pause: int, done: asyncio.Task[Heard | grpc.StatusCode]) -> None:
        if done.cancelled() or not isinstance(heard := done.result(), Heard):
            return
        settings = self._detector.settings
        answered = bool(heard.answer)
        if not sounds_finished(heard.transcript, answered=answered):
            return
        silence = settings.answer_end_ms if answered else settings.sentence_end_ms
        if self._detector.allow_early_end(pause, silence):
            self._end_turn()

    async def _recognize(self, pcm16: bytes) -> Heard | grpc.StatusCode:
        """Recognise a turn's audio; the status code when the recogniser is busy or down."""
        assert self._speech is not None  # noqa: S101 - voice only
        try:
            return await recognize(
                self._speech.stt,
                self._metadata,
                pcm16=pcm16,
                language=self._state.language,
                expected=self._listening.expected,
            )
        except grpc.aio.AioRpcError as error:
            return error.code()

    async def _end_of_speech(self) -> None:
        """End the turn where the detector or the client (push-to-talk) said it ended."""
        self._detector.end_turn()
        self._end_turn()

    def _end_turn(self) -> None:
        recognition, self._recognition = self._recognition, None
        if recognition is None:
            return
        self._speech_ended_at = time.perf_counter() - self._detector.last_silence_ms / 1000
        pause = self._detector.pause_index
        probe, self._probe = self._probe, None
        audio, self._turn_audio = b"".join(self._turn_audio), []
        silent_since = self._detector.last_silence_ms >= self._detector.settings.probe_silence_ms
        if probe is not None and probe[0] == pause and silent_since and not probe[1].cancelled():
            # No speech since the last pause began: its recognition covers the whole turn.
            heard = probe[1]
        else:
            if probe is not None:
                probe[1].cancel()
            heard = asyncio.create_task(self._recognize(audio))
        # What the turn listened for: the next turn may start before this one is recognised.
        self._spawn(self._recognised(recognition, heard, audio, self._listening))

    async def _recognised(
        self,
        recognition: Recognition,
        heard: asyncio.Task[Heard | grpc.StatusCode],
        audio: bytes,
        listening: Listening,
    ) -> None:
        ended = self._speech_ended_at or time.perf_counter()
        await recognition.cancel()
        result = await heard
        if not isinstance(result, Heard):
            code = (
                "voice.service_busy"
                if result == grpc.StatusCode.RESOURCE_EXHAUSTED
                else "voice.service_unavailable"
            )
            self._emit(_error(code, "busy", self._state.language))
            return
        text = result.text if listening.answer_replaces_words else result.transcript
        heard_after = time.perf_counter() - ended
        STAGE_SECONDS.labels("transcript").observe(heard_after)
        if not text.strip():
            self._speech_ended_at = 0.0
            return  # a noise, not words: nothing to answer
        self._emit(
            pb.ConverseResponse(
                transcript=pb.Transcript(text=text, final=True, turn=self._state.turns + 1)
            )
        )
        if self._owner.recordings is not None:
            # Off the reply's path; keep() checks the consent itself and never raises.
            self._keep(self._owner.recordings.keep(self._record, self._state.turns + 1, audio))
        self._speech_ended_at = ended
        self._timings = {"transcript": heard_after}
        self._turn_index = self._state.turns
        await self._turn("speech", text=text)
