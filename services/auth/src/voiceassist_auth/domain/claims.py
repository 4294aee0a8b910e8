"""The claims of the tokens the built-in provider issues, shaped exactly like Keycloak's.

Services and clients are written once against Keycloak's token shape (``realm_access.roles``,
``azp``, ``typ``, ``sid``), so a token from the built-in provider must be indistinguishable in
shape from one Keycloak issues for the realm ``voiceassist``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voiceassist_common.tokens import Role

__all__ = [
    "API_AUDIENCE",
    "GUEST_SCOPE",
    "USER_SCOPE",
    "Grant",
    "access_token_claims",
    "id_token_claims",
    "userinfo_claims",
]

API_AUDIENCE = "voiceassist-api"
USER_SCOPE = "openid profile email"
GUEST_SCOPE = "openid guest"
_ROLE_ORDER = (Role.PATIENT, Role.CLINICIAN, Role.ADMIN)


@dataclass(frozen=True)
class Grant:
    """What one token speaks for: a person (or guest) in one sign-in session of one client."""

    issuer: str
    subject: str
    client_id: str
    session_id: str
    auth_time: int
    scope: str
    roles: frozenset[Role]
    amr: tuple[str, ...]
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    guest: bool = False


def access_token_claims(grant: Grant, *, now: int, lifetime: int, jti: str) -> dict[str, Any]:
    """Claims of an access token (``typ: Bearer``), for the API audience."""
    claims: dict[str, Any] = {
        "exp": now + lifetime,
        "iat": now,
        "auth_time": grant.auth_time,
        "jti": jti,
        "iss": grant.issuer,
        "aud": [API_AUDIENCE, "account"],
        "sub": grant.subject,
        "typ": "Bearer",
        "azp": grant.client_id,
        "sid": grant.session_id,
        "scope": grant.scope,
        "realm_access": {"roles": [role.value for role in _ROLE_ORDER if role in grant.roles]},
        "amr": list(grant.amr),
    }
    if grant.guest:
        claims["voiceassist_guest"] = True
    else:
        claims.update(_profile(grant))
    return claims


def id_token_claims(
    grant: Grant, *, now: int, lifetime: int, jti: str, nonce: str | None
) -> dict[str, Any]:
    """Claims of an ID token (``typ: ID``), for the client that asked."""
    claims: dict[str, Any] = {
        "exp": now + lifetime,
        "iat": now,
        "auth_time": grant.auth_time,
        "jti": jti,
        "iss": grant.issuer,
        "aud": grant.client_id,
        "sub": grant.subject,
        "typ": "ID",
        "azp": grant.client_id,
        "sid": grant.session_id,
        "amr": list(grant.amr),
        **_profile(grant),
    }
    if nonce:
        claims["nonce"] = nonce
    return claims


def userinfo_claims(grant: Grant) -> dict[str, Any]:
    """Return what the userinfo endpoint answers (Keycloak's default profile and e-mail claims)."""
    return {"sub": grant.subject, **_profile(grant)}


def _profile(grant: Grant) -> dict[str, Any]:
    if grant.guest:
        return {}
    return {
        "email": grant.email,
        "email_verified": grant.email_verified,
        "name": grant.name,
        "preferred_username": grant.email,
    }
