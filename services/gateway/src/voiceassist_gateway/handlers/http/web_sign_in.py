"""Browser sign-in through the gateway (backend-for-frontend; docs/adr/0007-web-sign-in-bff.md).

`GET /auth/login` sends the browser to the provider's authorization endpoint (code flow with
PKCE S256, `state` and `nonce`) as the confidential client `voiceassist-web`; `GET
/auth/callback` exchanges the code server-side, checks the ID token's nonce, keeps the tokens in
the session store and gives the browser only `__Host-voiceassist_session` (httpOnly, Secure,
SameSite=Lax, Path=/). `GET /auth/session` says who is signed in and hands out the CSRF token
that cookie-authenticated changes must echo in `X-CSRF-Token`; `POST /auth/logout` ends the
session at the provider and clears the cookie. Guests start their session with `POST
/api/v1/auth/guest` (handlers/http/api/auth.py), which lands in the same store.

A guest who signs in (or up) from their guest session keeps it: /auth/login notes the guest
session, /auth/callback carries its token into the new account session and forgets the guest
one, and `GET /auth/session` then says `guest_upgrade_pending`. Nothing moves until the signed-in
account confirms with `POST /api/v1/auth/guest/upgrade`, so the proof of both identities (the
guest token and the account's token) stays server-side from start to end.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from voiceassist_common.audit import AuditTrail
from voiceassist_common.events import AuditOutcome
from voiceassist_common.logging import safe
from voiceassist_common.tokens import TokenRejected

from voiceassist_gateway.adapters.identity_provider import (
    ProviderUnavailableError,
    SignInRefusedError,
)
from voiceassist_gateway.domain.access import is_guest, permissions_of
from voiceassist_gateway.domain.web_sessions import (
    CSRF_HEADER,
    PENDING_SIGN_IN_SECONDS,
    SESSION_COOKIE,
    PendingSignIn,
    WebSession,
    new_secret,
    pkce_challenge,
    safe_return_path,
    same_secret,
    storage_key,
)
from voiceassist_gateway.handlers.http.identity import (
    Gatekeeper,
    fresh_session,
    gatekeeper_of,
    load_session,
    unauthenticated,
)
from voiceassist_gateway.handlers.http.problem_responses import request_id_of

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/auth", tags=["web sign-in"])


def callback_url(request: Request) -> str:
    """Return the web client's redirect URI: this gateway's public /auth/callback."""
    base: str = request.app.state.public_base_url
    return f"{base.rstrip('/')}/auth/callback"


def set_session_cookie(response: Response, session_id: str) -> None:
    """Give the browser its session id, out of reach of the page's scripts."""
    response.set_cookie(
        SESSION_COOKIE, session_id, httponly=True, secure=True, samesite="lax", path="/"
    )


def clear_session_cookie(response: Response) -> None:
    """Make the browser forget its session id."""
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


async def start_session(keeper: Gatekeeper, session: WebSession) -> str:
    """Store a new session and return the id for the cookie."""
    session_id = new_secret()
    await keeper.sessions.put(storage_key("session", session_id), session.to_bytes())
    return session_id


def _unavailable() -> HTTPException:
    return HTTPException(
        503, "Sign-in is unavailable right now; retry shortly.", headers={"Retry-After": "5"}
    )


@router.get("/login", summary="Sign in (redirects to the identity provider)")
async def login(
    request: Request,
    return_to: Annotated[str | None, Query(max_length=2048)] = None,
    register: Annotated[bool, Query(description="Open the sign-up page instead")] = False,
) -> RedirectResponse:
    """Send the browser to the provider's sign-in (or sign-up) page; it comes back here."""
    keeper = gatekeeper_of(request)
    state, nonce, verifier = new_secret(), new_secret(), new_secret()
    pending = PendingSignIn(
        code_verifier=verifier,
        nonce=nonce,
        return_to=safe_return_path(return_to),
        started_at=keeper.clock(),
        guest_session_key=await _guest_session_key(request, keeper),
    )
    try:
        await keeper.sessions.put(storage_key("sign_in", state), pending.to_bytes())
        target = await keeper.provider.authorization_url(
            redirect_uri=callback_url(request),
            state=state,
            nonce=nonce,
            code_challenge=pkce_challenge(verifier),
            register=register,
        )
    except ProviderUnavailableError as error:
        logger.warning("cannot start a sign-in: %s", safe(str(error)))
        raise _unavailable() from None
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


