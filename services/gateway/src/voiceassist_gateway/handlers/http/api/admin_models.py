"""JSON bodies of the admin routes, mirroring ``voiceassist.admin.v1`` in snake_case.

As for triage (triage_models.py), the shapes follow the proto so a reader of one reads the
other, with JSON conveniences: roles are lower-case names (``"clinician"``), languages are tags
(``"en"``), audit outcomes are the words the audit events use (``"succeeded"``, ``"denied"``,
``"failed"``), unset times and ids are null. Each model converts itself to or from its message
here, so the routes only call the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field
from voiceassist.admin.v1 import admin_pb2
from voiceassist.auth.v1 import auth_pb2
from voiceassist.common.v1 import identity_pb2, language_pb2
from voiceassist_common.events import AuditOutcome
from voiceassist_common.tokens import Role

LanguageTag = Literal["en", "fr"]
"""The languages invitations and the interface are written in."""

_ROLE_TO_PROTO = {
    Role.PATIENT: identity_pb2.ROLE_PATIENT,
    Role.CLINICIAN: identity_pb2.ROLE_CLINICIAN,
    Role.ADMIN: identity_pb2.ROLE_ADMIN,
}
_ROLE_FROM_PROTO: dict[int, Role] = {value: role for role, value in _ROLE_TO_PROTO.items()}
_LANGUAGE_TO_PROTO = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}
_LANGUAGE_FROM_PROTO: dict[int, LanguageTag] = {
    language_pb2.LANGUAGE_ENGLISH: "en",
    language_pb2.LANGUAGE_FRENCH: "fr",
}
_OUTCOME_FROM_PROTO = {
    admin_pb2.AUDIT_OUTCOME_SUCCESS: AuditOutcome.SUCCEEDED,
    admin_pb2.AUDIT_OUTCOME_DENIED: AuditOutcome.DENIED,
    admin_pb2.AUDIT_OUTCOME_FAILED: AuditOutcome.FAILED,
}

Roles = Annotated[
    list[Role],
    Field(
        min_length=1,
        max_length=3,
        description="Roles, each once; an account with none could not use anything.",
        examples=[["clinician"]],
    ),
]


def roles_to_proto(roles: list[Role]) -> list[identity_pb2.Role.ValueType]:
    """Return ``roles`` as proto values, each once, in a stable order."""
    return [_ROLE_TO_PROTO[role] for role in Role if role in roles]


def roles_of(values: Iterable[int]) -> list[Role]:
    """Return the roles of proto values, leaving out any this gateway does not know."""
    return [_ROLE_FROM_PROTO[value] for value in values if value in _ROLE_FROM_PROTO]


def time_of(message: Message, field: str) -> datetime | None:
    """Return a Timestamp field of ``message`` as an aware UTC datetime, None when unset."""
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


class User(BaseModel):
    """A person who can sign in, as an administrator sees them."""

    model_config = ConfigDict(frozen=True)

    user_id: str = Field(description="User id; the `sub` of their tokens.")
    email: str = Field(description="E-mail address they sign in with.")
    display_name: str = Field(description="Name shown in the interface.")
    roles: list[Role] = Field(description="Roles held.")
    enabled: bool = Field(description="Disabled users cannot sign in.")
    email_verified: bool = Field(description="Whether they proved they own the address.")
    mfa_enrolled: bool = Field(description="Whether they enrolled a TOTP second factor.")
    language: LanguageTag | None = Field(description="Preferred language, when known.")
    practitioner_id: str | None = Field(description="For clinicians: the practitioner they are.")
    create_time: datetime | None = Field(description="When the account was created.")
    last_sign_in_time: datetime | None = Field(description="Last sign-in; null if never.")

    @classmethod
    def of(cls, message: auth_pb2.User) -> Self:
        """Return the JSON of an auth API User."""
        return cls(
            user_id=message.user_id,
            email=message.email,
            display_name=message.display_name,
            roles=roles_of(message.roles),
            enabled=message.enabled,
            email_verified=message.email_verified,
            mfa_enrolled=message.mfa_enrolled,
            language=_LANGUAGE_FROM_PROTO.get(message.language),
            practitioner_id=message.practitioner_id or None,
            create_time=time_of(message, "create_time"),
            last_sign_in_time=time_of(message, "last_sign_in_time"),
        )


class UserResponse(BaseModel):
    """One user, after the change the route made."""

    user: User


class UserList(BaseModel):
    """One page of users, by e-mail."""

    users: list[User]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")
    total_size: int | None = Field(description="Users matching, when the provider counts.")


class Invitation(BaseModel):
    """Who to invite, with which roles."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Address the invitation goes to; they sign in with it.",
        examples=["dr.martin@clinic.example"],
    )
    display_name: str = Field(default="", max_length=200, description="Name shown to others.")
    roles: Roles
    language: LanguageTag = Field(default="en", description="Language of the invitation.")
    practitioner_id: str | None = Field(
        default=None,
        max_length=128,
        description="For clinicians: the scheduling practitioner they are.",
    )

    def to_proto(self) -> admin_pb2.InviteUserRequest:
        """Return the InviteUser request."""
        return admin_pb2.InviteUserRequest(
            email=self.email,
            display_name=self.display_name,
            roles=roles_to_proto(self.roles),
            language=_LANGUAGE_TO_PROTO[self.language],
            practitioner_id=self.practitioner_id or "",
        )


