"""Every /api/v1 route checks who is calling: bad tokens are 401, missing roles 403, audited."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.routing import BaseRoute
from voiceassist_gateway.domain.rate_limits import RateLimiter
from voiceassist_gateway.handlers.http.identity import Public, Require
from voiceassist_gateway.handlers.ws.conversation import SocketRequire

PROBLEM = "application/problem+json"
PATIENT = "cccccccc-0000-4000-8000-000000000003"
ADMIN_ROUTE = "/api/v1/admin/users"
ME = "/api/v1/auth/me"


def b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def refused(response: httpx.Response, status: int, token: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    if token is not None:
        assert token not in response.text
        assert token[:20] not in response.text
    body: dict[str, Any] = response.json()
    return body


def declared_routes(app: FastAPI, kind: type[BaseRoute], prefix: str) -> dict[str, list[Any]]:
    """Map each route of ``kind`` under ``prefix`` to the calls of its dependencies.

    FastAPI (0.165+) keeps included routers as lazy `_IncludedRouter` entries of
    ``app.routes``; `iter_route_contexts` walks the routes as they are served, with the
    dependencies an including router adds.
    """
    declared: dict[str, list[Any]] = {}
    for context in iter_route_contexts(app.routes):
        path = context.path or ""
        if isinstance(context.original_route, kind) and path.startswith(prefix):
            declared[path] = [dependency.call for dependency in context.dependant.dependencies]
    return declared


def test_every_api_route_declares_the_permission_it_needs(app: FastAPI) -> None:
    routes = declared_routes(app, APIRoute, "/api/v1")
    undeclared = [
        path
        for path, calls in routes.items()
        if not any(isinstance(call, Require | Public) for call in calls)
    ]
    assert "/api/v1/auth/me" in routes  # the walk sees the included routers' routes
    assert undeclared == []


def test_every_websocket_route_declares_the_permission_it_needs(app: FastAPI) -> None:
    routes = declared_routes(app, APIWebSocketRoute, "/")
    undeclared = [
        path
        for path, calls in routes.items()
        if not any(isinstance(call, SocketRequire) for call in calls)
    ]
    assert list(routes) == ["/ws/v1/conversation"]
    assert undeclared == []


async def test_a_request_without_a_token_is_told_to_sign_in(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get(ME)

    refused(response, 401)
    assert response.headers["www-authenticate"].startswith('Bearer realm="voiceassist"')


async def test_a_signed_in_patient_sees_who_they_are(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    token = idp.access_token(PATIENT, ["patient"])

    response = await anonymous.get(ME, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["subject"], me["roles"], me["guest"]) == (PATIENT, ["patient"], False)
    assert "triage:assess" in me["permissions"]
    assert "admin:users" not in me["permissions"]


def forged_tokens(idp: Any) -> dict[str, str]:
    now = int(time.time())
    payload = idp.access_token(PATIENT, ["admin"]).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    other_key = RSAKey.generate_key(2048, parameters={"kid": "stub-1"})
    return {
        "alg_none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "another_key": jwt.encode(
            {"alg": "RS256", "kid": "stub-1"}, claims, other_key, algorithms=["RS256"]
        ),
        "expired": idp.access_token(PATIENT, ["admin"], exp=now - 3600, iat=now - 4000),
        "another_audience": idp.access_token(PATIENT, ["admin"], aud=["billing"], azp="billing"),
        "not_a_jwt": "not-a-token",
    }


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("alg_none", "unsupported_algorithm"),
        ("another_key", "bad_signature"),
        ("expired", "expired"),
        ("another_audience", "wrong_audience"),
        ("not_a_jwt", "malformed"),
    ],
)
async def test_an_untrustworthy_token_is_refused_and_audited(
    anonymous: httpx.AsyncClient, idp: Any, audit_records: Any, kind: str, reason: str
) -> None:
    token = forged_tokens(idp)[kind]

    response = await anonymous.get(ADMIN_ROUTE, headers={"Authorization": f"Bearer {token}"})

    problem = refused(response, 401, token)
    assert reason in problem["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    record = audit_records.records[-1]
    assert (record.action, record.outcome.value, record.resource_id) == (
        "auth.token_rejected",
        "denied",
        reason,
    )


async def test_a_patient_calling_an_admin_route_is_forbidden_and_audited(
    anonymous: httpx.AsyncClient, idp: Any, audit_records: Any
) -> None:
    token = idp.access_token(PATIENT, ["patient"])

    response = await anonymous.get(ADMIN_ROUTE, headers={"Authorization": f"Bearer {token}"})

    refused(response, 403, token)
    record = audit_records.records[-1]
    assert (record.action, record.outcome.value, record.resource_id) == (
        "auth.access_denied",
        "denied",
        "admin:users",
    )
    assert record.actor_id == PATIENT


async def test_an_admin_reaches_the_admin_routes(anonymous: httpx.AsyncClient, idp: Any) -> None:
    token = idp.access_token("dddddddd-0000-4000-8000-000000000004", ["admin"])

    # A period the route itself refuses, so no service behind the gate answers in its stead.
    response = await anonymous.get(
        "/api/v1/admin/analytics/triage",
        params={"start": "2026-01-02T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 422  # past the gate; the route refused the period


async def test_a_guest_may_triage_but_not_read_other_data(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    # Whatever roles a guest token lists, it gets the guest column of the policy.
    token = idp.access_token("guest-1", ["patient", "admin"], guest=True)
    headers = {"Authorization": f"Bearer {token}"}

    me = (await anonymous.get(ME, headers=headers)).json()
    admin = await anonymous.get(ADMIN_ROUTE, headers=headers)
    fhir = await anonymous.get("/api/v1/fhir/Patient", headers=headers)

    assert me["guest"] is True
    assert "triage:assess" in me["permissions"]
    assert "triage:read_any" not in me["permissions"]
    assert (admin.status_code, fhir.status_code) == (403, 403)


async def test_a_user_over_their_rate_is_told_when_to_retry(
    anonymous: httpx.AsyncClient, idp: Any, gatekeeper: Any
) -> None:
    gatekeeper.user_limits = RateLimiter(60, burst=2)
    headers = {"Authorization": f"Bearer {idp.access_token(PATIENT, ['patient'])}"}

    statuses = [(await anonymous.get(ME, headers=headers)).status_code for _ in range(3)]
    limited = await anonymous.get(ME, headers=headers)

    assert statuses == [200, 200, 429]
    refused(limited, 429)
    assert int(limited.headers["retry-after"]) >= 1
