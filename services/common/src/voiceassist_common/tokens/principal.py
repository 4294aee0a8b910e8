"""Who is calling, as established by a verified access token.

Handlers and the permission policy reason about a `Principal` with our three roles, not about
raw JWT claims, so the same code works whether the token came from Keycloak or from the built-in
issuer, and a role we do not know (Keycloak's `offline_access`, `uma_authorization`, …) can never
grant anything by accident.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Role(StrEnum):
    """The roles VoiceAssist grants permissions to."""

    PATIENT = "patient"
    CLINICIAN = "clinician"
    ADMIN = "admin"


_KNOWN_ROLES = {role.value: role for role in Role}


@dataclass(frozen=True, slots=True)
class Principal:
    """The verified caller. `claims` holds every claim for the rare handler that needs one more.

    The claims of a Keycloak token carry the person's name and e-mail, so they are left out of
    `repr` to keep them out of logs and tracebacks.
    """

    subject: str
    issuer: str
    roles: frozenset[Role]
    scopes: frozenset[str]
    client_id: str | None
    session_id: str | None
    expires_at: datetime
    claims: Mapping[str, Any] = field(repr=False, compare=False)

    def has_role(self, role: Role) -> bool:
        """Whether the caller holds `role`."""
        return role in self.roles

    def has_scope(self, scope: str) -> bool:
        """Whether the token was granted `scope`."""
        return scope in self.scopes

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Principal:
        """Build the principal from claims whose signature and validity were already checked.

        Raises `ValueError` naming the claim (never its value) when a claim we rely on is absent
        or of the wrong type.
        """
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise ValueError("claim 'sub' is missing or not a string")
        issuer = claims.get("iss")
        if not isinstance(issuer, str):
            raise ValueError("claim 'iss' is missing or not a string")
        expires = claims.get("exp")
        if isinstance(expires, bool) or not isinstance(expires, int | float):
            raise ValueError("claim 'exp' is missing or not a number")
        return cls(
            subject=subject,
            issuer=issuer,
            roles=roles_from_claims(claims),
            scopes=scopes_from_claims(claims),
            client_id=_optional_text(claims, "azp"),
            # Keycloak names the session `sid`; releases before 18 called it `session_state`.
            session_id=_optional_text(claims, "sid") or _optional_text(claims, "session_state"),
            expires_at=datetime.fromtimestamp(expires, tz=UTC),
            claims=MappingProxyType(dict(claims)),
        )


def roles_from_claims(claims: Mapping[str, Any]) -> frozenset[Role]:
    """Our roles named in Keycloak's `realm_access.roles` and/or a top-level `roles` claim."""
    names: list[object] = []
    realm_access = claims.get("realm_access")
    if isinstance(realm_access, Mapping):
        names.extend(_list(realm_access.get("roles")))
    names.extend(_list(claims.get("roles")))
    return frozenset(
        _KNOWN_ROLES[name] for name in names if isinstance(name, str) and name in _KNOWN_ROLES
    )


def scopes_from_claims(claims: Mapping[str, Any]) -> frozenset[str]:
    """Granted scopes: OAuth's space-separated `scope`, or the `scp` list some issuers use."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    return frozenset(item for item in _list(claims.get("scp")) if isinstance(item, str))


def _list(value: object) -> Iterable[object]:
    return value if isinstance(value, list) else ()


def _optional_text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) and value else None
