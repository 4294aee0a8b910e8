"""Settings of the voice-proxy service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, ...).
"""

from __future__ import annotations

from pydantic import Field
from voiceassist_common.settings import ServiceSettings


class Settings(ServiceSettings):
    """Everything the voice-proxy service reads from the environment."""

    service_name: str = Field(default="voice-proxy", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50052, ge=1, le=65535)
    metrics_port: int = Field(default=9103, ge=1, le=65535)
