"""Keycloak mode: users live in Keycloak, administered through its admin REST API.

python-keycloak's `KeycloakAdmin` (its ``a_`` coroutines) does the HTTP; this adapter maps our
three realm roles and our user fields onto Keycloak's representations. The admin service signs
in to Keycloak with its own service-account client (``voiceassist-admin`` with the
``realm-management`` roles ``manage-users`` and ``view-users``), not with the administrator's
token, which is only used by the gateway and this service to decide that the caller may act.

MFA: clinicians and admins get ``CONFIGURE_TOTP`` as a required action when invited and again
after an MFA reset (which deletes their OTP credentials), so Keycloak makes them enrol at the
next sign-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from voiceassist_common.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    Unavailable,
    VoiceAssistError,
)
from voiceassist_common.tokens import Role

from voiceassist_admin.domain.users import Invitation, UserAccount, UserPage, UserQuery

T = TypeVar("T")

MFA_ROLES = frozenset({Role.CLINICIAN, Role.ADMIN})
CONFIGURE_TOTP = "CONFIGURE_TOTP"
_INVITE_ACTIONS = ("VERIFY_EMAIL", "UPDATE_PASSWORD")


class KeycloakAdminApi(Protocol):
    """The part of python-keycloak's `KeycloakAdmin` this adapter uses (documented there)."""

    # ruff: noqa: D102 - these mirror python-keycloak's methods, documented by that library.

    async def a_get_users(self, query: dict[str, Any] | None = None) -> list[Any]: ...

    async def a_get_realm_role_members(
        self, role_name: str, query: dict[str, Any] | None = None
    ) -> list[Any]: ...

    async def a_get_user(self, user_id: str, user_profile_metadata: bool = False) -> Any: ...

    async def a_create_user(self, payload: dict[str, Any], exist_ok: bool = False) -> str: ...

    async def a_update_user(self, user_id: str, payload: dict[str, Any]) -> Any: ...

    async def a_get_realm_role(self, role_name: str) -> Any: ...

    async def a_get_realm_roles_of_user(self, user_id: str) -> Any: ...

    async def a_assign_realm_roles(self, user_id: str, roles: list[Any]) -> Any: ...

    async def a_delete_realm_roles_of_user(self, user_id: str, roles: list[Any]) -> Any: ...

    async def a_get_credentials(self, user_id: str) -> Any: ...

    async def a_delete_credential(self, user_id: str, credential_id: str) -> Any: ...

    async def a_send_update_account(
        self,
        user_id: str,
        payload: list[str],
        client_id: str | None = None,
        lifespan: int | None = None,
        redirect_uri: str | None = None,
    ) -> Any: ...


