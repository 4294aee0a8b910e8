"""Settings of the triage service, read once from the environment at start-up.

Defaults are the local ports of docs/development.md; every value can be overridden with the
environment variable of the same name (GRPC_PORT, METRICS_PORT, TRIAGE_MAX_QUESTIONS, ...).
DATABASE_URL is required: the service records assessments in PostgreSQL. NATS_URL is where
``triage.completed`` events go; the service answers without it (see adapters/events.py).
OIDC_ISSUER and OIDC_AUDIENCE verify the callers the gateway forwards (issue #4); without an
issuer callers are not verified, which only dev and test allow. SCHEDULING_GRPC_ADDR is where
the scheduling service answers which patients a clinician's practice sees (issue #5).
"""

from __future__ import annotations

from pydantic import Field
from voiceassist_common.settings import DatabaseSettings, OidcSettings, ServiceSettings


class Settings(ServiceSettings, DatabaseSettings, OidcSettings):
    """Everything the triage service reads from the environment."""

    service_name: str = Field(default="triage", min_length=1, pattern=r"^[a-z][a-z0-9-]*$")
    grpc_port: int = Field(default=50056, ge=1, le=65535)
    metrics_port: int = Field(default=9107, ge=1, le=65535)
    triage_max_questions: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Questions a Diagnose interview asks at most when the caller sets no limit.",
    )
    scheduling_grpc_addr: str = Field(
        default="127.0.0.1:50057",
        min_length=1,
        description="host:port of the scheduling service, asked which patients a clinician sees.",
    )
