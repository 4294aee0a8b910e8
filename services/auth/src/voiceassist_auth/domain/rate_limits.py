"""How often one client, from one address, may call the token endpoint.

The token endpoint is where client secrets, authorization codes and refresh tokens are tried;
each is too long to guess, but every request costs database work, and one caller flooding it
slows sign-in for everyone. A token bucket per (client id, caller address) lets a burst through
(a page load that exchanges a code and refreshes at once) and then one request per refill
interval; a refused caller is told when to come back (HTTP 429 with Retry-After).

Pure Python: the caller passes the time in, in seconds. State is one process's memory: the
built-in provider runs as one process, and a restart forgetting the buckets only forgives.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["RateLimit", "TokenBuckets"]


@dataclass(frozen=True)
class RateLimit:
    """A burst of ``burst`` requests, then ``per_second`` requests a second on average."""

    burst: int = 60
    per_second: float = 1.0

    def __post_init__(self) -> None:
        if self.burst < 1 or self.per_second <= 0:
            raise ValueError("a rate limit needs a burst of at least 1 and a positive rate")


@dataclass
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One token bucket per key; the least recently used keys are forgotten past ``max_keys``.

    A forgotten key starts again with a full bucket, which only ever lets a caller through:
    the bound keeps memory flat under a flood of spoofed client ids without refusing anyone
    by mistake.
    """

    def __init__(self, limit: RateLimit, *, max_keys: int = 10_000) -> None:
        self.limit = limit
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str, now: float) -> float | None:
        """Spend one request of ``key`` at ``now``.

        None when it may go ahead; else how many seconds until it may (rounded up, at least 1).
        """
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.limit.burst), now)
        elapsed = max(0.0, now - bucket.at)
        refilled = bucket.tokens + elapsed * self.limit.per_second
        bucket.tokens = min(float(self.limit.burst), refilled)
        bucket.at = now
        self._buckets[key] = bucket
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return float(max(1, math.ceil((1.0 - bucket.tokens) / self.limit.per_second)))
