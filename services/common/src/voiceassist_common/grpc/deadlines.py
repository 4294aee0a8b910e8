"""The time a request may still spend, carried from the RPC being handled to the calls it makes.

A caller that allows 2 s for an answer gets nothing from a downstream call that runs for 30 s:
the caller has given up by then, yet the work goes on. So the server interceptor records the
deadline of the call it is handling, and the client interceptor shortens every outgoing call to
the time that is left. Entry points that are not RPCs (an HTTP request, a NATS message) open
their own budget with `deadline_scope`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["deadline_scope", "remaining_time", "start_deadline", "timeout_for_call"]

# Absolute, on the time.monotonic() clock, so that it survives wall-clock jumps.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "voiceassist_deadline", default=None
)


def start_deadline(seconds: float | None) -> None:
    """Set the budget of the current task: ``seconds`` from now, or none.

    For the task that handles one request; the value lives as long as that task's context.
    A budget already set and tighter than this one is kept.
    """
    if seconds is None:
        return
    deadline = time.monotonic() + max(seconds, 0.0)
    current = _deadline.get()
    _deadline.set(deadline if current is None else min(current, deadline))


@contextmanager
def deadline_scope(seconds: float) -> Iterator[None]:
    """Within the block, outgoing calls end no later than ``seconds`` from now."""
    deadline = time.monotonic() + max(seconds, 0.0)
    current = _deadline.get()
    token = _deadline.set(deadline if current is None else min(current, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining_time() -> float | None:
    """Seconds left before the current request's deadline (0 when past it), or None."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(deadline - time.monotonic(), 0.0)


def timeout_for_call(own_timeout: float | None) -> float | None:
    """Return an outgoing call's timeout: its own, cut to the time the request has left."""
    remaining = remaining_time()
    if remaining is None:
        return own_timeout
    if own_timeout is None:
        return remaining
    return min(own_timeout, remaining)
