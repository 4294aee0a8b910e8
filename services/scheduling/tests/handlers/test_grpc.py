"""The scheduling service runs, reports healthy and refuses every RPC naming what is missing."""

from __future__ import annotations

from voiceassist_common.testing import assert_pending_service, service_process
from voiceassist_scheduling.handlers.grpc import SERVICE

# Read at start-up but not connected to while every RPC is pending.
DATABASE_ENV = {"DATABASE_URL": "postgresql://voiceassist:voiceassist@127.0.0.1:1/voiceassist"}

MISSING = "scheduling and doctor matching (issue #5)"


async def test_the_process_serves_names_the_missing_capability_and_stops_on_sigterm() -> None:
    assert SERVICE.full_name == "voiceassist.scheduling.v1.SchedulingService"

    async with service_process("voiceassist_scheduling", env=DATABASE_ENV) as service:
        await assert_pending_service(service, SERVICE, MISSING)
