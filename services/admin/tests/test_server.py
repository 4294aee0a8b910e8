"""The admin process stores the audit records other services publish, and proves the chain.

Runs the real process against a real PostgreSQL (migrated with its own ``migrate`` command) and
the session's NATS: a record published by another service through `AuditTrail` comes back from
ListAuditEvents, and VerifyAuditChain reports the chain intact.
"""

from __future__ import annotations

import asyncio

import pytest
from voiceassist.admin.v1 import admin_pb2, admin_pb2_grpc
from voiceassist_admin.server import SCHEMA
from voiceassist_common.audit import AuditTrail, jetstream_publisher
from voiceassist_common.events import AuditOutcome
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.messaging import connect, ensure_streams
from voiceassist_common.testing import assert_migrate_creates_schema, service_process

pytestmark = pytest.mark.integration


async def test_migrate_creates_the_schema_and_can_run_again(fresh_postgres_dsn: str) -> None:
    await assert_migrate_creates_schema("voiceassist_admin", SCHEMA, fresh_postgres_dsn)


async def test_a_record_published_by_triage_is_stored_listed_and_chained(
    fresh_postgres_dsn: str, nats_url: str
) -> None:
    await assert_migrate_creates_schema("voiceassist_admin", SCHEMA, fresh_postgres_dsn)
    client = await connect(nats_url, name="admin-server-test", max_wait_seconds=10)
    await ensure_streams(client.jetstream())
    trail = AuditTrail(jetstream_publisher(client.jetstream(), source="triage"), source="triage")
    env = {"DATABASE_URL": fresh_postgres_dsn, "NATS_URL": nats_url, "VOICEASSIST_ENV": "test"}
    try:
        async with service_process("voiceassist_admin", env=env) as service:
            await trail.record(
                actor="clinician-1",
                action="triage.assessment.read",
                resource_type="triage_assessment",
                resource_id="assessment-77",
                outcome=AuditOutcome.SUCCEEDED,
                request_id="req-77",
            )
            async with create_channel(service.grpc_address) as channel:
                stub = admin_pb2_grpc.AdminServiceStub(channel)
                request = admin_pb2.ListAuditEventsRequest(object_id="assessment-77")
                events: list[admin_pb2.AuditEvent] = []
                for _ in range(300):
                    events = list((await stub.ListAuditEvents(request)).events)
                    if events:
                        break
                    await asyncio.sleep(0.05)
                verified = await stub.VerifyAuditChain(admin_pb2.VerifyAuditChainRequest())
    finally:
        await trail.close()
        await client.close()

    [event] = events
    assert (event.action, event.object_type, event.request_id) == (
        "triage.assessment.read",
        "triage_assessment",
        "req-77",
    )
    assert event.actor.subject == "clinician-1"
    assert event.outcome == admin_pb2.AUDIT_OUTCOME_SUCCESS
    assert event.service == "triage"
    assert len(event.hash) == 64
    assert verified.intact
    assert verified.checked_count >= 1
    assert not verified.HasField("first_broken_sequence")
