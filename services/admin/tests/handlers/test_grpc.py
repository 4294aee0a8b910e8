"""The admin service runs, reports healthy and refuses every RPC naming what is missing."""

from __future__ import annotations

from voiceassist_admin.handlers.grpc import SERVICE
from voiceassist_common.testing import assert_pending_service, service_process

# Read at start-up but not connected to while every RPC is pending.
DATABASE_ENV = {"DATABASE_URL": "postgresql://voiceassist:voiceassist@127.0.0.1:1/voiceassist"}

MISSING = "the admin panel and analytics (issue #7)"


async def test_the_process_serves_names_the_missing_capability_and_stops_on_sigterm() -> None:
    assert SERVICE.full_name == "voiceassist.admin.v1.AdminService"

    async with service_process("voiceassist_admin", env=DATABASE_ENV) as service:
        await assert_pending_service(service, SERVICE, MISSING)
