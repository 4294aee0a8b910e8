"""The provider's signing keys: kept in PostgreSQL, rotated on a schedule, published as JWKS.

Every auth replica must sign with keys every verifier can find, and a restart must not
invalidate the tokens in flight, so keys live in the ``signing_keys`` table rather than in
process memory. A key signs for ``rotation`` (30 days by default); then a new key takes over
and the old one stays in the JWKS until every token it signed has expired
(``published_until``), so verifiers that cache the JWKS never meet an unknown ``kid`` for a
valid token. Rotation takes an advisory lock so two replicas starting together make one key.

JOSE is joserfc's: RS256 over 2048-bit RSA keys, ``kid`` and ``typ: JWT`` in the header.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from joserfc import jwt
from joserfc.jwk import RSAKey

from voiceassist_auth.domain.credentials import new_secret

__all__ = ["ALGORITHM", "SigningKeys"]

logger = logging.getLogger(__name__)

ALGORITHM = "RS256"
_ROTATION_LOCK = 0x766F_6963_6B65_79  # any constant shared by every replica ("voickey")


class SigningKeys:
    """Signs tokens with the current key and lists every key a verifier may still need."""

    def __init__(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        *,
        rotation: timedelta,
        longest_token_lifetime: timedelta,
    ) -> None:
        self._pool = pool
        self._rotation = rotation
        self._overlap = longest_token_lifetime + timedelta(minutes=5)
        self._current: RSAKey | None = None
        self._current_since: datetime | None = None

    async def rotate_if_due(self, now: datetime, *, force: bool = False) -> bool:
        """Make a new signing key when none is current, or it is due (or ``force``).

        Due means older than the rotation period. Returns True when a key was made.
        """
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", _ROTATION_LOCK)
            newest = await connection.fetchrow(
                "SELECT kid, create_time FROM signing_keys WHERE retired_at IS NULL "
                "ORDER BY create_time DESC LIMIT 1"
            )
            due = newest is None or force or now - newest["create_time"] >= self._rotation
            if due:
                kid = new_secret()[:16]
                key = RSAKey.generate_key(
                    2048, parameters={"kid": kid, "use": "sig", "alg": ALGORITHM}
                )
                await connection.execute(
                    "UPDATE signing_keys SET retired_at = $1, published_until = $2 "
                    "WHERE retired_at IS NULL",
                    now,
                    now + self._overlap,
                )
                await connection.execute(
                    "INSERT INTO signing_keys (kid, private_jwk, create_time) "
                    "VALUES ($1, $2::jsonb, $3)",
                    kid,
                    json.dumps(key.as_dict(private=True)),
                    now,
                )
                await connection.execute("DELETE FROM signing_keys WHERE published_until < $1", now)
                logger.info("new signing key %s", kid)
        self._current = None
        return due

    async def current(self) -> RSAKey:
        """Return the key that signs now (the newest unretired one)."""
        row = await self._pool.fetchrow(
            "SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL "
            "ORDER BY create_time DESC LIMIT 1"
        )
        if row is None:
            raise RuntimeError("no signing key: rotate_if_due() runs at start-up")
        if self._current is None or self._current.kid != json.loads(row["private_jwk"])["kid"]:
            self._current = RSAKey.import_key(json.loads(row["private_jwk"]))
        return self._current

    async def jwks(self, now: datetime) -> dict[str, Any]:
        """Return the public keys of every token that may still be valid (current and recent)."""
        rows = await self._pool.fetch(
            "SELECT private_jwk FROM signing_keys WHERE retired_at IS NULL "
            "OR published_until > $1 ORDER BY create_time DESC",
            now,
        )
        keys = []
        for row in rows:
            key = RSAKey.import_key(json.loads(row["private_jwk"]))
            keys.append(key.as_dict(private=False))
        return {"keys": keys}

    async def sign(self, claims: dict[str, Any]) -> str:
        """Return a compact JWS of ``claims`` under the current key."""
        key = await self.current()
        header = {"alg": ALGORITHM, "kid": key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, key, algorithms=[ALGORITHM])

    async def public_key(self, kid: str, now: datetime) -> RSAKey | None:
        """Return the published key named ``kid``, or None."""
        row = await self._pool.fetchrow(
            "SELECT private_jwk FROM signing_keys WHERE kid = $1 AND (retired_at IS NULL "
            "OR published_until > $2)",
            kid,
            now,
        )
        if row is None:
            return None
        return RSAKey.import_key(
            RSAKey.import_key(json.loads(row["private_jwk"])).as_dict(private=False)
        )
