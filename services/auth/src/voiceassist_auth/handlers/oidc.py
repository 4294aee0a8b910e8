"""The built-in OIDC provider over HTTP, at Keycloak's paths for the realm ``voiceassist``.

Clients (python-keycloak's KeycloakOpenID, the gateway's backend-for-frontend, the CLI) talk
to it exactly as to Keycloak: discovery, JWKS, authorization code with PKCE, token (code and
refresh), userinfo and RP-initiated logout. Like Keycloak, it also serves patient sign-up at
``.../registrations`` (the authorization request's parameters; the new patient comes back to
the client signed in, with a code) and "forgot password" at ``login-actions/reset-credentials``.
The gateway reverse-proxies ``/realms/`` here, so the issuer in the discovery document is the
public one (OIDC_PUBLIC_ISSUER), not this port.

Pages are rendered here without scripts; every response forbids framing and caching of
credentials. Decisions are the provider's (voiceassist_auth.provider).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit

from joserfc import jws
from joserfc.errors import JoseError
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route
from voiceassist_common.errors import VoiceAssistError
from voiceassist_common.tokens import TokenRejected

from voiceassist_auth.adapters.store import SignInFlow
from voiceassist_auth.domain import credentials
from voiceassist_auth.domain.accounts import User
from voiceassist_auth.domain.claims import USER_SCOPE
from voiceassist_auth.handlers import pages
from voiceassist_auth.provider import Client, OAuthError, Provider, RevokedToken, SignInRefused

__all__ = ["REALM_PATH", "create_app"]

logger = logging.getLogger(__name__)

REALM_PATH = "/realms/voiceassist"
OIDC = f"{REALM_PATH}/protocol/openid-connect"
FLOW_LIFETIME = timedelta(minutes=15)
CSRF_COOKIE = "voiceassist_signin"
RESET_CSRF_COOKIE = "voiceassist_reset"
RESET_PAGE = f"{REALM_PATH}/login-actions/reset-credentials"
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_app(provider: Provider) -> Starlette:
    """Return the provider's HTTP application."""
    endpoints = _Endpoints(provider)
    routes = [
        Route(f"{REALM_PATH}/.well-known/openid-configuration", endpoints.discovery),
        Route(f"{OIDC}/certs", endpoints.certs),
        Route(f"{OIDC}/auth", endpoints.authorize, methods=["GET", "POST"]),
        Route(f"{OIDC}/registrations", endpoints.register, methods=["GET", "POST"]),
        Route(f"{OIDC}/token", endpoints.token, methods=["POST"]),
        Route(f"{OIDC}/userinfo", endpoints.userinfo, methods=["GET", "POST"]),
        Route(f"{OIDC}/logout", endpoints.logout, methods=["GET", "POST"]),
        Route(f"{REALM_PATH}/login-actions/verify-email", endpoints.verify_email),
        Route(RESET_PAGE, endpoints.forgot_password, methods=["GET", "POST"]),
        Route(
            f"{REALM_PATH}/login-actions/{{page:str}}",
            endpoints.set_password,
            methods=["GET", "POST"],
        ),
        Route(f"{REALM_PATH}/resources/style.css", endpoints.stylesheet),
    ]
    return Starlette(routes=routes)


