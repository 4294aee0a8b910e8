"""Claims become our three roles, scopes and session, whatever shape the issuer gave them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from voiceassist_common.tokens import Principal, Role

BASE: dict[str, Any] = {
    "sub": "user-1",
    "iss": "https://id.clinic.example/realms/va",
    "exp": 1_900_000_000,
}


def principal(**claims: Any) -> Principal:
    return Principal.from_claims({**BASE, **claims})


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"realm_access": {"roles": ["clinician", "offline_access"]}}, {Role.CLINICIAN}),
        ({"roles": ["admin", "patient"]}, {Role.ADMIN, Role.PATIENT}),
        ({"realm_access": {"roles": ["patient"]}, "roles": ["admin"]}, {Role.PATIENT, Role.ADMIN}),
        ({"realm_access": {"roles": ["Admin", "ADMIN", "root", 7, None]}}, set()),
        ({"realm_access": ["admin"]}, set()),
        ({"realm_access": {"roles": "admin"}}, set()),
        ({"roles": "admin"}, set()),
        ({"resource_access": {"voiceassist-web": {"roles": ["admin"]}}}, set()),
        ({}, set()),
    ],
)
def test_only_our_roles_named_where_we_look_are_granted(
    claims: dict[str, Any], roles: set[Role]
) -> None:
    assert principal(**claims).roles == frozenset(roles)


def test_scopes_come_from_the_scope_string_or_an_scp_list() -> None:
    assert principal(scope="openid  triage:write").scopes == {"openid", "triage:write"}
    assert principal(scp=["openid", "triage:read", 3]).scopes == {"openid", "triage:read"}
    assert principal().scopes == frozenset()
    assert principal(scope="openid").has_scope("openid")


def test_the_session_is_sid_or_keycloaks_older_session_state() -> None:
    assert principal(sid="s-1", session_state="s-2").session_id == "s-1"
    assert principal(session_state="s-2").session_id == "s-2"
    assert principal().session_id is None


def test_expiry_is_an_aware_utc_datetime() -> None:
    assert principal().expires_at == datetime(2030, 3, 17, 17, 46, 40, tzinfo=UTC)


def test_claims_cannot_be_changed_through_the_principal() -> None:
    claims = principal(email="someone@example.org").claims

    with pytest.raises(TypeError):
        claims["email"] = "other@example.org"  # type: ignore[index]


@pytest.mark.parametrize(
    ("claims", "named"),
    [({"sub": ""}, "sub"), ({"sub": None}, "sub"), ({"iss": 3}, "iss"), ({"exp": "soon"}, "exp")],
)
def test_missing_claims_are_named_without_their_values(claims: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=f"'{named}'") as caught:
        Principal.from_claims({**BASE, **claims})
    assert "soon" not in str(caught.value)
