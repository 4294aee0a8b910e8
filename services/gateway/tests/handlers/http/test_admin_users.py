"""User administration through the gateway: admins change accounts, everyone else is refused.

Behind the gateway runs the real AdminService (its gRPC handlers, checking the forwarded token
against the same issuer and auditing each change) on a loopback port, over an in-memory identity
provider; the gateway reaches it over gRPC as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, cast
from uuid import uuid4

import httpx
import pytest
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.memory_provisioner import InMemoryProvisioner
from voiceassist_admin.handlers.grpc import AdminService, registrar
from voiceassist_common.audit import AuditTrail
from voiceassist_common.grpc.principal import Callers
from voiceassist_common.grpc.server import GrpcServer, start_grpc_server
from voiceassist_common.tokens import JwksCache, TokenVerifier
from voiceassist_gateway.config import Settings

USERS = "/api/v1/admin/users"
ISSUER = "http://idp.test/realms/voiceassist"  # the stand-in provider of conftest.py
PROBLEM = "application/problem+json"
ADMIN = "dddddddd-0000-4000-8000-000000000004"


class RecordedAudit:
    """The admin service's audit publisher, keeping what it is given."""

    def __init__(self) -> None:
        self.records: list[Any] = []

    async def __call__(self, payload: Any) -> None:
        self.records.append(payload)


@pytest.fixture
def provisioner() -> InMemoryProvisioner:
    return InMemoryProvisioner()


@pytest.fixture
def admin_audit() -> RecordedAudit:
    return RecordedAudit()


@pytest.fixture
async def admin_server(
    idp: Any, provisioner: InMemoryProvisioner, admin_audit: RecordedAudit
) -> AsyncIterator[GrpcServer]:
    """Serve AdminService, verifying the tokens the gateway forwards against the same issuer."""
    async with idp.http_client() as http:
        jwks = JwksCache(issuer=ISSUER, http_client=http)
        service = AdminService(
            callers=Callers(TokenVerifier(ISSUER, "voiceassist-api", jwks)),
            provisioner=provisioner,
            store=cast(PostgresAuditStore, None),  # the user routes never read the trail
            audit=AuditTrail(admin_audit, source="admin"),
        )
        server = await start_grpc_server("127.0.0.1:0", registrar(service))
        try:
            yield server
        finally:
            await server.stop(0)


@pytest.fixture
def settings(admin_server: GrpcServer, identity_settings: dict[str, Any]) -> Settings:
    return Settings(admin_grpc_addr=f"127.0.0.1:{admin_server.port}", **identity_settings)


