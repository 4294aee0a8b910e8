"""Fixtures: the gateway app under test, and real gRPC health servers for its downstreams."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import grpc
import httpx
import pytest
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from joserfc import jwt
from joserfc.jwk import RSAKey
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from voiceassist_common.audit import AuditTrail
from voiceassist_common.logging import configure_logging
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.adapters.downstream_health import GrpcHealthChecks
from voiceassist_gateway.adapters.identity_provider import IdentityProvider
from voiceassist_gateway.adapters.web_sessions import InMemorySessionStore
from voiceassist_gateway.config import DOWNSTREAM_SERVICES, Settings
from voiceassist_gateway.domain.rate_limits import RateLimiter
from voiceassist_gateway.domain.readiness import DownstreamHealth
from voiceassist_gateway.handlers.http.app import close_app, create_app
from voiceassist_gateway.handlers.http.identity import Gatekeeper

BODY_LIMIT = 4096

# Nothing listens on port 9 (discard) on loopback: a call there is refused at once.
CLOSED_ADDRESS = "127.0.0.1:9"


# grpc_health's asyncio servicer ships without type information.
class StalledHealth(HealthServicer):  # type: ignore[misc]
    """A health service that never answers, like a process stuck in a busy loop."""

    async def Check(  # noqa: N802 - gRPC method name
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> health_pb2.HealthCheckResponse:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class StandIns:
    """One real grpc.aio server per downstream service, each with the standard health service."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self.servers: dict[str, grpc.aio.Server] = {}
        self.health: dict[str, HealthServicer] = {}

    @property
    def addresses(self) -> dict[str, str]:
        return {name: f"127.0.0.1:{port}" for name, port in self.ports.items()}

    async def start(
        self, name: str, servicer: HealthServicer | None = None, *, port: int = 0
    ) -> None:
        server = grpc.aio.server()
        if servicer is None:
            servicer = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        self.ports[name] = server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        self.servers[name], self.health[name] = server, servicer

    async def stop(self, name: str) -> None:
        await self.servers.pop(name).stop(grace=None)

    async def restart(self, name: str, servicer: HealthServicer | None = None) -> None:
        if name in self.servers:
            await self.stop(name)
        await self.start(name, servicer, port=self.ports[name])

    async def set_not_serving(self, name: str) -> None:
        await self.health[name].set("", health_pb2.HealthCheckResponse.NOT_SERVING)

    async def close(self) -> None:
        await asyncio.gather(*(server.stop(grace=None) for server in self.servers.values()))
        self.servers.clear()


