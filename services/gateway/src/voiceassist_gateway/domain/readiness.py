"""Rules for when the gateway is ready to take traffic.

A patient who opens VoiceAssist while the triage or scheduling service is down gets a broken
conversation, so the gateway reports ready only when every service it depends on says it
is serving. The rules live here, apart from how services are asked (adapters/), so they can
be read and tested without a network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

GATEWAY = "gateway"


class HealthStatus(StrEnum):
    """What a health check found.

    The first four are the answers of the standard gRPC health service; the last three
    describe a check that got no answer.
    """

    SERVING = "SERVING"
    NOT_SERVING = "NOT_SERVING"
    UNKNOWN = "UNKNOWN"
    SERVICE_UNKNOWN = "SERVICE_UNKNOWN"
    UNAVAILABLE = "UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    """The health of one service as last checked."""

    service: str
    status: HealthStatus
    address: str | None = None
    latency_ms: float | None = None
    reason: str | None = None

    @property
    def serving(self) -> bool:
        """Whether this service can take traffic."""
        return self.status is HealthStatus.SERVING


@dataclass(frozen=True, slots=True)
class Readiness:
    """The gateway's own health followed by that of every service it depends on."""

    services: tuple[ServiceHealth, ...]

    @property
    def ready(self) -> bool:
        """Ready only when every service, the gateway included, is serving."""
        return all(service.serving for service in self.services)

    @property
    def not_serving(self) -> tuple[str, ...]:
        """Names of the services that hold readiness back."""
        return tuple(service.service for service in self.services if not service.serving)


class DownstreamHealth(Protocol):
    """Asks every downstream service for its health."""

    async def check(self) -> Sequence[ServiceHealth]:
        """Return one result per downstream service; never raises for a sick service."""
        ...


def assess(downstream: Sequence[ServiceHealth]) -> Readiness:
    """Combine the downstream results with the gateway's own health.

    The gateway is serving whenever it can run this code: a gateway that cannot is caught by
    the liveness probe, not here.
    """
    return Readiness(services=(ServiceHealth(GATEWAY, HealthStatus.SERVING), *downstream))