async def _guest_session_key(request: Request, keeper: Gatekeeper) -> str | None:
    """Return the store key of the guest session this browser holds, if it holds one."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    key = storage_key("session", session_id)
    session = await load_session(keeper, key)
    return key if session is not None and session.guest else None


async def _guest_token_to_carry(keeper: Gatekeeper, pending: PendingSignIn) -> str | None:
    """Take the guest session the sign-in started from out of the store; return its token."""
    if pending.guest_session_key is None:
        return None
    guest = await load_session(keeper, pending.guest_session_key)
    # The browser's cookie is about to name the account; the guest session ends here.
    await keeper.sessions.delete(pending.guest_session_key)
    return guest.access_token if guest is not None and guest.guest else None


@router.get("/callback", summary="Finish signing in (the provider redirects here)")
async def callback(
    request: Request,
    state: Annotated[str, Query(min_length=1, max_length=512)],
    code: Annotated[str | None, Query(max_length=4096)] = None,
    error: Annotated[str | None, Query(max_length=256)] = None,
) -> RedirectResponse:
    """Exchange the code for tokens, keep them here, and set the session cookie."""
    keeper = gatekeeper_of(request)
    key = storage_key("sign_in", state)
    data = await keeper.sessions.get(key)
    # One use only: a replayed callback finds nothing.
    await keeper.sessions.delete(key)
    if data is None:
        raise HTTPException(400, "This sign-in is unknown or has expired; start again.")
    pending = PendingSignIn.from_bytes(data)
    if keeper.clock() - pending.started_at > PENDING_SIGN_IN_SECONDS:
        raise HTTPException(400, "This sign-in has expired; start again.")
    if error is not None or code is None:
        raise HTTPException(400, "The identity provider did not sign you in; start again.")
    try:
        tokens = await keeper.provider.exchange_code(
            code,
            redirect_uri=callback_url(request),
            code_verifier=pending.code_verifier,
            browser_address=request.client.host if request.client else None,
        )
        if tokens.id_token is None:
            raise SignInRefusedError("no_id_token")
        await keeper.provider.verify_id_token(tokens.id_token, nonce=pending.nonce)
        principal = await keeper.verifier.verify(tokens.access_token)
    except (SignInRefusedError, TokenRejected) as refusal:
        reason = refusal.reason.value if isinstance(refusal, TokenRejected) else str(refusal)
        await _audit_failed(keeper.audit, reason, request_id_of(request.scope))
        raise HTTPException(400, "The sign-in could not be completed; start again.") from None
    except ProviderUnavailableError as failure:
        logger.warning("cannot finish a sign-in: %s", safe(str(failure)))
        raise _unavailable() from None
    session = WebSession(
        subject=principal.subject,
        access_token=tokens.access_token,
        access_expires_at=tokens.expires_at,
        refresh_token=tokens.refresh_token,
        id_token=tokens.id_token,
        csrf_token=new_secret(),
        guest=is_guest(principal),
        guest_access_token=None
        if is_guest(principal)
        else await _guest_token_to_carry(keeper, pending),
    )
    session_id = await start_session(keeper, session)
    await keeper.audit.record(
        actor=principal,
        action="auth.web_session_started",
        resource_type="web_session",
        resource_id=principal.session_id or "unknown",
        outcome=AuditOutcome.SUCCEEDED,
        request_id=request_id_of(request.scope),
    )
    response = RedirectResponse(pending.return_to, status_code=303)
    set_session_cookie(response, session_id)
    return response


async def _audit_failed(audit: AuditTrail, reason: str, request_id: str | None) -> None:
    await audit.record(
        actor="anonymous",
        action="auth.sign_in_failed",
        resource_type="web_session",
        resource_id=reason if reason.isidentifier() else "refused",
        outcome=AuditOutcome.FAILED,
        request_id=request_id,
    )


@router.get("/session", summary="Who is signed in, and the CSRF token")
async def read_session(request: Request, response: Response) -> dict[str, Any]:
    """Return the signed-in user's subject, roles and permissions, and the CSRF token."""
    keeper = gatekeeper_of(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    key = storage_key("session", session_id) if session_id else None
    session = await load_session(keeper, key) if key else None
    if key is None or session is None:
        raise unauthenticated("Not signed in.")
    session = await fresh_session(keeper, key, session)
    try:
        principal = await keeper.verifier.verify(session.access_token)
    except TokenRejected:
        await keeper.sessions.delete(key)
        raise unauthenticated("The session has ended; sign in again.") from None
    response.headers["Cache-Control"] = "no-store"
    return {
        "subject": principal.subject,
        "roles": sorted(principal.roles),
        "guest": session.guest,
        "permissions": sorted(permissions_of(principal)),
        "expires_at": principal.expires_at.isoformat(),
        "csrf_token": session.csrf_token,
        "guest_upgrade_pending": session.guest_access_token is not None,
    }


@router.post("/logout", summary="Sign out", status_code=204)
async def logout(request: Request) -> Response:
    """End the session here and at the provider, and clear the cookie (needs the CSRF token)."""
    keeper = gatekeeper_of(request)
    response = Response(status_code=204)
    clear_session_cookie(response)
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return response
    key = storage_key("session", session_id)
    session = await load_session(keeper, key)
    if session is None:
        return response
    if not same_secret(request.headers.get(CSRF_HEADER), session.csrf_token):
        raise HTTPException(403, f"Signing out needs the {CSRF_HEADER} from GET /auth/session.")
    await keeper.sessions.delete(key)
    if session.refresh_token is not None:
        try:
            await keeper.provider.end_session(session.refresh_token)
        except (ProviderUnavailableError, SignInRefusedError) as error:
            # The local session is gone; the provider's ends on its own within the idle time.
            logger.warning("provider logout failed: %s", safe(str(error)))
    await keeper.audit.record(
        actor=session.subject,
        action="auth.sign_out",
        resource_type="web_session",
        resource_id="cookie",
        outcome=AuditOutcome.SUCCEEDED,
        request_id=request_id_of(request.scope),
    )
    return response
