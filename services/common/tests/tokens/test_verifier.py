"""Tokens from our issuer, for us and valid now pass; anything else is refused, saying why."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from joserfc import jws, jwt
from joserfc.jwk import RSAKey
from voiceassist_common.tokens import (
    JwksCache,
    RejectionReason,
    Role,
    TokenRejected,
    TokenVerifier,
)

if TYPE_CHECKING:
    from services.common.tests.tokens.conftest import FakeClock, LocalIssuer


async def rejection(verifier: TokenVerifier, token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(token)
    return caught.value


async def test_a_valid_token_becomes_a_principal_with_our_roles(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(
        kid,
        realm_access={"roles": ["patient", "offline_access", "superuser"]},
        aud=issuer.client_id,
    )

    principal = await verifier.verify(token)

    assert principal.subject == "f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b"
    assert principal.issuer == issuer.url
    assert principal.roles == frozenset({Role.PATIENT})
    assert principal.has_role(Role.PATIENT)
    assert not principal.has_role(Role.ADMIN)
    assert principal.scopes == frozenset({"openid", "profile", "email"})
    assert principal.client_id == issuer.client_id
    assert principal.session_id == "7c0e8f1a-2b3c-4d5e-9f60-718293a4b5c6"
    assert principal.expires_at == datetime.fromtimestamp(int(clock()) + 300, tz=UTC)
    assert principal.claims["preferred_username"] == "maria"


async def test_an_es256_token_is_accepted(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    kid = issuer.add_key("EC")

    principal = await verifier.verify(issuer.token(kid, roles=["clinician"]))

    assert principal.roles == frozenset({Role.CLINICIAN})


async def test_a_keycloak_access_token_for_our_client_is_accepted(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    # Exactly what Keycloak issues to a public client without an audience mapper.
    claims = issuer.claims(
        aud="account",
        azp=issuer.client_id,
        typ="Bearer",
        realm_access={"roles": ["default-roles-voiceassist", "offline_access", "clinician"]},
    )
    token = issuer.sign(claims, kid, typ="JWT")

    principal = await verifier.verify(token)

    assert principal.roles == frozenset({Role.CLINICIAN})
    assert principal.client_id == issuer.client_id


async def test_roles_come_from_realm_access_and_a_top_level_roles_claim(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, realm_access={"roles": ["clinician"]}, roles=["admin", "auditor"])

    principal = await verifier.verify(token)

    assert principal.roles == frozenset({Role.CLINICIAN, Role.ADMIN})


async def test_a_token_without_aud_issued_to_our_client_is_accepted(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")

    principal = await verifier.verify(issuer.token(kid, aud=None))

    assert principal.client_id == issuer.client_id


async def test_an_expired_token_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid)

    clock.advance(300 + 31)

    assert (await rejection(verifier, token)).reason is RejectionReason.EXPIRED


async def test_a_token_just_past_exp_is_accepted_within_the_leeway(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid)

    clock.advance(300 + 29)

    assert (await verifier.verify(token)).subject


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_a_token_not_valid_yet_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock, claim: str
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, exp=int(clock()) + 3600, **{claim: int(clock()) + 120})

    assert (await rejection(verifier, token)).reason is RejectionReason.NOT_YET_VALID


async def test_a_token_from_another_issuer_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, iss="http://127.0.0.1:9/realms/elsewhere")

    assert (await rejection(verifier, token)).reason is RejectionReason.WRONG_ISSUER


async def test_the_issuer_must_match_exactly(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, iss=issuer.url + "/")

    assert (await rejection(verifier, token)).reason is RejectionReason.WRONG_ISSUER


@pytest.mark.parametrize(
    ("aud", "azp"),
    [
        ("other-api", "voiceassist-web"),  # issued to our client, but for another API
        (["account", "other-api"], "voiceassist-web"),
        ("account", "admin-panel"),  # Keycloak default audience, issued to another client
        (None, "admin-panel"),
        (None, None),
    ],
)
async def test_a_token_for_another_audience_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier, aud: object, azp: object
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, aud=aud, azp=azp)

    assert (await rejection(verifier, token)).reason is RejectionReason.WRONG_AUDIENCE


async def test_audience_may_be_a_list_naming_us(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, aud=["other-api", issuer.client_id], azp="admin-panel")

    assert (await verifier.verify(token)).client_id == "admin-panel"


async def test_without_an_audience_configured_any_audience_is_accepted(
    issuer: LocalIssuer, jwks: JwksCache, clock: FakeClock
) -> None:
    verifier = TokenVerifier(issuer.url, None, jwks, clock=clock)
    kid = issuer.add_key("RSA")

    assert await verifier.verify(issuer.token(kid, aud="other-api", azp="admin-panel"))


async def test_a_tampered_payload_is_refused(issuer: LocalIssuer, verifier: TokenVerifier) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.tamper(issuer.token(kid), realm_access={"roles": ["admin"]})

    assert (await rejection(verifier, token)).reason is RejectionReason.BAD_SIGNATURE


async def test_a_token_signed_by_another_key_under_our_kid_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    ours = issuer.add_key("RSA")
    attacker = issuer.add_key("RSA", publish=False)

    token = jwt.encode({"alg": "RS256", "kid": ours}, issuer.claims(), issuer.key(attacker))

    assert (await rejection(verifier, token)).reason is RejectionReason.BAD_SIGNATURE


async def test_alg_none_is_refused_without_fetching_keys(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.forge({"alg": "none", "typ": "JWT", "kid": kid}, issuer.claims())

    assert (await rejection(verifier, token)).reason is RejectionReason.UNSUPPORTED_ALGORITHM
    assert issuer.jwks_requests == 0


@pytest.mark.parametrize("secret_form", ["pem", "jwk"])
async def test_hs256_signed_with_the_public_key_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier, secret_form: str
) -> None:
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))  # the public key is now cached, ripe for confusion
    public = issuer.key(kid)
    assert isinstance(public, RSAKey)
    secret = (
        public.as_pem(private=False)
        if secret_form == "pem"
        else json.dumps(public.as_dict(private=False)).encode()
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    unsigned = issuer.forge(header, issuer.claims()).rsplit(".", 1)[0]
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
    token = issuer.forge(header, issuer.claims(), signature)

    assert (await rejection(verifier, token)).reason is RejectionReason.UNSUPPORTED_ALGORITHM


async def test_an_rs256_header_naming_an_ec_key_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    rsa = issuer.add_key("RSA")
    ec = issuer.add_key("EC")
    rsa_signed = issuer.token(rsa)
    header = {"alg": "RS256", "typ": "JWT", "kid": ec}
    _, payload, signature = rsa_signed.split(".")
    token = f"{issuer.forge(header, {}).split('.')[0]}.{payload}.{signature}"

    assert (await rejection(verifier, token)).reason is RejectionReason.BAD_SIGNATURE


async def test_an_id_token_is_not_an_access_token(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, typ="ID", aud=issuer.client_id)

    assert (await rejection(verifier, token)).reason is RejectionReason.WRONG_TOKEN_TYPE


async def test_a_token_typed_as_something_else_in_its_header_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.sign(issuer.claims(), kid, typ="logout+jwt")

    assert (await rejection(verifier, token)).reason is RejectionReason.WRONG_TOKEN_TYPE


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b.c",
        "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln.extra.parts",
        "ünïcode.token.here",
        "x" * 20_000,
    ],
)
async def test_garbage_is_malformed_and_fetches_no_keys(
    issuer: LocalIssuer, verifier: TokenVerifier, token: str
) -> None:
    assert (await rejection(verifier, token)).reason is RejectionReason.MALFORMED
    assert issuer.jwks_requests == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"exp": None},
        {"sub": None},
        {"exp": "tomorrow"},
        {"exp": True},
        {"aud": 42},
    ],
)
async def test_missing_or_mistyped_claims_are_malformed(
    issuer: LocalIssuer, verifier: TokenVerifier, changes: dict[str, Any]
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid, **changes)

    assert (await rejection(verifier, token)).reason is RejectionReason.MALFORMED


async def test_a_payload_that_is_not_an_object_is_malformed(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = jws.serialize_compact({"alg": "RS256", "kid": kid}, b"[1, 2, 3]", issuer.key(kid))

    assert (await rejection(verifier, token)).reason is RejectionReason.MALFORMED


async def test_a_token_naming_an_unpublished_key_is_refused(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    issuer.add_key("RSA")
    stranger = issuer.add_key("RSA", publish=False)

    assert (await rejection(verifier, issuer.token(stranger))).reason is RejectionReason.UNKNOWN_KEY


async def test_rejections_neither_log_nor_quote_the_token_or_its_claims(
    issuer: LocalIssuer,
    verifier: TokenVerifier,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    kid = issuer.add_key("RSA")
    token = issuer.token(kid)
    clock.advance(3600)

    rejected = await rejection(verifier, token)

    signature = token.rsplit(".", 1)[1]
    for text in (str(rejected), rejected.detail, caplog.text):
        assert signature not in text
        assert "Maria" not in text
        assert "f3a1c2d4" not in text


async def test_the_principal_repr_leaves_out_personal_claims(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")

    principal = await verifier.verify(issuer.token(kid, aud=issuer.client_id))

    assert "maria" not in repr(principal).lower()


async def test_the_issuer_being_unreachable_from_the_start_is_not_the_callers_fault(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    token = issuer.token(kid)
    issuer.stop()

    assert (await rejection(verifier, token)).reason is RejectionReason.KEYS_UNAVAILABLE


@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("RS256", "HS512"), ()])
def test_symmetric_algorithms_and_none_cannot_be_allowed(
    jwks: JwksCache, algorithms: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="allowed_algorithms"):
        TokenVerifier("http://127.0.0.1/realms/x", None, jwks, allowed_algorithms=algorithms)


async def test_an_algorithm_outside_the_configured_list_is_refused(
    issuer: LocalIssuer, jwks: JwksCache, clock: FakeClock
) -> None:
    verifier = TokenVerifier(
        issuer.url, issuer.client_id, jwks, clock=clock, allowed_algorithms=["RS256"]
    )
    kid = issuer.add_key("EC")

    reason = (await rejection(verifier, issuer.token(kid))).reason

    assert reason is RejectionReason.UNSUPPORTED_ALGORITHM


async def test_a_token_without_kid_is_verified_by_the_issuers_only_key(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    token = jwt.encode({"alg": "RS256"}, issuer.claims(), issuer.key(kid))

    assert await verifier.verify(token)

    issuer.add_key("RSA")
    token = jwt.encode({"alg": "RS256"}, issuer.claims(), issuer.key(kid))
    async with JwksCache(jwks_uri=issuer.jwks_uri, clock=clock) as fresh_cache:
        verifier_of_two = TokenVerifier(issuer.url, issuer.client_id, fresh_cache, clock=clock)

        assert (await rejection(verifier_of_two, token)).reason is RejectionReason.UNKNOWN_KEY
