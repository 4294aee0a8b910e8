"""A guest signs in and keeps their triage: POST /api/v1/auth/guest/upgrade.

The provider is the stand-in of conftest.py; the auth service is a stand-in that checks what the
real one checks (the account's own token in the metadata, a guest token, one upgrade per guest)
and records what it was asked. The real auth and triage services do it end to end in
tests/integration/test_guest_upgrade.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
from joserfc import jwt
from voiceassist.auth.v1 import auth_pb2, auth_pb2_grpc
from voiceassist_gateway.config import Settings

from .test_web_sign_in import session_of, sign_in

UPGRADE = "/api/v1/auth/guest/upgrade"
PATIENT = "eeeeeeee-0000-4000-8000-000000000005"
GUEST = "guest-ffffffff-0000-4000-8000-000000000006"


def claims(token: str, idp: Any) -> dict[str, Any]:
    return dict(jwt.decode(token, idp.key).claims)


@dataclass
class Upgrade:
    """What the auth service was asked: the guest token and the caller's bearer token."""

    guest_access_token: str
    user_id: str
    bearer: str


@dataclass
class AuthStandIn(auth_pb2_grpc.AuthServiceServicer):
    """CreateGuestSession and UpgradeGuestSession of the auth service, over the stand-in tokens."""

    idp: Any
    upgrades: list[Upgrade] = field(default_factory=list)
    upgraded: set[str] = field(default_factory=set)

    async def CreateGuestSession(  # noqa: N802 - gRPC method name
        self, request: auth_pb2.CreateGuestSessionRequest, context: Any
    ) -> auth_pb2.CreateGuestSessionResponse:
        token = self.idp.access_token(GUEST, ["patient"], guest=True)
        return auth_pb2.CreateGuestSessionResponse(
            guest_subject=GUEST, access_token=token, scopes=["openid", "guest"]
        )

    async def UpgradeGuestSession(  # noqa: N802 - gRPC method name
        self, request: auth_pb2.UpgradeGuestSessionRequest, context: Any
    ) -> auth_pb2.UpgradeGuestSessionResponse:
        bearer = dict(context.invocation_metadata())["authorization"].removeprefix("Bearer ")
        if claims(bearer, self.idp)["sub"] != request.user_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not your account")
        guest = claims(request.guest_access_token, self.idp)
        if not guest.get("voiceassist_guest"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "guest_access_token: not a guest")
        if guest["sub"] in self.upgraded:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "upgraded already")
        self.upgraded.add(guest["sub"])
        self.upgrades.append(Upgrade(request.guest_access_token, request.user_id, bearer))
        return auth_pb2.UpgradeGuestSessionResponse(
            user=auth_pb2.User(user_id=request.user_id), guest_subject=guest["sub"]
        )


@pytest.fixture
def auth_service(idp: Any) -> AuthStandIn:
    stand_in: Any = AuthStandIn  # implements only the RPCs these tests call
    service: AuthStandIn = stand_in(idp)
    return service


