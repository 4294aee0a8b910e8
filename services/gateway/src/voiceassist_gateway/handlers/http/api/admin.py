"""REST face of the admin service: users and audit (issue #4), clinic and analytics (#7)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from voiceassist_gateway.domain.capabilities import (
    AUDIT_TRAIL,
    CLINIC_ADMINISTRATION,
    USER_ADMINISTRATION,
    PendingCapabilityError,
)
from voiceassist_gateway.handlers.http.api.pending import pending

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users", summary="List users", **pending(USER_ADMINISTRATION))
async def list_users() -> None:
    """List users with their roles, MFA state and whether they are disabled."""
    raise PendingCapabilityError(USER_ADMINISTRATION)


@router.post("/users/invitations", summary="Invite a user", **pending(USER_ADMINISTRATION))
async def invite_user() -> None:
    """Invite a clinician or admin by e-mail."""
    raise PendingCapabilityError(USER_ADMINISTRATION)


@router.put("/users/{user_id}/roles", summary="Change roles", **pending(USER_ADMINISTRATION))
async def change_roles(user_id: UUID) -> None:
    """Replace a user's roles (patient, clinician, admin); audited."""
    raise PendingCapabilityError(USER_ADMINISTRATION)


@router.post("/users/{user_id}/disable", summary="Disable a user", **pending(USER_ADMINISTRATION))
async def disable_user(user_id: UUID) -> None:
    """Disable a user and end their sessions; audited."""
    raise PendingCapabilityError(USER_ADMINISTRATION)


@router.post("/users/{user_id}/mfa/reset", summary="Reset MFA", **pending(USER_ADMINISTRATION))
async def reset_mfa(user_id: UUID) -> None:
    """Remove a user's MFA enrolment so they enrol again at next sign-in; audited."""
    raise PendingCapabilityError(USER_ADMINISTRATION)


@router.get("/audit", summary="Audit log", **pending(AUDIT_TRAIL))
async def list_audit_events() -> None:
    """List audit events: who, role, action, object, outcome, time and request id."""
    raise PendingCapabilityError(AUDIT_TRAIL)


@router.get("/audit/verify", summary="Verify the audit chain", **pending(AUDIT_TRAIL))
async def verify_audit_chain() -> None:
    """Check the hash chain of the audit log; names the first broken row if any."""
    raise PendingCapabilityError(AUDIT_TRAIL)


@router.get("/practitioners", summary="List practitioners", **pending(CLINIC_ADMINISTRATION))
async def list_practitioners() -> None:
    """List practitioners with specialties, languages, practice and whether they are active."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)


@router.post("/practitioners", summary="Add a practitioner", **pending(CLINIC_ADMINISTRATION))
async def add_practitioner() -> None:
    """Add a practitioner; their slots are offered to patients once availability is set."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)


@router.put(
    "/practitioners/{practitioner_id}/availability",
    summary="Set weekly availability",
    **pending(CLINIC_ADMINISTRATION),
)
async def set_availability(practitioner_id: UUID) -> None:
    """Replace a practitioner's recurring weekly availability."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)


@router.post(
    "/practitioners/{practitioner_id}/exceptions",
    summary="Add an availability exception",
    **pending(CLINIC_ADMINISTRATION),
)
async def add_exception(practitioner_id: UUID) -> None:
    """Add a holiday or leave during which the practitioner offers no slots."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)


@router.get("/analytics/triage", summary="Triage analytics", **pending(CLINIC_ADMINISTRATION))
async def triage_analytics() -> None:
    """Count triage sessions by urgency level and list the most frequent conditions."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)


@router.get("/analytics/bookings", summary="Booking analytics", **pending(CLINIC_ADMINISTRATION))
async def booking_analytics() -> None:
    """Count how many triage sessions end in a booking, by urgency level."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)


@router.get("/analytics/voice", summary="Voice latency", **pending(CLINIC_ADMINISTRATION))
async def voice_analytics() -> None:
    """Report voice latency percentiles per stage of the conversation."""
    raise PendingCapabilityError(CLINIC_ADMINISTRATION)
