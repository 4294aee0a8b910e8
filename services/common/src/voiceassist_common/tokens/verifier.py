"""Access-token verification: is this bearer token from our issuer, for us, and valid now.

Every service that accepts calls on a user's behalf (the gateway first, and the services that
check object ownership themselves) verifies the token here, so the rules live in one place:
signatures checked by joserfc against the issuer's published keys, a closed list of asymmetric
algorithms (so `none` and HMAC-with-the-public-key tricks fail before any key is touched),
exact issuer, audience, lifetime and token type.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from joserfc import jws
from joserfc.errors import (
    InvalidKeyTypeError,
    JoseError,
    KeyParameterError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import Key

from voiceassist_common.tokens.jwks import (
    Clock,
    JwksCache,
    JwksUnavailableError,
    UnknownSigningKeyError,
)
from voiceassist_common.tokens.principal import Principal
from voiceassist_common.tokens.rejection import RejectionReason, TokenRejected

logger = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Algorithms a verifier may be configured to accept; HS* and `none` are not among them."""

# Header `typ` values of an access token: plain JWT (Keycloak) or RFC 9068's at+jwt. An ID
# token, logout token or anything else typed differently is not an access token.
_ACCESS_TOKEN_HEADER_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
# Keycloak's access tokens say `"typ": "Bearer"` in the claims; ID tokens say "ID".
_ACCESS_TOKEN_CLAIM_TYPE = "bearer"  # noqa: S105 - a token type, not a secret
# Keycloak's default audience when no audience mapper names the resource server.
_KEYCLOAK_DEFAULT_AUDIENCES = ("account",)
_MAX_TOKEN_CHARS = 16 * 1024
_MAX_LEEWAY_SECONDS = 300.0


