"""Sign-in state, guest sessions and sign-up for the web and voice clients (issue #4).

Sign-in itself happens at the identity provider's OIDC endpoints (built in, or Keycloak), and
browsers sign in through the gateway's /auth/ routes (handlers/http/web_sign_in.py); these routes
are the API's side of it. A guest session is started here: the auth service issues the guest's
limited token, and the gateway keeps it server-side behind the session cookie like any other.

A guest's records go to an account with ``POST /auth/guest/upgrade``, called by the signed-in
account (a patient) with proof that it also holds the guest session: for browsers, the guest
token /auth/callback carried into the account's session when the sign-in started from the guest
session (handlers/http/web_sign_in.py); for API clients, ``guest_access_token`` in the body. The
auth service checks both tokens, closes the guest session and announces the upgrade; triage
moves the guest's assessments to the account as it reads the announcement (within seconds).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import grpc
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
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
from voiceassist_gateway.domain.web_sessions import (
    SESSION_COOKIE,
    WebSession,
    new_secret,
    storage_key,
)
from voiceassist_gateway.handlers.http.api.grpc_refusals import (
    Backend,
    FieldErrors,
    call_backend,
    request_refused,
)
from voiceassist_gateway.handlers.http.api.pending import pending
from voiceassist_gateway.handlers.http.identity import (
    Caller,
    Require,
    gatekeeper_of,
    load_session,
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


class GuestUpgradeRequest(BaseModel):
    """Proof of the guest session to upgrade, for API clients (browsers send no body)."""

    guest_access_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=8192,
        description="The guest session's access token; browsers leave it out (the gateway "
        "kept it when they signed in from the guest session).",
    )


class GuestUpgrade(BaseModel):
    """A guest session now part of the caller's account."""

    subject: str = Field(description="The account's subject, which now owns the guest's records.")
    guest_subject: str = Field(description="The guest session's subject; it is closed.")


def _guest_token_refused(error: grpc.aio.AioRpcError, location: str) -> FieldErrors:
    """Name the guest token: the only field the auth service refuses here."""
    if "guest_access_token" in (error.details() or ""):
        return [
            {
                "loc": ("body", "guest_access_token"),
                "msg": "is not a guest session's token",
                "type": "invalid_argument",
            }
        ]
    return request_refused(_AUTH, location)


_AUTH = Backend(
    name="auth service",
    not_found="Your account was not found.",
    field_errors=_guest_token_refused,
    conflicts={
        grpc.StatusCode.FAILED_PRECONDITION: (
            "This guest session cannot be upgraded: it has expired, or it was upgraded to "
            "another account."
        ),
    },
    unavailable=(
        "The upgrade could not be completed right now; send the same request again shortly."
    ),
    timeout_seconds=CALL_TIMEOUT_SECONDS,
)


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
    summary="Keep a guest session's triage in the signed-in account",
    response_model=GuestUpgrade,
)
async def upgrade_guest_session(
    request: Request,
    caller: Annotated[Caller, Depends(Require(Permission.ACCOUNT_UPGRADE))],
    service: Annotated[AuthClient, Depends(auth_client)],
    body: GuestUpgradeRequest | None = None,
) -> GuestUpgrade:
    """Attach the guest session's assessments (and later bookings) to the caller's account.

    The caller is the signed-in account; the guest session is proven by the token the gateway
    kept when the browser signed in from it, or by ``guest_access_token``. The guest session
    ends; its records move to the account within seconds.
    """
    keeper = gatekeeper_of(request)
    session_key, session = await _account_session(request, caller)
    guest_token = (body.guest_access_token if body else None) or (
        session.guest_access_token if session is not None else None
    )
    if guest_token is None:
        raise HTTPException(
            400,
            "No guest session to upgrade: sign in from the guest session (GET /auth/login), "
            "or send guest_access_token.",
        )
    request_id = request_id_of(request.scope)
    try:
        reply = await call_backend(
            _AUTH,
            service.stub.UpgradeGuestSession,
            auth_pb2.UpgradeGuestSessionRequest(
                guest_access_token=guest_token, user_id=caller.principal.subject
            ),
            caller,
            location="body",
            request_id=request_id,
        )
    except (HTTPException, RequestValidationError) as refusal:
        conflict = isinstance(refusal, HTTPException) and refusal.status_code == 409
        if conflict and session_key is not None and session is not None:
            # Expired or taken: keeping the token would only offer an upgrade that cannot work.
            await keeper.sessions.put(
                session_key, replace(session, guest_access_token=None).to_bytes()
            )
        await keeper.audit.record(
            actor=caller.principal,
            action="auth.guest_upgrade",
            resource_type="guest_session",
            resource_id="unknown",
            outcome=AuditOutcome.FAILED,
            request_id=request_id,
        )
        raise
    if session_key is not None and session is not None:
        await keeper.sessions.put(session_key, replace(session, guest_access_token=None).to_bytes())
    await keeper.audit.record(
        actor=caller.principal,
        action="auth.guest_upgrade",
        resource_type="guest_session",
        resource_id=reply.guest_subject,
        outcome=AuditOutcome.SUCCEEDED,
        request_id=request_id,
        patient_subject=caller.principal.subject,
    )
    return GuestUpgrade(subject=reply.user.user_id, guest_subject=reply.guest_subject)


async def _account_session(
    request: Request, caller: Caller
) -> tuple[str | None, WebSession | None]:
    """Return the caller's web session and its store key, when the call came with the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not caller.via_cookie or not session_id:
        return None, None
    key = storage_key("session", session_id)
    return key, await load_session(gatekeeper_of(request), key)


@router.post(
    "/logout",
    summary="Sign out (API clients; browsers use POST /auth/logout)",
    **pending(IDENTITY),
    dependencies=needs(Permission.ACCOUNT_READ),
)
async def logout() -> None:
    """End the session and revoke its refresh token."""
    raise PendingCapabilityError(IDENTITY)
