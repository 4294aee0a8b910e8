"""A Keycloak-shaped OIDC issuer on loopback, a fake clock, and a verifier wired to both.

The issuer serves its discovery document and JWKS over real HTTP from a thread, with keys the
test creates, so the cache's fetching, caching and rotation run exactly as against Keycloak or
the built-in issuer. Time is a fake clock shared by the cache and the verifier: no test sleeps.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeyParameters, RSAKey
from voiceassist_common.tokens import JwksCache, JwksRefreshPolicy, TokenVerifier

REALM_PATH = "/realms/voiceassist"
CLIENT_ID = "voiceassist-web"


class FakeClock:
    """Seconds since the epoch that move only when the test says so."""

    def __init__(self, start: float = 1_760_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LocalIssuer:
    """Discovery and JWKS at Keycloak's paths on 127.0.0.1, and a signer for its tokens."""

    client_id = CLIENT_ID
    discovery_path = f"{REALM_PATH}/.well-known/openid-configuration"
    jwks_path = f"{REALM_PATH}/protocol/openid-connect/certs"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.requests: Counter[str] = Counter()
        self.cache_control: str | None = "max-age=300"
        self.failing = False  # answer 503 instead of the documents
        self.extra_jwks_entries: list[object] = []
        self.discovery_issuer: str | None = None  # to publish a discovery doc for another issuer
        self._keys: dict[str, Key] = {}
        self._published: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}{REALM_PATH}"

    @property
    def jwks_uri(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.jwks_path}"

    @property
    def jwks_requests(self) -> int:
        with self._lock:
            return self.requests[self.jwks_path]

    @property
    def total_requests(self) -> int:
        with self._lock:
            return self.requests.total()

    def start(self) -> None:
        """Serve, on the same port as before when restarted."""
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer._answer(self)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output to what the tests say

        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        # A short poll keeps `stop` (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Go away completely: connections are refused until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def add_key(self, kind: Literal["RSA", "EC"] = "RSA", *, publish: bool = True) -> str:
        kid = f"{kind.lower()}-{uuid.uuid4().hex[:8]}"
        alg = "RS256" if kind == "RSA" else "ES256"
        parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
        key: Key = (
            RSAKey.generate_key(2048, parameters=parameters)
            if kind == "RSA"
            else ECKey.generate_key("P-256", parameters=parameters)
        )
        with self._lock:
            self._keys[kid] = key
            if publish:
                self._published.append(kid)
        return kid

    def publish(self, kid: str) -> None:
        with self._lock:
            self._published.append(kid)

    def unpublish(self, kid: str) -> None:
        with self._lock:
            self._published.remove(kid)

    def key(self, kid: str) -> Key:
        return self._keys[kid]

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Claims shaped like a Keycloak access token for the web client, valid for 5 minutes."""
        now = int(self.clock())
        claims: dict[str, Any] = {
            "exp": now + 300,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "iss": self.url,
            "aud": "account",
            "sub": "f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b",
            "typ": "Bearer",
            "azp": CLIENT_ID,
            "sid": "7c0e8f1a-2b3c-4d5e-9f60-718293a4b5c6",
            "acr": "1",
            "realm_access": {
                "roles": ["default-roles-voiceassist", "offline_access", "uma_authorization"]
            },
            "resource_access": {"account": {"roles": ["manage-account", "view-profile"]}},
            "scope": "openid profile email",
            "email_verified": True,
            "name": "Maria Gonzalez",
            "preferred_username": "maria",
            "email": "maria.gonzalez@example.org",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(self, claims: dict[str, Any], kid: str, **header: Any) -> str:
        key = self._keys[kid]
        alg = header.pop("alg", key.alg)
        return jwt.encode({"alg": alg, "kid": kid, **header}, claims, key, algorithms=[alg])

    def token(self, kid: str, **overrides: Any) -> str:
        return self.sign(self.claims(**overrides), kid)

    @staticmethod
    def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
        """Assemble a compact JWS by hand, as an attacker would."""
        return f"{b64url_json(header)}.{b64url_json(claims)}.{b64url(signature)}"

    @staticmethod
    def tamper(token: str, **changes: Any) -> str:
        """Change claims of a signed token and keep its original signature."""
        header, payload, signature = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims.update(changes)
        return f"{header}.{b64url_json(claims)}.{signature}"

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests[request.path] += 1
            body: object
            if self.failing:
                request.send_error(HTTPStatus.SERVICE_UNAVAILABLE)
                return
            if request.path == self.discovery_path:
                body = {
                    "issuer": self.discovery_issuer or self.url,
                    "jwks_uri": self.jwks_uri,
                    "authorization_endpoint": f"{self.url}/protocol/openid-connect/auth",
                    "token_endpoint": f"{self.url}/protocol/openid-connect/token",
                    "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                }
            elif request.path == self.jwks_path:
                body = {
                    "keys": [self._keys[kid].as_dict(private=False) for kid in self._published]
                    + self.extra_jwks_entries
                }
            else:
                request.send_error(HTTPStatus.NOT_FOUND)
                return
            cache_control = self.cache_control
        payload = json.dumps(body).encode()
        request.send_response(HTTPStatus.OK)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(payload)))
        if cache_control is not None and request.path == self.jwks_path:
            request.send_header("Cache-Control", cache_control)
        request.end_headers()
        request.wfile.write(payload)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: object) -> str:
    return b64url(json.dumps(value).encode())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(clock: FakeClock) -> Iterator[LocalIssuer]:
    local = LocalIssuer(clock)
    yield local
    local.stop()


@pytest.fixture
def policy() -> JwksRefreshPolicy:
    return JwksRefreshPolicy()


@pytest.fixture
async def jwks(
    issuer: LocalIssuer, clock: FakeClock, policy: JwksRefreshPolicy
) -> AsyncIterator[JwksCache]:
    async with JwksCache(issuer=issuer.url, clock=clock, policy=policy) as cache:
        yield cache


@pytest.fixture
def verifier(issuer: LocalIssuer, jwks: JwksCache, clock: FakeClock) -> TokenVerifier:
    return TokenVerifier(issuer.url, CLIENT_ID, jwks, clock=clock)
