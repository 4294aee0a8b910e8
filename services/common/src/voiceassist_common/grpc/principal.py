"""Who is calling an internal service: the user's access token, forwarded by the gateway.

The gateway checks the role a route needs, but which *object* a caller may read is decided by
the service that owns the object (a patient reads only their own triage assessments), so the
service must know the caller too. The gateway forwards the user's access token as gRPC
metadata (`authorization: Bearer <token>`, see `bearer_metadata`); a service verifies it with
the shared `TokenVerifier` through `Callers` and reasons about the resulting `Principal`:

    callers = Callers(verifier)                    # or callers_from_settings(settings)
    principal = await callers.authenticate(context)    # aborts UNAUTHENTICATED when missing

A service with no issuer configured (unit tests, a developer's first run) uses
`Callers.unverified(environment)`, which exists only in dev and test; handlers then get
`None` and keep the behaviour they had before identity existed. Tokens are never logged nor
echoed in a status message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Protocol

import grpc

from voiceassist_common.logging import safe
from voiceassist_common.settings import Environment
from voiceassist_common.tokens import (
    JwksCache,
    Principal,
    RejectionReason,
    Role,
    TokenRejected,
    TokenVerifier,
)

__all__ = [
    "AUTHORIZATION_KEY",
    "Callers",
    "bearer_metadata",
    "bearer_token",
    "callers_from_settings",
]

logger = logging.getLogger(__name__)

AUTHORIZATION_KEY = "authorization"
"""The metadata key carrying the caller's access token (gRPC keys are lower case)."""

_BEARER = "bearer "
_UNVERIFIED_ENVIRONMENTS = frozenset({"dev", "test"})


def bearer_metadata(access_token: str) -> tuple[tuple[str, str], ...]:
    """Return the metadata that forwards ``access_token`` on an outgoing call."""
    return ((AUTHORIZATION_KEY, f"Bearer {access_token}"),)


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """Return the token of ``authorization: Bearer ...`` metadata, or None when absent."""
    for key, value in metadata or ():
        if key.lower() != AUTHORIZATION_KEY or not isinstance(value, str):
            continue
        if value[: len(_BEARER)].lower() == _BEARER:
            token = value[len(_BEARER) :].strip()
            return token or None
    return None


class _Context(Protocol):
    """The part of a grpc.aio ServicerContext `Callers` uses."""

    def invocation_metadata(self) -> Any: ...

    async def abort(self, code: grpc.StatusCode, details: str = "") -> Any: ...


class Callers:
    """Turns the metadata of an incoming call into the verified `Principal` of its caller."""

    def __init__(self, verifier: TokenVerifier | None) -> None:
        self._verifier = verifier

    @classmethod
    def unverified(cls, environment: Environment) -> Callers:
        """Accept every call without a caller: dev and test only, refused in prod."""
        if environment not in _UNVERIFIED_ENVIRONMENTS:
            raise ValueError("calls without verified callers are allowed only in dev and test")
        return cls(None)

    @property
    def verifying(self) -> bool:
        """Whether calls are checked; False only for `unverified`."""
        return self._verifier is not None

    async def authenticate(self, context: _Context) -> Principal | None:
        """Return the verified caller, or abort the call.

        Aborts UNAUTHENTICATED when the token is missing or invalid (the reason only, never the
        token), and UNAVAILABLE when the issuer's keys cannot be had. Returns None only for
        `unverified` callers.
        """
        if self._verifier is None:
            return None
        token = bearer_token(context.invocation_metadata())
        if token is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "no access token in the call")
            raise AssertionError("unreachable: abort() raises")  # pragma: no cover
        try:
            return await self._verifier.verify(token)
        except TokenRejected as rejection:
            if rejection.reason is RejectionReason.KEYS_UNAVAILABLE:
                logger.warning("cannot verify callers: %s", safe(rejection.detail))
                await context.abort(
                    grpc.StatusCode.UNAVAILABLE, "the caller cannot be verified right now"
                )
            else:
                await context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    f"access token refused: {rejection.reason.value}",
                )
            raise AssertionError("unreachable: abort() raises") from None  # pragma: no cover

    async def require_role(self, context: _Context, *roles: Role) -> Principal | None:
        """Authenticate, then abort PERMISSION_DENIED unless the caller holds one of ``roles``."""
        principal = await self.authenticate(context)
        if principal is not None and not principal.roles & set(roles):
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, "the caller's role may not do this"
            )
            raise AssertionError("unreachable: abort() raises")  # pragma: no cover
        return principal


class _OidcServiceSettings(Protocol):
    """What `callers_from_settings` reads: `ServiceSettings` with the `OidcSettings` mixin."""

    @property
    def environment(self) -> Environment: ...

    @property
    def oidc_issuer(self) -> str | None: ...

    @property
    def oidc_audience(self) -> str | None: ...


def callers_from_settings(settings: _OidcServiceSettings) -> tuple[Callers, JwksCache | None]:
    """Build `Callers` from OIDC_ISSUER/OIDC_AUDIENCE; close the returned cache at shutdown.

    Without OIDC_ISSUER calls are not verified, which only dev and test allow (a ValueError
    otherwise); the service logs a warning so nobody mistakes it for a protected set-up.
    """
    if settings.oidc_issuer is None:
        callers = Callers.unverified(settings.environment)
        logger.warning("OIDC_ISSUER is not set: callers are NOT verified (dev/test only)")
        return callers, None
    jwks = JwksCache(issuer=settings.oidc_issuer)
    verifier = TokenVerifier(settings.oidc_issuer, settings.oidc_audience, jwks)
    return Callers(verifier), jwks
