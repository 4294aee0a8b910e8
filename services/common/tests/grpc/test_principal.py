"""A service learns who is calling from the forwarded token, and refuses calls without one."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from joserfc import jwt
from joserfc.jwk import RSAKey
from voiceassist_common.grpc.principal import (
    Callers,
    bearer_metadata,
    bearer_token,
    callers_from_settings,
)
from voiceassist_common.tokens import JwksCache, Principal, Role, TokenVerifier

ISSUER = "http://127.0.0.1:8080/realms/voiceassist"
AUDIENCE = "voiceassist-api"


class Signer:
    """An issuer's key pair and Keycloak-shaped access tokens signed with it."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256"})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def token(self, subject: str = "patient-1", roles: Sequence[str] = ("patient",)) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": [AUDIENCE, "account"],
            "azp": "voiceassist-web",
            "typ": "Bearer",
            "exp": now + 300,
            "iat": now,
            "realm_access": {"roles": list(roles)},
        }
        header = {"alg": "RS256", "kid": "k1", "typ": "JWT"}
        return jwt.encode(header, claims, self.key, algorithms=["RS256"])


# grpc_health ships without type information.
class Whoami(health_pb2_grpc.HealthServicer):  # type: ignore[misc]
    """A handler that answers with the caller's subject in the status field's place."""

    def __init__(self, callers: Callers, *roles: Role) -> None:
        self.callers = callers
        self.roles = roles
        self.seen: list[Principal | None] = []

    async def Check(  # noqa: N802 - gRPC method name
        self, request: health_pb2.HealthCheckRequest, context: Any
    ) -> health_pb2.HealthCheckResponse:
        if self.roles:
            principal = await self.callers.require_role(context, *self.roles)
        else:
            principal = await self.callers.authenticate(context)
        self.seen.append(principal)
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
async def verifier(signer: Signer) -> AsyncIterator[TokenVerifier]:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=signer.jwks()))
    async with httpx.AsyncClient(transport=transport) as http:
        jwks = JwksCache(jwks_uri=f"{ISSUER}/protocol/openid-connect/certs", http_client=http)
        yield TokenVerifier(ISSUER, AUDIENCE, jwks)


async def call(servicer: Whoami, metadata: Sequence[tuple[str, str]] = ()) -> grpc.StatusCode:
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                await stub.Check(health_pb2.HealthCheckRequest(), metadata=tuple(metadata))
            except grpc.aio.AioRpcError as error:
                details = error.details() or ""
                code = error.code()
            else:
                return grpc.StatusCode.OK
    finally:
        await server.stop(None)
    assert "eyJ" not in details  # the token is never echoed
    return code


async def test_the_handler_sees_the_caller_of_the_forwarded_token(
    signer: Signer, verifier: TokenVerifier
) -> None:
    servicer = Whoami(Callers(verifier))

    code = await call(servicer, bearer_metadata(signer.token("patient-7")))

    assert code is grpc.StatusCode.OK
    assert servicer.seen[0] is not None
    assert servicer.seen[0].subject == "patient-7"
    assert servicer.seen[0].roles == {Role.PATIENT}


async def test_a_call_without_a_token_is_unauthenticated(verifier: TokenVerifier) -> None:
    servicer = Whoami(Callers(verifier))

    assert await call(servicer) is grpc.StatusCode.UNAUTHENTICATED
    assert servicer.seen == []


async def test_a_token_from_another_key_is_unauthenticated(verifier: TokenVerifier) -> None:
    servicer = Whoami(Callers(verifier))

    code = await call(servicer, bearer_metadata(Signer().token()))

    assert code is grpc.StatusCode.UNAUTHENTICATED


async def test_a_role_the_method_does_not_allow_is_permission_denied(
    signer: Signer, verifier: TokenVerifier
) -> None:
    servicer = Whoami(Callers(verifier), Role.ADMIN)

    denied = await call(servicer, bearer_metadata(signer.token(roles=["patient"])))
    allowed = await call(servicer, bearer_metadata(signer.token(roles=["admin"])))

    assert (denied, allowed) == (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.OK)


async def test_unverified_callers_exist_only_in_dev_and_test() -> None:
    servicer = Whoami(Callers.unverified("test"))

    assert await call(servicer) is grpc.StatusCode.OK
    assert servicer.seen == [None]
    with pytest.raises(ValueError, match="dev and test"):
        Callers.unverified("prod")


class _Settings:
    def __init__(self, environment: Any, issuer: str | None) -> None:
        self.environment = environment
        self.oidc_issuer = issuer
        self.oidc_audience = AUDIENCE


async def test_settings_without_an_issuer_refuse_to_run_in_prod() -> None:
    callers, jwks = callers_from_settings(_Settings("dev", None))
    assert not callers.verifying
    assert jwks is None
    with pytest.raises(ValueError, match="dev and test"):
        callers_from_settings(_Settings("prod", None))
    callers, jwks = callers_from_settings(_Settings("prod", ISSUER))
    assert callers.verifying
    assert jwks is not None
    await jwks.aclose()


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ((("authorization", "Bearer abc.def.ghi"),), "abc.def.ghi"),
        ((("authorization", "bearer abc"),), "abc"),
        ((("authorization", "Basic dXNlcg=="),), None),
        ((("authorization", "Bearer "),), None),
        ((), None),
    ],
)
def test_only_a_bearer_authorization_carries_a_token(
    metadata: tuple[tuple[str, str], ...], expected: str | None
) -> None:
    assert bearer_token(metadata) == expected
