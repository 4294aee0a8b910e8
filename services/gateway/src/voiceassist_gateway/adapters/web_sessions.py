"""Where browser sessions live: a NATS JetStream key-value bucket, or memory in tests.

Sessions must survive a gateway restart and be shared by every gateway replica, and they are
small and short-lived: a KV bucket whose values expire after the idle time fits exactly
(`voiceassist_common.messaging.key_value`), without a table to migrate. The in-memory store
implements the same interface for tests and a developer's run without NATS (refused in prod by
the settings).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from nats.aio.client import Client
from nats.js.errors import KeyNotFoundError
from nats.js.kv import KeyValue
from voiceassist_common.messaging import connect, key_value

BUCKET = "gateway_web_sessions"


class InMemorySessionStore:
    """Values in a dict, each forgotten ``ttl_seconds`` after its last write."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._values: dict[str, tuple[bytes, float]] = {}

    async def get(self, key: str) -> bytes | None:
        """Return the value, or None when absent or expired."""
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if self._clock() >= expires:
            del self._values[key]
            return None
        return value

    async def put(self, key: str, value: bytes) -> None:
        """Store the value for another ``ttl_seconds``."""
        self._values[key] = (value, self._clock() + self._ttl)

    async def delete(self, key: str) -> None:
        """Forget the value."""
        self._values.pop(key, None)

    async def close(self) -> None:
        """Nothing to release."""


class NatsSessionStore:
    """Values in the JetStream KV bucket `gateway_web_sessions`, opened on first use."""

    def __init__(self, nats_url: str, ttl_seconds: float, *, name: str = "gateway") -> None:
        self._url = nats_url
        self._ttl = timedelta(seconds=ttl_seconds)
        self._name = name
        self._client: Client | None = None
        self._bucket: KeyValue | None = None
        self._opening = asyncio.Lock()

    async def _kv(self) -> KeyValue:
        async with self._opening:
            if self._bucket is None:
                # A short wait: a browser is waiting, and an unavailable store is a 503.
                self._client = await connect(self._url, name=self._name, max_wait_seconds=3)
                self._bucket = await key_value(self._client.jetstream(), BUCKET, ttl=self._ttl)
            return self._bucket

    async def get(self, key: str) -> bytes | None:
        """Return the value, or None when absent or expired."""
        try:
            entry = await (await self._kv()).get(key)
        except KeyNotFoundError:
            return None
        return entry.value

    async def put(self, key: str, value: bytes) -> None:
        """Store the value; the bucket's TTL counts from this write."""
        await (await self._kv()).put(key, value)

    async def delete(self, key: str) -> None:
        """Forget the value, history included."""
        try:
            await (await self._kv()).purge(key)
        except KeyNotFoundError:
            return

    async def close(self) -> None:
        """Close the NATS connection, if one was opened."""
        client, self._client, self._bucket = self._client, None, None
        if client is not None:
            await client.close()
