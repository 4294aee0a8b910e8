"""Settings of the admin service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, ...).
DATABASE_URL is required: the service owns the audit trail in PostgreSQL. NATS_URL is where
audit records arrive from. OIDC_ISSUER/OIDC_AUDIENCE verify the admin callers the gateway
forwards. IDENTITY_PROVIDER chooses who holds the users: ``builtin`` (the auth service at
AUTH_GRPC_ADDR) or ``keycloak`` (KEYCLOAK_SERVER_URL, KEYCLOAK_REALM and the service-account
client KEYCLOAK_ADMIN_CLIENT_ID / KEYCLOAK_ADMIN_CLIENT_SECRET).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from voiceassist_common.settings import DatabaseSettings, OidcSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings, OidcSettings):
    """Everything the admin service reads from the environment."""

    service_name: str = Field(default="admin", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50058, ge=1, le=65535)
    metrics_port: int = Field(default=9109, ge=1, le=65535)
    identity_provider: Literal["builtin", "keycloak"] = "builtin"
    auth_grpc_addr: str = "127.0.0.1:50051"
    keycloak_server_url: str | None = None
    keycloak_realm: str = "voiceassist"
    keycloak_admin_client_id: str = "voiceassist-admin"
    keycloak_admin_client_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _keycloak_is_complete(self) -> Settings:
        if self.identity_provider == "keycloak" and (
            self.keycloak_server_url is None or self.keycloak_admin_client_secret is None
        ):
            raise ValueError(
                "IDENTITY_PROVIDER=keycloak needs KEYCLOAK_SERVER_URL and "
                "KEYCLOAK_ADMIN_CLIENT_SECRET"
            )
        return self
