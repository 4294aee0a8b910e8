"""The voice-proxy service runs, reports healthy and refuses every RPC naming what is missing."""

from __future__ import annotations

from voiceassist_common.testing import assert_pending_service, service_process
from voiceassist_voice_proxy.handlers.grpc import SERVICE

MISSING = "the voice conversation (issue #6)"


async def test_the_process_serves_names_the_missing_capability_and_stops_on_sigterm() -> None:
    assert SERVICE.full_name == "voiceassist.voice_proxy.v1.VoiceProxyService"

    async with service_process("voiceassist_voice_proxy") as service:
        await assert_pending_service(service, SERVICE, MISSING)
