"""Who may do what: the one table mapping roles to permissions, and the check against it.

Every /api/v1 route declares the permission it needs (a test checks that none forgets), and
the gateway answers 403 when the caller's roles do not grant it. This is the coarse check; the
service that owns an object decides whether *this* caller may see *that* object (a patient reads
only their own assessments), because a check only at the edge is one forgotten route away from
a leak.

Guests (tokens with `voiceassist_guest: true`) are patients who only want triage: they get the
guest column, whatever roles their token lists.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from voiceassist_common.tokens import Principal, Role


class Permission(StrEnum):
    """What a route lets its caller do."""

    ACCOUNT_READ = "account:read"
    ACCOUNT_UPGRADE = "account:upgrade"
    TRIAGE_ASSESS = "triage:assess"
    TRIAGE_READ_OWN = "triage:read_own"
    TRIAGE_READ_ANY = "triage:read_any"
    SCHEDULING_SEARCH = "scheduling:search"
    APPOINTMENTS_BOOK = "appointments:book"
    APPOINTMENTS_READ_OWN = "appointments:read_own"
    APPOINTMENTS_READ_PRACTICE = "appointments:read_practice"
    APPOINTMENTS_MANAGE_PRACTICE = "appointments:manage_practice"
    FHIR_READ = "fhir:read"
    SPEECH_USE = "speech:use"
    KNOWLEDGE_READ = "knowledge:read"
    ADMIN_USERS = "admin:users"
    ADMIN_AUDIT = "admin:audit"
    ADMIN_CLINIC = "admin:clinic"


class Audience(StrEnum):
    """The columns of the policy table: our three roles, and guests apart from patients."""

    GUEST = "guest"
    PATIENT = "patient"
    CLINICIAN = "clinician"
    ADMIN = "admin"


_EVERYONE = frozenset({Permission.ACCOUNT_READ, Permission.SPEECH_USE, Permission.KNOWLEDGE_READ})

POLICY: Mapping[Audience, frozenset[Permission]] = {
    Audience.GUEST: _EVERYONE
    | {
        Permission.TRIAGE_ASSESS,
        Permission.TRIAGE_READ_OWN,
        Permission.SCHEDULING_SEARCH,
        Permission.APPOINTMENTS_BOOK,
        Permission.APPOINTMENTS_READ_OWN,
    },
    Audience.PATIENT: _EVERYONE
    | {
        # The account takes a guest session's records over (POST /api/v1/auth/guest/upgrade).
        Permission.ACCOUNT_UPGRADE,
        Permission.TRIAGE_ASSESS,
        Permission.TRIAGE_READ_OWN,
        Permission.SCHEDULING_SEARCH,
        Permission.APPOINTMENTS_BOOK,
        Permission.APPOINTMENTS_READ_OWN,
    },
    Audience.CLINICIAN: _EVERYONE
    | {
        Permission.TRIAGE_ASSESS,
        Permission.TRIAGE_READ_OWN,
        Permission.TRIAGE_READ_ANY,
        Permission.SCHEDULING_SEARCH,
        Permission.APPOINTMENTS_READ_PRACTICE,
        Permission.APPOINTMENTS_MANAGE_PRACTICE,
        Permission.FHIR_READ,
    },
    Audience.ADMIN: _EVERYONE
    | {
        Permission.TRIAGE_READ_OWN,
        Permission.TRIAGE_READ_ANY,
        Permission.SCHEDULING_SEARCH,
        Permission.APPOINTMENTS_READ_PRACTICE,
        Permission.FHIR_READ,
        Permission.ADMIN_USERS,
        Permission.ADMIN_AUDIT,
        Permission.ADMIN_CLINIC,
    },
}
"""Role -> permissions. docs/security.md shows this table; change both together."""

_ROLE_AUDIENCES = {
    Role.PATIENT: Audience.PATIENT,
    Role.CLINICIAN: Audience.CLINICIAN,
    Role.ADMIN: Audience.ADMIN,
}


def is_guest(principal: Principal) -> bool:
    """Whether the token is a guest session's."""
    return principal.claims.get("voiceassist_guest") is True


def audiences_of(principal: Principal) -> frozenset[Audience]:
    """Return the policy columns that apply to the caller (a guest is only ever a guest)."""
    if is_guest(principal):
        return frozenset({Audience.GUEST})
    return frozenset(_ROLE_AUDIENCES[role] for role in principal.roles)


def permissions_of(principal: Principal) -> frozenset[Permission]:
    """Everything the caller's roles grant."""
    granted: frozenset[Permission] = frozenset()
    for audience in audiences_of(principal):
        granted |= POLICY[audience]
    return granted


def may(principal: Principal, permission: Permission) -> bool:
    """Whether the caller's roles grant ``permission``."""
    return permission in permissions_of(principal)