class TokenVerifier:
    """Checks access tokens from one issuer and turns them into a `Principal`.

    `audience` is the client id or resource name this service answers to; None skips the
    audience check (every service of the realm then accepts every token of the realm). A token
    is for us when `aud` names our audience, or, as Keycloak issues access tokens whose only
    audience is its own `account` (or none), when `aud` names nothing but those defaults and the
    token was issued to our client (`azp`).
    """

    def __init__(
        self,
        issuer: str,
        audience: str | None,
        jwks: JwksCache,
        *,
        allowed_algorithms: Iterable[str] = ("RS256", "ES256"),
        leeway_seconds: float = 30.0,
        clock: Clock = time.time,
        default_audiences: Collection[str] = _KEYCLOAK_DEFAULT_AUDIENCES,
    ) -> None:
        algorithms = frozenset(allowed_algorithms)
        if not algorithms or not algorithms <= ASYMMETRIC_ALGORITHMS:
            raise ValueError(
                "allowed_algorithms must be a non-empty subset of "
                f"{sorted(ASYMMETRIC_ALGORITHMS)}; symmetric algorithms and 'none' are refused"
            )
        if not 0 <= leeway_seconds <= _MAX_LEEWAY_SECONDS:
            raise ValueError(f"leeway_seconds must be between 0 and {_MAX_LEEWAY_SECONDS:g}")
        if not issuer:
            raise ValueError("issuer must not be empty")
        self.issuer = issuer
        self.audience = audience
        self._jwks = jwks
        self._algorithms = algorithms
        self._registry = jws.JWSRegistry(
            algorithms=sorted(algorithms),
            # RFC 7515 §4: unknown header parameters are ignored unless listed in `crit`.
            strict_check_header=False,
        )
        self._leeway = leeway_seconds
        self._clock = clock
        self._default_audiences = frozenset(default_audiences)

    async def verify(self, token: str) -> Principal:
        """Return the caller the token speaks for, or raise `TokenRejected` with the reason.

        The token itself is never logged nor quoted in the error.
        """
        try:
            return await self._verify(token)
        except TokenRejected as rejection:
            logger.debug("access token rejected", extra={"reason": rejection.reason.value})
            raise

    async def _verify(self, token: str) -> Principal:
        compact = self._parse(token)
        header = compact.headers()
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise TokenRejected(
                RejectionReason.UNSUPPORTED_ALGORITHM,
                f"the token's algorithm is not one of {', '.join(sorted(self._algorithms))}",
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenRejected(RejectionReason.MALFORMED, "header 'kid' is not a string")
        # Parsed before the signature is checked only so that garbage costs no key lookup;
        # nothing in the claims is trusted until the signature verifies.
        claims = _claims(compact.payload)
        key = await self._signing_key(kid)
        self._check_signature(compact, key)
        self._check_issuer(claims)
        self._check_type(header, claims)
        self._check_lifetime(claims)
        self._check_audience(claims)
        try:
            return Principal.from_claims(claims)
        except ValueError as error:
            raise TokenRejected(RejectionReason.MALFORMED, str(error)) from error

    def _parse(self, token: str) -> jws.CompactSignature:
        if len(token) > _MAX_TOKEN_CHARS or not token.isascii():
            raise TokenRejected(RejectionReason.MALFORMED, "not a compact JWS")
        try:
            return jws.extract_compact(token.encode("ascii"), registry=self._registry)
        except JoseError as error:
            raise TokenRejected(RejectionReason.MALFORMED, "not a compact JWS") from error

    async def _signing_key(self, kid: str | None) -> Key:
        try:
            return await self._jwks.signing_key(kid)
        except UnknownSigningKeyError as error:
            raise TokenRejected(RejectionReason.UNKNOWN_KEY, str(error)) from error
        except JwksUnavailableError as error:
            raise TokenRejected(RejectionReason.KEYS_UNAVAILABLE, str(error)) from error

    def _check_signature(self, compact: jws.CompactSignature, key: Key) -> None:
        try:
            valid = jws.validate_compact(compact, key, registry=self._registry)
        except (InvalidKeyTypeError, KeyParameterError) as error:
            # The named key is of another type, or published for another algorithm or use.
            raise TokenRejected(
                RejectionReason.BAD_SIGNATURE, "the named key cannot verify this algorithm"
            ) from error
        except UnsupportedAlgorithmError as error:
            raise TokenRejected(
                RejectionReason.UNSUPPORTED_ALGORITHM, "the token's algorithm is not accepted"
            ) from error
        except JoseError as error:
            # e.g. a `crit` header we do not understand.
            raise TokenRejected(RejectionReason.MALFORMED, error.error) from error
        if not valid:
            raise TokenRejected(RejectionReason.BAD_SIGNATURE, "the signature does not verify")

    def _check_issuer(self, claims: Mapping[str, Any]) -> None:
        if claims.get("iss") != self.issuer:
            raise TokenRejected(RejectionReason.WRONG_ISSUER, "the token is from another issuer")

    def _check_type(self, header: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
        header_type = header.get("typ")
        if header_type is not None and (
            not isinstance(header_type, str)
            or header_type.lower() not in _ACCESS_TOKEN_HEADER_TYPES
        ):
            raise TokenRejected(RejectionReason.WRONG_TOKEN_TYPE, "not an access token (header)")
        claim_type = claims.get("typ")
        if claim_type is not None and (
            not isinstance(claim_type, str) or claim_type.lower() != _ACCESS_TOKEN_CLAIM_TYPE
        ):
            raise TokenRejected(RejectionReason.WRONG_TOKEN_TYPE, "not a Bearer access token")

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        now = self._clock()
        expires = _numeric_date(claims, "exp")
        if expires is None:
            raise TokenRejected(RejectionReason.MALFORMED, "claim 'exp' is missing")
        # RFC 7519 §4.1.4: not accepted on or after `exp`.
        if now >= expires + self._leeway:
            raise TokenRejected(RejectionReason.EXPIRED, "the token has expired")
        not_before = _numeric_date(claims, "nbf")
        if not_before is not None and now + self._leeway < not_before:
            raise TokenRejected(RejectionReason.NOT_YET_VALID, "the token is not valid yet")
        issued_at = _numeric_date(claims, "iat")
        if issued_at is not None and now + self._leeway < issued_at:
            raise TokenRejected(RejectionReason.NOT_YET_VALID, "the token was issued in the future")

    def _check_audience(self, claims: Mapping[str, Any]) -> None:
        if self.audience is None:
            return
        audiences = _audiences(claims)
        if self.audience in audiences:
            return
        if audiences <= self._default_audiences and claims.get("azp") == self.audience:
            return
        raise TokenRejected(RejectionReason.WRONG_AUDIENCE, "the token is not meant for us")


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except ValueError as error:
        raise TokenRejected(RejectionReason.MALFORMED, "the payload is not JSON") from error
    if not isinstance(claims, dict):
        raise TokenRejected(RejectionReason.MALFORMED, "the payload is not a JSON object")
    return claims


def _numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    # bool is an int in Python, and NaN would compare false with everything and never expire.
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise TokenRejected(RejectionReason.MALFORMED, f"claim '{name}' is not a NumericDate")
    return float(value)


def _audiences(claims: Mapping[str, Any]) -> frozenset[str]:
    value = claims.get("aud")
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    raise TokenRejected(RejectionReason.MALFORMED, "claim 'aud' is not a string or list of strings")
