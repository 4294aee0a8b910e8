"""gRPC entry point of the auth service: ``voiceassist.auth.v1.AuthService``.

VerifyToken answers for any caller (an invalid token is a normal answer with the reason).
The user RPCs change who may see patient data, so they need the caller's access token in the
``authorization: Bearer`` metadata (the gateway and the admin service forward it): admins
only, except GetUser of oneself. Each change is audited with the admin as actor.
In Keycloak mode (OIDC_BUILTIN_PROVIDER=false) Keycloak owns the users: every user and guest
RPC answers FAILED_PRECONDITION and VerifyToken checks Keycloak's tokens.

UpgradeGuestSession joins a guest session to an account in two steps: the provider closes the
guest session and records the account (one transaction), then the handler publishes
``auth.guest.upgraded`` so triage (and later scheduling) re-key the guest's records. There is no
outbox: when the publication fails the call answers UNAVAILABLE, and calling again with the same
two tokens finds the session already upgraded to that account and publishes again (same event
id, so JetStream stores it once; the consumers are idempotent anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import grpc
from google.protobuf import timestamp_pb2
from voiceassist.auth.v1 import auth_pb2, auth_pb2_grpc
from voiceassist.common.v1 import identity_pb2, language_pb2, paging_pb2
from voiceassist_common.errors import (
    FailedPrecondition,
    InvalidArgument,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from voiceassist_common.events import Event, EventPayload, GuestSessionUpgraded, new_event
from voiceassist_common.logging import safe
from voiceassist_common.tokens import Principal, RejectionReason, Role, TokenRejected, TokenVerifier

from voiceassist_auth.domain.accounts import User
from voiceassist_auth.provider import Provider, RevokedToken

__all__ = ["SERVICE", "AuthServicer", "EventPublisher", "register_auth_service", "upgrade_event_id"]

EventPublisher = Callable[[Event[EventPayload]], Awaitable[object]]
"""Stores an event in JetStream and returns once it is acknowledged; raises otherwise."""

logger = logging.getLogger(__name__)

SERVICE = auth_pb2.DESCRIPTOR.services_by_name["AuthService"]
KEYCLOAK_MODE = (
    "users are managed in Keycloak (OIDC_BUILTIN_PROVIDER=false); use the admin service's "
    "Keycloak provisioning"
)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

_ROLE_TO_PROTO = {
    Role.PATIENT: identity_pb2.ROLE_PATIENT,
    Role.CLINICIAN: identity_pb2.ROLE_CLINICIAN,
    Role.ADMIN: identity_pb2.ROLE_ADMIN,
}
_PROTO_TO_ROLE: dict[int, Role] = {int(value): role for role, value in _ROLE_TO_PROTO.items()}
_LANGUAGE_TO_PROTO = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}
_PROTO_TO_LANGUAGE = {value: code for code, value in _LANGUAGE_TO_PROTO.items()}
_REJECTIONS = {
    RejectionReason.MALFORMED: auth_pb2.TOKEN_REJECTION_MALFORMED,
    RejectionReason.UNSUPPORTED_ALGORITHM: auth_pb2.TOKEN_REJECTION_UNSUPPORTED_ALGORITHM,
    RejectionReason.UNKNOWN_KEY: auth_pb2.TOKEN_REJECTION_BAD_SIGNATURE,
    RejectionReason.BAD_SIGNATURE: auth_pb2.TOKEN_REJECTION_BAD_SIGNATURE,
    RejectionReason.WRONG_ISSUER: auth_pb2.TOKEN_REJECTION_WRONG_ISSUER,
    RejectionReason.WRONG_TOKEN_TYPE: auth_pb2.TOKEN_REJECTION_MALFORMED,
    RejectionReason.EXPIRED: auth_pb2.TOKEN_REJECTION_EXPIRED,
    RejectionReason.NOT_YET_VALID: auth_pb2.TOKEN_REJECTION_EXPIRED,
    RejectionReason.WRONG_AUDIENCE: auth_pb2.TOKEN_REJECTION_WRONG_AUDIENCE,
}


def _timestamp(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def user_message(user: User) -> auth_pb2.User:
    """Return a user as the proto says it (no credential ever leaves)."""
    return auth_pb2.User(
        user_id=str(user.id),
        email=user.email,
        display_name=user.display_name,
        roles=[_ROLE_TO_PROTO[role] for role in sorted(user.roles)],
        enabled=user.enabled,
        email_verified=user.email_verified,
        mfa_enrolled=user.mfa_enrolled,
        language=_LANGUAGE_TO_PROTO.get(user.language, language_pb2.LANGUAGE_UNSPECIFIED),
        practitioner_id=user.practitioner_id,
        create_time=_timestamp(user.create_time),
        last_sign_in_time=_timestamp(user.last_sign_in_time),
    )


def principal_message(principal: Principal) -> auth_pb2.Principal:
    """Return a verified principal as the proto says it."""
    amr = principal.claims.get("amr")
    return auth_pb2.Principal(
        subject=principal.subject,
        roles=[_ROLE_TO_PROTO[role] for role in sorted(principal.roles)],
        guest=bool(principal.claims.get("voiceassist_guest")),
        scopes=sorted(principal.scopes),
        issuer=principal.issuer,
        client_id=principal.client_id or "",
        expire_time=_timestamp(principal.expires_at),
        mfa_verified=isinstance(amr, list) and bool({"otp", "mfa"} & set(amr)),
        session_id=principal.session_id or "",
    )


def _roles(values: Sequence[int]) -> frozenset[Role]:
    roles = set()
    for value in values:
        if value not in _PROTO_TO_ROLE:
            raise InvalidArgument("roles: each role must be PATIENT, CLINICIAN or ADMIN")
        roles.add(_PROTO_TO_ROLE[value])
    return frozenset(roles)


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    """AuthService over the built-in provider, or over Keycloak's tokens alone."""

    def __init__(
        self,
        provider: Provider | None,
        keycloak_verifier: TokenVerifier | None = None,
        *,
        publish: EventPublisher | None = None,
        source: str = "auth",
    ) -> None:
        if (provider is None) == (keycloak_verifier is None):
            raise ValueError("give the built-in provider or a Keycloak verifier, not both")
        self._provider = provider
        self._keycloak = keycloak_verifier
        self._publish = publish
        self._source = source

    def _built_in(self) -> Provider:
        if self._provider is None:
            raise FailedPrecondition(KEYCLOAK_MODE)
        return self._provider

    async def _caller(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        provider = self._built_in()
        metadata = dict(context.invocation_metadata() or ())
        header = str(metadata.get("authorization", ""))
        if not header.lower().startswith("bearer "):
            raise Unauthenticated("this call needs the caller's access token (authorization)")
        try:
            return await provider.verify_access_token(header[7:].strip())
        except (TokenRejected, RevokedToken):
            raise Unauthenticated("the caller's access token is not valid") from None

    async def _admin(self, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
        caller = await self._caller(context)
        if not caller.has_role(Role.ADMIN):
            raise PermissionDenied("only admins manage users")
        return caller

    async def VerifyToken(  # noqa: N802 - gRPC method names are PascalCase
        self, request: auth_pb2.VerifyTokenRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.VerifyTokenResponse:
        """Check a token: signature, expiry, issuer, audience and (built-in) revocation."""
        if not request.token:
            raise InvalidArgument("token: required")
        try:
            if self._provider is not None:
                principal = await self._provider.verify_access_token(request.token)
            else:
                assert self._keycloak is not None  # noqa: S101 - one of the two is set
                principal = await self._keycloak.verify(request.token)
        except RevokedToken:
            return auth_pb2.VerifyTokenResponse(
                active=False, rejection=auth_pb2.TOKEN_REJECTION_REVOKED
            )
        except TokenRejected as rejection:
            if rejection.reason is RejectionReason.KEYS_UNAVAILABLE:
                from voiceassist_common.errors import Unavailable

                raise Unavailable("the issuer's signing keys cannot be fetched") from None
            return auth_pb2.VerifyTokenResponse(
                active=False,
                rejection=_REJECTIONS.get(rejection.reason, auth_pb2.TOKEN_REJECTION_MALFORMED),
            )
        audience = request.audience
        if audience and audience not in _audiences(principal):
            return auth_pb2.VerifyTokenResponse(
                active=False, rejection=auth_pb2.TOKEN_REJECTION_WRONG_AUDIENCE
            )
        return auth_pb2.VerifyTokenResponse(active=True, principal=principal_message(principal))

    async def GetUser(  # noqa: N802
        self, request: auth_pb2.GetUserRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.GetUserResponse:
        """One user: for admins, or for the user themselves."""
        provider = self._built_in()
        caller = await self._caller(context)
        if not request.user_id:
            raise InvalidArgument("user_id: required")
        if not caller.has_role(Role.ADMIN) and caller.subject != request.user_id:
            raise PermissionDenied("only admins read other users")
        return auth_pb2.GetUserResponse(user=user_message(await provider.user(request.user_id)))

    async def ListUsers(  # noqa: N802
        self, request: auth_pb2.ListUsersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ListUsersResponse:
        """Users by e-mail, filtered and paged (the page token is an offset)."""
        provider = self._built_in()
        await self._admin(context)
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if size < 0:
            raise InvalidArgument("page.page_size: must not be negative")
        size = min(size, MAX_PAGE_SIZE)
        token = request.page.page_token
        if token and not token.isdigit():
            raise InvalidArgument("page.page_token: not a token this service issued")
        offset = int(token or 0)
        users, total = await provider.store.list_users(
            roles=[role.value for role in _roles(request.roles)],
            query=request.query,
            enabled=request.enabled if request.HasField("enabled") else None,
            limit=size,
            offset=offset,
        )
        next_token = str(offset + size) if offset + size < total else ""
        return auth_pb2.ListUsersResponse(
            users=[user_message(user) for user in users],
            page_info=paging_pb2.PageInfo(next_page_token=next_token, total_size=total),
        )

    async def InviteUser(  # noqa: N802
        self, request: auth_pb2.InviteUserRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.InviteUserResponse:
        """Create a user and mail them a link to choose their password."""
        provider = self._built_in()
        admin = await self._admin(context)
        language = _PROTO_TO_LANGUAGE.get(request.language, "en")
        user = await provider.invite(
            email=request.email,
            display_name=request.display_name,
            roles=_roles(request.roles),
            language=language,
            practitioner_id=request.practitioner_id,
            actor=admin,
        )
        return auth_pb2.InviteUserResponse(user=user_message(user))

    async def SetUserRoles(  # noqa: N802
        self, request: auth_pb2.SetUserRolesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.SetUserRolesResponse:
        """Replace a user's roles (their sessions end, so new tokens carry the new roles)."""
        provider = self._built_in()
        admin = await self._admin(context)
        user = await provider.set_roles(request.user_id, _roles(request.roles), admin)
        return auth_pb2.SetUserRolesResponse(user=user_message(user))

    async def SetUserEnabled(  # noqa: N802
        self, request: auth_pb2.SetUserEnabledRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.SetUserEnabledResponse:
        """Enable or disable a user; disabling revokes every session and refresh token."""
        provider = self._built_in()
        admin = await self._admin(context)
        if request.user_id == admin.subject and not request.enabled:
            raise FailedPrecondition("an admin cannot disable their own account")
        user = await provider.set_enabled(request.user_id, request.enabled, admin)
        return auth_pb2.SetUserEnabledResponse(user=user_message(user))

    async def ResetUserMfa(  # noqa: N802
        self, request: auth_pb2.ResetUserMfaRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> auth_pb2.ResetUserMfaResponse:
        """Remove a user's TOTP enrolment; they enrol again at next sign-in."""
        provider = self._built_in()
        admin = await self._admin(context)
        user = await provider.reset_mfa(request.user_id, admin)
        return auth_pb2.ResetUserMfaResponse(user=user_message(user))

    async def CreateGuestSession(  # noqa: N802
        self,
        request: auth_pb2.CreateGuestSessionRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> auth_pb2.CreateGuestSessionResponse:
        """Return a guest token (scope ``openid guest``, role patient, no refresh)."""
        provider = self._built_in()
        subject, token, expires = await provider.create_guest()
        return auth_pb2.CreateGuestSessionResponse(
            guest_subject=subject,
            access_token=token,
            expire_time=_timestamp(expires),
            scopes=["openid", "guest"],
        )

    async def UpgradeGuestSession(  # noqa: N802
        self,
        request: auth_pb2.UpgradeGuestSessionRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> auth_pb2.UpgradeGuestSessionResponse:
        """Attach a guest's records to the caller's own account, and tell the services.

        The caller proves they are that user with their own access token, and that they hold
        the guest session with its token. Calling again with the same two tokens after an
        UNAVAILABLE answer finishes the upgrade (see the module docstring).
        """
        provider = self._built_in()
        if not request.guest_access_token:
            raise InvalidArgument("guest_access_token: required")
        caller = await self._caller(context)
        if caller.subject != request.user_id and not caller.has_role(Role.ADMIN):
            raise PermissionDenied("a guest session is upgraded by the account it goes to")
        try:
            user, guest_subject = await provider.upgrade_guest(
                request.guest_access_token, request.user_id
            )
            upgraded_at = provider.clock()
        except FailedPrecondition:
            earlier = await self._upgraded_before(provider, request)
            if earlier is None:
                raise
            user, guest_subject, upgraded_at = earlier
        await self._announce(
            GuestSessionUpgraded(
                guest_subject=guest_subject, user_subject=str(user.id), upgraded_at=upgraded_at
            )
        )
        return auth_pb2.UpgradeGuestSessionResponse(
            user=user_message(user), guest_subject=guest_subject
        )

    async def _upgraded_before(
        self, provider: Provider, request: auth_pb2.UpgradeGuestSessionRequest
    ) -> tuple[User, str, datetime] | None:
        """Return the upgrade this guest token already made to ``request.user_id``, if any.

        The token must still be genuine and unexpired (only its session has ended): a retry
        proves the same two identities as the first call.
        """
        try:
            principal = await provider.verifier.verify(request.guest_access_token)
        except TokenRejected:
            return None
        if not principal.claims.get("voiceassist_guest") or principal.session_id is None:
            return None
        session = await provider.store.session(principal.session_id)
        if session is None or session.upgraded_to is None or session.revoked_at is None:
            return None
        if str(session.upgraded_to) != request.user_id:
            return None
        return await provider.user(session.upgraded_to), principal.subject, session.revoked_at

    async def _announce(self, upgrade: GuestSessionUpgraded) -> None:
        if self._publish is None:
            raise Unavailable(
                "guest upgrades cannot be announced (no event stream); the upgrade is recorded, "
                "call again once NATS is configured"
            )
        event = new_event(
            upgrade, source=self._source, event_id=upgrade_event_id(upgrade.guest_subject)
        )
        try:
            await self._publish(event)
        except Exception as error:  # whatever the stream's failure, the answer is "call again"
            logger.warning(
                "%s not published (%s); the caller is asked to retry",
                safe(GuestSessionUpgraded.subject),
                safe(type(error).__name__),
            )
            raise Unavailable(
                "the upgrade is recorded but the services were not told yet; call again"
            ) from None


def upgrade_event_id(guest_subject: str) -> UUID:
    """Return the event id of a guest's upgrade: one per guest, so a retry is stored once."""
    return uuid5(NAMESPACE_URL, f"voiceassist:auth.guest.upgraded:{guest_subject}")


def _audiences(principal: Principal) -> set[str]:
    aud = principal.claims.get("aud")
    if isinstance(aud, str):
        return {aud}
    return {item for item in aud if isinstance(item, str)} if isinstance(aud, list) else set()


def register_auth_service(
    server: grpc.aio.Server,
    *,
    provider: Provider | None,
    keycloak_verifier: TokenVerifier | None,
    publish: EventPublisher | None = None,
    source: str = "auth",
) -> Sequence[str]:
    """Add the AuthService handlers to ``server`` and return the services added."""
    auth_pb2_grpc.add_AuthServiceServicer_to_server(
        AuthServicer(provider, keycloak_verifier, publish=publish, source=source), server
    )
    return (SERVICE.full_name,)
