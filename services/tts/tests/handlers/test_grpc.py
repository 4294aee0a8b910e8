"""The tts service runs, reports healthy and refuses every RPC naming what is missing."""

from __future__ import annotations

from voiceassist_common.testing import assert_pending_service, service_process
from voiceassist_tts.handlers.grpc import SERVICE

MISSING = "speech synthesis for the voice conversation (issue #6)"


async def test_the_process_serves_names_the_missing_capability_and_stops_on_sigterm() -> None:
    assert SERVICE.full_name == "voiceassist.tts.v1.TextToSpeechService"

    async with service_process("voiceassist_tts") as service:
        await assert_pending_service(service, SERVICE, MISSING)
