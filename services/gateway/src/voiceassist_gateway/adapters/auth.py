"""The gateway's client of the auth service (``voiceassist.auth.v1.AuthService``): guest sessions.

One channel for the process, opened on first use inside the serving event loop (a grpc.aio
channel belongs to the loop that created it) and closed at shutdown. It is a channel from
`voiceassist_common.grpc.client`, so every call carries the trace of the HTTP request and shows
up in the client RED metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from opentelemetry.trace import TracerProvider
from voiceassist.auth.v1 import auth_pb2_grpc
from voiceassist_common.grpc.client import create_channel

if TYPE_CHECKING:
    from voiceassist.auth.v1.auth_pb2_grpc import AuthServiceAsyncStub

__all__ = ["AuthClient"]


class AuthClient:
    """Lends the AuthService stub of the gateway's one channel to the auth service."""

    def __init__(self, address: str, *, tracer_provider: TracerProvider | None = None) -> None:
        self.address = address
        self._tracer_provider = tracer_provider
        self._channel: grpc.aio.Channel | None = None
        self._stub: AuthServiceAsyncStub | None = None

    @property
    def stub(self) -> AuthServiceAsyncStub:
        """Return the stub, opening the channel on first use."""
        if self._stub is None:
            self._channel = create_channel(self.address, tracer_provider=self._tracer_provider)
            self._stub = auth_pb2_grpc.AuthServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        """Close the channel, if one was opened; the next use opens a new one."""
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close(grace=None)
