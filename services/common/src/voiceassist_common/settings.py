"""Typed settings from environment variables, shared by every service.

A service that starts with a missing or unsafe value fails later in a confusing way (a
connection refused at the first request, a default password in production). So each
service declares its settings as a pydantic model, loads them once at start-up through
`load_settings`, and refuses to start with a message naming every variable at fault.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "prod"]

# Passwords that ship in examples and local defaults. Accepting them outside dev/test
# would mean a production database guarded by a password printed in our own docs.
_KNOWN_DEV_PASSWORDS = frozenset({"", "voiceassist", "postgres", "password", "changeme", "secret"})

_BASE_CONFIG = SettingsConfigDict(
    env_file=None,
    extra="ignore",
    case_sensitive=False,
    populate_by_name=True,
)


class SettingsError(SystemExit):
    """Raised when settings are missing or unsafe.

    Uncaught, it ends the process with exit status 1 and prints the message on stderr, so
    an operator sees every variable at fault at once instead of the first one.
    """

    def __init__(self, service: str, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        self.message = f"{service}: refusing to start, fix these settings:\n{lines}"
        super().__init__(self.message)


class ServiceSettings(BaseSettings):
    """Settings every VoiceAssist service process has."""

    model_config = _BASE_CONFIG

    environment: Environment = Field(
        default="dev",
        validation_alias=AliasChoices("VOICEASSIST_ENV", "environment"),
        description="dev, test or prod; prod rejects development defaults.",
    )
    service_name: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(ge=1, le=65535)
    otel_exporter_otlp_endpoint: str | None = None
    nats_url: str = "nats://127.0.0.1:54222"
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, le=120)

    @model_validator(mode="after")
    def _ports_differ(self) -> ServiceSettings:
        if self.grpc_port == self.metrics_port:
            raise ValueError("GRPC_PORT and METRICS_PORT must differ")
        return self

    @model_validator(mode="after")
    def _nats_url_scheme(self) -> ServiceSettings:
        if urlsplit(self.nats_url).scheme not in {"nats", "tls", "ws", "wss"}:
            raise ValueError("NATS_URL must start with nats://, tls://, ws:// or wss://")
        return self


class DatabaseSettings(BaseSettings):
    """Mixin for services that own tables in PostgreSQL."""

    model_config = _BASE_CONFIG

    database_url: SecretStr
    db_pool_min_size: int = Field(default=1, ge=0, le=100)
    db_pool_max_size: int = Field(default=10, ge=1, le=200)

    @property
    def dsn(self) -> str:
        """The PostgreSQL connection string, secret included (never log it)."""
        return self.database_url.get_secret_value()

    @model_validator(mode="after")
    def _database_url_is_safe(self) -> DatabaseSettings:
        parts = urlsplit(self.dsn)
        if parts.scheme not in {"postgresql", "postgres"}:
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        if not parts.hostname and "host=" not in parts.query:
            raise ValueError("DATABASE_URL has no host")
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError("DB_POOL_MIN_SIZE must not exceed DB_POOL_MAX_SIZE")
        environment = getattr(self, "environment", "dev")
        if environment == "prod" and (parts.password or "") in _KNOWN_DEV_PASSWORDS:
            raise ValueError("DATABASE_URL uses a development password; set a real secret in prod")
        return self


class OidcSettings(BaseSettings):
    """Mixin for services that verify access tokens."""

    model_config = _BASE_CONFIG

    oidc_issuer: str | None = None
    oidc_audience: str | None = None

    @model_validator(mode="after")
    def _issuer_is_safe(self) -> OidcSettings:
        if self.oidc_issuer is None:
            return self
        parts = urlsplit(self.oidc_issuer)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("OIDC_ISSUER must be an http(s) URL")
        environment = getattr(self, "environment", "dev")
        if environment == "prod" and parts.scheme != "https":
            raise ValueError("OIDC_ISSUER must use https in prod")
        return self


S = TypeVar("S", bound=BaseSettings)


def _describe(error: dict[str, Any], model: type[BaseSettings]) -> str:
    """Turn one pydantic error into a line naming the environment variable at fault."""
    location = [str(part) for part in error.get("loc", ())]
    if not location:
        return str(error.get("msg", "invalid settings"))
    field = location[0]
    info = model.model_fields.get(field)
    variable = field.upper()
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        first = info.validation_alias.choices[0]
        variable = first if isinstance(first, str) else variable
    if error.get("type") == "missing":
        return f"{variable} is required but not set"
    given = error.get("input")
    hidden = any(word in field for word in _SENSITIVE) or isinstance(given, dict)
    shown = "" if hidden else f"{given!r}: "
    return f"{variable}: {shown}{error.get('msg')}"


_SENSITIVE = ("secret", "url", "key", "password", "token", "dsn")
"""Settings whose value is never echoed in an error: credentials, or URLs that may carry them."""


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Load settings from the environment (overrides win), or raise SettingsError."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = [_describe(dict(error), cls) for error in exc.errors()]
        service = str(overrides.get("service_name") or getattr(cls, "__module__", "service"))
        raise SettingsError(service.split(".")[0], problems) from None