class RoleChange(BaseModel):
    """The complete new set of a user's roles."""

    model_config = ConfigDict(extra="forbid")

    roles: Roles


class Actor(BaseModel):
    """Who acted, with the roles they held then."""

    subject: str = Field(description="Their user id (`guest-<uuid>` for guests), or a label.")
    roles: list[Role]
    guest: bool


class AuditEvent(BaseModel):
    """One stored audit event: who did what to which object, and how it went. No PHI."""

    sequence: int = Field(description="Position in the chain, from 1, without gaps.")
    event_id: str = Field(description="Id the emitting service gave the event.")
    occur_time: datetime | None = Field(description="When the action happened.")
    actor: Actor
    action: str = Field(description='What was done, e.g. "auth.role_changed".')
    object_type: str = Field(description='Type of object acted on, e.g. "user".')
    object_id: str = Field(description="Id of the object acted on.")
    outcome: AuditOutcome | None = Field(description="How it went.")
    request_id: str | None = Field(description="Request id, to find the call in logs.")
    service: str = Field(description="Service that emitted the event.")
    previous_hash: str = Field(description="Hex SHA-256 of the previous row (empty first).")
    hash: str = Field(description="Hex SHA-256 over this row and previous_hash.")

    @classmethod
    def of(cls, message: admin_pb2.AuditEvent) -> Self:
        """Return the JSON of a stored event."""
        return cls(
            sequence=message.sequence,
            event_id=message.event_id,
            occur_time=time_of(message, "occur_time"),
            actor=Actor(
                subject=message.actor.subject,
                roles=roles_of(message.actor.roles),
                guest=message.actor.guest,
            ),
            action=message.action,
            object_type=message.object_type,
            object_id=message.object_id,
            outcome=_OUTCOME_FROM_PROTO.get(message.outcome),
            request_id=message.request_id or None,
            service=message.service,
            previous_hash=message.previous_hash,
            hash=message.hash,
        )


class AuditEventList(BaseModel):
    """One page of audit events, newest first."""

    events: list[AuditEvent]
    next_page_token: str | None = Field(description="Pass as page_token for the next page.")
    total_size: int | None = Field(description="Events matching the filters.")


class BrokenRow(BaseModel):
    """The first row of the audit trail that fails the check."""

    sequence: int = Field(description="Its position in the chain.")
    record_id: str | None = Field(
        description="Its audit record id (the row found where the chain breaks); null if unknown."
    )
    problem: str = Field(
        description='What is wrong: "hash mismatch", "previous_hash mismatch", "missing sequence".'
    )


class ChainVerification(BaseModel):
    """Whether the audit trail is as it was written, and if not, where it was changed."""

    intact: bool = Field(description="True when every row matches its hash and its predecessor.")
    checked_count: int = Field(description="Rows checked.")
    first_broken: BrokenRow | None = Field(description="The first row that fails; null if none.")
    verify_time: datetime | None = Field(description="When the check ran.")

    @classmethod
    def of(cls, message: admin_pb2.VerifyAuditChainResponse) -> Self:
        """Return the JSON of a VerifyAuditChain answer."""
        broken = None
        if message.HasField("first_broken_sequence"):
            broken = BrokenRow(
                sequence=message.first_broken_sequence,
                record_id=message.first_broken_record_id or None,
                problem=message.problem or "broken",
            )
        return cls(
            intact=message.intact,
            checked_count=message.checked_count,
            first_broken=broken,
            verify_time=time_of(message, "verify_time"),
        )
