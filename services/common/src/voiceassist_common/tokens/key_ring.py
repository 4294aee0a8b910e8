"""One snapshot of the issuer's signing keys, parsed from a JWKS document.

Parsing is strict about what may verify a token and lenient about the rest: an issuer's JWKS
may also list encryption keys or key types we do not support (Keycloak publishes an RSA-OAEP
key beside its signing key), and one odd entry must not stop every token from verifying.
Symmetric (`oct`) keys are never taken, because a published HMAC secret is no secret.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import JWKRegistry, Key, RSAKey

logger = logging.getLogger(__name__)

_SIGNING_KEY_TYPES = frozenset({"RSA", "EC", "OKP"})
# Private parts a careless issuer might publish; verification needs only the public key.
_PRIVATE_PARAMETERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Signing keys by `kid`, plus any the issuer published without one."""

    by_kid: Mapping[str, Key]
    unnamed: tuple[Key, ...]

    def find(self, kid: str | None) -> Key | None:
        """Find the key a token names; a token without `kid` matches only a single-key set."""
        if kid is not None:
            return self.by_kid.get(kid)
        every_key = (*self.by_kid.values(), *self.unnamed)
        return every_key[0] if len(every_key) == 1 else None

    @classmethod
    def from_jwks(cls, document: object) -> KeyRing:
        """Parse a JWKS document; `ValueError` if it is not one or holds no usable signing key."""
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise ValueError("the JWKS document has no 'keys' list")
        by_kid: dict[str, Key] = {}
        unnamed: list[Key] = []
        for entry in document["keys"]:
            key = _signing_key(entry)
            if key is None:
                continue
            kid = key.kid
            if kid is None:
                unnamed.append(key)
            elif kid in by_kid:
                # Two keys under one name would make the choice depend on list order.
                logger.warning("JWKS lists kid %s more than once; keeping the first", kid)
            else:
                by_kid[kid] = key
        if not by_kid and not unnamed:
            raise ValueError("the JWKS document holds no usable signing key")
        return cls(by_kid=MappingProxyType(by_kid), unnamed=tuple(unnamed))


def _signing_key(entry: object) -> Key | None:
    """Import the public signing key of one JWKS entry; None when it is not one we may use."""
    if not isinstance(entry, Mapping):
        return None
    if entry.get("kty") not in _SIGNING_KEY_TYPES or entry.get("use", "sig") != "sig":
        return None
    if not isinstance(entry.get("kid", ""), str):
        return None
    public = {name: value for name, value in entry.items() if name not in _PRIVATE_PARAMETERS}
    try:
        with warnings.catch_warnings():
            # joserfc warns about short RSA keys; we refuse them below and log it our way.
            warnings.simplefilter("ignore", SecurityWarning)
            key = JWKRegistry.import_key(public)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        logger.warning("skipping a JWKS entry that is not a valid key: %s", type(error).__name__)
        return None
    if isinstance(key, RSAKey) and key.public_key.key_size < _MIN_RSA_BITS:
        logger.warning("skipping RSA key %s: shorter than %d bits", key.kid, _MIN_RSA_BITS)
        return None
    return key
