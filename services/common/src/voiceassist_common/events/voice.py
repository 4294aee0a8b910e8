"""Voice events: calls starting and ending, and how fast each turn was answered.

The time from the end of the caller's speech to the first audio of the reply is what makes a
voice assistant feel alive or broken, so every turn reports it, split by stage, for dashboards
and alerts. What was said is never part of an event.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from voiceassist_common.events.envelope import EventPayload, LanguageTag


class VoiceTransport(StrEnum):
    """How the caller's audio reaches the voice proxy."""

    WEBRTC = "webrtc"
    WEBSOCKET = "websocket"
    SIP = "sip"


class VoiceSessionEndReason(StrEnum):
    """Why a voice session ended."""

    CALLER_HUNG_UP = "caller_hung_up"
    COMPLETED = "completed"
    TRANSFERRED = "transferred"
    TIMEOUT = "timeout"
    ERROR = "error"


class TurnLatencies(BaseModel):
    """Seconds spent in each stage of one turn, from the end of the caller's speech."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    stt_seconds: float = Field(ge=0, description="end of speech to final transcript")
    reasoning_seconds: float = Field(ge=0, description="final transcript to reply text")
    tts_first_audio_seconds: float = Field(ge=0, description="reply text to first audio")
    end_of_speech_to_first_audio_seconds: float = Field(
        ge=0, description="end of speech to first audio: what the caller waits"
    )


class VoiceSessionStarted(EventPayload):
    """A caller connected."""

    subject = "voice.session.started"
    publisher = "voice-proxy"
    consumers = ("admin",)

    session_id: UUID = Field(description="id of the voice session")
    transport: VoiceTransport = Field(description="how the audio arrives")
    language: LanguageTag = Field(description="language the session starts in")
    patient_id: UUID | None = Field(
        default=None, description="internal patient id, if the caller is identified"
    )


class VoiceSessionEnded(EventPayload):
    """A call ended."""

    subject = "voice.session.ended"
    publisher = "voice-proxy"
    consumers = ("admin",)

    session_id: UUID = Field(description="id of the voice session")
    reason: VoiceSessionEndReason = Field(description="why it ended")
    duration_seconds: float = Field(ge=0, description="from connect to hang-up")
    turns: int = Field(ge=0, description="number of completed turns")


class VoiceTurnCompleted(EventPayload):
    """The assistant answered one utterance of the caller."""

    subject = "voice.turn.completed"
    publisher = "voice-proxy"
    consumers = ("admin",)

    session_id: UUID = Field(description="id of the voice session")
    turn_index: int = Field(ge=0, description="0 for the first turn of the session")
    latencies: TurnLatencies = Field(description="per-stage latencies (below)")
    interrupted: bool = Field(
        default=False, description="whether the caller spoke over the reply (barge-in)"
    )
