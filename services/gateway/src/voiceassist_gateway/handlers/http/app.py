"""Assembles the gateway's FastAPI application: routes, errors, limits, ids, telemetry.

Middleware, from the outside in, and why in that order:
1. OpenTelemetry (FastAPI instrumentation): the server span, continuing a W3C traceparent.
2. Request ids: inside the span so the id lands on it; outside the rest so every log line
   and every response, errors included, carries it.
3. Traffic: RED metrics and the access log line, seeing the final status of every answer.
4. Unhandled errors: any exception becomes a generic 500 problem.
5. Body limit: 413 before a body larger than the limit is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import Span, TracerProvider
from starlette.types import Scope

from voiceassist_gateway.adapters.downstream_health import GrpcHealthChecks
from voiceassist_gateway.adapters.triage import TriageClient
from voiceassist_gateway.config import Settings
from voiceassist_gateway.domain.readiness import DownstreamHealth
from voiceassist_gateway.handlers.http import health
from voiceassist_gateway.handlers.http.api import api_v1
from voiceassist_gateway.handlers.http.body_limit import BodyLimitMiddleware
from voiceassist_gateway.handlers.http.openapi import (
    describe_problems,
    docs_router,
    mount_docs_assets,
)
from voiceassist_gateway.handlers.http.problem_responses import install_problem_handlers
from voiceassist_gateway.handlers.http.request_ids import RequestIdMiddleware
from voiceassist_gateway.handlers.http.traffic import TrafficMiddleware, route_template
from voiceassist_gateway.handlers.http.unhandled_errors import UnhandledErrorMiddleware

_DESCRIPTION = """\
The public REST API of VoiceAssist, an on-premises voice-first medical assistant.

Every error is an RFC 9457 problem (`application/problem+json`) carrying the request id, also
returned in the `X-Request-ID` header (send your own to correlate). Routes whose capability
arrives with a later issue answer 501 and name that capability and issue.
"""


class GatewayApi(FastAPI):
    """FastAPI whose OpenAPI document describes errors as problem+json."""

    def openapi(self) -> dict[str, Any]:
        """Return the OpenAPI document, generated once."""
        if self.openapi_schema is None:
            self.openapi_schema = describe_problems(super().openapi())
        return self.openapi_schema


def _name_request_by_route(span: Span, scope: Scope) -> None:
    """Replace the raw URL on the server span with the route template.

    Paths carry ids and query strings can carry what a patient typed; spans leave the
    process (OTLP), so they get the same treatment as metrics and logs: the template only.
    """
    if span.is_recording():
        route = route_template(scope)
        path = route if route.startswith("/") else ""
        span.set_attribute("http.target", route)
        span.set_attribute("http.url", f"{scope.get('scheme', 'http')}://{_host(scope)}{path}")


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"host":
            return str(value.decode("latin-1"))
    host, port = scope.get("server") or ("localhost", None)
    return f"{host}:{port}" if port else str(host)


def create_app(
    settings: Settings,
    *,
    downstream_health: DownstreamHealth | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the gateway application.

    Without ``downstream_health`` the app checks the services at the addresses in
    ``settings`` over gRPC, opening its channels at start-up and closing them at shutdown.
    Without ``tracer_provider`` spans go to the global one that telemetry set up. The
    triage routes call the triage service at ``settings.triage_grpc_addr``.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            if downstream_health is not None:
                yield
                return
            checks = GrpcHealthChecks(
                settings.downstream_addresses(), settings.readiness_timeout_seconds
            )
            app.state.downstream_health = checks
            try:
                yield
            finally:
                await checks.close()
        finally:
            await app.state.triage.close()

    app = GatewayApi(
        title="VoiceAssist gateway API",
        version=version("voiceassist-gateway"),
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.downstream_health = downstream_health
    # Opened on first use, in the event loop that serves requests; closed at shutdown.
    app.state.triage = TriageClient(settings.triage_grpc_addr, tracer_provider=tracer_provider)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(api_v1())
    app.include_router(docs_router(app))
    mount_docs_assets(app)

    # add_middleware wraps what is there, so the innermost is added first.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_request_body_bytes)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(TrafficMiddleware)
    app.add_middleware(RequestIdMiddleware)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        server_request_hook=_name_request_by_route,
        exclude_spans=["receive", "send"],
    )
    return app
