"""The token endpoint's rate limit: a burst goes through, then a steady rate, per caller."""

from __future__ import annotations

import pytest
from voiceassist_auth.domain.rate_limits import RateLimit, TokenBuckets


def test_a_burst_passes_then_the_caller_is_told_when_to_come_back() -> None:
    buckets = TokenBuckets(RateLimit(burst=3, per_second=0.5))

    passed = [buckets.take("cli|10.0.0.1", now=100.0) for _ in range(3)]
    refused = buckets.take("cli|10.0.0.1", now=100.0)

    assert passed == [None, None, None]
    assert refused == 2.0  # one request refills in two seconds
    assert buckets.take("cli|10.0.0.1", now=101.0) == 1.0
    assert buckets.take("cli|10.0.0.1", now=102.0) is None


def test_each_client_and_address_has_its_own_bucket() -> None:
    buckets = TokenBuckets(RateLimit(burst=1, per_second=0.1))
    assert buckets.take("cli|10.0.0.1", now=0.0) is None

    assert buckets.take("cli|10.0.0.1", now=0.0) is not None
    assert buckets.take("cli|10.0.0.2", now=0.0) is None
    assert buckets.take("web|10.0.0.1", now=0.0) is None


def test_an_idle_caller_gets_its_burst_back_but_no_more() -> None:
    buckets = TokenBuckets(RateLimit(burst=2, per_second=1.0))
    for _ in range(2):
        buckets.take("k", now=0.0)

    after_a_long_pause = [buckets.take("k", now=3600.0) for _ in range(3)]

    assert after_a_long_pause[:2] == [None, None]
    assert after_a_long_pause[2] is not None


def test_memory_stays_bounded_and_a_forgotten_caller_starts_afresh() -> None:
    buckets = TokenBuckets(RateLimit(burst=1, per_second=0.001), max_keys=2)
    buckets.take("a", now=0.0)
    buckets.take("b", now=0.0)
    buckets.take("c", now=0.0)  # forgets "a", the least recently seen

    assert buckets.take("a", now=0.0) is None
    assert buckets.take("c", now=0.0) is not None


def test_a_limit_needs_a_burst_and_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="burst"):
        RateLimit(burst=0)
    with pytest.raises(ValueError, match="positive"):
        RateLimit(per_second=0)