@pytest.fixture
def admin(anonymous: httpx.AsyncClient, idp: Any) -> httpx.AsyncClient:
    anonymous.headers["Authorization"] = f"Bearer {idp.access_token(ADMIN, ['admin'])}"
    return anonymous


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def invite(admin: httpx.AsyncClient, email: str, *roles: str) -> dict[str, Any]:
    response = await admin.post(
        f"{USERS}/invitations", json={"email": email, "display_name": "Dr Test", "roles": roles}
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


async def test_an_invited_clinician_is_listed_and_the_invitation_audited_as_the_admin(
    admin: httpx.AsyncClient, admin_audit: RecordedAudit
) -> None:
    response = await admin.post(
        f"{USERS}/invitations",
        json={
            "email": "dr.martin@clinic.example",
            "display_name": "Dr Martin",
            "roles": ["clinician"],
        },
        headers={"X-Request-ID": "invite-dr-martin"},
    )

    assert response.status_code == 201, response.text
    invited = response.json()["user"]
    assert (invited["email"], invited["roles"], invited["enabled"]) == (
        "dr.martin@clinic.example",
        ["clinician"],
        True,
    )
    assert invited["mfa_enrolled"] is False
    listed = (await admin.get(USERS, params={"role": "clinician"})).json()
    assert [user["user_id"] for user in listed["users"]] == [invited["user_id"]]
    assert listed["total_size"] == 1
    # The admin service knew who acted and which request it was: token and id were forwarded.
    [record] = admin_audit.records
    assert (record.action, record.outcome.value, record.resource_id) == (
        "admin.user.invite",
        "succeeded",
        invited["user_id"],
    )
    assert (record.actor_id, record.actor_role, record.request_id) == (
        ADMIN,
        "admin",
        "invite-dr-martin",
    )


async def test_promoting_disabling_and_resetting_mfa_show_in_the_user_and_the_trail(
    admin: httpx.AsyncClient, admin_audit: RecordedAudit, provisioner: InMemoryProvisioner
) -> None:
    user = await invite(admin, "nurse@clinic.example", "patient")
    user_id = user["user_id"]
    provisioner.users[user_id] = replace(provisioner.users[user_id], mfa_enrolled=True)

    promoted = await admin.put(f"{USERS}/{user_id}/roles", json={"roles": ["clinician", "admin"]})
    disabled = await admin.post(f"{USERS}/{user_id}/disable")
    only_disabled = (await admin.get(USERS, params={"enabled": "false"})).json()
    enabled = await admin.post(f"{USERS}/{user_id}/enable")
    reset = await admin.post(f"{USERS}/{user_id}/mfa/reset")

    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["user"]["roles"] == ["clinician", "admin"]
    assert disabled.json()["user"]["enabled"] is False
    assert [u["user_id"] for u in only_disabled["users"]] == [user_id]
    assert enabled.json()["user"]["enabled"] is True
    assert reset.json()["user"]["mfa_enrolled"] is False
    assert [(r.action, r.resource_id) for r in admin_audit.records[1:]] == [
        ("auth.role_changed", user_id),
        ("admin.user.disable", user_id),
        ("admin.user.enable", user_id),
        ("auth.mfa_reset", user_id),
    ]


async def test_changing_an_unknown_user_is_a_404_audited_as_failed(
    admin: httpx.AsyncClient, admin_audit: RecordedAudit
) -> None:
    missing = str(uuid4())

    body = problem(await admin.post(f"{USERS}/{missing}/disable"), 404)

    assert body["detail"] == "No user has this id."
    [record] = admin_audit.records
    assert (record.action, record.resource_id, record.outcome.value) == (
        "admin.user.disable",
        missing,
        "failed",
    )


async def test_inviting_an_address_in_use_is_a_conflict(admin: httpx.AsyncClient) -> None:
    await invite(admin, "twice@clinic.example", "patient")

    response = await admin.post(
        f"{USERS}/invitations", json={"email": "twice@clinic.example", "roles": ["admin"]}
    )

    problem(response, 409)


async def test_a_change_the_provider_cannot_make_is_a_conflict(
    admin: httpx.AsyncClient, provisioner: InMemoryProvisioner
) -> None:
    user = await invite(admin, "kc@clinic.example", "clinician")
    provisioner.mfa_reset_allowed = False

    body = problem(await admin.post(f"{USERS}/{user['user_id']}/mfa/reset"), 409)

    # The provider's own wording stays behind the gateway.
    assert "external" not in body["detail"]


async def test_a_refused_page_token_is_named_as_the_field_at_fault(
    admin: httpx.AsyncClient,
) -> None:
    body = problem(await admin.get(USERS, params={"page_token": "forged"}), 422)

    assert [error["location"] for error in body["errors"]] == [["query", "page_token"]]
    assert "forged" not in str(body)


@pytest.mark.parametrize(
    "invitation",
    [
        {"email": "not-an-address", "roles": ["clinician"]},
        {"email": "a@b.example", "roles": []},
        {"email": "a@b.example", "roles": ["superuser"]},
    ],
    ids=["bad e-mail", "no role", "unknown role"],
)
async def test_a_malformed_invitation_never_reaches_the_provider(
    admin: httpx.AsyncClient, provisioner: InMemoryProvisioner, invitation: dict[str, Any]
) -> None:
    body = problem(await admin.post(f"{USERS}/invitations", json=invitation), 422)

    assert body["errors"][0]["location"][0] == "body"
    assert provisioner.users == {}


ADMIN_ROUTES = [
    ("GET", USERS, None),
    ("POST", f"{USERS}/invitations", {"email": "x@y.example", "roles": ["admin"]}),
    ("PUT", f"{USERS}/{uuid4()}/roles", {"roles": ["admin"]}),
    ("POST", f"{USERS}/{uuid4()}/disable", None),
    ("POST", f"{USERS}/{uuid4()}/enable", None),
    ("POST", f"{USERS}/{uuid4()}/mfa/reset", None),
    ("GET", "/api/v1/admin/audit", None),
    ("GET", "/api/v1/admin/audit/verify", None),
]


@pytest.mark.parametrize("role", ["patient", "clinician"])
@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_ROUTES, ids=[f"{m} {p}" for m, p, _ in ADMIN_ROUTES]
)
async def test_only_admins_reach_user_and_audit_administration(
    anonymous: httpx.AsyncClient,
    idp: Any,
    provisioner: InMemoryProvisioner,
    admin_audit: RecordedAudit,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    token = idp.access_token(str(uuid4()), [role])

    response = await anonymous.request(
        method, path, json=body, headers={"Authorization": f"Bearer {token}"}
    )

    problem(response, 403)
    assert provisioner.users == {}
    assert admin_audit.records == []  # refused at the gateway, before the admin service


async def test_admin_service_down_is_a_503_to_retry(
    admin: httpx.AsyncClient, admin_server: GrpcServer
) -> None:
    await admin_server.stop(0)

    response = await admin.get(USERS)

    problem(response, 503)
    assert response.headers["retry-after"] == "5"
