"""The key cache follows the issuer's key rotation, spares it under a flood, rides out outages."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from voiceassist_common.tokens import (
    JwksCache,
    JwksRefreshPolicy,
    JwksUnavailableError,
    RejectionReason,
    TokenRejected,
    TokenVerifier,
)

if TYPE_CHECKING:
    from services.common.tests.tokens.conftest import FakeClock, LocalIssuer


async def rejection(verifier: TokenVerifier, token: str) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        await verifier.verify(token)
    return caught.value


async def test_keys_are_fetched_once_and_reused_while_fresh(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")

    for _ in range(5):
        await verifier.verify(issuer.token(kid))
        clock.advance(30)

    assert issuer.jwks_requests == 1
    assert issuer.requests[issuer.discovery_path] == 1


async def test_a_new_key_is_fetched_as_soon_as_a_token_uses_it(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    old = issuer.add_key("RSA")
    await verifier.verify(issuer.token(old))
    clock.advance(60)

    new = issuer.add_key("EC")  # the issuer rotates: publishes a new key and signs with it
    principal = await verifier.verify(issuer.token(new))

    assert principal.subject
    assert issuer.jwks_requests == 2


async def test_tokens_of_the_old_key_stay_valid_while_it_is_still_published(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    old = issuer.add_key("RSA")
    old_token = issuer.token(old, exp=int(clock()) + 3600)
    await verifier.verify(old_token)
    clock.advance(60)
    new = issuer.add_key("RSA")
    await verifier.verify(issuer.token(new))

    clock.advance(301)  # past the key set's lifetime: refetched, old key still listed

    assert await verifier.verify(old_token)
    assert issuer.jwks_requests == 3


async def test_tokens_of_a_removed_key_are_refused_after_the_next_refresh(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    old = issuer.add_key("RSA")
    new = issuer.add_key("RSA")
    old_token = issuer.token(old, exp=int(clock()) + 3600)
    await verifier.verify(old_token)

    issuer.unpublish(old)
    assert await verifier.verify(old_token)  # still cached, and that is by design

    clock.advance(301)
    assert (await rejection(verifier, old_token)).reason is RejectionReason.UNKNOWN_KEY
    assert await verifier.verify(issuer.token(new))


async def test_a_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))
    clock.advance(30)  # the refetch window of the first fetch has passed
    bogus = [
        issuer.forge({"alg": "RS256", "kid": f"bogus-{n}"}, issuer.claims(), b"x" * 256)
        for n in range(30)
    ]

    for token in bogus:
        assert (await rejection(verifier, token)).reason is RejectionReason.UNKNOWN_KEY
        clock.advance(0.5)
    assert issuer.jwks_requests == 2  # the first fetch plus one refetch for the whole flood

    clock.advance(30)
    for token in bogus:
        assert (await rejection(verifier, token)).reason is RejectionReason.UNKNOWN_KEY
    assert issuer.jwks_requests == 3


async def test_concurrent_callers_share_one_refresh(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    old = issuer.add_key("RSA")
    await verifier.verify(issuer.token(old))
    clock.advance(60)
    new = issuer.add_key("RSA")

    principals = await asyncio.gather(*(verifier.verify(issuer.token(new)) for _ in range(20)))

    assert len(principals) == 20
    assert issuer.jwks_requests == 2


async def test_concurrent_first_use_fetches_once(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")

    await asyncio.gather(*(verifier.verify(issuer.token(kid)) for _ in range(20)))

    assert issuer.jwks_requests == 1
    assert issuer.requests[issuer.discovery_path] == 1


async def test_cache_control_max_age_sets_the_lifetime(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    issuer.cache_control = "public, max-age=600"
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))

    clock.advance(599)
    await verifier.verify(issuer.token(kid))
    assert issuer.jwks_requests == 1

    clock.advance(2)
    await verifier.verify(issuer.token(kid))
    assert issuer.jwks_requests == 2


@pytest.mark.parametrize(
    ("header", "ttl"),
    [
        (None, 300.0),
        ("public", 300.0),
        ("max-age=600", 600.0),
        ("public, max-age=120, must-revalidate", 120.0),
        ("max-age=5", 60.0),  # raised to the minimum
        ("max-age=31536000", 86_400.0),  # lowered to the maximum
        ("no-cache", 60.0),
        ("no-store, max-age=600", 60.0),
        ("max-age=soon", 300.0),
    ],
)
def test_lifetime_from_cache_control_stays_within_bounds(header: str | None, ttl: float) -> None:
    assert JwksRefreshPolicy().ttl_from_cache_control(header) == ttl


async def test_an_issuer_that_disables_caching_is_still_not_asked_on_every_request(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    issuer.cache_control = "no-store"
    kid = issuer.add_key("RSA")

    for _ in range(10):
        await verifier.verify(issuer.token(kid))
        clock.advance(5)

    assert issuer.jwks_requests == 1


async def test_cached_keys_keep_working_while_the_issuer_is_down(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))
    issuer.stop()

    clock.advance(301)  # the key set's lifetime is over, and refreshing it fails

    assert await verifier.verify(issuer.token(kid))


async def test_cached_keys_are_not_trusted_forever_while_the_issuer_is_down(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))
    issuer.stop()

    clock.advance(300 + 3600)

    reason = (await rejection(verifier, issuer.token(kid))).reason
    assert reason is RejectionReason.KEYS_UNAVAILABLE


async def test_the_cache_recovers_when_the_issuer_comes_back(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    issuer.stop()
    assert (await rejection(verifier, issuer.token(kid))).reason is RejectionReason.KEYS_UNAVAILABLE

    issuer.start()
    clock.advance(1)  # the retry backoff after the first failure

    assert await verifier.verify(issuer.token(kid))


async def test_a_failing_issuer_is_retried_with_backoff_not_on_every_request(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))
    assert issuer.total_requests == 2  # discovery and JWKS
    issuer.failing = True
    clock.advance(301)

    for _ in range(20):
        assert await verifier.verify(issuer.token(kid))  # stale keys, served
    assert issuer.total_requests == 3

    attempts = []
    for backoff in (1, 2, 4, 8, 16, 30):
        clock.advance(backoff - 0.5)
        before = issuer.total_requests
        await verifier.verify(issuer.token(kid))
        clock.advance(0.5)
        for _ in range(5):
            await verifier.verify(issuer.token(kid))
        attempts.append(issuer.total_requests - before)
    assert attempts == [1, 1, 1, 1, 1, 1]  # one attempt each time the backoff ran out

    issuer.failing = False
    clock.advance(30)
    await verifier.verify(issuer.token(kid))
    clock.advance(1)
    await verifier.verify(issuer.token(kid))
    assert issuer.total_requests == 3 + 6 + 2  # rediscovered, refetched, and fresh again


async def test_a_discovery_document_for_another_issuer_is_not_trusted(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    issuer.discovery_issuer = "http://127.0.0.1:9/realms/impostor"
    kid = issuer.add_key("RSA")

    reason = (await rejection(verifier, issuer.token(kid))).reason

    assert reason is RejectionReason.KEYS_UNAVAILABLE
    assert issuer.jwks_requests == 0


async def test_a_jwks_uri_can_be_given_without_discovery(
    issuer: LocalIssuer, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    async with JwksCache(jwks_uri=issuer.jwks_uri, clock=clock) as jwks:
        verifier = TokenVerifier(issuer.url, issuer.client_id, jwks, clock=clock)

        assert await verifier.verify(issuer.token(kid))

    assert issuer.requests[issuer.discovery_path] == 0


async def test_only_signing_keys_of_asymmetric_types_are_used(
    issuer: LocalIssuer, verifier: TokenVerifier
) -> None:
    kid = issuer.add_key("RSA")
    encryption = issuer.add_key("RSA", publish=False)
    issuer.extra_jwks_entries = [
        {**issuer.key(encryption).as_dict(private=False), "use": "enc", "alg": "RSA-OAEP"},
        {"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0", "alg": "HS256"},
        {"kty": "RSA", "kid": "broken", "n": "not-a-key"},
        {"kty": "unheard-of", "kid": "future"},
        "not even an object",
    ]

    assert await verifier.verify(issuer.token(kid))
    reason = (await rejection(verifier, issuer.token(encryption))).reason
    assert reason is RejectionReason.UNKNOWN_KEY


async def test_refresh_reports_an_unreachable_issuer(issuer: LocalIssuer, jwks: JwksCache) -> None:
    issuer.add_key("RSA")
    await jwks.refresh()
    issuer.stop()

    with pytest.raises(JwksUnavailableError, match="no signing keys"):
        await jwks.refresh()


async def test_a_jwks_without_usable_keys_keeps_the_cached_ones(
    issuer: LocalIssuer, verifier: TokenVerifier, clock: FakeClock
) -> None:
    kid = issuer.add_key("RSA")
    await verifier.verify(issuer.token(kid))
    issuer.unpublish(kid)  # the issuer now publishes an empty set by mistake

    clock.advance(301)

    assert await verifier.verify(issuer.token(kid))
    assert issuer.jwks_requests == 2


def test_the_cache_needs_exactly_one_place_to_find_keys() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JwksCache()
    with pytest.raises(ValueError, match="exactly one"):
        JwksCache(issuer="http://127.0.0.1/realms/x", jwks_uri="http://127.0.0.1/certs")
    with pytest.raises(ValueError, match="http"):
        JwksCache(jwks_uri="file:///etc/keys.json")