def _secure(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _oauth_error(error: OAuthError) -> Response:
    response = JSONResponse(
        {"error": error.error, "error_description": error.description}, status_code=error.status
    )
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="voiceassist"'
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return _secure(response)


def client_ip(request: Request) -> str:
    """Return the caller's address.

    The peer, or the last X-Forwarded-For hop when the peer is the gateway on loopback (the only
    proxy we trust).
    """
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    try:
        trusted = ipaddress.ip_address(peer).is_loopback
    except ValueError:
        trusted = False
    if forwarded and trusted:
        return forwarded.split(",")[-1].strip()[:64]
    return peer


class _Endpoints:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.issuer = provider.issuer

    def _page(self, title: str, body: str, status: int = 200) -> Response:
        html = pages.page(title, body, stylesheet_url=f"{self.issuer}/resources/style.css")
        return _secure(HTMLResponse(html, status_code=status))

    async def stylesheet(self, request: Request) -> Response:
        response = PlainTextResponse(pages.STYLESHEET, media_type="text/css")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    async def discovery(self, request: Request) -> Response:
        base = f"{self.issuer}/protocol/openid-connect"
        document = {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/auth",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/logout",
            "jwks_uri": f"{base}/certs",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["none"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "name",
                "email",
                "email_verified",
                "preferred_username",
                "realm_access",
                "amr",
                "sid",
            ],
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }
        response = JSONResponse(document)
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    async def certs(self, request: Request) -> Response:
        response = JSONResponse(await self.provider.keys.jwks(self.provider.clock()))
        # Short: a verifier must see a new key soon after rotation.
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    # Authorization endpoint and sign-in pages ------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        if request.method == "POST" and "flow" in (form := await request.form()):
            return await self._sign_in_step(request, form)
        started = await self._start_flow(request, "password")
        if not isinstance(started, SignInFlow):
            return started
        login_hint = request.query_params.get("login_hint", "")
        return self._with_flow_cookie(self._password_page(started, None, login_hint), started)

    async def register(self, request: Request) -> Response:
        """Keycloak's registration path: the sign-up form, then back to the client signed in."""
        if request.method == "POST" and "flow" in (form := await request.form()):
            return await self._registration_step(request, form)
        started = await self._start_flow(request, "register")
        if not isinstance(started, SignInFlow):
            return started
        return self._with_flow_cookie(self._registration_page(started, None), started)

    async def _start_flow(self, request: Request, stage: str) -> SignInFlow | Response:
        """Check an authorization request and store its flow; else the answer refusing it."""
        params = dict(request.query_params)
        if request.method == "POST":
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
        client = self.provider.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None:
            return self._page("Sign-in error", "<p>Unknown client.</p>", 400)
        if not client.allows_redirect(redirect_uri):
            return self._page("Sign-in error", "<p>This redirect URI is not registered.</p>", 400)
        state = params.get("state", "")

        def refuse(error: str, description: str) -> Response:
            query = {"error": error, "error_description": description, "iss": self.issuer}
            if state:
                query["state"] = state
            return RedirectResponse(_with_query(redirect_uri, query), status_code=302)

        if params.get("response_type") != "code":
            return refuse("unsupported_response_type", "only response_type=code is supported")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method", "plain" if challenge else "")
        if challenge and method != "S256":
            return refuse("invalid_request", "code_challenge_method must be S256")
        if method and not challenge:
            return refuse("invalid_request", "code_challenge is missing")
        if challenge is not None and not 43 <= len(challenge) <= 128:
            return refuse("invalid_request", "code_challenge must be 43 to 128 characters")
        if client.public and not challenge:
            return refuse("invalid_request", "PKCE (S256) is required for this client")
        if stage == "register" and not client.self_registration:
            return refuse("access_denied", "this client does not offer sign-up")
        flow = SignInFlow(
            id=credentials.new_secret(),
            csrf_token=credentials.new_secret(),
            request={
                "client_id": client.id,
                "redirect_uri": redirect_uri,
                "state": state,
                "nonce": params.get("nonce", ""),
                "code_challenge": challenge or "",
                "ui_locales": params.get("ui_locales", "")[:64],
            },
            user_id=None,
            stage=stage,
            pending_totp_secret=None,
            expires_at=self.provider.clock() + FLOW_LIFETIME,
        )
        await self.provider.store.add_flow(flow)
        return flow

    def _with_flow_cookie(self, response: Response, flow: SignInFlow) -> Response:
        response.set_cookie(
            CSRF_COOKIE,
            flow.csrf_token,
            max_age=int(FLOW_LIFETIME.total_seconds()),
            path=REALM_PATH,
            httponly=True,
            secure=self.issuer.startswith("https://"),
            samesite="lax",
        )
        return response

    async def _verified_flow(self, request: Request, form: FormData) -> SignInFlow | Response:
        """Return the flow a form belongs to, if its CSRF token matches the form and the cookie."""
        flow = await self.provider.store.flow(str(form.get("flow", "")), self.provider.clock())
        if flow is None:
            return self._page(
                "Sign-in expired",
                "<p>This sign-in expired. Go back to the app and start again.</p>",
                400,
            )
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not (
            hmac.compare_digest(sent.encode(), flow.csrf_token.encode())
            and hmac.compare_digest(cookie.encode(), flow.csrf_token.encode())
        ):
            return self._page("Sign-in refused", "<p>The form could not be verified.</p>", 403)
        return flow

    def _flow_url(self, endpoint: str, flow: SignInFlow) -> str:
        """Return the address starting the same authorization request at another endpoint."""
        request = flow.request
        query = {
            "client_id": request["client_id"],
            "redirect_uri": request["redirect_uri"],
            "response_type": "code",
            "scope": USER_SCOPE,
        }
        for name in ("state", "nonce", "ui_locales"):
            if request.get(name):
                query[name] = request[name]
        if request.get("code_challenge"):
            query["code_challenge"] = request["code_challenge"]
            query["code_challenge_method"] = "S256"
        return _with_query(f"{self.issuer}/protocol/openid-connect/{endpoint}", query)

    def _action(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/auth"

    def _password_page(self, flow: SignInFlow, error: str | None, email: str = "") -> Response:
        links = [("Forgot password?", f"{self.issuer}/login-actions/reset-credentials")]
        client = self.provider.clients.get(flow.request["client_id"])
        if client is not None and client.self_registration:
            links.append(("Create an account", self._flow_url("registrations", flow)))
        body = (
            pages.error_line(error)
            + pages.form(
                self._action(), flow.id, flow.csrf_token, pages.password_fields(email), "Sign in"
            )
            + pages.links(links)
        )
        return self._page("Sign in", body, 200 if error is None else 401)

    def _registration_page(
        self, flow: SignInFlow, error: str | None, email: str = "", name: str = ""
    ) -> Response:
        body = (
            pages.error_line(error)
            + pages.form(
                f"{self.issuer}/protocol/openid-connect/registrations",
                flow.id,
                flow.csrf_token,
                pages.registration_fields(email, name),
                "Create my account",
            )
            + pages.links([("I have an account: sign in", self._flow_url("auth", flow))])
        )
        return self._page("Create your account", body, 200 if error is None else 400)

    async def _registration_step(self, request: Request, form: FormData) -> Response:
        flow = await self._verified_flow(request, form)
        if not isinstance(flow, SignInFlow):
            return flow
        if flow.stage != "register":
            return self._page("Sign-in error", "<p>Unexpected step.</p>", 400)
        email = str(form.get("email", ""))
        name = str(form.get("name", ""))
        password = str(form.get("password", ""))
        ip = client_ip(request)
        if not hmac.compare_digest(password.encode(), str(form.get("password_again", "")).encode()):
            return self._registration_page(flow, "The two passwords differ.", email, name)
        language = "fr" if flow.request.get("ui_locales", "").startswith("fr") else "en"
        try:
            user = await self.provider.register_patient(
                email=email, display_name=name, password=password, ip=ip, language=language
            )
        except SignInRefused as refusal:
            return self._registration_page(flow, refusal.message, email, name)
        return await self._finish(flow, user, ("pwd",), ip)

    def _code_page(self, flow: SignInFlow, error: str | None) -> Response:
        body = pages.error_line(error) + pages.form(
            self._action(), flow.id, flow.csrf_token, pages.code_fields(), "Verify"
        )
        return self._page("Second factor", body, 200 if error is None else 401)

    def _enrol_page(self, flow: SignInFlow, email: str, error: str | None) -> Response:
        secret = flow.pending_totp_secret or ""
        enrolment = credentials.TotpEnrolment(secret, email)
        body = (
            pages.error_line(error)
            + pages.enrolment_body(enrolment.qr_svg_data_uri(), secret)
            + pages.form(
                self._action(), flow.id, flow.csrf_token, pages.code_fields(), "Enrol and sign in"
            )
        )
        return self._page("Set up your second factor", body, 200 if error is None else 401)

    async def _sign_in_step(self, request: Request, form: FormData) -> Response:
        provider = self.provider
        flow = await self._verified_flow(request, form)
        if not isinstance(flow, SignInFlow):
            return flow
        ip = client_ip(request)
        user = await provider.store.user_by_id(flow.user_id) if flow.user_id else None
        try:
            if flow.stage == "password":
                user = await provider.check_password(
                    str(form.get("email", "")), str(form.get("password", "")), ip
                )
                if user.mfa_enrolled:
                    await provider.store.advance_flow(
                        flow.id, stage="otp", user_id=user.id, pending_totp_secret=None
                    )
                    return self._code_page(flow, None)
                if user.mfa_required:
                    secret = credentials.new_totp_enrolment(user.email).secret
                    await provider.store.advance_flow(
                        flow.id, stage="enrol", user_id=user.id, pending_totp_secret=secret
                    )
                    flow = _with(flow, pending_totp_secret=secret)
                    return self._enrol_page(flow, user.email, None)
                return await self._finish(flow, user, ("pwd",), ip)
            if user is None:
                raise SignInRefused("This sign-in expired. Start again.")
            code = str(form.get("code", ""))
            if flow.stage == "otp":
                await provider.check_second_factor(user, code, ip)
                return await self._finish(flow, user, ("pwd", "otp"), ip)
            if flow.stage == "enrol":
                codes = await provider.enrol_totp(user, flow.pending_totp_secret or "", code, ip)
                await provider.store.advance_flow(
                    flow.id, stage="recovery", user_id=user.id, pending_totp_secret=None
                )
                body = pages.recovery_body(codes) + pages.form(
                    self._action(), flow.id, flow.csrf_token, "", "Continue"
                )
                return self._page("Recovery codes", body)
            if flow.stage == "recovery":
                return await self._finish(flow, user, ("pwd", "otp"), ip)
        except SignInRefused as refusal:
            if flow.stage == "password":
                return self._password_page(flow, refusal.message, str(form.get("email", "")))
            if flow.stage == "enrol" and user is not None:
                return self._enrol_page(flow, user.email, refusal.message)
            return self._code_page(flow, refusal.message)
        return self._page("Sign-in error", "<p>Unexpected step.</p>", 400)

    async def _finish(
        self, flow: SignInFlow, user: User, amr: tuple[str, ...], ip: str
    ) -> Response:
        provider = self.provider
        request = flow.request
        session = await provider.open_session(user, request["client_id"], amr, ip)
        code = await provider.issue_code(
            session,
            client_id=request["client_id"],
            redirect_uri=request["redirect_uri"],
            scope=USER_SCOPE,
            nonce=request["nonce"] or None,
            code_challenge=request["code_challenge"] or None,
        )
        await provider.store.end_flow(flow.id)
        query = {"code": code, "session_state": session.id, "iss": self.issuer}
        if request["state"]:
            query["state"] = request["state"]
        response = RedirectResponse(_with_query(request["redirect_uri"], query), status_code=303)
        response.delete_cookie(CSRF_COOKIE, path=REALM_PATH)
        return _secure(response)

    # Token endpoint -------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = await request.form()
        try:
            client_id, secret = self._client_credentials(request, form)
            self.provider.check_token_rate(client_id, client_ip(request))
            client = self.provider.authenticate_client(client_id, secret)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                verifier = form.get("code_verifier")
                answer = await self.provider.exchange_code(
                    client,
                    str(form.get("code", "")),
                    str(form.get("redirect_uri", "")),
                    str(verifier) if verifier else None,
                )
            elif grant_type == "refresh_token":
                answer = await self.provider.refresh(client, str(form.get("refresh_token", "")))
            else:
                raise OAuthError(
                    "unsupported_grant_type", "use authorization_code or refresh_token"
                )
        except OAuthError as error:
            return _oauth_error(error)
        response = JSONResponse(answer)
        response.headers["Pragma"] = "no-cache"
        return _secure(response)

    def _client(self, request: Request, form: FormData) -> Client:
        return self.provider.authenticate_client(*self._client_credentials(request, form))

    @staticmethod
    def _client_credentials(request: Request, form: FormData) -> tuple[str | None, str | None]:
        """Return the client id and secret, from HTTP Basic or the form (RFC 6749 §2.3.1)."""
        client_id = form.get("client_id")
        secret = form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError("invalid_client", "malformed Basic credentials", 401) from None
            basic_id, _, basic_secret = decoded.partition(":")
            client_id, secret = unquote_plus(basic_id), unquote_plus(basic_secret)
        return (str(client_id) if client_id else None, str(secret) if secret else None)

    # Userinfo and logout ----------------------------------------------------------------------

    async def userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        try:
            if not token:
                raise RevokedToken
            claims = await self.provider.userinfo(token)
        except (TokenRejected, RevokedToken):
            response = JSONResponse(
                {"error": "invalid_token", "error_description": "Token verification failed"},
                status_code=401,
            )
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return _secure(response)
        return _secure(JSONResponse(claims))

    async def logout(self, request: Request) -> Response:
        params: dict[str, str] = dict(request.query_params)
        form: FormData | None = None
        if request.method == "POST":
            form = await request.form()
            params.update({k: str(v) for k, v in form.items()})
        if "refresh_token" in params and form is not None:
            try:
                caller = self._client(request, form)
                await self.provider.logout_refresh_token(caller, params["refresh_token"])
            except OAuthError as error:
                return _oauth_error(error)
            return _secure(Response(status_code=204))
        claims = await self._id_token_hint(params.get("id_token_hint", ""))
        if claims is not None and isinstance(claims.get("sid"), str):
            await self.provider.logout_session(claims["sid"])
        target = params.get("post_logout_redirect_uri", "")
        client = self.provider.clients.get(
            str(claims.get("aud")) if claims else params.get("client_id", "")
        )
        if (
            target
            and claims is not None
            and client is not None
            and client.allows_post_logout(target)
        ):
            query = {"state": params["state"]} if params.get("state") else {}
            return RedirectResponse(_with_query(target, query), status_code=302)
        return self._page("Signed out", "<p>You are signed out of VoiceAssist.</p>")

    async def _id_token_hint(self, hint: str) -> dict[str, Any] | None:
        """Return the claims of an ID token we signed (expired ones too: logout comes late)."""
        if not hint or len(hint) > 16_384:
            return None
        try:
            compact = jws.extract_compact(hint.encode())
            kid = compact.headers().get("kid")
            key = await self.provider.keys.public_key(str(kid), self.provider.clock())
            if key is None or compact.headers().get("alg") != "RS256":
                return None
            if not jws.validate_compact(compact, key, algorithms=["RS256"]):
                return None
            claims = json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeError):
            return None
        if not isinstance(claims, dict) or claims.get("iss") != self.issuer:
            return None
        return claims

    # E-mail links ---------------------------------------------------------------------------

    async def verify_email(self, request: Request) -> Response:
        user = await self.provider.verify_email(request.query_params.get("token", ""))
        if user is None:
            return self._page("Link not valid", "<p>This link is not valid any more.</p>", 400)
        return self._page("Address confirmed", "<p>Thank you, your address is confirmed.</p>")

    async def forgot_password(self, request: Request) -> Response:
        """Ask for an address and mail it a reset link; the answer never tells if it has one."""
        if request.method == "POST":
            form = await request.form()
            sent = str(form.get("csrf", ""))
            cookie = request.cookies.get(RESET_CSRF_COOKIE, "")
            if not (sent and hmac.compare_digest(sent.encode(), cookie.encode())):
                return self._page("Request refused", "<p>The form could not be verified.</p>", 403)
            self.provider.request_password_reset_later(str(form.get("email", ""))[:320])
            return self._page("Check your mail", pages.RESET_REQUESTED)
        csrf = credentials.new_secret()
        body = pages.plain_form(
            f"{self.issuer}/login-actions/reset-credentials",
            {"csrf": csrf},
            pages.reset_request_fields(),
            "Send me a link",
        )
        response = self._page("Forgot your password?", body)
        response.set_cookie(
            RESET_CSRF_COOKIE,
            csrf,
            max_age=int(FLOW_LIFETIME.total_seconds()),
            path=RESET_PAGE,
            httponly=True,
            secure=self.issuer.startswith("https://"),
            samesite="lax",
        )
        return response

    async def set_password(self, request: Request) -> Response:
        page = request.path_params["page"]
        if page not in {"reset-password", "set-password"}:
            return self._page("Not found", "<p>No such page.</p>", 404)
        token = request.query_params.get("token", "")
        message = None
        if request.method == "POST":
            form = await request.form()
            token = str(form.get("token", ""))
            try:
                await self.provider.reset_password(token, str(form.get("password", "")))
            except VoiceAssistError as error:
                message = error.message
            else:
                return self._page("Password set", "<p>Your password is set. You can sign in.</p>")
        action = f"{self.issuer}/login-actions/{page}"
        fields = (
            f'<input type="hidden" name="token" value="{_escape(token)}">'
            '<label for="password">New password (at least 12 characters)</label>'
            '<input id="password" name="password" type="password" autocomplete="new-password" '
            "required>"
        )
        body = (
            pages.error_line(message) + f'<form method="post" action="{_escape(action)}">{fields}'
            '<button type="submit">Set password</button></form>'
        )
        return self._page("Choose a password", body, 200 if message is None else 400)


def _escape(value: str) -> str:
    from html import escape

    return escape(value)


def _with(flow: SignInFlow, **changes: Any) -> SignInFlow:
    from dataclasses import replace

    return replace(flow, **changes)


def _with_query(uri: str, query: dict[str, str]) -> str:
    if not query:
        return uri
    separator = "&" if urlsplit(uri).query else "?"
    return f"{uri}{separator}{urlencode(query)}"


Handler = Callable[[Request], Awaitable[Response]]
