"""Reading the gateway's /readyz, to tell whether every service of the platform is serving.

The gateway asks each downstream service over the standard gRPC health protocol and reports the
result per service; `up` and the stack test wait on that one URL instead of probing nine ports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

SERVING = "SERVING"


@dataclass(frozen=True)
class Readiness:
    """One look at /readyz: the HTTP status (None when unreachable) and per-service status."""

    http_status: int | None
    services: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    @property
    def reachable(self) -> bool:
        """Whether the gateway answered at all."""
        return self.http_status is not None

    def serving(self) -> list[str]:
        """Return the services reported as SERVING."""
        return sorted(name for name, status in self.services.items() if status == SERVING)

    def not_serving(self, expected: list[str]) -> list[str]:
        """Return those of `expected` that are not reported SERVING (missing ones included)."""
        return [name for name in expected if self.services.get(name) != SERVING]

    def is_ready(self, expected: list[str]) -> bool:
        """Whether the gateway says ready and every `expected` service is SERVING."""
        return self.http_status == 200 and not self.not_serving(expected)


def check_readiness(url: str, timeout: float = 3.0) -> Readiness:
    """Fetch and interpret `url` (the gateway's /readyz) once."""
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as error:
        return Readiness(None, error=str(error) or type(error).__name__)
    try:
        body = response.json()
    except ValueError:
        return Readiness(response.status_code, error="response is not JSON")
    return Readiness(response.status_code, *_service_statuses(body))


def _service_statuses(body: object) -> tuple[dict[str, str], dict[str, str]]:
    """Read `{"services": {name: {"status": ..., "reason": ...}}}` into statuses and reasons."""
    statuses: dict[str, str] = {}
    reasons: dict[str, str] = {}
    services = body.get("services") if isinstance(body, dict) else None
    if not isinstance(services, dict):
        return statuses, reasons
    for name, entry in services.items():
        canonical = _canonical(str(name))
        if isinstance(entry, dict):
            statuses[canonical] = str(entry.get("status"))
            if entry.get("reason"):
                reasons[canonical] = str(entry["reason"])
        else:
            statuses[canonical] = str(entry)
    return statuses, reasons


def _canonical(name: str) -> str:
    """Service names as the runtime spells them (`voice-proxy`, not `voice_proxy`)."""
    return name.strip().lower().replace("_", "-")
