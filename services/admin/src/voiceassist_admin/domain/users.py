"""User administration, whichever identity provider holds the accounts.

In built-in mode the auth service owns the users; in Keycloak mode Keycloak does. The admin
service speaks to either through one small interface, `IdentityProvisioner`, with one adapter
per provider (adapters/auth_provisioner.py, adapters/keycloak_provisioner.py), so the handlers
and the audit of each action are the same in both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from voiceassist_common.tokens import Role


@dataclass(frozen=True, slots=True)
class UserAccount:
    """A person who can sign in, as an administrator sees them."""

    user_id: str
    email: str
    display_name: str
    roles: frozenset[Role]
    enabled: bool
    email_verified: bool = False
    mfa_enrolled: bool = False
    create_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class UserQuery:
    """Which users a list returns; an empty or unset field does not filter."""

    roles: frozenset[Role] = frozenset()
    text: str = ""
    enabled: bool | None = None
    page_size: int = 50
    page_token: str = ""


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users."""

    users: tuple[UserAccount, ...]
    next_page_token: str = ""
    total_size: int | None = None


@dataclass(frozen=True, slots=True)
class Invitation:
    """Who to invite, with which roles."""

    email: str
    display_name: str
    roles: frozenset[Role]
    language: str = "en"
    practitioner_id: str = ""


class IdentityProvisioner(Protocol):
    """Creates and changes accounts at the identity provider.

    ``access_token`` is the administrator's own token, forwarded so the provider can check the
    caller again (the built-in auth service does; Keycloak uses the admin service's client).
    Failures raise `voiceassist_common.errors` exceptions (NotFound, AlreadyExists,
    InvalidArgument, Unavailable, FailedPrecondition).
    """

    async def list_users(self, query: UserQuery, *, access_token: str | None) -> UserPage:
        """Return one page of users matching ``query``."""
        ...

    async def invite(self, invitation: Invitation, *, access_token: str | None) -> UserAccount:
        """Create the account and send the invitation."""
        ...

    async def set_roles(
        self, user_id: str, roles: frozenset[Role], *, access_token: str | None
    ) -> UserAccount:
        """Replace the user's roles."""
        ...

    async def set_enabled(
        self, user_id: str, enabled: bool, *, access_token: str | None
    ) -> UserAccount:
        """Enable or disable the user."""
        ...

    async def reset_mfa(self, user_id: str, *, access_token: str | None) -> UserAccount:
        """Remove the user's MFA enrolment so they enrol again at next sign-in."""
        ...