@pytest.fixture(autouse=True)
def no_real_downstream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the default service addresses at a closed port.

    A developer's `make up` listens on the defaults; tests that expect "no service behind the
    gateway" must not reach it. Addresses a test passes explicitly still win over these.
    """
    for service in DOWNSTREAM_SERVICES:
        monkeypatch.setenv(f"{service.replace('-', '_').upper()}_GRPC_ADDR", CLOSED_ADDRESS)


@pytest.fixture
async def stand_ins() -> AsyncIterator[StandIns]:
    services = StandIns()
    try:
        for name in DOWNSTREAM_SERVICES:
            await services.start(name)
        yield services
    finally:
        await services.close()


@pytest.fixture
def settings(identity_settings: dict[str, Any]) -> Settings:
    return Settings(
        max_request_body_bytes=BODY_LIMIT,
        readiness_timeout_seconds=0.5,
        **identity_settings,
    )


@pytest.fixture
async def downstream_health(settings: Settings) -> AsyncIterator[DownstreamHealth]:
    """Health checks against the default addresses; modules that check readiness override it."""
    checks = GrpcHealthChecks(settings.downstream_addresses(), settings.readiness_timeout_seconds)
    yield checks
    await checks.close()


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider
    provider.shutdown()


@pytest.fixture
def app(
    settings: Settings,
    downstream_health: DownstreamHealth,
    tracer_provider: TracerProvider,
    gatekeeper: Gatekeeper,
    idp: OidcProviderStub,
) -> FastAPI:
    return create_app(
        settings,
        downstream_health=downstream_health,
        tracer_provider=tracer_provider,
        gatekeeper=gatekeeper,
        provider_proxy=idp.http_client(),
    )


@pytest.fixture
async def anonymous(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Yield a client of the gateway that sends no credentials."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_BASE) as client:
        yield client
    # ASGITransport runs no lifespan, so the shutdown that closes the channels is done here.
    await close_app(app)


@pytest.fixture
def client(anonymous: httpx.AsyncClient, staff_token: str) -> httpx.AsyncClient:
    """Return a client signed in with every role, for tests about other things than access."""
    anonymous.headers["Authorization"] = f"Bearer {staff_token}"
    return anonymous


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Route the process's logging to a string, as JSON lines (restored afterwards)."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    configure_logging("gateway", "INFO", stream=stream)
    yield stream
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)


@pytest.fixture
def stalled_health() -> HealthServicer:
    """Make a health servicer that never answers."""
    return StalledHealth()


# ---------------------------------------------------------------------------------------------
# Identity (issue #4): a stand-in OIDC provider at Keycloak's paths, and signed-in clients.
# ---------------------------------------------------------------------------------------------

IDP_ORIGIN = "http://idp.test"
ISSUER = f"{IDP_ORIGIN}/realms/voiceassist"
AUDIENCE = "voiceassist-api"
WEB_CLIENT = "voiceassist-web"
WEB_SECRET = "test-web-secret"
PUBLIC_BASE = "https://gateway.test"
ALL_ROLES = ("patient", "clinician", "admin")


class OidcProviderStub:
    """A minimal authorization-code + PKCE provider with Keycloak's paths and token shapes.

    Stands in for the auth service's built-in provider in the gateway's own tests: it checks
    what a real provider checks (client secret, redirect URI, PKCE S256 verifier, single-use
    codes, rotated refresh tokens) and signs Keycloak-shaped RS256 tokens.
    """

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "stub-1", "alg": "RS256"})
        self.user = {"sub": "aaaaaaaa-0000-4000-8000-000000000001", "roles": ["patient"]}
        self.access_lifetime = 300
        self.codes: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.revoked: list[str] = []
        self.requests: list[str] = []
        self.last_headers: dict[str, str] = {}
        self.app = Starlette(
            routes=[
                Route("/realms/voiceassist/.well-known/openid-configuration", self.discovery),
                Route("/realms/voiceassist/protocol/openid-connect/certs", self.certs),
                Route("/realms/voiceassist/protocol/openid-connect/auth", self.authorize),
                Route(
                    "/realms/voiceassist/protocol/openid-connect/token",
                    self.token_endpoint,
                    methods=["POST"],
                ),
                Route(
                    "/realms/voiceassist/protocol/openid-connect/logout",
                    self.logout,
                    methods=["POST"],
                ),
            ]
        )

    def http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=IDP_ORIGIN)

    def access_token(
        self, subject: str, roles: Sequence[str], *, guest: bool = False, **overrides: Any
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": subject,
            "aud": [AUDIENCE, "account"],
            "azp": WEB_CLIENT,
            "typ": "Bearer",
            "exp": now + self.access_lifetime,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "sid": "sid-1",
            "scope": "openid guest" if guest else "openid profile email",
            "realm_access": {"roles": list(roles)},
        }
        if guest:
            claims["voiceassist_guest"] = True
        claims.update(overrides)
        return self.sign(claims)

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        header = {"alg": "RS256", "kid": "stub-1", "typ": typ}
        return jwt.encode(header, claims, self.key, algorithms=["RS256"])

    async def discovery(self, request: Request) -> JSONResponse:
        self.requests.append("discovery")
        base = f"{ISSUER}/protocol/openid-connect"
        return JSONResponse(
            {
                "issuer": ISSUER,
                "authorization_endpoint": f"{base}/auth",
                "token_endpoint": f"{base}/token",
                "jwks_uri": f"{base}/certs",
                "end_session_endpoint": f"{base}/logout",
            }
        )

    async def certs(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        """Sign ``self.user`` in at once and send the browser back with a code."""
        self.last_headers = dict(request.headers)
        query = request.query_params
        if query.get("client_id") != WEB_CLIENT or query.get("code_challenge_method") != "S256":
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = uuid.uuid4().hex
        self.codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "nonce": query["nonce"],
            "user": dict(self.user),
        }
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return RedirectResponse(target, status_code=302, headers={"Set-Cookie": "KC=1; Path=/"})

    def _client_ok(self, request: Request) -> bool:
        expected = base64.b64encode(f"{WEB_CLIENT}:{WEB_SECRET}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    async def token_endpoint(self, request: Request) -> JSONResponse:
        form = await request.form()
        if not self._client_ok(request):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if (
                grant is None
                or grant["redirect_uri"] != form.get("redirect_uri")
                or grant["challenge"] != challenge
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(self._tokens(grant["user"], grant["nonce"]))
        if form.get("grant_type") == "refresh_token":
            held = self.refresh_tokens.pop(str(form.get("refresh_token")), None)
            if held is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            return JSONResponse(self._tokens(held, None))
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    def _tokens(self, user: dict[str, Any], nonce: str | None) -> dict[str, Any]:
        refresh = uuid.uuid4().hex
        self.refresh_tokens[refresh] = user
        now = int(time.time())
        id_claims = {"iss": ISSUER, "sub": user["sub"], "aud": WEB_CLIENT, "exp": now + 300}
        if nonce is not None:
            id_claims["nonce"] = nonce
        return {
            "access_token": self.access_token(user["sub"], user["roles"]),
            "expires_in": self.access_lifetime,
            "refresh_token": refresh,
            "id_token": self.sign({**id_claims, "iat": now, "typ": "ID"}),
            "token_type": "Bearer",
        }

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if form.get("client_secret") != WEB_SECRET:
            return JSONResponse({"error": "unauthorized_client"}, status_code=401)
        token = str(form.get("refresh_token", ""))
        self.refresh_tokens.pop(token, None)
        self.revoked.append(token)
        return Response(status_code=204)


class RecordedAudit:
    """An AuditTrail publisher that keeps the records it is given."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    async def __call__(self, payload: Any) -> None:
        self.records.append(payload)

    def actions(self) -> list[tuple[str, str]]:
        return [(record.action, record.outcome.value) for record in self.records]


