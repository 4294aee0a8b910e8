"""A browser signs in through the gateway, headless: login, provider, callback, cookie, logout.

The provider is the stand-in of conftest.py (authorization code + PKCE, Keycloak's paths); the
real built-in provider of the auth service is exercised by the stack tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grpc
import httpx
import pytest
from voiceassist.auth.v1 import auth_pb2, auth_pb2_grpc
from voiceassist_gateway.config import Settings

SESSION = "__Host-voiceassist_session"
PATIENT = "eeeeeeee-0000-4000-8000-000000000005"


async def sign_in(browser: httpx.AsyncClient, idp: Any, return_to: str = "/triage") -> str:
    """Go through the whole sign-in; return the Set-Cookie header the gateway sent."""
    login = await browser.get("/auth/login", params={"return_to": return_to})
    assert login.status_code == 302, login.text
    authorize = urlsplit(login.headers["location"])
    query = parse_qs(authorize.query)
    assert authorize.path == "/realms/voiceassist/protocol/openid-connect/auth"
    assert query["client_id"] == ["voiceassist-web"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == ["https://gateway.test/auth/callback"]
    assert query["state"]
    assert query["nonce"]
    async with idp.http_client() as provider:
        answer = await provider.get(login.headers["location"])
    assert answer.status_code == 302
    callback = await browser.get(answer.headers["location"])
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == return_to
    return str(callback.headers["set-cookie"])


async def session_of(browser: httpx.AsyncClient) -> dict[str, Any]:
    response = await browser.get("/auth/session")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_patient_signs_in_and_the_browser_only_holds_an_opaque_cookie(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    idp.user = {"sub": PATIENT, "roles": ["patient"]}

    cookie = await sign_in(anonymous, idp)

    assert cookie.startswith(f"{SESSION}=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
    assert "eyJ" not in cookie  # no token reaches the browser
    session = await session_of(anonymous)
    assert (session["subject"], session["roles"], session["guest"]) == (PATIENT, ["patient"], False)
    me = await anonymous.get("/api/v1/auth/me")
    assert me.json()["subject"] == PATIENT


async def test_changes_with_the_cookie_need_the_csrf_token(
    anonymous: httpx.AsyncClient, idp: Any, audit_records: Any
) -> None:
    await sign_in(anonymous, idp)
    csrf = (await session_of(anonymous))["csrf_token"]
    parse = {"text": "I have a headache"}

    forged = await anonymous.post("/api/v1/triage/parse", json=parse)
    wrong = await anonymous.post(
        "/api/v1/triage/parse", json=parse, headers={"X-CSRF-Token": "guess"}
    )
    # Past the CSRF check the call reaches the (absent) triage service: not a 403 any more.
    allowed = await anonymous.post(
        "/api/v1/triage/parse", json=parse, headers={"X-CSRF-Token": csrf}
    )

    assert (forged.status_code, wrong.status_code) == (403, 403)
    assert forged.headers["content-type"] == "application/problem+json"
    assert "X-CSRF-Token" in forged.json()["detail"]
    assert allowed.status_code != 403
    assert ("auth.csrf_rejected", "denied") in audit_records.actions()


async def test_a_bearer_token_needs_no_csrf_token(anonymous: httpx.AsyncClient, idp: Any) -> None:
    token = idp.access_token(PATIENT, ["patient"])

    response = await anonymous.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 501  # past the gate: no CSRF check for header tokens


async def test_signing_out_ends_the_session_here_and_at_the_provider(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    await sign_in(anonymous, idp)
    csrf = (await session_of(anonymous))["csrf_token"]
    refresh_tokens = set(idp.refresh_tokens)

    without_csrf = await anonymous.post("/auth/logout")
    response = await anonymous.post("/auth/logout", headers={"X-CSRF-Token": csrf})

    assert without_csrf.status_code == 403
    assert response.status_code == 204
    assert f'{SESSION}=""' in response.headers["set-cookie"]
    assert set(idp.revoked) == refresh_tokens
    assert (await anonymous.get("/auth/session")).status_code == 401
    assert (await anonymous.get("/api/v1/auth/me")).status_code == 401


async def test_an_expiring_access_token_is_refreshed_server_side(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    # Tokens that live less than the refresh margin are refreshed on every use.
    idp.access_lifetime = 20
    await sign_in(anonymous, idp)
    first = set(idp.refresh_tokens)

    me = await anonymous.get("/api/v1/auth/me")

    assert me.status_code == 200
    # The provider rotated the refresh token; the gateway holds the new one.
    assert idp.refresh_tokens
    assert set(idp.refresh_tokens).isdisjoint(first)


async def test_a_refused_refresh_ends_the_session(anonymous: httpx.AsyncClient, idp: Any) -> None:
    idp.access_lifetime = 20
    await sign_in(anonymous, idp)
    idp.refresh_tokens.clear()  # the provider revoked the sign-in session

    assert (await anonymous.get("/api/v1/auth/me")).status_code == 401
    assert (await anonymous.get("/auth/session")).status_code == 401


async def test_a_callback_with_an_unknown_state_is_refused(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get("/auth/callback", params={"state": "forged", "code": "x"})

    assert response.status_code == 400
    assert SESSION not in response.headers.get("set-cookie", "")


async def test_a_callback_cannot_be_replayed(anonymous: httpx.AsyncClient, idp: Any) -> None:
    login = await anonymous.get("/auth/login")
    async with idp.http_client() as provider:
        answer = await provider.get(login.headers["location"])

    first = await anonymous.get(answer.headers["location"])
    replay = await anonymous.get(answer.headers["location"])

    assert (first.status_code, replay.status_code) == (303, 400)


async def test_login_never_redirects_to_another_site(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    cookie_free = await sign_in(anonymous, idp, return_to="/")
    assert cookie_free

    login = await anonymous.get("/auth/login", params={"return_to": "//evil.example/x"})
    async with idp.http_client() as provider:
        answer = await provider.get(login.headers["location"])
    callback = await anonymous.get(answer.headers["location"])

    assert callback.headers["location"] == "/"


class GuestIssuer(auth_pb2_grpc.AuthServiceServicer):
    """The auth service's CreateGuestSession, issuing the stand-in provider's guest tokens."""

    def __init__(self, idp: Any) -> None:
        self.idp = idp

    async def CreateGuestSession(  # noqa: N802 - gRPC method name
        self, request: auth_pb2.CreateGuestSessionRequest, context: Any
    ) -> auth_pb2.CreateGuestSessionResponse:
        subject = "guest-ffffffff-0000-4000-8000-000000000006"
        token = self.idp.access_token(subject, ["patient"], guest=True)
        return auth_pb2.CreateGuestSessionResponse(
            guest_subject=subject, access_token=token, scopes=["openid", "guest"]
        )


@pytest.fixture
async def auth_address(idp: Any) -> AsyncIterator[str]:
    server = grpc.aio.server()
    guest_issuer: Any = GuestIssuer  # implements only the RPC these tests call
    auth_pb2_grpc.add_AuthServiceServicer_to_server(guest_issuer(idp), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
def settings(auth_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(auth_grpc_addr=auth_address, **identity_settings)


async def test_a_guest_session_starts_behind_the_same_cookie(
    anonymous: httpx.AsyncClient, audit_records: Any
) -> None:
    response = await anonymous.post("/api/v1/auth/guest", json={"language": "fr"})

    assert response.status_code == 201, response.text
    started = response.json()
    assert started["subject"].startswith("guest-")
    assert "access_token" not in started
    assert response.headers["set-cookie"].startswith(f"{SESSION}=")
    me = (await anonymous.get("/api/v1/auth/me")).json()
    assert (me["subject"], me["guest"]) == (started["subject"], True)
    admin = await anonymous.get("/api/v1/admin/users")
    assert admin.status_code == 403
    assert ("auth.guest_session_started", "succeeded") in audit_records.actions()


async def test_sign_up_opens_the_providers_registration_page_with_the_same_flow(
    anonymous: httpx.AsyncClient,
) -> None:
    sign_in = await anonymous.get("/auth/login", params={"return_to": "/talk"})
    sign_up = await anonymous.get("/auth/login", params={"return_to": "/talk", "register": True})

    login_target = urlsplit(sign_in.headers["location"])
    register_target = urlsplit(sign_up.headers["location"])
    assert login_target.path.endswith("/protocol/openid-connect/auth")
    assert register_target.path.endswith("/protocol/openid-connect/registrations")
    flow = parse_qs(register_target.query)
    assert flow["code_challenge_method"] == ["S256"]
    assert flow["client_id"] == parse_qs(login_target.query)["client_id"]
