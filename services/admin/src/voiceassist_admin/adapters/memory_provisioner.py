"""Accounts kept in memory, behind the same `IdentityProvisioner` interface as the real providers.

The admin service's handlers and the gateway's user routes are tested without an identity
provider running. Rather than each test file writing its own stand-in, this adapter keeps the
accounts in a dict and refuses what the providers refuse: an address already in use, an unknown
user, a page token it did not issue, an MFA reset the provider cannot make. The provisioner
contract tests (tests/adapters/test_provisioner_contract.py) hold it to the interface.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

from voiceassist_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from voiceassist_common.tokens import Role

from voiceassist_admin.domain.users import Invitation, UserAccount, UserPage, UserQuery

DEFAULT_PAGE_SIZE = 50


class InMemoryProvisioner:
    """`IdentityProvisioner` over a dict of accounts, refusing what a provider refuses.

    ``users`` (by user id) is open so a test can set up what it needs, e.g. an enrolled MFA.
    ``mfa_reset_allowed`` False plays a provider that manages MFA itself: a reset is refused
    with FailedPrecondition, as the auth service does in Keycloak mode.
    """

    def __init__(self, *, mfa_reset_allowed: bool = True) -> None:
        self.users: dict[str, UserAccount] = {}
        self.mfa_reset_allowed = mfa_reset_allowed

    async def list_users(self, query: UserQuery, *, access_token: str | None) -> UserPage:
        """Return one page of users by e-mail; the page token is the offset it issued."""
        if query.page_token and not query.page_token.isdigit():
            raise InvalidArgument("page_token is not a token this provider issued")
        offset = int(query.page_token or 0)
        size = query.page_size if query.page_size > 0 else DEFAULT_PAGE_SIZE
        prefix = query.text.casefold()
        found = sorted(
            (
                user
                for user in self.users.values()
                if (not query.roles or user.roles & query.roles)
                and (query.enabled is None or user.enabled is query.enabled)
                and (
                    user.email.casefold().startswith(prefix)
                    or user.display_name.casefold().startswith(prefix)
                )
            ),
            key=lambda user: user.email.casefold(),
        )
        page = found[offset : offset + size]
        next_token = str(offset + size) if offset + size < len(found) else ""
        return UserPage(users=tuple(page), next_page_token=next_token, total_size=len(found))

    async def invite(self, invitation: Invitation, *, access_token: str | None) -> UserAccount:
        """Create an enabled account that has not verified its address or enrolled MFA yet."""
        address = invitation.email.casefold()
        if any(user.email.casefold() == address for user in self.users.values()):
            raise AlreadyExists("a user has this e-mail address")
        user = UserAccount(
            user_id=str(uuid4()),
            email=invitation.email,
            display_name=invitation.display_name,
            roles=invitation.roles,
            enabled=True,
            create_time=datetime.now(UTC),
        )
        self.users[user.user_id] = user
        return user

    async def set_roles(
        self, user_id: str, roles: frozenset[Role], *, access_token: str | None
    ) -> UserAccount:
        """Replace the user's roles."""
        return self._keep(replace(self._get(user_id), roles=roles))

    async def set_enabled(
        self, user_id: str, enabled: bool, *, access_token: str | None
    ) -> UserAccount:
        """Enable or disable the user."""
        return self._keep(replace(self._get(user_id), enabled=enabled))

    async def reset_mfa(self, user_id: str, *, access_token: str | None) -> UserAccount:
        """Remove the MFA enrolment, unless this provider cannot."""
        user = self._get(user_id)
        if not self.mfa_reset_allowed:
            raise FailedPrecondition("MFA is managed by the external identity provider")
        return self._keep(replace(user, mfa_enrolled=False))

    def _get(self, user_id: str) -> UserAccount:
        if user_id not in self.users:
            raise NotFound("user not found")
        return self.users[user_id]

    def _keep(self, user: UserAccount) -> UserAccount:
        self.users[user.user_id] = user
        return user
