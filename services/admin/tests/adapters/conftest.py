"""A stand-in of Keycloak's admin REST API, for python-keycloak's real `KeycloakAdmin`.

No Keycloak server can run on these machines, so a small HTTP server plays the part of Keycloak's
admin API (the documented paths python-keycloak calls, with in-memory users, realm roles and
credentials). The real client library does the HTTP, so the tests pin the request shapes the
Keycloak adapter produces, and the provisioner contract runs against it too.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from voiceassist_admin.adapters.keycloak_provisioner import KeycloakProvisioner

REALM = "voiceassist"
ROLES = {name: {"id": f"role-{name}", "name": name} for name in ("patient", "clinician", "admin")}
ROLES["offline_access"] = {"id": "role-offline", "name": "offline_access"}


@dataclass
class FakeKeycloak:
    """What the stand-in holds, and every action e-mail it was asked to send."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    role_mappings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    credentials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    action_emails: list[tuple[str, list[str], str | None]] = field(default_factory=list)

    def app(self) -> Starlette:
        base = f"/admin/realms/{REALM}"
        return Starlette(
            routes=[
                Route(
                    f"/realms/{REALM}/protocol/openid-connect/token", self.token, methods=["POST"]
                ),
                Route(f"{base}/users", self.list_users, methods=["GET"]),
                Route(f"{base}/users", self.create_user, methods=["POST"]),
                Route(f"{base}/users/{{id}}", self.get_user, methods=["GET"]),
                Route(f"{base}/users/{{id}}", self.update_user, methods=["PUT"]),
                Route(f"{base}/users/{{id}}/role-mappings/realm", self.user_roles, methods=["GET"]),
                Route(
                    f"{base}/users/{{id}}/role-mappings/realm",
                    self.add_roles,
                    methods=["POST"],
                ),
                Route(
                    f"{base}/users/{{id}}/role-mappings/realm",
                    self.remove_roles,
                    methods=["DELETE"],
                ),
                Route(f"{base}/users/{{id}}/credentials", self.get_credentials, methods=["GET"]),
                Route(
                    f"{base}/users/{{id}}/credentials/{{cid}}",
                    self.delete_credential,
                    methods=["DELETE"],
                ),
                Route(
                    f"{base}/users/{{id}}/execute-actions-email",
                    self.execute_actions_email,
                    methods=["PUT"],
                ),
                Route(f"{base}/roles/{{name}}", self.get_role, methods=["GET"]),
                Route(f"{base}/roles/{{name}}/users", self.role_members, methods=["GET"]),
            ]
        )

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials" or form.get("client_secret") != "s3":
            return JSONResponse({"error": "unauthorized_client"}, status_code=401)
        return JSONResponse(
            {"access_token": "service-account", "expires_in": 300, "token_type": "Bearer"}
        )

    def _user_or_404(self, user_id: str) -> dict[str, Any] | None:
        return self.users.get(user_id)

    async def list_users(self, request: Request) -> Response:
        # Keycloak matches the search case-insensitively in username, e-mail and names, and
        # lists users by username.
        search = request.query_params.get("search", "").lower()
        fields = ("username", "email", "firstName", "lastName")
        found = sorted(
            (
                u
                for u in self.users.values()
                if any(search in str(u.get(f, "")).lower() for f in fields)
            ),
            key=lambda u: str(u["username"]),
        )
        first = int(request.query_params.get("first", 0))
        size = int(request.query_params.get("max", 100))
        return JSONResponse(found[first : first + size])

    async def create_user(self, request: Request) -> Response:
        payload = await request.json()
        # Keycloak keeps usernames and e-mail addresses in lower case.
        payload["username"] = str(payload["username"]).lower()
        payload["email"] = str(payload["email"]).lower()
        if any(u["email"] == payload["email"] for u in self.users.values()):
            return JSONResponse({"errorMessage": "User exists with same email"}, status_code=409)
        user_id = str(uuid.uuid4())
        self.users[user_id] = {"id": user_id, "createdTimestamp": 1764580000000, **payload}
        self.role_mappings[user_id] = []
        self.credentials[user_id] = []
        location = f"{request.url}/{user_id}"
        return Response(status_code=201, headers={"Location": location})

    async def get_user(self, request: Request) -> Response:
        user = self._user_or_404(request.path_params["id"])
        if user is None:
            return JSONResponse({"error": "User not found"}, status_code=404)
        return JSONResponse(user)

    async def update_user(self, request: Request) -> Response:
        user = self._user_or_404(request.path_params["id"])
        if user is None:
            return JSONResponse({"error": "User not found"}, status_code=404)
        user.update(await request.json())
        return Response(status_code=204)

    async def user_roles(self, request: Request) -> Response:
        return JSONResponse(self.role_mappings.get(request.path_params["id"], []))

    async def add_roles(self, request: Request) -> Response:
        mappings = self.role_mappings.setdefault(request.path_params["id"], [])
        for role in await request.json():
            if role not in mappings:
                mappings.append(role)
        return Response(status_code=204)

    async def remove_roles(self, request: Request) -> Response:
        names = {role["name"] for role in await request.json()}
        user_id = request.path_params["id"]
        self.role_mappings[user_id] = [
            role for role in self.role_mappings.get(user_id, []) if role["name"] not in names
        ]
        return Response(status_code=204)

    async def get_credentials(self, request: Request) -> Response:
        return JSONResponse(self.credentials.get(request.path_params["id"], []))

    async def delete_credential(self, request: Request) -> Response:
        user_id, credential_id = request.path_params["id"], request.path_params["cid"]
        self.credentials[user_id] = [
            c for c in self.credentials.get(user_id, []) if c["id"] != credential_id
        ]
        return Response(status_code=204)

    async def execute_actions_email(self, request: Request) -> Response:
        self.action_emails.append(
            (
                request.path_params["id"],
                list(await request.json()),
                request.query_params.get("client_id"),
            )
        )
        return Response(status_code=204)

    async def get_role(self, request: Request) -> Response:
        role = ROLES.get(request.path_params["name"])
        if role is None:
            return JSONResponse({"error": "Could not find role"}, status_code=404)
        return JSONResponse(role)

    async def role_members(self, request: Request) -> Response:
        name = request.path_params["name"]
        members = sorted(
            (
                self.users[user_id]
                for user_id, roles in self.role_mappings.items()
                if any(role["name"] == name for role in roles)
            ),
            key=lambda u: str(u["username"]),
        )
        return JSONResponse(members)


@dataclass
class Running:
    fake: FakeKeycloak
    provisioner: KeycloakProvisioner


@pytest.fixture
async def keycloak() -> AsyncIterator[Running]:
    fake = FakeKeycloak()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        # log_config=None: uvicorn's own logging setup would take its loggers away from the
        # PHI-redacting handler for the rest of the test session.
        uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(1000):  # uvicorn says when it listens only through this flag
        if server.started:
            break
        await asyncio.sleep(0.01)
    connection = KeycloakOpenIDConnection(
        server_url=f"http://127.0.0.1:{port}",
        realm_name=REALM,
        client_id="voiceassist-admin",
        client_secret_key="s3",
        verify=False,
    )
    try:
        yield Running(fake, KeycloakProvisioner(KeycloakAdmin(connection=connection)))
    finally:
        server.should_exit = True
        await task
