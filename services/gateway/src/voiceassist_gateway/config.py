"""Settings of the gateway process, read once from the environment at start-up.

The gateway is the one public door of VoiceAssist: it needs its own HTTP address, the
largest request body it accepts, and the address of every internal service it checks for
readiness (and, in later issues, forwards calls to). A mistyped address would otherwise
surface only as a red `/readyz` long after start-up, so addresses are checked here and the
process refuses to start with a message naming the variable.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator
from voiceassist_common.settings import OidcSettings, ServiceSettings

# The internal services the gateway depends on, in the order /readyz lists them. The names
# are the service folders under services/, as operators know them.
DOWNSTREAM_SERVICES: tuple[str, ...] = (
    "auth",
    "voice-proxy",
    "stt",
    "tts",
    "medical-kb",
    "triage",
    "scheduling",
    "admin",
)

_GRPC_ADDRESS = re.compile(
    r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?P<port>[0-9]{1,5})$"
)

_MEBIBYTE = 1024 * 1024


def _grpc_address(value: str) -> str:
    match = _GRPC_ADDRESS.match(value)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError("must be host:port, for example 127.0.0.1:50056")
    return value


class Settings(ServiceSettings, OidcSettings):
    """Typed settings of the gateway (environment variable = field name in upper case)."""

    service_name: str = Field(default="gateway", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    # The gateway serves no gRPC. The shared base requires a gRPC port, so the gateway takes
    # one it never binds; GRPC_PORT is ignored.
    grpc_port: int = Field(default=50050, ge=1, le=65535)
    metrics_port: int = Field(default=9101, ge=1, le=65535)

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    max_request_body_bytes: int = Field(
        default=_MEBIBYTE,
        ge=1024,
        le=1024 * _MEBIBYTE,
        description="Largest request body accepted; larger ones get 413 before they are read.",
    )
    readiness_timeout_seconds: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="How long /readyz waits for each downstream health check.",
    )

    auth_grpc_addr: str = "127.0.0.1:50051"
    voice_proxy_grpc_addr: str = "127.0.0.1:50052"
    stt_grpc_addr: str = "127.0.0.1:50053"
    tts_grpc_addr: str = "127.0.0.1:50054"
    medical_kb_grpc_addr: str = "127.0.0.1:50055"
    triage_grpc_addr: str = "127.0.0.1:50056"
    scheduling_grpc_addr: str = "127.0.0.1:50057"
    admin_grpc_addr: str = "127.0.0.1:50058"

    @field_validator(
        "auth_grpc_addr",
        "voice_proxy_grpc_addr",
        "stt_grpc_addr",
        "tts_grpc_addr",
        "medical_kb_grpc_addr",
        "triage_grpc_addr",
        "scheduling_grpc_addr",
        "admin_grpc_addr",
    )
    @classmethod
    def _is_grpc_address(cls, value: str) -> str:
        return _grpc_address(value)

    @model_validator(mode="after")
    def _http_and_metrics_ports_differ(self) -> Settings:
        if self.http_port == self.metrics_port:
            raise ValueError("HTTP_PORT and METRICS_PORT must differ")
        return self

    def downstream_addresses(self) -> dict[str, str]:
        """Map each downstream service name to its gRPC address, in /readyz order."""
        return {
            service: str(getattr(self, f"{service.replace('-', '_')}_grpc_addr"))
            for service in DOWNSTREAM_SERVICES
        }
