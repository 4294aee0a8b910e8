"""Settings of the gateway process, read once from the environment at start-up.

The gateway is the one public door of VoiceAssist: it needs its own HTTP address, the
largest request body it accepts, and the address of every internal service it checks for
readiness (and, in later issues, forwards calls to). A mistyped address would otherwise
surface only as a red `/readyz` long after start-up, so addresses are checked here and the
process refuses to start with a message naming the variable.

Identity (issue #4) fails fast the same way: outside dev and test OIDC_ISSUER and the web
client's secret must be set, the sessions of signed-in browsers must live in NATS (not in one
process's memory), and CORS names exact origins, never `*`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
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

LOCAL_PUBLIC_ISSUER = "http://127.0.0.1:8080/realms/voiceassist"
"""The issuer of the built-in provider as browsers see it: through this gateway's /realms/."""

# Only for `make up` on a developer's machine; the auth service seeds the same value in dev.
DEV_WEB_CLIENT_SECRET = "voiceassist-web-dev-secret"  # noqa: S105 - a published dev default
_DEV_ENVIRONMENTS = frozenset({"dev", "test"})


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

    auth_http_addr: str = Field(
        default="127.0.0.1:8180",
        description="The built-in OIDC provider; every /realms/ request is proxied there.",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The gateway's origin as browsers see it (the OIDC redirect URI's base).",
    )
    oidc_audience: str | None = "voiceassist-api"
    oidc_client_id: str = "voiceassist-web"
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Secret of the confidential web client; a default in dev only."
    )
    web_sessions: Literal["nats", "memory"] = Field(
        default="nats",
        description="Where browser sessions are kept; memory (one process) in dev and test only.",
    )
    web_session_idle_minutes: int = Field(default=30, ge=5, le=24 * 60)
    cors_allowed_origins: str = Field(
        default="",
        description="Comma-separated origins allowed to call the API from a browser.",
    )
    web_dist_dir: Path | None = Field(
        default=None,
        description="The built web client (web/dist) the gateway serves at its origin; unset "
        "serves the API only.",
    )
    rate_limit_per_ip_per_minute: int = Field(default=600, ge=1)
    rate_limit_per_user_per_minute: int = Field(default=300, ge=1)

    @field_validator(
        "auth_http_addr",
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

    @model_validator(mode="after")
    def _identity_is_safe(self) -> Settings:
        development = self.environment in _DEV_ENVIRONMENTS
        if self.oidc_issuer is None:
            if not development:
                raise ValueError("OIDC_ISSUER is required outside dev and test")
            self.oidc_issuer = LOCAL_PUBLIC_ISSUER
        if self.oidc_client_secret is None:
            if self.environment != "dev":
                raise ValueError("OIDC_CLIENT_SECRET is required outside dev")
            self.oidc_client_secret = SecretStr(DEV_WEB_CLIENT_SECRET)
        elif (
            self.environment == "prod"
            and self.oidc_client_secret.get_secret_value() == DEV_WEB_CLIENT_SECRET
        ):
            raise ValueError("OIDC_CLIENT_SECRET is the development default; set a real secret")
        if self.web_sessions == "memory" and not development:
            raise ValueError("WEB_SESSIONS=memory is for dev and test; use nats")
        base = urlsplit(self.public_base_url)
        if base.scheme not in {"http", "https"} or not base.hostname or base.path not in {"", "/"}:
            raise ValueError("PUBLIC_BASE_URL must be an origin such as https://clinic.example")
        if self.environment == "prod" and base.scheme != "https":
            raise ValueError("PUBLIC_BASE_URL must use https in prod")
        for origin in self.allowed_origins():
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path:
                raise ValueError("CORS_ALLOWED_ORIGINS must list origins like https://app.example")
        return self

    def allowed_origins(self) -> list[str]:
        """Return the origins CORS lets call the API (exact matches; `*` is never accepted)."""
        return [item.strip() for item in self.cors_allowed_origins.split(",") if item.strip()]

    @property
    def issuer(self) -> str:
        """The OIDC issuer whose tokens are accepted (set by the time settings are loaded)."""
        if self.oidc_issuer is None:  # pragma: no cover - the validator always sets it
            raise RuntimeError("OIDC_ISSUER is not set")
        return self.oidc_issuer

    @property
    def client_secret(self) -> str:
        """The web client's secret (never log it)."""
        if self.oidc_client_secret is None:  # pragma: no cover - the validator always sets it
            raise RuntimeError("OIDC_CLIENT_SECRET is not set")
        return self.oidc_client_secret.get_secret_value()

    def downstream_addresses(self) -> dict[str, str]:
        """Map each downstream service name to its gRPC address, in /readyz order."""
        return {
            service: str(getattr(self, f"{service.replace('-', '_')}_grpc_addr"))
            for service in DOWNSTREAM_SERVICES
        }
