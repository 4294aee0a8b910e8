"""A client gets its burst, then one request per refill interval, and is told when to retry."""

from __future__ import annotations

from voiceassist_gateway.domain.rate_limits import RateLimiter, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_a_wait_then_one_more() -> None:
    clock = Clock()
    limiter = RateLimiter(60, burst=2, clock=clock)

    assert [limiter.take("ip:1"), limiter.take("ip:1")] == [0.0, 0.0]
    wait = limiter.take("ip:1")
    assert wait == 1.0
    assert retry_after_header(wait) == "1"
    clock.now += 1.0
    assert limiter.take("ip:1") == 0.0


def test_each_client_has_its_own_bucket() -> None:
    limiter = RateLimiter(60, burst=1, clock=Clock())

    assert limiter.take("ip:1") == 0.0
    assert limiter.take("ip:2") == 0.0
    assert limiter.take("ip:1") > 0


def test_forgotten_clients_do_not_fill_memory() -> None:
    limiter = RateLimiter(60, burst=1, clock=Clock(), max_keys=2)
    for key in ("a", "b", "c"):
        limiter.take(key)

    assert limiter.take("a") == 0.0  # "a" was forgotten, so it starts afresh
