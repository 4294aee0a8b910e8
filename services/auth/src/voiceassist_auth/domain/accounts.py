"""Who may sign in, with which roles, and when the platform stops listening to a password.

The rules here are the ones a user notices: a clinician or admin cannot finish signing in
without a second factor; five wrong passwords in fifteen minutes lock the account for fifteen
minutes; one address trying many accounts is slowed down whatever accounts it aims at.
Pure Python: the store and the clock are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from voiceassist_common.tokens import Role

__all__ = [
    "MFA_ROLES",
    "SignInPolicy",
    "User",
    "normalise_email",
    "parse_roles",
]

MFA_ROLES = frozenset({Role.CLINICIAN, Role.ADMIN})
"""Roles that reach other people's health data: they sign in with a second factor."""

LANGUAGES = frozenset({"en", "fr"})


def normalise_email(email: str) -> str:
    """Return the form an address is compared in.

    Trimmed, lower case (RFC 5321 allows a case- sensitive local part, but no mail provider a clinic
    uses relies on it).
    """
    return email.strip().lower()


def looks_like_email(email: str) -> bool:
    """Return a light check: one @, something either side, a dot in the domain, no spaces."""
    local, at, domain = email.partition("@")
    return bool(
        at
        and local
        and "." in domain
        and " " not in email
        and len(email) <= 254
        and "@" not in domain
    )


def parse_roles(names: list[str] | tuple[str, ...]) -> frozenset[Role]:
    """Return the roles named; ValueError naming the first unknown one."""
    roles = set()
    for name in names:
        try:
            roles.add(Role(name))
        except ValueError:
            raise ValueError(
                f"unknown role {name!r}; roles are patient, clinician, admin"
            ) from None
    return frozenset(roles)


@dataclass(frozen=True)
class User:
    """A person with an account at the built-in provider."""

    id: UUID
    email: str
    display_name: str
    roles: frozenset[Role]
    enabled: bool
    email_verified: bool
    language: str
    practitioner_id: str
    create_time: datetime
    last_sign_in_time: datetime | None = None
    password_hash: str | None = field(default=None, repr=False)
    totp_secret: str | None = field(default=None, repr=False)
    mfa_enrolled_at: datetime | None = None
    locked_until: datetime | None = None

    @property
    def mfa_enrolled(self) -> bool:
        """Whether a TOTP second factor is enrolled."""
        return self.totp_secret is not None and self.mfa_enrolled_at is not None

    @property
    def mfa_required(self) -> bool:
        """Whether this account must sign in with a second factor."""
        return bool(self.roles & MFA_ROLES)

    def locked_at(self, now: datetime) -> bool:
        """Whether the account is locked out at ``now``."""
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class SignInPolicy:
    """Limits on failed sign-ins, per account and per client address."""

    max_failures_per_account: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    max_failures_per_ip: int = 20

    def locks_account(self, recent_failures: int) -> bool:
        """Whether this many failures inside the window lock the account."""
        return recent_failures >= self.max_failures_per_account

    def throttles_ip(self, recent_failures: int) -> bool:
        """Whether an address with this many failures inside the window is refused for now."""
        return recent_failures >= self.max_failures_per_ip
