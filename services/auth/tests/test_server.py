"""The auth process.

``migrate`` creates its schema; ``serve`` answers gRPC and serves the OIDC provider's HTTP app
beside it.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from voiceassist.auth.v1 import auth_pb2, auth_pb2_grpc
from voiceassist_auth.server import SCHEMA
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.testing import assert_migrate_creates_schema, free_port, service_process


@pytest.mark.integration
async def test_migrate_creates_the_schema_and_can_run_again(fresh_postgres_dsn: str) -> None:
    await assert_migrate_creates_schema("voiceassist_auth", SCHEMA, fresh_postgres_dsn)


@pytest.mark.integration
async def test_the_process_serves_discovery_and_a_guest_token_that_verifies(
    migrated_dsn: str, pool: object, tmp_path: Path
) -> None:
    # `pool` empties the tables first, so the demo accounts are seeded by this process.
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/realms/voiceassist"
    env = {
        "DATABASE_URL": migrated_dsn,
        "AUTH_HTTP_PORT": str(port),
        "OIDC_PUBLIC_ISSUER": issuer,
        "NATS_URL": "nats://127.0.0.1:1",
        "OIDC_CLIENT_SECRET": "a-test-secret-of-some-length",
        "VOICEASSIST_ENV": "dev",
        "AUTH_DEMO_ACCOUNTS_FILE": str(tmp_path / "demo-accounts.txt"),
    }
    async with service_process("voiceassist_auth", env=env) as service:
        async with httpx.AsyncClient() as http:
            discovery = (await http.get(f"{issuer}/.well-known/openid-configuration")).json()
        assert discovery["issuer"] == issuer
        assert discovery["code_challenge_methods_supported"] == ["S256"]
        async with create_channel(service.grpc_address) as channel:
            stub = auth_pb2_grpc.AuthServiceStub(channel)
            guest = await stub.CreateGuestSession(auth_pb2.CreateGuestSessionRequest())
            verified = await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=guest.access_token))
        assert verified.active
        assert verified.principal.guest
    assert "clinician@demo.voiceassist.local" in (tmp_path / "demo-accounts.txt").read_text()
