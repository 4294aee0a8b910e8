"""Settings of the scheduling service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, SCHEDULING_REMINDER_LEAD_MINUTES,
...). DATABASE_URL is required: the service owns tables in PostgreSQL. NATS_URL is where the
outbox relay publishes appointment events; bookings work while NATS is down. OIDC_ISSUER and
OIDC_AUDIENCE verify the callers the gateway forwards; without an issuer callers are not
verified, which only dev and test allow.

Reminders go out by e-mail through SMTP_HOST when it is set; without it they are kept in memory
and logged by id only (development). SCHEDULING_SEED_DEMO seeds the demo clinic at start, in dev
only.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from voiceassist_common.settings import DatabaseSettings, OidcSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings, OidcSettings):
    """Everything the scheduling service reads from the environment."""

    service_name: str = Field(default="scheduling", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50057, ge=1, le=65535)
    metrics_port: int = Field(default=9108, ge=1, le=65535)

    scheduling_default_timezone: str = Field(
        default="Europe/Paris",
        min_length=1,
        description="IANA timezone for times resolved without a practice (voice dialog).",
    )
    scheduling_seed_demo: bool = Field(
        default=False, description="Dev only: seed the demo clinic (idempotent) at start."
    )
    scheduling_outbox_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often the outbox relay looks for new events."
    )
    scheduling_reminder_lead_minutes: int = Field(
        default=24 * 60,
        ge=5,
        le=14 * 24 * 60,
        description="How long before an appointment its reminder is sent.",
    )
    scheduling_reminder_poll_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How often the reminder worker looks for work."
    )
    scheduling_reminders_enabled: bool = Field(
        default=True, description="Run the reminder worker in this process."
    )

    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    mail_from: str = "VoiceAssist <no-reply@voiceassist.local>"

    @model_validator(mode="after")
    def _seed_only_in_dev(self) -> Settings:
        if self.scheduling_seed_demo and self.environment != "dev":
            raise ValueError("SCHEDULING_SEED_DEMO is for development only (VOICEASSIST_ENV=dev)")
        return self
