"""Settings of the voice-proxy service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, TRIAGE_GRPC_ADDR, VOICE_SESSION_KEY, ...).
The conversation calls triage, scheduling, stt and tts as the patient (their token travels
with every call); NATS_URL is where conversations are kept between turns (a KV bucket), so a
reconnect resumes them. Kept state holds the patient's answers, so it is encrypted with
VOICE_SESSION_KEY (32 bytes, base64): required outside development. The audio of a patient who
consented to keeping it goes to a NATS object store for VOICE_AUDIO_RETENTION_DAYS, sealed with
its own key, VOICE_RECORDING_KEY (a separate secret so that it can be rotated, destroyed or
handed to a quality-review tool without touching conversation state): also required outside
development, and never the same as the session key.
"""

from __future__ import annotations

import base64
import binascii

from pydantic import Field, SecretStr, model_validator
from voiceassist_common.settings import OidcSettings, ServiceSettings

DEV_SESSION_KEY = base64.b64encode(b"voiceassist-dev-session-key-0032").decode()
"""Development only: refused when VOICEASSIST_ENV=prod."""
DEV_RECORDING_KEY = base64.b64encode(b"voiceassist-dev-recording-key-32").decode()
"""Development only: refused when VOICEASSIST_ENV=prod."""


class Settings(ServiceSettings, OidcSettings):
    """Everything the voice-proxy service reads from the environment."""

    service_name: str = Field(default="voice-proxy", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50052, ge=1, le=65535)
    metrics_port: int = Field(default=9103, ge=1, le=65535)

    triage_grpc_addr: str = "127.0.0.1:50056"
    scheduling_grpc_addr: str = "127.0.0.1:50057"
    stt_grpc_addr: str = "127.0.0.1:50053"
    tts_grpc_addr: str = "127.0.0.1:50054"

    voice_session_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="How long an idle conversation can resume."
    )
    voice_session_key: SecretStr = Field(
        default=SecretStr(DEV_SESSION_KEY),
        description="AES-256-GCM key (base64 of 32 bytes) for kept conversation state.",
    )

    voice_audio_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="How long the audio of a consenting patient's turns is kept, in days.",
    )
    voice_recording_key: SecretStr = Field(
        default=SecretStr(DEV_RECORDING_KEY),
        description="AES-256-GCM key (base64 of 32 bytes) for kept audio recordings.",
    )

    @property
    def recording_key(self) -> bytes:
        """Return the decoded recording key."""
        return base64.b64decode(self.voice_recording_key.get_secret_value(), validate=True)

    @property
    def session_key(self) -> bytes:
        """Return the decoded session key."""
        return base64.b64decode(self.voice_session_key.get_secret_value())

    @model_validator(mode="after")
    def _key_is_usable(self) -> Settings:
        try:
            key = self.session_key
        except (binascii.Error, ValueError):
            raise ValueError("VOICE_SESSION_KEY must be base64") from None
        if len(key) != 32:
            raise ValueError("VOICE_SESSION_KEY must decode to 32 bytes")
        if self.environment == "prod" and self.voice_session_key.get_secret_value() == (
            DEV_SESSION_KEY
        ):
            raise ValueError("set VOICE_SESSION_KEY: the development key is refused in prod")
        try:
            recording_key = self.recording_key
        except (binascii.Error, ValueError):
            raise ValueError("VOICE_RECORDING_KEY must be base64") from None
        if len(recording_key) != 32:
            raise ValueError("VOICE_RECORDING_KEY must decode to 32 bytes")
        if self.environment == "prod" and self.voice_recording_key.get_secret_value() == (
            DEV_RECORDING_KEY
        ):
            raise ValueError("set VOICE_RECORDING_KEY: the development key is refused in prod")
        if recording_key == key:
            raise ValueError("VOICE_RECORDING_KEY must differ from VOICE_SESSION_KEY")
        return self
