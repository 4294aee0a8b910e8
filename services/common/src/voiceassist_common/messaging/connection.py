"""Connecting to NATS: wait for the server at start-up, then ride out restarts.

Services start in any order and NATS may come up after them (or restart under them), so a
service must neither crash because the bus is late nor hang forever when it never comes. The
first connection is retried with backoff for a bounded time, each failure logged; once
connected the client reconnects on its own, for ever, and says so in the log.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from urllib.parse import urlsplit, urlunsplit

import nats
import nats.errors
from nats.aio.client import Client

from voiceassist_common.logging import safe

logger = logging.getLogger(__name__)

_FIRST_DELAY_SECONDS = 0.2
_MAX_DELAY_SECONDS = 5.0
_RECONNECT_WAIT_SECONDS = 2


class NatsUnavailableError(ConnectionError):
    """NATS could not be reached within the time a service is willing to wait at start-up."""


def without_credentials(url: str) -> str:
    """``url`` with any user, password or token removed, fit for a log line."""
    parts = urlsplit(url)
    if parts.hostname is None:
        return parts.scheme + "://?"
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class _ConnectionLog:
    """The callbacks of one client: quiet while the first dial is tried, then logging."""

    def __init__(self, shown: str) -> None:
        self.shown = shown
        self.connected = False
        self.client: Client | None = None
        self.failures: list[Exception] = []

    async def on_error(self, error: Exception) -> None:
        if self.connected:
            logger.warning("NATS connection error: %s", safe(type(error).__name__))
        else:
            # Reported once per attempt by connect(), with the retry delay.
            self.failures.append(error)

    async def on_disconnected(self) -> None:
        # nats-py reports a deliberate close() as a disconnect too; only a lost link is news.
        if self.client is None or self.client.is_closed:
            return
        logger.warning("disconnected from NATS at %s; reconnecting", self.shown)

    async def on_reconnected(self) -> None:
        logger.info("reconnected to NATS at %s", self.shown)

    async def on_closed(self) -> None:
        if self.connected:
            logger.info("NATS connection to %s closed", self.shown)


async def connect(url: str, *, name: str, max_wait_seconds: float = 30) -> Client:
    """Connect to NATS at ``url``, retrying with backoff for up to ``max_wait_seconds``.

    ``name`` labels the connection in the server's monitoring (use the service name). Raises
    NatsUnavailableError when the time is up, and at once when the server rejects our
    credentials, since waiting will not fix those.
    """
    shown = safe(without_credentials(url))
    deadline = time.monotonic() + max_wait_seconds
    delay = _FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        log = _ConnectionLog(shown)
        try:
            client = await nats.connect(
                url,
                name=name,
                error_cb=log.on_error,
                disconnected_cb=log.on_disconnected,
                reconnected_cb=log.on_reconnected,
                closed_cb=log.on_closed,
                # nats-py applies its reconnect settings to the first connection too and has
                # no separate option for it (nats-io/nats.py#663): a single quick try here,
                # our own backoff around it, unbounded reconnects once connected.
                max_reconnect_attempts=1,
                reconnect_time_wait=0,
                connect_timeout=max(1, min(5, round(deadline - time.monotonic()))),
            )
        except (OSError, TimeoutError, nats.errors.Error) as error:
            cause = log.failures[-1] if log.failures else error
            if isinstance(cause, nats.errors.AuthorizationError):
                raise NatsUnavailableError(f"NATS at {shown} rejected the credentials") from cause
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NatsUnavailableError(
                    f"NATS at {shown} not reachable after {attempt} attempts "
                    f"in {max_wait_seconds:g}s ({type(cause).__name__})"
                ) from cause
            pause = min(delay * random.uniform(0.8, 1.2), remaining)  # noqa: S311 - jitter only
            logger.warning(
                "NATS at %s not reachable (attempt %d, %s); retrying in %.1fs",
                shown,
                attempt,
                safe(type(cause).__name__),
                pause,
            )
            await asyncio.sleep(pause)
            delay = min(delay * 2, _MAX_DELAY_SECONDS)
            continue
        log.connected = True
        log.client = client
        client.options["max_reconnect_attempts"] = -1
        client.options["reconnect_time_wait"] = _RECONNECT_WAIT_SECONDS
        logger.info("connected to NATS at %s as %s", shown, safe(name))
        return client
