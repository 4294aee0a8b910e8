"""Audit events: every access to or change of patient data leaves a record.

The audit trail must be complete even when the service that acted is busy or restarting, so
services publish a record for each action and the admin service appends it to the trail. The
record says who did what to which resource, by id; what the resource contains stays in the
service that owns it.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import Field

from voiceassist_common.events.envelope import Code, EventPayload, OpaqueId


class ActorKind(StrEnum):
    """Who acted: a person in a role, or a service acting on its own."""

    PATIENT = "patient"
    CLINICIAN = "clinician"
    STAFF = "staff"
    SERVICE = "service"


class AuditOutcome(StrEnum):
    """Whether the action went through."""

    SUCCEEDED = "succeeded"
    DENIED = "denied"
    FAILED = "failed"


class AuditRecordAppended(EventPayload):
    """A service did something to a resource on behalf of an actor."""

    subject = "audit.record.appended"
    publisher = "every service that reads or changes patient data; auth for sign-ins"
    consumers = ("admin",)

    record_id: UUID = Field(description="id of the audit record")
    actor_id: OpaqueId = Field(description="OIDC subject of the user, or the service name")
    actor_kind: ActorKind = Field(description="who acted")
    action: Code = Field(description="what was done, e.g. appointment.book")
    resource_type: Code = Field(description="kind of resource, e.g. appointment")
    resource_id: OpaqueId = Field(description="id of the resource acted on")
    outcome: AuditOutcome = Field(description="whether the action went through")
    patient_id: UUID | None = Field(
        default=None, description="internal id of the patient whose data was touched, if any"
    )
