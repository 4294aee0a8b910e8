"""The medical-kb service runs, reports healthy and refuses every RPC naming what is missing."""

from __future__ import annotations

from voiceassist_common.testing import assert_pending_service, service_process
from voiceassist_medical_kb.handlers.grpc import SERVICE

# Read at start-up but not connected to while every RPC is pending.
DATABASE_ENV = {"DATABASE_URL": "postgresql://voiceassist:voiceassist@127.0.0.1:1/voiceassist"}

MISSING = "the medical knowledge base (RAG and calculators)"


async def test_the_process_serves_names_the_missing_capability_and_stops_on_sigterm() -> None:
    assert SERVICE.full_name == "voiceassist.medical_kb.v1.MedicalKnowledgeService"

    async with service_process("voiceassist_medical_kb", env=DATABASE_ENV) as service:
        await assert_pending_service(service, SERVICE, MISSING)
