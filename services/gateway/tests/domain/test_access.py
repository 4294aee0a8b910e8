"""The policy table: each role gets what its work needs and nothing more."""

from __future__ import annotations

import time
from typing import Any

from voiceassist_common.tokens import Principal
from voiceassist_gateway.domain.access import POLICY, Audience, Permission, may


def principal(*roles: str, **claims: Any) -> Principal:
    return Principal.from_claims(
        {
            "sub": "s",
            "iss": "i",
            "exp": time.time() + 60,
            "realm_access": {"roles": list(roles)},
            **claims,
        }
    )


def test_only_admins_administer_users_and_read_the_audit_trail() -> None:
    for role in ("patient", "clinician"):
        assert not may(principal(role), Permission.ADMIN_USERS)
        assert not may(principal(role), Permission.ADMIN_AUDIT)
    assert may(principal("admin"), Permission.ADMIN_USERS)
    assert may(principal("admin"), Permission.ADMIN_AUDIT)


def test_patients_read_their_own_triage_and_staff_read_everyones() -> None:
    assert may(principal("patient"), Permission.TRIAGE_READ_OWN)
    assert not may(principal("patient"), Permission.TRIAGE_READ_ANY)
    assert may(principal("clinician"), Permission.TRIAGE_READ_ANY)
    assert may(principal("admin"), Permission.TRIAGE_READ_ANY)


def test_a_guest_is_limited_whatever_roles_the_token_lists() -> None:
    guest = principal("admin", voiceassist_guest=True)

    assert may(guest, Permission.TRIAGE_ASSESS)
    assert not may(guest, Permission.ADMIN_USERS)
    assert not may(guest, Permission.TRIAGE_READ_ANY)


def test_a_token_without_our_roles_may_do_nothing() -> None:
    nobody = principal("offline_access")

    assert not any(may(nobody, permission) for permission in Permission)


def test_every_permission_is_granted_to_someone() -> None:
    granted = set().union(*POLICY.values())
    assert granted == set(Permission)
    assert set(POLICY) == set(Audience)
