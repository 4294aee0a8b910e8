"""Settings of the tts service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, ...).
"""

from __future__ import annotations

from pydantic import Field
from voiceassist_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the tts service reads from the environment."""

    service_name: str = Field(default="tts", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50054, ge=1, le=65535)
    metrics_port: int = Field(default=9105, ge=1, le=65535)
