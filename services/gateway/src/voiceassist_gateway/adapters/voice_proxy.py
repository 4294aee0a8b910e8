"""The gateway's client of the voice proxy (``voiceassist.voice_proxy.v1.VoiceProxyService``).

The conversation WebSocket (/ws/v1/conversation) relays each patient's socket to one
``Converse`` stream of this client. One channel for the process, opened on first use inside the
serving event loop (a grpc.aio channel belongs to the loop that created it) and closed at
shutdown; a `voiceassist_common.grpc.client` channel, so every stream carries the trace of the
socket's handshake and shows up in the client RED metrics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from opentelemetry.trace import TracerProvider
from voiceassist.voice_proxy.v1 import voice_proxy_pb2_grpc
from voiceassist_common.grpc.client import create_channel

if TYPE_CHECKING:
    from voiceassist.voice_proxy.v1.voice_proxy_pb2_grpc import VoiceProxyServiceAsyncStub

__all__ = ["VoiceProxyClient"]


class VoiceProxyClient:
    """Lends the VoiceProxyService stub of the gateway's one channel to the voice proxy."""

    def __init__(self, address: str, *, tracer_provider: TracerProvider | None = None) -> None:
        self.address = address
        self._tracer_provider = tracer_provider
        self._channel: grpc.aio.Channel | None = None
        self._stub: VoiceProxyServiceAsyncStub | None = None

    @property
    def stub(self) -> VoiceProxyServiceAsyncStub:
        """Return the stub, opening the channel on first use."""
        if self._stub is None:
            self._channel = create_channel(self.address, tracer_provider=self._tracer_provider)
            self._stub = voice_proxy_pb2_grpc.VoiceProxyServiceStub(self._channel)
        return self._stub

    async def close(self) -> None:
        """Close the channel, if one was opened; the next use opens a new one."""
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close(grace=None)
