"""Liveness and readiness for the supervisor, load balancers and operators.

``/healthz`` answers as long as the process serves HTTP: restart me if this fails.
``/readyz`` asks every downstream service and answers 200 only when all are serving: send me
traffic only if this passes. Its body names each service's status, so an operator sees at
once which one holds the platform back and why.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from voiceassist_gateway.domain.readiness import DownstreamHealth, HealthStatus, assess

router = APIRouter(tags=["health"])


class Liveness(BaseModel):
    """The process is up and serving HTTP."""

    status: Literal["alive"] = "alive"


class ServiceReadiness(BaseModel):
    """How one service answered its health check."""

    status: HealthStatus
    address: str | None = Field(default=None, description="The gRPC address checked.")
    latency_ms: float | None = Field(default=None, description="How long the check took.")
    reason: str | None = Field(default=None, description="Why the service is not serving.")


class ReadinessReport(BaseModel):
    """Readiness of the gateway and of every service it depends on."""

    status: Literal["ready", "not_ready"]
    services: dict[str, ServiceReadiness]


@router.get("/healthz", summary="Liveness: the gateway process is serving")
async def healthz() -> Liveness:
    """Answer 200 while the process runs."""
    return Liveness()


@router.get(
    "/readyz",
    summary="Readiness: every downstream service is serving",
    response_model_exclude_none=True,
    responses={503: {"model": ReadinessReport, "description": "A service is not serving."}},
)
async def readyz(request: Request, response: Response) -> ReadinessReport:
    """Check every downstream service in parallel; 200 when all are serving, else 503."""
    downstream: DownstreamHealth = request.app.state.downstream_health
    readiness = assess(await downstream.check())
    response.status_code = 200 if readiness.ready else 503
    response.headers["cache-control"] = "no-store"
    return ReadinessReport(
        status="ready" if readiness.ready else "not_ready",
        services={
            health.service: ServiceReadiness(
                status=health.status,
                address=health.address,
                latency_ms=health.latency_ms,
                reason=health.reason,
            )
            for health in readiness.services
        },
    )
