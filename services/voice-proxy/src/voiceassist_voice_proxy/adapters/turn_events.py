"""Publishing ``voice.turn.completed``: each answered spoken turn's latencies, for the analytics.

Best effort: the admin service's latency charts want every turn, but the conversation must
never wait for or fail on NATS. Until NATS is reached (the server dials it in the background)
turns are not published; a failed publication is logged (its error type only) and counted in
``voiceassist_voice_turn_events_total{outcome="failed"}``, never raised. The payload holds ids,
a turn index and seconds: no PHI.
"""

from __future__ import annotations

import logging
import uuid

from nats.js import JetStreamContext
from prometheus_client import Counter
from voiceassist_common.events import TurnLatencies, VoiceTurnCompleted, new_event
from voiceassist_common.logging import safe
from voiceassist_common.messaging import publish

logger = logging.getLogger(__name__)

__all__ = ["TURN_EVENTS", "TurnEvents"]

TURN_EVENTS = Counter(
    "voiceassist_voice_turn_events",
    "voice.turn.completed events by outcome: published, failed, or skipped (NATS not reached).",
    ["outcome"],
)

ACK_WAIT_SECONDS = 5.0


class TurnEvents:
    """Publishes one event per answered spoken turn on the VOICE stream, when NATS is there."""

    def __init__(self, js: JetStreamContext | None = None, *, source: str = "voice-proxy") -> None:
        self.js = js
        """Set once NATS is reached; None skips publishing."""
        self._source = source

    async def turn_completed(
        self,
        *,
        session_id: str,
        turn_index: int,
        stt_seconds: float,
        reasoning_seconds: float,
        tts_first_audio_seconds: float,
        interrupted: bool,
    ) -> bool:
        """Publish one turn's latencies (seconds from the end of speech); True if stored."""
        js = self.js
        if js is None:
            TURN_EVENTS.labels("skipped").inc()
            return False
        try:
            payload = VoiceTurnCompleted(
                session_id=uuid.UUID(session_id),
                turn_index=turn_index,
                latencies=TurnLatencies(
                    stt_seconds=stt_seconds,
                    reasoning_seconds=reasoning_seconds,
                    tts_first_audio_seconds=tts_first_audio_seconds,
                    end_of_speech_to_first_audio_seconds=(
                        stt_seconds + reasoning_seconds + tts_first_audio_seconds
                    ),
                ),
                interrupted=interrupted,
            )
            await publish(
                js, new_event(payload, source=self._source), ack_wait_seconds=ACK_WAIT_SECONDS
            )
        except Exception as error:  # best effort: the conversation goes on without it
            TURN_EVENTS.labels("failed").inc()
            logger.warning(
                "a turn's latency event was not published: %s", safe(type(error).__name__)
            )
            return False
        TURN_EVENTS.labels("published").inc()
        return True