@pytest.fixture
def idp() -> OidcProviderStub:
    return OidcProviderStub()


@pytest.fixture
def audit_records() -> RecordedAudit:
    return RecordedAudit()


@pytest.fixture
async def gatekeeper(
    idp: OidcProviderStub, audit_records: RecordedAudit
) -> AsyncIterator[Gatekeeper]:
    async with idp.http_client() as http:
        jwks = JwksCache(issuer=ISSUER, http_client=http)
        yield Gatekeeper(
            verifier=TokenVerifier(ISSUER, AUDIENCE, jwks),
            provider=IdentityProvider(ISSUER, WEB_CLIENT, WEB_SECRET, http, jwks),
            sessions=InMemorySessionStore(1800),
            audit=AuditTrail(audit_records, source="gateway"),
            user_limits=RateLimiter(10_000),
        )


@pytest.fixture
def identity_settings() -> dict[str, Any]:
    """Return the identity settings, for modules that build their own Settings."""
    return {
        "environment": "test",
        "oidc_issuer": ISSUER,
        "oidc_client_secret": WEB_SECRET,
        "web_sessions": "memory",
        "public_base_url": PUBLIC_BASE,
    }


@pytest.fixture
def staff_token(idp: OidcProviderStub) -> str:
    """Return a token with every role, for tests about other things than access control."""
    return idp.access_token("bbbbbbbb-0000-4000-8000-000000000002", ALL_ROLES)
