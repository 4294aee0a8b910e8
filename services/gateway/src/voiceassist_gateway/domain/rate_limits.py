"""Token buckets, one per client key (an IP address, a user), held in memory.

A person using the app sends a few requests a second at most; a script guessing ids or
hammering the triage engine sends hundreds. Each key gets a bucket of `capacity` tokens that
refills at `per_minute / 60` a second; a request takes one, and an empty bucket says how many
seconds until the next token (the Retry-After). Buckets are per process: with several gateway
replicas each enforces its own share, which is enough to stop abuse without a shared store.
Idle buckets are forgotten so the table cannot grow without bound.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Allows ``per_minute`` requests a minute per key, in bursts of up to ``burst``."""

    def __init__(
        self,
        per_minute: int,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else per_minute)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take a token for ``key``: 0 when allowed, else the seconds to wait before retrying."""
        now = self._clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(tokens=self.capacity, updated=now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        # Most recently used last, so the least recently used is dropped first.
        self._buckets[key] = bucket
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate


def retry_after_header(wait_seconds: float) -> str:
    """Whole seconds for Retry-After, at least one."""
    return str(max(1, math.ceil(wait_seconds)))
