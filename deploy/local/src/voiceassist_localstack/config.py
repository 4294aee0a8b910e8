"""Settings of the local runtime (`make up`): where data lives and which loopback ports to use.

Read from environment variables and, when present, the `.env` file at the repository root, so a
developer whose machine already uses a port moves it in one place. Every port is configurable and
none is a standard one (5432, 4222), so an unrelated server on the machine never gets in the way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Port = int


class LocalSettings(BaseSettings):
    """Everything `voiceassist-local` needs to lay out and start the platform on one machine."""

    # `.env` also carries the services' own variables; those are not ours to validate.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    local_data_dir: Path = Field(
        default=Path(".data"), description="PostgreSQL, NATS, logs and PID files."
    )
    local_bind_host: str = Field(default="127.0.0.1", description="Interface every server binds.")
    local_pg_port: Port = Field(default=55432, ge=1, le=65535)
    local_pg_password: SecretStr = Field(
        default=SecretStr("voiceassist"),
        description="Password of the `voiceassist` database role (local development only).",
    )
    local_nats_port: Port = Field(default=54222, ge=1, le=65535)
    local_nats_monitor_port: Port = Field(default=58222, ge=1, le=65535)
    gateway_http_port: Port = Field(default=8080, ge=1, le=65535)
    auth_http_port: Port = Field(
        default=8180, ge=1, le=65535, description="The auth service's built-in OIDC provider."
    )
    local_grpc_port_base: Port = Field(
        default=50051, ge=1, le=65535 - 8, description="auth; the next services follow in order."
    )
    local_metrics_port_base: Port = Field(
        default=9101, ge=1, le=65535 - 9, description="gateway; the next services follow in order."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    local_ready_timeout: float = Field(
        default=300.0, gt=0, description="Seconds `up` waits for every service to be healthy."
    )

    def data_dir(self, root: Path) -> Path:
        """Return the data directory as an absolute path, relative ones taken from `root`."""
        return (root / self.local_data_dir).absolute()


def load_local_settings(root: Path) -> LocalSettings:
    """Read settings from the environment and from `root/.env` (the environment wins)."""
    return LocalSettings(_env_file=root / ".env")
