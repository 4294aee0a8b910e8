"""RED metrics and one access-log line per HTTP request, labelled by route template.

Paths carry ids (``/api/v1/scheduling/appointments/{appointment_id}``) and query strings may
carry what a patient typed, so neither metrics nor logs ever see the raw path: requests are
labelled with the template of the route that matched, or ``unmatched``.

Metrics (Prometheus, on the metrics port):
- ``voiceassist_http_requests_total{method,route,status}``: requests answered.
- ``voiceassist_http_request_duration_seconds{method,route}``: time to the last response byte.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from prometheus_client import Counter, Histogram
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

UNMATCHED = "unmatched"

REQUESTS = Counter(
    "voiceassist_http_requests",
    "HTTP requests answered by the gateway, by method, route template and status code.",
    ["method", "route", "status"],
)
REQUEST_DURATION = Histogram(
    "voiceassist_http_request_duration_seconds",
    "Time from request to the last response byte, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# Any other method is counted as OTHER, so a client cannot mint new label values.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Probes call these every few seconds; their access lines would drown everything else.
_QUIET_ROUTES = frozenset({"/healthz", "/readyz"})


def route_template(scope: Scope) -> str:
    """Return the template of the route that matches this request, or ``unmatched``.

    A route that matches the path but not the method (a 405) still names the template.
    Matching is done here rather than read from the router's scope entries because the
    request may never reach the router (a body refused by size), and because FastAPI's
    included routers record the route without its prefix.
    """
    routes: Sequence[BaseRoute] = getattr(scope.get("app"), "routes", ())
    partial: str | None = None
    for route in iter_route_contexts(routes):
        if route.path is None:
            continue
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route.path
        if match is Match.PARTIAL and partial is None:
            partial = route.path
    return partial or UNMATCHED


class TrafficMiddleware:
    """Counts, times and logs each HTTP request once it is answered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request and record how it went, whatever happened."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        # If the app fails before answering, the server answers 500.
        status = 500

        async def note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, note_status)
        finally:
            elapsed = time.perf_counter() - started
            method = str(scope["method"]).upper()
            method = method if method in _KNOWN_METHODS else "OTHER"
            route = route_template(scope)
            REQUESTS.labels(method, route, str(status)).inc()
            REQUEST_DURATION.labels(method, route).observe(elapsed)
            logger.log(
                logging.DEBUG if route in _QUIET_ROUTES else logging.INFO,
                "request answered",
                extra={
                    "method": method,
                    "route": route,
                    "status_code": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
