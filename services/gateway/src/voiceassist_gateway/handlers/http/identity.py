"""Who is calling an /api/v1 route, and whether their roles allow it.

Every /api/v1 route depends on `Require(permission)` (tests check that none forgets). It finds
the caller's access token (an `Authorization: Bearer` header, or the browser's session cookie,
whose tokens the gateway keeps; docs/adr/0007), verifies it with the shared `TokenVerifier`,
applies the per-user rate limit and the policy table (domain/access.py), and hands the route a
`Caller` whose token the route forwards to the owning service, which checks the object.

Refusals are problem+json and never quote the token: 401 with `WWW-Authenticate` when there is
no usable token, 403 when the role lacks the permission or a cookie request lacks its CSRF
token, 429 with Retry-After past the rate limit, 503 when the issuer's keys cannot be had.
Every refusal is audited (`auth.token_rejected`, `auth.access_denied`, `auth.csrf_rejected`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException
from voiceassist_common.audit import AuditTrail
from voiceassist_common.events import AuditOutcome
from voiceassist_common.logging import safe
from voiceassist_common.tokens import Principal, RejectionReason, TokenRejected, TokenVerifier

from voiceassist_gateway.adapters.identity_provider import (
    IdentityProvider,
    ProviderUnavailableError,
    SignInRefusedError,
)
from voiceassist_gateway.domain.access import Permission, may
from voiceassist_gateway.domain.rate_limits import RateLimiter, retry_after_header
from voiceassist_gateway.domain.web_sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    SessionStore,
    WebSession,
    same_secret,
    storage_key,
)
from voiceassist_gateway.handlers.http.problem_responses import request_id_of

logger = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CHALLENGE = 'Bearer realm="voiceassist"'


@dataclass
class Gatekeeper:
    """What checking callers needs; one per app, kept in ``app.state.gatekeeper``."""

    verifier: TokenVerifier
    provider: IdentityProvider
    sessions: SessionStore
    audit: AuditTrail
    user_limits: RateLimiter
    clock: Callable[[], float] = field(default=time.time)


@dataclass(frozen=True, slots=True)
class Caller:
    """The verified caller of a route, with the token to forward to internal services."""

    principal: Principal
    access_token: str
    via_cookie: bool


def gatekeeper_of(request: Request) -> Gatekeeper:
    """Return the app's gatekeeper."""
    keeper: Gatekeeper = request.app.state.gatekeeper
    return keeper


def unauthenticated(detail: str, *, error: str | None = None) -> HTTPException:
    """Return a 401 telling the client how to authenticate (RFC 6750 §3)."""
    challenge = f'{_CHALLENGE}, error="{error}"' if error else _CHALLENGE
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


class Require:
    """A route dependency: the caller must be signed in and hold one of ``permissions``."""

    def __init__(self, *permissions: Permission) -> None:
        if not permissions:
            raise ValueError("a route needs at least one permission")
        self.permissions = frozenset(permissions)

    def __repr__(self) -> str:
        return f"Require({', '.join(sorted(self.permissions))})"

    async def __call__(self, request: Request) -> Caller:
        """Return the verified caller, or raise the HTTP refusal."""
        keeper = gatekeeper_of(request)
        request_id = request_id_of(request.scope)
        token, session_key = await _credentials(request, keeper)
        try:
            principal = await keeper.verifier.verify(token)
        except TokenRejected as rejection:
            await keeper.audit.record(
                actor="anonymous",
                action="auth.token_rejected",
                resource_type="access_token",
                resource_id=rejection.reason.value,
                outcome=AuditOutcome.DENIED,
                request_id=request_id,
            )
            if rejection.reason is RejectionReason.KEYS_UNAVAILABLE:
                logger.warning("cannot verify tokens: %s", safe(rejection.detail))
                raise HTTPException(
                    503,
                    "Sign-in cannot be checked right now; retry shortly.",
                    headers={"Retry-After": "5"},
                ) from None
            if session_key is not None:
                await keeper.sessions.delete(session_key)
            raise unauthenticated(
                f"The access token was refused ({rejection.reason.value}).", error="invalid_token"
            ) from None
        wait = keeper.user_limits.take(f"user:{principal.subject}")
        if wait > 0:
            raise HTTPException(
                429,
                "Too many requests from this account; retry later.",
                headers={"Retry-After": retry_after_header(wait)},
            )
        if not any(may(principal, permission) for permission in self.permissions):
            await keeper.audit.record(
                actor=principal,
                action="auth.access_denied",
                resource_type="permission",
                resource_id=min(self.permissions).value,
                outcome=AuditOutcome.DENIED,
                request_id=request_id,
            )
            raise HTTPException(403, "Your role does not allow this.")
        request.state.principal = principal
        return Caller(principal, token, via_cookie=session_key is not None)


