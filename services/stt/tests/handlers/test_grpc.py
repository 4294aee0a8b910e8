"""The stt service runs, reports healthy and refuses every RPC naming what is missing."""

from __future__ import annotations

from voiceassist_common.testing import assert_pending_service, service_process
from voiceassist_stt.handlers.grpc import SERVICE

MISSING = "speech recognition for the voice conversation (issue #6)"


async def test_the_process_serves_names_the_missing_capability_and_stops_on_sigterm() -> None:
    assert SERVICE.full_name == "voiceassist.stt.v1.SpeechToTextService"

    async with service_process("voiceassist_stt") as service:
        await assert_pending_service(service, SERVICE, MISSING)
