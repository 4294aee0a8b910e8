"""The audit trail keeps every record, in order, even across a NATS outage, and never free text."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from voiceassist_common.audit import AuditTrail, jetstream_publisher
from voiceassist_common.events import (
    ActorKind,
    AuditOutcome,
    AuditRecordAppended,
    EventPayload,
    parse_event,
)
from voiceassist_common.messaging import connect, ensure_streams
from voiceassist_common.tokens import Principal

pytestmark = pytest.mark.integration


def principal(subject: str, roles: list[str], **claims: Any) -> Principal:
    return Principal.from_claims(
        {
            "sub": subject,
            "iss": "http://127.0.0.1:8080/realms/voiceassist",
            "exp": 2_000_000_000,
            "realm_access": {"roles": roles},
            **claims,
        }
    )


@dataclass
class Bus:
    """A real NATS connection and every audit record seen on the subject."""

    client: Client
    seen: list[AuditRecordAppended] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def wait_for(self, count: int) -> list[AuditRecordAppended]:
        for _ in range(500):
            if len(self.seen) >= count:
                break
            await asyncio.sleep(0.01)
        return self.seen


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[Bus]:
    client = await connect(nats_url, name="audit-tests", max_wait_seconds=10)
    await ensure_streams(client.jetstream())
    bus = Bus(client)

    async def collect(message: Msg) -> None:
        bus.raw.append(message.data)
        event = parse_event(message.data, subject=message.subject)
        assert isinstance(event.payload, AuditRecordAppended)
        bus.seen.append(event.payload)

    subscription = await client.subscribe("audit.record.appended", cb=collect)
    try:
        yield bus
    finally:
        await subscription.unsubscribe()
        await client.close()


def metric(outcome: str, source: str) -> float:
    value = REGISTRY.get_sample_value(
        "voiceassist_audit_records_total", {"source": source, "outcome": outcome}
    )
    return value or 0.0


async def test_an_admin_reading_an_assessment_is_recorded_with_subject_role_and_request(
    bus: Bus,
) -> None:
    trail = AuditTrail(
        jetstream_publisher(bus.client.jetstream(), source="triage"), source="triage"
    )
    admin = principal("3f1c9a4e-admin", ["patient", "admin"])

    await trail.record(
        actor=admin,
        action="triage.assessment.read",
        resource_type="triage_assessment",
        resource_id="a-42",
        outcome=AuditOutcome.SUCCEEDED,
        request_id="req-1",
        patient_subject="patient-7",
    )

    [record] = await bus.wait_for(1)
    assert record.actor_id == "3f1c9a4e-admin"
    assert record.actor_kind is ActorKind.USER
    assert record.actor_role == "admin"
    assert record.action == "triage.assessment.read"
    assert (record.resource_type, record.resource_id) == ("triage_assessment", "a-42")
    assert record.outcome is AuditOutcome.SUCCEEDED
    assert record.request_id == "req-1"
    assert record.patient_subject == "patient-7"
    assert record.occurred_at is not None
    assert trail.buffered == 0


async def test_a_guest_and_an_anonymous_caller_are_told_apart(bus: Bus) -> None:
    trail = AuditTrail(jetstream_publisher(bus.client.jetstream(), source="auth"), source="auth")
    guest = principal("guest-1b2c", ["patient"], voiceassist_guest=True)

    await trail.record(
        actor=guest,
        action="triage.assessment.create",
        resource_type="triage_assessment",
        resource_id="a-1",
        outcome=AuditOutcome.SUCCEEDED,
    )
    await trail.record(
        actor="anonymous",
        action="auth.token_rejected",
        resource_type="access_token",
        resource_id="unknown",
        outcome=AuditOutcome.DENIED,
    )

    first, second = await bus.wait_for(2)
    assert (first.actor_kind, first.actor_role) == (ActorKind.GUEST, "patient")
    assert (second.actor_id, second.actor_kind, second.actor_role) == (
        "anonymous",
        ActorKind.ANONYMOUS,
        None,
    )


async def test_an_email_or_sentence_never_reaches_the_bus_or_the_log(
    bus: Bus, caplog: pytest.LogCaptureFixture
) -> None:
    trail = AuditTrail(jetstream_publisher(bus.client.jetstream(), source="auth"), source="auth")
    caplog.set_level(logging.DEBUG)

    await trail.record(
        actor="jane.doe@example.org",
        action="auth.sign_in_failed",
        resource_type="user",
        resource_id="Jane Doe has chest pain",
        outcome=AuditOutcome.FAILED,
    )

    [record] = await bus.wait_for(1)
    assert (record.actor_id, record.resource_id) == ("invalid", "invalid")
    assert record.action == "auth.sign_in_failed"
    everything = b"".join(bus.raw).decode() + caplog.text
    assert "jane.doe" not in everything
    assert "chest pain" not in everything


async def test_records_made_while_nats_is_gone_are_published_in_order_on_reconnect(
    bus: Bus, nats_url: str
) -> None:
    lost = await connect(nats_url, name="audit-tests-lost", max_wait_seconds=10)
    trail = AuditTrail(
        jetstream_publisher(lost.jetstream(), source="scheduling", timeout_seconds=0.5),
        source="scheduling",
        first_retry_seconds=60,  # the reconnect below, not the timer, flushes
    )
    await lost.close()
    buffered_before = metric("buffered", "scheduling")

    for number in range(3):
        await trail.record(
            actor="scheduling",
            actor_kind=ActorKind.SERVICE,
            action="appointment.cancel",
            resource_type="appointment",
            resource_id=f"appt-{number}",
            outcome=AuditOutcome.SUCCEEDED,
        )

    assert trail.buffered == 3
    assert metric("buffered", "scheduling") == buffered_before + 3
    assert bus.seen == []

    trail.attach(jetstream_publisher(bus.client.jetstream(), source="scheduling"))
    records = await bus.wait_for(3)

    assert [record.resource_id for record in records] == ["appt-0", "appt-1", "appt-2"]
    assert trail.buffered == 0
    await trail.close()


async def test_the_background_retry_publishes_once_the_outage_ends(bus: Bus) -> None:
    real = jetstream_publisher(bus.client.jetstream(), source="triage")
    outage = {"on": True}

    async def flaky(payload: EventPayload) -> None:
        if outage["on"]:
            raise ConnectionError("NATS is down")
        await real(payload)

    trail = AuditTrail(flaky, source="triage", first_retry_seconds=0.01, max_retry_seconds=0.02)
    await trail.record(
        actor="anonymous",
        action="triage.assessment.read",
        resource_type="triage_assessment",
        resource_id="a-9",
        outcome=AuditOutcome.DENIED,
    )
    assert trail.buffered == 1

    outage["on"] = False
    [record] = await bus.wait_for(1)

    assert record.resource_id == "a-9"
    await trail.close()
    assert trail.buffered == 0


async def test_a_full_buffer_keeps_the_oldest_records_and_counts_the_dropped_one() -> None:
    trail = AuditTrail(None, source="gateway", max_buffered=2)
    dropped_before = metric("dropped", "gateway")

    for number in range(3):
        await trail.record(
            actor="anonymous",
            action="auth.token_rejected",
            resource_type="access_token",
            resource_id=f"t-{number}",
            outcome=AuditOutcome.DENIED,
        )

    assert trail.buffered == 2
    assert metric("dropped", "gateway") == dropped_before + 1
    published: list[str] = []

    async def keep(payload: EventPayload) -> None:
        assert isinstance(payload, AuditRecordAppended)
        published.append(payload.resource_id)

    trail.attach(keep)
    assert await trail.flush()
    assert published == ["t-0", "t-1"]
    await trail.close()