async def _credentials(request: Request, keeper: Gatekeeper) -> tuple[str, str | None]:
    """Return the access token, and the session key when it came from the session cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthenticated("Send an access token as 'Authorization: Bearer'.")
        return token.strip(), None
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise unauthenticated("Sign in first.")
    key = storage_key("session", session_id)
    session = await load_session(keeper, key)
    if session is None:
        raise unauthenticated("The session has ended; sign in again.")
    if request.method not in SAFE_METHODS and not same_secret(
        request.headers.get(CSRF_HEADER), session.csrf_token
    ):
        await keeper.audit.record(
            actor=session.subject,
            action="auth.csrf_rejected",
            resource_type="web_session",
            resource_id="cookie",
            outcome=AuditOutcome.DENIED,
            request_id=request_id_of(request.scope),
        )
        raise HTTPException(
            403, f"Cookie-authenticated changes need the {CSRF_HEADER} from GET /auth/session."
        )
    session = await fresh_session(keeper, key, session)
    return session.access_token, key


async def load_session(keeper: Gatekeeper, key: str) -> WebSession | None:
    """Read a session from the store; an unreadable one counts as ended."""
    try:
        data = await keeper.sessions.get(key)
    except Exception as error:
        logger.error("session store unavailable: %s", safe(type(error).__name__))
        raise HTTPException(
            503, "Sessions are unavailable; retry shortly.", headers={"Retry-After": "5"}
        ) from None
    if data is None:
        return None
    try:
        return WebSession.from_bytes(data)
    except (ValueError, TypeError):
        await keeper.sessions.delete(key)
        return None


async def fresh_session(keeper: Gatekeeper, key: str, session: WebSession) -> WebSession:
    """Refresh the access token when it is about to expire; a refused refresh ends the session."""
    if not session.needs_refresh(keeper.clock()):
        return session
    if session.refresh_token is None:
        await keeper.sessions.delete(key)
        raise unauthenticated("The session has expired; sign in again.")
    try:
        tokens = await keeper.provider.refresh(session.refresh_token)
    except SignInRefusedError:
        await keeper.sessions.delete(key)
        raise unauthenticated("The session has expired; sign in again.") from None
    except ProviderUnavailableError as error:
        logger.warning("cannot refresh a session: %s", safe(str(error)))
        raise HTTPException(
            503,
            "Sign-in cannot be refreshed right now; retry shortly.",
            headers={"Retry-After": "5"},
        ) from None
    renewed = replace(
        session,
        access_token=tokens.access_token,
        access_expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token or session.refresh_token,
        id_token=tokens.id_token or session.id_token,
    )
    await keeper.sessions.put(key, renewed.to_bytes())
    return renewed


class Public:
    """A route dependency marking a route anyone may call (sign-up, starting a guest session)."""

    def __repr__(self) -> str:
        return "Public()"

    async def __call__(self) -> None:
        """Let the request through."""


PUBLIC = Public()


def needs(*permissions: Permission) -> list[Any]:
    """Return the ``dependencies=`` of a route whose result the handler does not use."""
    return [Depends(Require(*permissions))]


def public() -> list[Any]:
    """Return the ``dependencies=`` of a route anyone may call."""
    return [Depends(PUBLIC)]
