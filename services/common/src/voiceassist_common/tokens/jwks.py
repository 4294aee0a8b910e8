"""The OIDC issuer's signing keys, fetched from its JWKS and kept fresh.

Services verify access tokens locally rather than asking the issuer on every request, so they
need the issuer's public keys at hand. `JwksCache` follows the issuer's key rotation (a lifetime
taken from Cache-Control, an early refetch when a token names a key it has not seen) without
letting a flood of forged tokens turn it into a request amplifier against the issuer, and keeps
verifying with the keys it has while the issuer is briefly unreachable.

One cache serves one event loop; concurrent callers share a single refresh.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import Key

from voiceassist_common.tokens.key_ring import KeyRing

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
"""Seconds on some steady scale; `time.monotonic` in production, a fake clock in tests."""


class JwksUnavailableError(Exception):
    """No usable signing keys: the issuer cannot be reached and nothing recent enough is cached."""


class UnknownSigningKeyError(Exception):
    """The token names a key the issuer does not publish, even after a permitted refetch."""


@dataclass(frozen=True, slots=True)
class JwksRefreshPolicy:
    """How long keys are trusted and how hard the issuer may be asked for new ones.

    Bounds on the Cache-Control lifetime stop an issuer (or a proxy in front of it) from pinning
    keys for a year or forcing a fetch on every request.
    """

    default_ttl_seconds: float = 300.0
    min_ttl_seconds: float = 60.0
    max_ttl_seconds: float = 86_400.0
    # A token with a kid we do not know triggers at most one refetch per interval.
    unknown_kid_refetch_interval_seconds: float = 30.0
    # After the lifetime ends, keep using the last keys this long while refreshes fail.
    max_stale_seconds: float = 3_600.0
    retry_backoff_initial_seconds: float = 1.0
    retry_backoff_max_seconds: float = 30.0
    request_timeout_seconds: float = 5.0
    max_document_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if not 0 < self.min_ttl_seconds <= self.default_ttl_seconds <= self.max_ttl_seconds:
            raise ValueError("need 0 < min_ttl_seconds <= default_ttl_seconds <= max_ttl_seconds")
        if self.unknown_kid_refetch_interval_seconds <= 0 or self.max_stale_seconds < 0:
            raise ValueError("the refetch interval must be positive and max_stale non-negative")
        if not 0 < self.retry_backoff_initial_seconds <= self.retry_backoff_max_seconds:
            raise ValueError("need 0 < retry_backoff_initial_seconds <= retry_backoff_max_seconds")

    def ttl_from_cache_control(self, header: str | None) -> float:
        """Turn the JWKS response's Cache-Control header into the key set's lifetime, bounded."""
        ttl = self.default_ttl_seconds
        for directive in (header or "").lower().split(","):
            name, _, value = directive.strip().partition("=")
            if name in {"no-store", "no-cache"}:
                ttl = 0.0
                break
            if name == "max-age":
                try:
                    ttl = float(int(value.strip().strip('"')))
                except ValueError:
                    continue
        return min(max(ttl, self.min_ttl_seconds), self.max_ttl_seconds)


class _UnusableDocumentError(ValueError):
    """A discovery or JWKS response we cannot use; the message names the URL and the problem."""


class JwksCache:
    """The signing keys of one issuer, found through discovery or at a given JWKS URL.

    Give `issuer` to find `jwks_uri` in `{issuer}/.well-known/openid-configuration` (whose
    `issuer` must match exactly), or `jwks_uri` to skip discovery. Pass `http_client` to share
    connection pools or set proxies; a cache that made its own client closes it in `aclose`.
    """

    def __init__(
        self,
        *,
        issuer: str | None = None,
        jwks_uri: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        clock: Clock = time.monotonic,
        policy: JwksRefreshPolicy | None = None,
    ) -> None:
        if (issuer is None) == (jwks_uri is None):
            raise ValueError("give exactly one of issuer or jwks_uri")
        if jwks_uri is not None:
            _require_http_url(jwks_uri, "jwks_uri")
        self._issuer = issuer
        self._discovery_url = (
            f"{issuer.rstrip('/')}/.well-known/openid-configuration" if issuer else ""
        )
        self._configured_jwks_uri = jwks_uri
        self._discovered_jwks_uri: str | None = None
        self._policy = policy or JwksRefreshPolicy()
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=self._policy.request_timeout_seconds, follow_redirects=False
        )
        self._clock = clock
        self._ring: KeyRing | None = None
        self._fresh_until = -math.inf
        self._last_attempt_at: float | None = None
        self._retry_not_before = -math.inf
        self._consecutive_failures = 0
        self._last_failure = "the keys were never fetched"
        self._inflight: asyncio.Task[bool] | None = None

    @property
    def source(self) -> str:
        """The issuer (or JWKS URL) these keys come from, for messages."""
        return self._issuer or self._configured_jwks_uri or ""

    async def signing_key(self, kid: str | None) -> Key:
        """Find the issuer's public key named `kid` (or its only key when `kid` is None).

        Raises `UnknownSigningKeyError` when the issuer does not publish it, and
        `JwksUnavailableError` when no key set can be had at all.
        """
        ring = await self._usable_ring()
        key = ring.find(kid)
        if key is None and self._may_refetch_for_unknown_key():
            await self._refresh_once()
            ring = await self._usable_ring()
            key = ring.find(kid)
        if key is None:
            raise UnknownSigningKeyError("the token names a key the issuer does not publish")
        return key

    async def refresh(self) -> None:
        """Fetch the key set now, e.g. at start-up; `JwksUnavailableError` if that fails."""
        if not await self._refresh_once():
            raise JwksUnavailableError(f"no signing keys from {self.source}: {self._last_failure}")

    async def aclose(self) -> None:
        """Stop a refresh in flight and close the HTTP client if this cache made it."""
        if self._inflight is not None:
            self._inflight.cancel()
        if self._owns_client:
            await self._http.aclose()

    async def __aenter__(self) -> JwksCache:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _usable_ring(self) -> KeyRing:
        """Return the key set, refreshing it when its lifetime is over and a retry is due."""
        if self._ring is not None and self._clock() < self._fresh_until:
            return self._ring
        if self._inflight is not None or self._clock() >= self._retry_not_before:
            await self._refresh_once()
        if self._ring is None:
            raise JwksUnavailableError(f"no signing keys from {self.source}: {self._last_failure}")
        if self._clock() >= self._fresh_until + self._policy.max_stale_seconds:
            raise JwksUnavailableError(
                f"cached signing keys of {self.source} are too old to trust and refreshing "
                f"them fails: {self._last_failure}"
            )
        return self._ring

    def _may_refetch_for_unknown_key(self) -> bool:
        if self._inflight is not None:
            return True
        now = self._clock()
        if now < self._retry_not_before:
            return False
        return (
            self._last_attempt_at is None
            or now - self._last_attempt_at >= self._policy.unknown_kid_refetch_interval_seconds
        )

    async def _refresh_once(self) -> bool:
        """Join the refresh in flight or start one; True when it brought a new key set."""
        if self._inflight is None:
            self._last_attempt_at = self._clock()
            self._inflight = asyncio.create_task(self._fetch_and_store(), name="jwks-refresh")
        # Shielded: a caller that gives up must not cancel the fetch others are waiting on.
        return await asyncio.shield(self._inflight)

    async def _fetch_and_store(self) -> bool:
        """Fetch and install the key set. Never raises, so nobody must collect its outcome."""
        try:
            jwks_uri = await self._jwks_uri()
            document, headers = await self._get_json(jwks_uri)
            ring = KeyRing.from_jwks(document)
        # Broad on purpose: any failure, even an unforeseen one, must end as a recorded outcome.
        except Exception as error:
            self._record_failure(_describe(error))
            return False
        finally:
            self._inflight = None
        self._ring = ring
        self._fresh_until = self._clock() + self._policy.ttl_from_cache_control(
            headers.get("cache-control")
        )
        self._consecutive_failures = 0
        self._retry_not_before = -math.inf
        logger.info(
            "fetched signing keys",
            extra={
                "issuer": self.source,
                "kids": sorted(ring.by_kid),
                "unnamed": len(ring.unnamed),
            },
        )
        return True

    def _record_failure(self, reason: str) -> None:
        self._consecutive_failures += 1
        backoff = min(
            self._policy.retry_backoff_initial_seconds * 2 ** (self._consecutive_failures - 1),
            self._policy.retry_backoff_max_seconds,
        )
        self._retry_not_before = self._clock() + backoff
        self._last_failure = reason
        # The issuer may have moved its JWKS; look it up again next time.
        self._discovered_jwks_uri = None
        logger.warning(
            "could not refresh signing keys; %s",
            "serving the cached ones" if self._ring is not None else "none cached",
            extra={"issuer": self.source, "reason": reason, "retry_in_seconds": backoff},
        )

    async def _jwks_uri(self) -> str:
        if self._configured_jwks_uri is not None:
            return self._configured_jwks_uri
        if self._discovered_jwks_uri is not None:
            return self._discovered_jwks_uri
        discovery_url = self._discovery_url
        document, _ = await self._get_json(discovery_url)
        if not isinstance(document, dict):
            raise _UnusableDocumentError(f"{discovery_url} is not a JSON object")
        # OpenID Connect Discovery 1.0 §4.3: the document must be about the issuer we trust.
        if document.get("issuer") != self._issuer:
            raise _UnusableDocumentError(f"{discovery_url} describes a different issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise _UnusableDocumentError(f"{discovery_url} has no jwks_uri")
        _require_http_url(jwks_uri, "jwks_uri", _UnusableDocumentError)
        self._discovered_jwks_uri = jwks_uri
        return jwks_uri

    async def _get_json(self, url: str) -> tuple[Any, httpx.Headers]:
        limit = self._policy.max_document_bytes
        async with self._http.stream("GET", url, headers={"Accept": "application/json"}) as reply:
            if reply.status_code != httpx.codes.OK:
                raise _UnusableDocumentError(f"{url} answered HTTP {reply.status_code}")
            body = bytearray()
            async for chunk in reply.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _UnusableDocumentError(f"{url} sent more than {limit} bytes")
            headers = reply.headers
        try:
            return json.loads(body), headers
        except ValueError as error:
            raise _UnusableDocumentError(f"{url} did not send JSON") from error


def _require_http_url(url: str, what: str, error: type[ValueError] = ValueError) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise error(f"{what} must be an http(s) URL")


def _describe(error: Exception) -> str:
    if isinstance(error, _UnusableDocumentError):
        return str(error)
    return f"{type(error).__name__}: {error}"
