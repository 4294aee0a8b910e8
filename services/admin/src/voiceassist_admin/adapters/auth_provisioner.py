"""Built-in mode: users live in the auth service, administered through its AuthService RPCs.

The administrator's access token is forwarded as `authorization` metadata, so the auth service
checks the caller itself (defence in depth). Its status codes become the shared error types
the admin handlers answer with.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import grpc
from voiceassist.auth.v1 import auth_pb2, auth_pb2_grpc
from voiceassist.common.v1 import paging_pb2
from voiceassist_common.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    VoiceAssistError,
)
from voiceassist_common.grpc.principal import bearer_metadata
from voiceassist_common.tokens import Role

from voiceassist_admin.adapters.protos import (
    language_to_proto,
    roles_to_proto,
    user_from_proto,
)
from voiceassist_admin.domain.users import Invitation, UserAccount, UserPage, UserQuery

T = TypeVar("T")

_ERRORS: dict[grpc.StatusCode, type[VoiceAssistError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}


class AuthServiceProvisioner:
    """`IdentityProvisioner` over the auth service's gRPC API."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout_seconds: float = 5.0) -> None:
        self._stub = auth_pb2_grpc.AuthServiceStub(channel)
        self._timeout = timeout_seconds

    async def list_users(self, query: UserQuery, *, access_token: str | None) -> UserPage:
        """Return one page of users from the auth service."""
        request = auth_pb2.ListUsersRequest(
            roles=roles_to_proto(query.roles),
            query=query.text,
            page=paging_pb2.Pagination(page_size=query.page_size, page_token=query.page_token),
        )
        if query.enabled is not None:
            request.enabled = query.enabled
        response = await self._call(
            self._stub.ListUsers(request, metadata=_metadata(access_token), timeout=self._timeout)
        )
        total = response.page_info.total_size if response.page_info.HasField("total_size") else None
        return UserPage(
            users=tuple(user_from_proto(user) for user in response.users),
            next_page_token=response.page_info.next_page_token,
            total_size=total,
        )

    async def invite(self, invitation: Invitation, *, access_token: str | None) -> UserAccount:
        """Create the account through the auth service, which sends the invitation."""
        response = await self._call(
            self._stub.InviteUser(
                auth_pb2.InviteUserRequest(
                    email=invitation.email,
                    display_name=invitation.display_name,
                    roles=roles_to_proto(invitation.roles),
                    language=language_to_proto(invitation.language),
                    practitioner_id=invitation.practitioner_id,
                ),
                metadata=_metadata(access_token),
                timeout=self._timeout,
            )
        )
        return user_from_proto(response.user)

    async def set_roles(
        self, user_id: str, roles: frozenset[Role], *, access_token: str | None
    ) -> UserAccount:
        """Replace the user's roles in the auth service."""
        response = await self._call(
            self._stub.SetUserRoles(
                auth_pb2.SetUserRolesRequest(user_id=user_id, roles=roles_to_proto(roles)),
                metadata=_metadata(access_token),
                timeout=self._timeout,
            )
        )
        return user_from_proto(response.user)

    async def set_enabled(
        self, user_id: str, enabled: bool, *, access_token: str | None
    ) -> UserAccount:
        """Enable or disable the user in the auth service."""
        response = await self._call(
            self._stub.SetUserEnabled(
                auth_pb2.SetUserEnabledRequest(user_id=user_id, enabled=enabled),
                metadata=_metadata(access_token),
                timeout=self._timeout,
            )
        )
        return user_from_proto(response.user)

    async def reset_mfa(self, user_id: str, *, access_token: str | None) -> UserAccount:
        """Remove the user's TOTP enrolment in the auth service."""
        response = await self._call(
            self._stub.ResetUserMfa(
                auth_pb2.ResetUserMfaRequest(user_id=user_id),
                metadata=_metadata(access_token),
                timeout=self._timeout,
            )
        )
        return user_from_proto(response.user)

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            kind = _ERRORS.get(error.code())
            if kind is None:
                raise
            # The auth service's details name fields and rules, never values.
            raise kind(error.details() or error.code().name.lower()) from error


def _metadata(access_token: str | None) -> tuple[tuple[str, str], ...]:
    return bearer_metadata(access_token) if access_token else ()
