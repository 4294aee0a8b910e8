"""Sign-in state, guest sessions and sign-up for the web and voice clients (issue #4).

Sign-in itself happens at the identity provider's OIDC endpoints (built in, or Keycloak), and
browsers sign in through the gateway's /auth/ routes (handlers/http/web_sign_in.py); these routes
are the API's side of it. A guest session is started here: the auth service issues the guest's
limited token, and the gateway keeps it server-side behind the session cookie like any other.
"""

from __future__ import annotations

from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from voiceassist.auth.v1 import auth_pb2
from voiceassist.common.v1 import language_pb2
from voiceassist_common.events import AuditOutcome
from voiceassist_common.logging import safe
from voiceassist_common.tokens import TokenRejected

from voiceassist_gateway.adapters.auth import AuthClient
from voiceassist_gateway.domain.access import Permission, is_guest, permissions_of
from voiceassist_gateway.domain.capabilities import IDENTITY, PendingCapabilityError
from voiceassist_gateway.domain.web_sessions import WebSession, new_secret
from voiceassist_gateway.handlers.http.api.pending import pending
from voiceassist_gateway.handlers.http.identity import (
    Caller,
    Require,
    gatekeeper_of,
    needs,
    public,
)
from voiceassist_gateway.handlers.http.problem_responses import request_id_of
from voiceassist_gateway.handlers.http.web_sign_in import set_session_cookie, start_session

router = APIRouter(prefix="/auth", tags=["auth"])

CALL_TIMEOUT_SECONDS = 10.0
_LANGUAGES = {"en": language_pb2.LANGUAGE_ENGLISH, "fr": language_pb2.LANGUAGE_FRENCH}


class Me(BaseModel):
    """The signed-in caller."""

    subject: str
    roles: list[str]
    guest: bool
    permissions: list[str]
    expires_at: str


class GuestRequest(BaseModel):
    """How a guest session starts."""

    language: str = Field(default="en", pattern="^(en|fr)$")


class GuestSession(BaseModel):
    """A started guest session; the token stays with the gateway behind the session cookie."""

    subject: str
    csrf_token: str
    expires_at: str
    scopes: list[str]


def auth_client(request: Request) -> AuthClient:
    """Return the gateway's client of the auth service."""
    client: AuthClient = request.app.state.auth
    return client


@router.get("/me", summary="The signed-in user", response_model=Me)
async def read_me(caller: Annotated[Caller, Depends(Require(Permission.ACCOUNT_READ))]) -> Me:
    """Return the caller's identity, roles and whether the session is a guest session."""
    principal = caller.principal
    return Me(
        subject=principal.subject,
        roles=sorted(principal.roles),
        guest=is_guest(principal),
        permissions=sorted(permissions_of(principal)),
        expires_at=principal.expires_at.isoformat(),
    )


@router.post(
    "/register", summary="Sign up as a patient", **pending(IDENTITY), dependencies=public()
)
async def register() -> None:
    """Create a patient account; an e-mail verification link is sent."""
    raise PendingCapabilityError(IDENTITY)


@router.post(
    "/guest",
    summary="Continue as a guest",
    response_model=GuestSession,
    status_code=201,
    dependencies=public(),
)
async def start_guest_session(
    request: Request,
    response: Response,
    service: Annotated[AuthClient, Depends(auth_client)],
    body: GuestRequest | None = None,
) -> GuestSession:
    """Start a guest session limited to triage, for patients who do not want an account."""
    keeper = gatekeeper_of(request)
    language = _LANGUAGES[(body or GuestRequest()).language]
    try:
        reply = await service.stub.CreateGuestSession(
            auth_pb2.CreateGuestSessionRequest(language=language), timeout=CALL_TIMEOUT_SECONDS
        )
    except grpc.aio.AioRpcError as error:
        if error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise HTTPException(
                429, "Too many guest sessions; retry later.", headers={"Retry-After": "60"}
            ) from None
        safe_code = safe(error.code().name)
        raise HTTPException(
            503, f"Guest sessions are unavailable ({safe_code}); retry shortly."
        ) from None
    try:
        principal = await keeper.verifier.verify(reply.access_token)
    except TokenRejected:
        raise HTTPException(502, "The guest session could not be verified.") from None
    session = WebSession(
        subject=principal.subject,
        access_token=reply.access_token,
        access_expires_at=principal.expires_at.timestamp(),
        refresh_token=None,
        id_token=None,
        csrf_token=new_secret(),
        guest=True,
    )
    session_id = await start_session(keeper, session)
    set_session_cookie(response, session_id)
    await keeper.audit.record(
        actor=principal,
        action="auth.guest_session_started",
        resource_type="web_session",
        resource_id=principal.session_id or "guest",
        outcome=AuditOutcome.SUCCEEDED,
        request_id=request_id_of(request.scope),
    )
    return GuestSession(
        subject=principal.subject,
        csrf_token=session.csrf_token,
        expires_at=principal.expires_at.isoformat(),
        scopes=sorted(principal.scopes),
    )


@router.post(
    "/guest/upgrade",
    summary="Turn a guest session into an account",
    **pending(IDENTITY),
    dependencies=needs(Permission.ACCOUNT_UPGRADE),
)
async def upgrade_guest_session() -> None:
    """Create an account from the guest session, keeping its triage and bookings."""
    raise PendingCapabilityError(IDENTITY)


@router.post(
    "/logout",
    summary="Sign out (API clients; browsers use POST /auth/logout)",
    **pending(IDENTITY),
    dependencies=needs(Permission.ACCOUNT_READ),
)
async def logout() -> None:
    """End the session and revoke its refresh token."""
    raise PendingCapabilityError(IDENTITY)
