"""Settings of the auth service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, AUTH_HTTP_PORT, OIDC_PUBLIC_ISSUER, ...).
DATABASE_URL is required: the service owns tables in PostgreSQL.

The built-in OIDC provider (OIDC_BUILTIN_PROVIDER, on by default) serves HTTP on
AUTH_HTTP_HOST:AUTH_HTTP_PORT; the gateway proxies ``/realms/`` to it, so the issuer the world
sees is OIDC_PUBLIC_ISSUER. With it off (Keycloak mode) the service only verifies tokens of
OIDC_ISSUER. The confidential clients' secret has a development default that is refused
outside VOICEASSIST_ENV=dev, so a production provider never runs with a secret from our docs.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from voiceassist_common.settings import DatabaseSettings, OidcSettings, ServiceSettings

# The gateway's dev default for voiceassist-web too (voiceassist_gateway.config), so `make up`
# works without configuring a secret.
DEV_CLIENT_SECRET = "voiceassist-web-dev-secret"  # noqa: S105 - the documented dev default
DEFAULT_PUBLIC_ISSUER = "http://127.0.0.1:8080/realms/voiceassist"


class MigrateSettings(ServiceSettings, DatabaseSettings):
    """What ``migrate`` reads: the database only, so a migration job needs no OIDC secrets."""

    service_name: str = Field(default="auth", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50051, ge=1, le=65535)
    metrics_port: int = Field(default=9102, ge=1, le=65535)


class Settings(MigrateSettings, OidcSettings):
    """Everything the serving auth service reads from the environment."""

    oidc_builtin_provider: bool = True
    oidc_public_issuer: str = DEFAULT_PUBLIC_ISSUER
    oidc_audience: str | None = "voiceassist-api"
    oidc_client_secret: SecretStr = SecretStr(DEV_CLIENT_SECRET)
    oidc_web_redirect_uris: str = Field(
        default="http://127.0.0.1:8080/auth/callback,http://localhost:8080/auth/callback",
        description="Comma-separated redirect URIs of voiceassist-web and voiceassist-admin.",
    )
    auth_http_host: str = "127.0.0.1"
    auth_http_port: int = Field(default=8180, ge=0, le=65535)

    access_token_seconds: int = Field(default=300, ge=30, le=3600)
    refresh_idle_seconds: int = Field(default=1800, ge=60, le=86_400)
    session_max_seconds: int = Field(default=36_000, ge=300, le=7 * 86_400)
    guest_session_seconds: int = Field(default=3600, ge=60, le=86_400)
    signing_key_rotation_days: float = Field(default=30, gt=0, le=365)

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "VoiceAssist <no-reply@voiceassist.local>"

    auth_demo_accounts_file: Path | None = Field(
        default=None,
        description="Dev only: seed the demo accounts at start and keep their secrets here.",
    )

    @property
    def issuer(self) -> str:
        """The issuer tokens are verified against: OIDC_ISSUER, else the built-in one."""
        return self.oidc_issuer or self.oidc_public_issuer

    @property
    def client_secret(self) -> str:
        """The confidential clients' secret (never log it)."""
        return self.oidc_client_secret.get_secret_value()

    @model_validator(mode="after")
    def _safe_outside_dev(self) -> Settings:
        parts = urlsplit(self.oidc_public_issuer)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("OIDC_PUBLIC_ISSUER must be an http(s) URL")
        if not parts.path.rstrip("/").endswith("/realms/voiceassist"):
            raise ValueError("OIDC_PUBLIC_ISSUER must end with /realms/voiceassist")
        if self.environment != "dev" and self.client_secret == DEV_CLIENT_SECRET:
            raise ValueError("OIDC_CLIENT_SECRET is the development default; set a real secret")
        if len(self.client_secret) < 16:
            raise ValueError("OIDC_CLIENT_SECRET must have at least 16 characters")
        if self.environment == "prod" and parts.scheme != "https":
            raise ValueError("OIDC_PUBLIC_ISSUER must use https in prod")
        if self.auth_demo_accounts_file is not None and self.environment != "dev":
            raise ValueError("AUTH_DEMO_ACCOUNTS_FILE is for development only")
        if self.oidc_builtin_provider and self.oidc_issuer not in (None, self.oidc_public_issuer):
            raise ValueError(
                "OIDC_ISSUER names another issuer: set OIDC_BUILTIN_PROVIDER=false (Keycloak "
                "mode) or make it equal to OIDC_PUBLIC_ISSUER"
            )
        return self

    @property
    def web_redirect_uris(self) -> tuple[str, ...]:
        """Redirect URIs registered for the confidential clients."""
        return tuple(uri.strip() for uri in self.oidc_web_redirect_uris.split(",") if uri.strip())
