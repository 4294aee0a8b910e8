"""The server-side half of a browser's sign-in (backend-for-frontend, docs/adr/0007).

The browser holds only an opaque, random session id in an httpOnly cookie; the tokens the
identity provider issued stay here, so script running in the page (an XSS, a malicious
extension) can never read them. A `WebSession` is what the gateway keeps per signed-in browser,
a `PendingSignIn` what it keeps between sending the browser to the provider and the provider
sending it back (the PKCE verifier and the nonce, keyed by the `state`).

Ids are stored hashed: whoever reads the session store cannot replay a cookie from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Protocol

SESSION_COOKIE = "__Host-voiceassist_session"
"""`__Host-`: the browser accepts it only Secure, for this host, with Path=/ (no subdomain can
plant one)."""

CSRF_HEADER = "X-CSRF-Token"
REFRESH_MARGIN_SECONDS = 30.0
"""Refresh the access token this long before it expires, so no request carries a dead one."""
PENDING_SIGN_IN_SECONDS = 600.0
"""How long a browser may take at the provider's sign-in page."""


def new_secret() -> str:
    """Return a random URL-safe value, 256 bits (session ids, state, nonce, CSRF)."""
    return secrets.token_urlsafe(32)


def storage_key(kind: str, secret: str) -> str:
    """Return the store key of a session or pending sign-in: a hash, never the secret itself."""
    return f"{kind}.{hashlib.sha256(secret.encode()).hexdigest()}"


def pkce_challenge(verifier: str) -> str:
    """Return the S256 code challenge of a PKCE verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def same_secret(given: str | None, expected: str) -> bool:
    """Compare secrets in constant time."""
    return given is not None and secrets.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class WebSession:
    """A signed-in browser: its tokens (server-side only) and its CSRF token."""

    subject: str
    access_token: str
    access_expires_at: float
    refresh_token: str | None
    id_token: str | None
    csrf_token: str
    guest: bool = False
    guest_access_token: str | None = None
    """The guest session this browser had when it signed in, kept until the account takes its
    records over with POST /api/v1/auth/guest/upgrade (proof that the browser held it)."""

    def needs_refresh(self, now: float) -> bool:
        """Whether the access token expires within the refresh margin."""
        return now >= self.access_expires_at - REFRESH_MARGIN_SECONDS

    def to_bytes(self) -> bytes:
        """Serialise for the session store."""
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> WebSession:
        """Read back what `to_bytes` wrote."""
        return cls(**json.loads(data))


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What /auth/callback needs to finish a sign-in /auth/login started."""

    code_verifier: str
    nonce: str
    return_to: str
    started_at: float
    guest_session_key: str | None = None
    """Store key of the guest session the browser held when it started signing in, if any."""

    def to_bytes(self) -> bytes:
        """Serialise for the session store."""
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> PendingSignIn:
        """Read back what `to_bytes` wrote."""
        return cls(**json.loads(data))


def safe_return_path(candidate: str | None) -> str:
    """Where to send the browser after sign-in: a local path only, never another site."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return "/"
    if "\\" in candidate or any(ord(char) < 0x20 for char in candidate):
        return "/"
    return candidate


class SessionStore(Protocol):
    """Keeps small values by key for a limited idle time (NATS KV, or memory in tests)."""

    async def get(self, key: str) -> bytes | None:
        """Return the value, or None when absent or expired."""
        ...

    async def put(self, key: str, value: bytes) -> None:
        """Store the value; its idle time starts again."""
        ...

    async def delete(self, key: str) -> None:
        """Forget the value (no error when absent)."""
        ...
