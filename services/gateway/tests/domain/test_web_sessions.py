"""Browser sessions: hashed keys, PKCE per RFC 7636, no open redirects."""

from __future__ import annotations

import base64
import hashlib

import pytest
from voiceassist_gateway.domain.web_sessions import (
    WebSession,
    pkce_challenge,
    safe_return_path,
    storage_key,
)


def test_the_pkce_challenge_is_the_unpadded_base64url_sha256_of_the_verifier() -> None:
    verifier = "a" * 43
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")

    assert pkce_challenge(verifier) == expected
    assert len(expected) == 43


def test_the_store_never_holds_the_cookie_value() -> None:
    key = storage_key("session", "secret-cookie-value")
    assert "secret-cookie-value" not in key
    assert key.startswith("session.")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/triage?x=1", "/triage?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_sign_in_returns_only_to_a_local_path(given: str | None, expected: str) -> None:
    assert safe_return_path(given) == expected


def test_a_session_is_refreshed_shortly_before_its_token_expires() -> None:
    session = WebSession("s", "t", 1000.0, "r", None, "c")
    assert not session.needs_refresh(900.0)
    assert session.needs_refresh(975.0)
    assert WebSession.from_bytes(session.to_bytes()) == session
