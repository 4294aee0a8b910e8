"""The gateway's client of the scheduling service (``voiceassist.scheduling.v1.SchedulingService``).

One channel for the process, opened on first use inside the serving event loop (a grpc.aio
channel belongs to the loop that created it) and closed at shutdown. It is a channel from
`voiceassist_common.grpc.client`, so every call carries the trace of the HTTP request and shows
up in the client RED metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from opentelemetry.trace import TracerProvider
from voiceassist.scheduling.v1 import scheduling_pb2_grpc
from voiceassist_common.grpc.client import create_channel

if TYPE_CHECKING:
    from voiceassist.scheduling.v1.scheduling_pb2_grpc import SchedulingServiceAsyncStub

__all__ = ["SchedulingClient"]


class SchedulingClient:
    """Lends the SchedulingService stub of the gateway's one channel to the scheduling service."""

    def __init__(self, address: str, *, tracer_provider: TracerProvider | None = None) -> None:
        self.address = address
        self._tracer_provider = tracer_provider
        self._channel: grpc.aio.Channel | None = None
        self._stub: SchedulingServiceAsyncStub | None = None

    @property
    def stub(self) -> SchedulingServiceAsyncStub:
        """Return the stub, opening the channel on first use."""
        if self._stub is None:
            self._channel = create_channel(self.address, tracer_provider=self._tracer_provider)
            self._stub = scheduling_pb2_grpc.SchedulingServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        """Close the channel, if one was opened; the next use opens a new one."""
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close(grace=None)