class KeycloakProvisioner:
    """`IdentityProvisioner` over Keycloak's admin API."""

    def __init__(self, admin: KeycloakAdminApi, *, client_id: str = "voiceassist-web") -> None:
        self._admin = admin
        self._client_id = client_id

    async def list_users(self, query: UserQuery, *, access_token: str | None) -> UserPage:
        """Return one page of users (Keycloak pages by offset; the token is the offset)."""
        offset = int(query.page_token) if query.page_token.isdigit() else 0
        size = query.page_size if query.page_size > 0 else 50
        params: dict[str, Any] = {"first": offset, "max": size + 1, "briefRepresentation": False}
        if query.text:
            params["search"] = query.text
        if query.enabled is not None:
            params["enabled"] = query.enabled
        if len(query.roles) == 1:
            [role] = query.roles
            found = await _call(self._admin.a_get_realm_role_members(role.value, params))
        else:
            found = await _call(self._admin.a_get_users(params))
        users = []
        for representation in found[:size]:
            user = await self._account(representation)
            if not query.roles or user.roles & query.roles:
                users.append(user)
        next_token = str(offset + size) if len(found) > size else ""
        return UserPage(users=tuple(users), next_page_token=next_token)

    async def invite(self, invitation: Invitation, *, access_token: str | None) -> UserAccount:
        """Create the user with required actions, grant roles, e-mail the invitation."""
        actions = list(_INVITE_ACTIONS)
        if invitation.roles & MFA_ROLES:
            actions.append(CONFIGURE_TOTP)
        first, _, last = invitation.display_name.partition(" ")
        attributes: dict[str, list[str]] = {"locale": [invitation.language]}
        if invitation.practitioner_id:
            attributes["practitioner_id"] = [invitation.practitioner_id]
        user_id = await _call(
            self._admin.a_create_user(
                {
                    "username": invitation.email,
                    "email": invitation.email,
                    "firstName": first,
                    "lastName": last,
                    "enabled": True,
                    "emailVerified": False,
                    "requiredActions": actions,
                    "attributes": attributes,
                }
            )
        )
        await self._grant(user_id, invitation.roles)
        await _call(
            self._admin.a_send_update_account(
                user_id=user_id, payload=actions, client_id=self._client_id
            )
        )
        return await self._user(user_id)

    async def set_roles(
        self, user_id: str, roles: frozenset[Role], *, access_token: str | None
    ) -> UserAccount:
        """Replace our realm roles on the user; Keycloak's own roles are left alone."""
        current = await _call(self._admin.a_get_realm_roles_of_user(user_id))
        removed = [role for role in current if role.get("name") in _names(frozenset(Role) - roles)]
        if removed:
            await _call(self._admin.a_delete_realm_roles_of_user(user_id, removed))
        await self._grant(user_id, roles)
        if roles & MFA_ROLES:
            await self._require_totp_unless_enrolled(user_id)
        return await self._user(user_id)

    async def set_enabled(
        self, user_id: str, enabled: bool, *, access_token: str | None
    ) -> UserAccount:
        """Enable or disable the user."""
        await _call(self._admin.a_update_user(user_id, {"enabled": enabled}))
        return await self._user(user_id)

    async def reset_mfa(self, user_id: str, *, access_token: str | None) -> UserAccount:
        """Delete the user's OTP credentials and require a new enrolment."""
        credentials = await _call(self._admin.a_get_credentials(user_id))
        for credential in credentials:
            if credential.get("type") == "otp":
                await _call(self._admin.a_delete_credential(user_id, credential["id"]))
        await self._require_totp_unless_enrolled(user_id)
        return await self._user(user_id)

    async def _grant(self, user_id: str, roles: frozenset[Role]) -> None:
        if not roles:
            return
        representations = [
            await _call(self._admin.a_get_realm_role(name)) for name in sorted(_names(roles))
        ]
        await _call(self._admin.a_assign_realm_roles(user_id, representations))

    async def _require_totp_unless_enrolled(self, user_id: str) -> None:
        credentials = await _call(self._admin.a_get_credentials(user_id))
        if any(credential.get("type") == "otp" for credential in credentials):
            return
        representation = await _call(self._admin.a_get_user(user_id))
        actions = list(representation.get("requiredActions") or [])
        if CONFIGURE_TOTP not in actions:
            actions.append(CONFIGURE_TOTP)
            await _call(self._admin.a_update_user(user_id, {"requiredActions": actions}))

    async def _user(self, user_id: str) -> UserAccount:
        return await self._account(await _call(self._admin.a_get_user(user_id)))

    async def _account(self, representation: Mapping[str, Any]) -> UserAccount:
        user_id = str(representation["id"])
        roles = await _call(self._admin.a_get_realm_roles_of_user(user_id))
        credentials = await _call(self._admin.a_get_credentials(user_id))
        names = {role.get("name") for role in roles}
        display = " ".join(
            part
            for part in (representation.get("firstName"), representation.get("lastName"))
            if part
        )
        created = representation.get("createdTimestamp")
        return UserAccount(
            user_id=user_id,
            email=str(representation.get("email") or ""),
            display_name=display,
            roles=frozenset(role for role in Role if role.value in names),
            enabled=bool(representation.get("enabled", False)),
            email_verified=bool(representation.get("emailVerified", False)),
            mfa_enrolled=any(credential.get("type") == "otp" for credential in credentials),
            create_time=datetime.fromtimestamp(created / 1000, tz=UTC)
            if isinstance(created, int)
            else None,
        )


def _names(roles: frozenset[Role]) -> frozenset[str]:
    return frozenset(role.value for role in roles)


async def _call(call: Awaitable[T]) -> T:
    """Await a python-keycloak call, turning its errors into the shared error types."""
    # Imported here: python-keycloak is the optional `keycloak` extra of this service.
    from keycloak.exceptions import KeycloakConnectionError, KeycloakError

    try:
        return await call
    except KeycloakConnectionError as error:
        raise Unavailable("Keycloak is unreachable") from error
    except KeycloakError as error:
        kind: type[VoiceAssistError] = {
            404: NotFound,
            409: AlreadyExists,
            400: InvalidArgument,
        }.get(error.response_code or 0, Unavailable)
        # Keycloak's message may quote the e-mail address: only the status code goes on.
        raise kind(f"Keycloak answered {error.response_code}") from error
