"""What the gateway adds to every exchange with the outside: security headers, per-IP limits.

Security headers tell browsers to refuse what an attacker would need: running injected script
(a Content-Security-Policy without 'unsafe-inline'), framing the app for clickjacking
(frame-ancestors 'none'), sniffing a JSON answer as HTML (nosniff), leaking URLs in the
Referer. HSTS is sent only on requests that came over TLS: on plain HTTP it is ignored at best
and, on a developer's 127.0.0.1, would pin the browser to https for ever. Pages the identity
provider serves through /realms/ keep their own policy; they get the framing and sniffing ones.

The per-IP token bucket throttles a client before any work is done for it (health probes are
exempt); the per-user limit applies once the caller is known (handlers/http/identity.py).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from voiceassist_gateway.domain.problems import http_problem
from voiceassist_gateway.domain.rate_limits import RateLimiter, retry_after_header
from voiceassist_gateway.handlers.http.problem_responses import problem_response, request_id_of

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
_UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/livez"})


class SecurityHeadersMiddleware:
    """Adds the browser security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request, adding the headers as the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        over_tls = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                if path.startswith("/realms/"):
                    headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
                else:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                if path.startswith(("/api/", "/auth/")):
                    headers.setdefault("Cache-Control", "no-store")
                if over_tls:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)


class IpRateLimitMiddleware:
    """Answers 429 problem+json with Retry-After once a client IP exceeds its rate."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request unless this IP has used up its bucket."""
        if scope["type"] != "http" or scope.get("path") in _UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        wait = self.limiter.take(f"ip:{address}")
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        problem = http_problem(
            429, "Too many requests from this address; retry later.", request_id_of(scope)
        )
        response = problem_response(problem, {"Retry-After": retry_after_header(wait)})
        await response(scope, receive, send)