@pytest.fixture
async def auth_address(auth_service: AuthStandIn) -> AsyncIterator[str]:
    server = grpc.aio.server()
    auth_pb2_grpc.add_AuthServiceServicer_to_server(auth_service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture
def settings(auth_address: str, identity_settings: dict[str, Any]) -> Settings:
    return Settings(auth_grpc_addr=auth_address, **identity_settings)


async def start_as_guest(browser: httpx.AsyncClient) -> str:
    started = await browser.post("/api/v1/auth/guest", json={"language": "en"})
    assert started.status_code == 201, started.text
    return str(browser.cookies.get("__Host-voiceassist_session"))


async def test_a_guest_who_signs_in_keeps_their_triage_once_they_confirm(
    anonymous: httpx.AsyncClient, idp: Any, auth_service: AuthStandIn, audit_records: Any
) -> None:
    idp.user = {"sub": PATIENT, "roles": ["patient"]}
    guest_cookie = await start_as_guest(anonymous)

    await sign_in(anonymous, idp, return_to="/triage/result")
    signed_in = await session_of(anonymous)
    # Signing in alone moves nothing: the account is asked first.
    assert (signed_in["subject"], signed_in["guest"]) == (PATIENT, False)
    assert signed_in["guest_upgrade_pending"] is True
    assert auth_service.upgrades == []

    response = await anonymous.post(UPGRADE, headers={"X-CSRF-Token": signed_in["csrf_token"]})

    assert response.status_code == 200, response.text
    assert response.json() == {"subject": PATIENT, "guest_subject": GUEST}
    [upgrade] = auth_service.upgrades
    assert claims(upgrade.guest_access_token, idp)["sub"] == GUEST
    assert (upgrade.user_id, claims(upgrade.bearer, idp)["sub"]) == (PATIENT, PATIENT)
    assert (await session_of(anonymous))["guest_upgrade_pending"] is False
    assert ("auth.guest_upgrade", "succeeded") in audit_records.actions()
    # The guest's cookie names nothing any more.
    replayed = await anonymous.get(
        "/api/v1/auth/me", headers={"Cookie": f"__Host-voiceassist_session={guest_cookie}"}
    )
    assert replayed.status_code == 401


async def test_the_cookie_upgrade_needs_the_csrf_token(
    anonymous: httpx.AsyncClient, idp: Any, auth_service: AuthStandIn
) -> None:
    idp.user = {"sub": PATIENT, "roles": ["patient"]}
    await start_as_guest(anonymous)
    await sign_in(anonymous, idp)

    forged = await anonymous.post(UPGRADE)

    assert forged.status_code == 403
    assert auth_service.upgrades == []
    assert (await session_of(anonymous))["guest_upgrade_pending"] is True


async def test_an_account_that_never_was_a_guest_has_nothing_to_upgrade(
    anonymous: httpx.AsyncClient, idp: Any, auth_service: AuthStandIn
) -> None:
    idp.user = {"sub": PATIENT, "roles": ["patient"]}
    await sign_in(anonymous, idp)
    signed_in = await session_of(anonymous)

    response = await anonymous.post(UPGRADE, headers={"X-CSRF-Token": signed_in["csrf_token"]})

    assert signed_in["guest_upgrade_pending"] is False
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert auth_service.upgrades == []


async def test_an_api_client_proves_the_guest_session_with_its_token(
    anonymous: httpx.AsyncClient, idp: Any, auth_service: AuthStandIn
) -> None:
    guest_token = idp.access_token(GUEST, ["patient"], guest=True)
    account = {"Authorization": f"Bearer {idp.access_token(PATIENT, ['patient'])}"}

    first = await anonymous.post(UPGRADE, json={"guest_access_token": guest_token}, headers=account)
    again = await anonymous.post(UPGRADE, json={"guest_access_token": guest_token}, headers=account)

    assert first.status_code == 200, first.text
    assert first.json()["guest_subject"] == GUEST
    assert again.status_code == 409
    assert "upgraded" in again.json()["detail"]
    assert guest_token not in again.text


async def test_an_account_token_is_not_a_guest_session(
    anonymous: httpx.AsyncClient, idp: Any, auth_service: AuthStandIn
) -> None:
    other_patient = idp.access_token("eeeeeeee-0000-4000-8000-000000000009", ["patient"])
    account = {"Authorization": f"Bearer {idp.access_token(PATIENT, ['patient'])}"}

    response = await anonymous.post(
        UPGRADE, json={"guest_access_token": other_patient}, headers=account
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == ["body", "guest_access_token"]
    assert auth_service.upgrades == []


@pytest.mark.parametrize(
    ("subject", "roles", "guest"),
    [(GUEST, ["patient"], True), ("cccccccc-0000-4000-8000-000000000003", ["clinician"], False)],
    ids=["the guest itself", "a clinician"],
)
async def test_only_a_patient_account_takes_a_guest_session_over(
    anonymous: httpx.AsyncClient,
    idp: Any,
    auth_service: AuthStandIn,
    subject: str,
    roles: list[str],
    guest: bool,
) -> None:
    guest_token = idp.access_token(GUEST, ["patient"], guest=True)
    caller = {"Authorization": f"Bearer {idp.access_token(subject, roles, guest=guest)}"}

    response = await anonymous.post(
        UPGRADE, json={"guest_access_token": guest_token}, headers=caller
    )

    assert response.status_code == 403
    assert auth_service.upgrades == []
