"""Audit events: every access to or change of patient data leaves a record.

The audit trail must be complete even when the service that acted is busy or restarting, so
services publish a record for each action and the admin service appends it to the trail. The
record says who did what to which resource, by id; what the resource contains stays in the
service that owns it. Services publish through `voiceassist_common.audit.AuditTrail`, which
buffers records while NATS is away.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from voiceassist_common.events.envelope import Code, EventPayload, OpaqueId


class ActorKind(StrEnum):
    """Who acted: a signed-in person, a guest, a service on its own, or nobody we could name."""

    USER = "user"
    GUEST = "guest"
    SERVICE = "service"
    ANONYMOUS = "anonymous"


class AuditOutcome(StrEnum):
    """Whether the action went through."""

    SUCCEEDED = "succeeded"
    DENIED = "denied"
    FAILED = "failed"


class AuditRecordAppended(EventPayload):
    """A service did something to a resource on behalf of an actor."""

    subject = "audit.record.appended"
    # 2: actor_kind names user/guest/service/anonymous; actor_role, request_id,
    # patient_subject and occurred_at added.
    schema_version = 2
    publisher = "every service that reads or changes patient data; auth for sign-ins"
    consumers = ("admin",)

    record_id: UUID = Field(description="id of the audit record; the trail stores it once")
    actor_id: OpaqueId = Field(description="OIDC subject of the user, or the service name")
    actor_kind: ActorKind = Field(description="who acted")
    actor_role: Code | None = Field(
        default=None, description="the actor's highest role (patient, clinician, admin), if any"
    )
    action: Code = Field(description="what was done, e.g. appointment.book")
    resource_type: Code = Field(description="kind of resource, e.g. appointment")
    resource_id: OpaqueId = Field(description="id of the resource acted on")
    outcome: AuditOutcome = Field(description="whether the action went through")
    request_id: OpaqueId | None = Field(
        default=None, description="id of the request that caused it (X-Request-ID)"
    )
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description="when the action happened (a buffered record is published later)",
    )
    patient_id: UUID | None = Field(
        default=None, description="internal id of the patient whose data was touched, if any"
    )
    patient_subject: OpaqueId | None = Field(
        default=None, description="OIDC subject of the patient whose data was touched, if any"
    )
