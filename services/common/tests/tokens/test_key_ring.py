"""Only public signing keys of asymmetric types make it from a JWKS into the ring."""

from __future__ import annotations

from typing import Any

import pytest
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, RSAKey
from voiceassist_common.tokens.key_ring import KeyRing


def published(key: Key, **extra: Any) -> dict[str, Any]:
    return {**key.as_dict(private=False), **extra}


@pytest.fixture(scope="module")
def rsa() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"})


@pytest.fixture(scope="module")
def ec() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1"})


def test_keys_are_found_by_kid(rsa: RSAKey, ec: ECKey) -> None:
    ring = KeyRing.from_jwks({"keys": [published(rsa), published(ec)]})

    assert ring.find("rsa-1") is not None
    assert ring.find("ec-1") is not None
    assert ring.find("other") is None


def test_a_token_without_kid_matches_only_when_there_is_a_single_key(
    rsa: RSAKey, ec: ECKey
) -> None:
    unnamed = {name: value for name, value in published(rsa).items() if name != "kid"}
    assert KeyRing.from_jwks({"keys": [unnamed]}).find(None) is not None
    assert KeyRing.from_jwks({"keys": [published(rsa), published(ec)]}).find(None) is None


def test_private_parts_published_by_mistake_are_dropped(rsa: RSAKey) -> None:
    ring = KeyRing.from_jwks({"keys": [rsa.as_dict(private=True)]})

    key = ring.find("rsa-1")
    assert key is not None
    assert not key.is_private


def test_the_first_of_two_keys_with_one_kid_wins(rsa: RSAKey, ec: ECKey) -> None:
    ring = KeyRing.from_jwks({"keys": [published(rsa), published(ec, kid="rsa-1")]})

    assert isinstance(ring.find("rsa-1"), RSAKey)


def test_short_rsa_keys_are_refused(ec: ECKey) -> None:
    with pytest.warns(SecurityWarning):
        weak = RSAKey.generate_key(1024, parameters={"kid": "weak"})

    ring = KeyRing.from_jwks({"keys": [published(weak), published(ec)]})

    assert ring.find("weak") is None


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"keys": "none"},
        {"keys": []},
        {"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]},
        {"keys": [{"kty": "RSA", "kid": "bad", "n": "x", "e": "AQAB"}]},
    ],
)
def test_a_document_without_usable_signing_keys_is_refused(document: object) -> None:
    with pytest.raises(ValueError, match="JWKS"):
        KeyRing.from_jwks(document)


def test_encryption_keys_and_non_string_kids_are_skipped(rsa: RSAKey, ec: ECKey) -> None:
    ring = KeyRing.from_jwks(
        {"keys": [published(rsa, use="enc"), published(ec, kid=5), published(ec, kid="ec-2")]}
    )

    assert ring.find("rsa-1") is None
    assert set(ring.by_kid) == {"ec-2"}
