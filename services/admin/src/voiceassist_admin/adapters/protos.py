"""Translation between the admin domain and the protobuf messages of the auth and admin APIs."""

from __future__ import annotations

from datetime import UTC

from voiceassist.auth.v1 import auth_pb2
from voiceassist.common.v1 import identity_pb2, language_pb2
from voiceassist_common.tokens import Role

from voiceassist_admin.domain.users import UserAccount

_ROLE_TO_PROTO = {
    Role.PATIENT: identity_pb2.ROLE_PATIENT,
    Role.CLINICIAN: identity_pb2.ROLE_CLINICIAN,
    Role.ADMIN: identity_pb2.ROLE_ADMIN,
}
_ROLE_FROM_PROTO = {value: role for role, value in _ROLE_TO_PROTO.items()}
_LANGUAGE_TO_PROTO = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}
_LANGUAGE_FROM_PROTO = {value: code for code, value in _LANGUAGE_TO_PROTO.items()}


def roles_to_proto(roles: frozenset[Role]) -> list[identity_pb2.Role.ValueType]:
    """Return ``roles`` as proto enum values, in a stable order."""
    return [_ROLE_TO_PROTO[role] for role in Role if role in roles]


def roles_from_proto(values: object) -> frozenset[Role]:
    """Return the roles named by proto enum ``values``; raise ValueError on an unknown one."""
    roles: set[Role] = set()
    for value in values:  # type: ignore[attr-defined]
        if value not in _ROLE_FROM_PROTO:
            raise ValueError("roles holds an unknown or unspecified role")
        roles.add(_ROLE_FROM_PROTO[value])
    return frozenset(roles)


def language_to_proto(code: str) -> language_pb2.Language.ValueType:
    """Return the proto language of ``code`` (en, fr); unknown codes are unspecified."""
    return _LANGUAGE_TO_PROTO.get(code, language_pb2.LANGUAGE_UNSPECIFIED)


def language_from_proto(value: language_pb2.Language.ValueType) -> str:
    """Return the language code of a proto value, English when unset."""
    return _LANGUAGE_FROM_PROTO.get(value, "en")


def user_to_proto(user: UserAccount) -> auth_pb2.User:
    """Return ``user`` as the auth API's User message."""
    message = auth_pb2.User(
        user_id=user.user_id,
        email=user.email,
        display_name=user.display_name,
        roles=roles_to_proto(user.roles),
        enabled=user.enabled,
        email_verified=user.email_verified,
        mfa_enrolled=user.mfa_enrolled,
    )
    if user.create_time is not None:
        message.create_time.FromDatetime(user.create_time)
    return message


def user_from_proto(message: auth_pb2.User) -> UserAccount:
    """Return the domain account of an auth API User message (unknown roles are dropped)."""
    return UserAccount(
        user_id=message.user_id,
        email=message.email,
        display_name=message.display_name,
        roles=frozenset(_ROLE_FROM_PROTO[r] for r in message.roles if r in _ROLE_FROM_PROTO),
        enabled=message.enabled,
        email_verified=message.email_verified,
        mfa_enrolled=message.mfa_enrolled,
        create_time=message.create_time.ToDatetime(tzinfo=UTC)
        if message.HasField("create_time")
        else None,
    )
