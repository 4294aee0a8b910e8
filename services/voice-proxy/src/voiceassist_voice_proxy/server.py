"""Process start of the voice-proxy service.

Serving opens one gRPC channel to each service the conversation calls (triage, scheduling, stt,
tts), loads the voice activity detector once,
and dials NATS in the background for the conversation bucket (``voice_sessions``, encrypted
values, time to live VOICE_SESSION_MINUTES) and for publishing ``voice.turn.completed``; until
NATS answers, conversations are kept in memory, turn events are skipped, and the service still
answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import grpc
from nats.aio.client import Client
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist.stt.v1 import stt_pb2_grpc
from voiceassist.triage.v1 import triage_pb2_grpc
from voiceassist.tts.v1 import tts_pb2_grpc
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.principal import callers_from_settings
from voiceassist_common.logging import safe
from voiceassist_common.messaging import NatsUnavailableError, connect, key_value
from voiceassist_common.runtime import read_command, run_service
from voiceassist_common.settings import load_settings

from voiceassist_voice_proxy.adapters.recordings import AudioRecordings, recordings_bucket
from voiceassist_voice_proxy.adapters.sessions import (
    BUCKET,
    KvSessionStore,
    PreferKvSessionStore,
    StateSealer,
)
from voiceassist_voice_proxy.adapters.speech import speak
from voiceassist_voice_proxy.adapters.turn_events import TurnEvents
from voiceassist_voice_proxy.adapters.vad import silero_session
from voiceassist_voice_proxy.config import Settings
from voiceassist_voice_proxy.domain.texts import fixed_prompts
from voiceassist_voice_proxy.handlers.conversation import (
    DEFAULT_OUTPUT_RATE,
    Conversations,
    Speech,
)
from voiceassist_voice_proxy.handlers.grpc import registrar

logger = logging.getLogger(__name__)

__all__ = ["VoiceProxyProcess", "main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the voice-proxy service until SIGTERM."""
    read_command(argv, prog="voice-proxy", migrates=False)
    settings = load_settings(Settings)
    process = VoiceProxyProcess(settings)
    run_service(
        settings, register=process.register, on_startup=process.start, on_shutdown=process.stop
    )


WARM_RETRY_SECONDS = 5.0


async def warm_prompts(tts: Any) -> None:
    """Have the tts service synthesise every fixed sentence of the dialog once, ahead of time.

    The tts service caches what it synthesised (by voice, rate and text), so the greeting, the
    consent question and the other fixed sentences then play at once at the default playback
    rate (the first patient does not wait for them). Runs in
    the background; a tts service that is not up yet is retried.
    """
    for language, text in fixed_prompts():
        while True:
            try:
                async for _ in speak(
                    tts, (), text=text, language=language, sample_rate=DEFAULT_OUTPUT_RATE
                ):
                    pass
                break
            except grpc.aio.AioRpcError as error:
                if error.code() is not grpc.StatusCode.UNAVAILABLE:
                    logger.warning("a fixed prompt was not warmed: %s", safe(error.code().name))
                    break
                await asyncio.sleep(WARM_RETRY_SECONDS)
    logger.info("the dialog's fixed prompts are warm in the tts cache")


class VoiceProxyProcess:
    """What one serving process holds: channels, the session store, the NATS link."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._store = PreferKvSessionStore()
        self._recordings = AudioRecordings(StateSealer(settings.recording_key))
        self._turn_events = TurnEvents(source=settings.service_name)
        self._channels: list[grpc.aio.Channel] = []
        self._nats: Client | None = None
        self._dialling: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[None] | None = None
        self._conversations: Conversations | None = None
        # Refuses to start in prod without OIDC_ISSUER.
        self._callers, self._jwks = callers_from_settings(settings)

    async def start(self) -> None:
        """Open the channels and start dialling NATS."""
        settings = self._settings
        triage = create_channel(settings.triage_grpc_addr)
        scheduling = create_channel(settings.scheduling_grpc_addr)
        stt = create_channel(settings.stt_grpc_addr)
        tts = create_channel(settings.tts_grpc_addr)
        self._channels = [triage, scheduling, stt, tts]
        # Load the VAD model now, not on the first patient's first word.
        await asyncio.to_thread(silero_session)
        self._conversations = Conversations(
            self._store,
            self._callers,
            triage_pb2_grpc.TriageServiceStub(triage),
            scheduling_pb2_grpc.SchedulingServiceStub(scheduling),
            speech=Speech(
                stt=stt_pb2_grpc.SpeechToTextServiceStub(stt),
                tts=tts_pb2_grpc.TextToSpeechServiceStub(tts),
            ),
            recordings=self._recordings,
            turn_events=self._turn_events,
        )
        self._dialling = asyncio.create_task(self._dial(), name="voice-sessions-nats")
        self._warming = asyncio.create_task(
            warm_prompts(tts_pb2_grpc.TextToSpeechServiceStub(tts)), name="voice-prompt-warmup"
        )

    async def _dial(self) -> None:
        settings = self._settings
        while True:
            try:
                client = await connect(settings.nats_url, name=settings.service_name)
                bucket = await key_value(
                    client.jetstream(),
                    BUCKET,
                    ttl=timedelta(minutes=settings.voice_session_minutes),
                )
                recordings = await recordings_bucket(
                    client.jetstream(), timedelta(days=settings.voice_audio_retention_days)
                )
            except NatsUnavailableError as error:
                logger.warning("conversations kept in memory for now: %s", safe(str(error)))
                continue
            except Exception as error:
                logger.warning("cannot open %s yet (%s)", safe(BUCKET), safe(type(error).__name__))
                await asyncio.sleep(5)
                continue
            self._nats = client
            self._store.kv = KvSessionStore(bucket, StateSealer(settings.session_key))
            self._recordings.store = recordings
            self._turn_events.js = client.jetstream()
            logger.info("conversations are kept in NATS KV %s", safe(BUCKET))
            return

    def register(self, server: grpc.aio.Server) -> Sequence[str]:
        """Add VoiceProxyService over what `start` opened."""
        if self._conversations is None:
            raise RuntimeError("register() runs after start()")
        return registrar(self._conversations, self._store, self._callers)(server)

    async def stop(self) -> None:
        """Stop dialling, close NATS and the channels."""
        for task in (self._dialling, self._warming):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._nats is not None:
            with contextlib.suppress(Exception):
                await self._nats.close()
        for channel in self._channels:
            await channel.close(grace=None)
        if self._jwks is not None:
            await self._jwks.aclose()
