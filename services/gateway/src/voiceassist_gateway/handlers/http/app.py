"""Assembles the gateway's FastAPI application: routes, errors, limits, ids, telemetry.

Middleware, from the outside in, and why in that order:
1. OpenTelemetry (FastAPI instrumentation): the server span, continuing a W3C traceparent.
2. Request ids: inside the span so the id lands on it; outside the rest so every log line
   and every response, errors included, carries it.
3. Traffic: RED metrics and the access log line, seeing the final status of every answer.
4. Security headers: on every answer, errors included.
5. CORS (only when CORS_ALLOWED_ORIGINS is set): outside the error handler, so a browser can
   read the problem of a failed cross-origin call.
6. Unhandled errors: any exception becomes a generic 500 problem.
7. Per-IP rate limit: 429 before any work is done for a client over its rate.
8. Body limit: 413 before a body larger than the limit is read.

Identity (issue #4): `/realms/` is proxied to the built-in OIDC provider, `/auth/` is the
browser's sign-in (backend-for-frontend), and every /api/v1 route checks its caller through the
`Gatekeeper` in ``app.state.gatekeeper``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

import httpx
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import Span, TracerProvider
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Scope
from voiceassist_common.audit import AuditTrail, jetstream_publisher
from voiceassist_common.logging import safe
from voiceassist_common.messaging import connect
from voiceassist_common.tokens import JwksCache, TokenVerifier

from voiceassist_gateway.adapters.admin import AdminClient
from voiceassist_gateway.adapters.auth import AuthClient
from voiceassist_gateway.adapters.downstream_health import GrpcHealthChecks
from voiceassist_gateway.adapters.identity_provider import IdentityProvider, provider_http_client
from voiceassist_gateway.adapters.scheduling import SchedulingClient
from voiceassist_gateway.adapters.speech import SpeechClients
from voiceassist_gateway.adapters.triage import TriageClient
from voiceassist_gateway.adapters.voice_proxy import VoiceProxyClient
from voiceassist_gateway.adapters.web_sessions import InMemorySessionStore, NatsSessionStore
from voiceassist_gateway.config import Settings
from voiceassist_gateway.domain.rate_limits import RateLimiter
from voiceassist_gateway.domain.readiness import DownstreamHealth
from voiceassist_gateway.handlers.http import health, web_sign_in
from voiceassist_gateway.handlers.http.api import api_v1
from voiceassist_gateway.handlers.http.body_limit import BodyLimitMiddleware
from voiceassist_gateway.handlers.http.edge_protection import (
    IpRateLimitMiddleware,
    SecurityHeadersMiddleware,
)
from voiceassist_gateway.handlers.http.identity import Gatekeeper
from voiceassist_gateway.handlers.http.openapi import (
    describe_problems,
    docs_router,
    mount_docs_assets,
)
from voiceassist_gateway.handlers.http.problem_responses import install_problem_handlers
from voiceassist_gateway.handlers.http.realms_proxy import provider_proxy_client, realms_route
from voiceassist_gateway.handlers.http.request_ids import RequestIdMiddleware
from voiceassist_gateway.handlers.http.traffic import TrafficMiddleware, route_template
from voiceassist_gateway.handlers.http.unhandled_errors import UnhandledErrorMiddleware
from voiceassist_gateway.handlers.http.web_client import install_web_client
from voiceassist_gateway.handlers.ws import conversation

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


logger = logging.getLogger(__name__)


def build_gatekeeper(settings: Settings) -> Gatekeeper:
    """Wire token verification, the provider's back channel and the session store from settings.

    The audit trail starts without a bus; `create_app`'s start-up attaches JetStream when NATS
    answers, and records made before then wait in its buffer.
    """
    http = provider_http_client(settings.public_base_url, settings.auth_http_addr)
    jwks = JwksCache(issuer=settings.issuer, http_client=http)
    idle_seconds = settings.web_session_idle_minutes * 60.0
    sessions = (
        InMemorySessionStore(idle_seconds)
        if settings.web_sessions == "memory"
        else NatsSessionStore(settings.nats_url, idle_seconds, name=settings.service_name)
    )
    return Gatekeeper(
        verifier=TokenVerifier(settings.issuer, settings.oidc_audience, jwks),
        provider=IdentityProvider(
            settings.issuer, settings.oidc_client_id, settings.client_secret, http, jwks
        ),
        sessions=sessions,
        audit=AuditTrail(None, source=settings.service_name),
        user_limits=RateLimiter(settings.rate_limit_per_user_per_minute),
    )


async def _attach_audit_bus(settings: Settings, audit: AuditTrail) -> None:
    """Connect to NATS (retrying in the background) and publish audit records there."""
    while True:
        try:
            client = await connect(settings.nats_url, name=settings.service_name)
        except Exception as error:
            logger.warning("audit records wait for NATS: %s", safe(type(error).__name__))
            continue
        audit.attach(jetstream_publisher(client.jetstream(), source=settings.service_name))
        return


def create_app(
    settings: Settings,
    *,
    downstream_health: DownstreamHealth | None = None,
    tracer_provider: TracerProvider | None = None,
    gatekeeper: Gatekeeper | None = None,
    provider_proxy: httpx.AsyncClient | None = None,
) -> FastAPI:
    """Build the gateway application.

    Without ``downstream_health`` the app checks the services at the addresses in
    ``settings`` over gRPC, opening its channels at start-up and closing them at shutdown.
    Without ``tracer_provider`` spans go to the global one that telemetry set up. The
    triage routes call the triage service at ``settings.triage_grpc_addr``, the admin routes
    the admin service at ``settings.admin_grpc_addr``. Without ``gatekeeper`` callers are
    checked as `build_gatekeeper` wires it from ``settings``; without ``provider_proxy``
    /realms/ goes to AUTH_HTTP_ADDR.
    """
    keeper = gatekeeper or build_gatekeeper(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        attaching = (
            asyncio.create_task(_attach_audit_bus(settings, keeper.audit), name="audit-bus")
            if gatekeeper is None
            else None
        )
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
            if attaching is not None:
                attaching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await attaching
            await close_app(app)

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
    app.state.scheduling = SchedulingClient(
        settings.scheduling_grpc_addr, tracer_provider=tracer_provider
    )
    app.state.auth = AuthClient(settings.auth_grpc_addr, tracer_provider=tracer_provider)
    app.state.speech = SpeechClients(
        settings.stt_grpc_addr, settings.tts_grpc_addr, tracer_provider=tracer_provider
    )
    app.state.admin = AdminClient(settings.admin_grpc_addr, tracer_provider=tracer_provider)
    app.state.voice_proxy = VoiceProxyClient(
        settings.voice_proxy_grpc_addr, tracer_provider=tracer_provider
    )
    app.state.conversation = conversation.ConversationLimits.of(
        settings.public_base_url, settings.allowed_origins()
    )
    app.state.gatekeeper = keeper
    app.state.public_base_url = settings.public_base_url
    app.state.provider_proxy = provider_proxy or provider_proxy_client(settings.auth_http_addr)
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(web_sign_in.router)
    app.include_router(api_v1())
    app.include_router(conversation.router)
    app.include_router(docs_router(app))
    app.router.routes.append(realms_route())
    mount_docs_assets(app)
    install_web_client(app, settings.web_dist_dir)

    # add_middleware wraps what is there, so the innermost is added first.
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_request_body_bytes)
    app.add_middleware(
        IpRateLimitMiddleware, limiter=RateLimiter(settings.rate_limit_per_ip_per_minute)
    )
    app.add_middleware(UnhandledErrorMiddleware)
    if settings.allowed_origins():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins(),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(TrafficMiddleware)
    app.add_middleware(RequestIdMiddleware)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider,
        server_request_hook=_name_request_by_route,
        exclude_spans=["receive", "send"],
    )
    return app


async def close_app(app: FastAPI) -> None:
    """Close what the app opened: channels, the provider clients, sessions, the audit trail."""
    await app.state.triage.close()
    await app.state.scheduling.close()
    await app.state.speech.close()
    await app.state.auth.close()
    await app.state.admin.close()
    await app.state.voice_proxy.close()
    await app.state.provider_proxy.aclose()
    keeper: Gatekeeper = app.state.gatekeeper
    await keeper.audit.close()
    close_sessions = getattr(keeper.sessions, "close", None)
    if close_sessions is not None:
        await close_sessions()
