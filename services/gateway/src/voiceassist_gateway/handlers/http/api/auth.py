"""Sign-in state, guest sessions and sign-up for the web and voice clients (issue #4).

Sign-in itself happens at the identity provider's OIDC endpoints (built in, or Keycloak);
these routes are the gateway's side of it.
"""

from __future__ import annotations

from fastapi import APIRouter

from voiceassist_gateway.domain.capabilities import IDENTITY, PendingCapabilityError
from voiceassist_gateway.handlers.http.api.pending import pending

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/me", summary="The signed-in user", **pending(IDENTITY))
async def read_me() -> None:
    """Return the caller's identity, roles and whether the session is a guest session."""
    raise PendingCapabilityError(IDENTITY)


@router.post("/register", summary="Sign up as a patient", **pending(IDENTITY))
async def register() -> None:
    """Create a patient account; an e-mail verification link is sent."""
    raise PendingCapabilityError(IDENTITY)


@router.post("/guest", summary="Continue as a guest", **pending(IDENTITY))
async def start_guest_session() -> None:
    """Start a guest session limited to triage, for patients who do not want an account."""
    raise PendingCapabilityError(IDENTITY)


@router.post("/guest/upgrade", summary="Turn a guest session into an account", **pending(IDENTITY))
async def upgrade_guest_session() -> None:
    """Create an account from the guest session, keeping its triage and bookings."""
    raise PendingCapabilityError(IDENTITY)


@router.post("/logout", summary="Sign out", **pending(IDENTITY))
async def logout() -> None:
    """End the session and revoke its refresh token."""
    raise PendingCapabilityError(IDENTITY)
