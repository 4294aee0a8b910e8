"""The gateway's clients of the stt and tts services, for the REST speech routes.

One channel each for the process, opened on first use inside the serving event loop and closed
at shutdown, like the other adapters; calls carry the trace of the HTTP request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from opentelemetry.trace import TracerProvider
from voiceassist.stt.v1 import stt_pb2_grpc
from voiceassist.tts.v1 import tts_pb2_grpc
from voiceassist_common.grpc.client import create_channel

if TYPE_CHECKING:
    from voiceassist.stt.v1.stt_pb2_grpc import SpeechToTextServiceAsyncStub
    from voiceassist.tts.v1.tts_pb2_grpc import TextToSpeechServiceAsyncStub

__all__ = ["SpeechClients"]


class SpeechClients:
    """Lends the stt and tts stubs of the gateway's channels to those services."""

    def __init__(
        self, stt_address: str, tts_address: str, *, tracer_provider: TracerProvider | None = None
    ) -> None:
        self._addresses = (stt_address, tts_address)
        self._tracer_provider = tracer_provider
        self._channels: list[grpc.aio.Channel] = []
        self._stt: SpeechToTextServiceAsyncStub | None = None
        self._tts: TextToSpeechServiceAsyncStub | None = None

    def _open(self) -> None:
        stt, tts = (
            create_channel(address, tracer_provider=self._tracer_provider)
            for address in self._addresses
        )
        self._channels = [stt, tts]
        self._stt = stt_pb2_grpc.SpeechToTextServiceStub(stt)
        self._tts = tts_pb2_grpc.TextToSpeechServiceStub(tts)

    @property
    def stt(self) -> SpeechToTextServiceAsyncStub:
        """Return the stt stub, opening the channels on first use."""
        if self._stt is None:
            self._open()
        assert self._stt is not None  # noqa: S101 - set by _open
        return self._stt

    @property
    def tts(self) -> TextToSpeechServiceAsyncStub:
        """Return the tts stub, opening the channels on first use."""
        if self._tts is None:
            self._open()
        assert self._tts is not None  # noqa: S101 - set by _open
        return self._tts

    async def close(self) -> None:
        """Close the channels, if opened; the next use opens new ones."""
        channels, self._channels = self._channels, []
        self._stt = self._tts = None
        for channel in channels:
            await channel.close(grace=None)
