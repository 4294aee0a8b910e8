"""The admin process stores what other services publish: audit records and analytics facts.

Runs the real process against a real PostgreSQL (migrated with its own ``migrate`` command) and
the session's NATS: a record published by another service through `AuditTrail` comes back from
ListAuditEvents, and VerifyAuditChain reports the chain intact; triage, booking and voice-turn
events published on their streams show in the analytics RPCs.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.admin.v1 import admin_pb2, admin_pb2_grpc
from voiceassist.common.v1 import clinical_pb2, time_window_pb2
from voiceassist_admin.server import SCHEMA
from voiceassist_common.audit import AuditTrail, jetstream_publisher
from voiceassist_common.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AuditOutcome,
    CancellationReason,
    ConditionProbability,
    EventPayload,
    TriageCompleted,
    TurnLatencies,
    UrgencyLevel,
    VoiceTurnCompleted,
    new_event,
)
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.messaging import connect, ensure_streams, publish
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


# Far from any other test's events on the session's streams (the consumers read them all).
WHEN = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


def _window() -> time_window_pb2.TimeWindow:
    start, end = Timestamp(), Timestamp()
    start.FromDatetime(WHEN - timedelta(hours=1))
    end.FromDatetime(WHEN + timedelta(hours=1))
    return time_window_pb2.TimeWindow(start_time=start, end_time=end)


def _facts() -> list[tuple[EventPayload, str]]:
    assessment = uuid4()
    appointment = uuid4()
    triaged = TriageCompleted(
        assessment_id=assessment,
        level=UrgencyLevel.CONSULTATION,
        red_flags=(),
        conditions=(ConditionProbability(condition_id="viral_pharyngitis", probability=0.8),),
        language="en",
        questions_asked=4,
        knowledge_version="2026.12.0",
    )
    booked = AppointmentBooked(
        appointment_id=appointment,
        practitioner_id=uuid4(),
        practice_id=uuid4(),
        start_time=WHEN + timedelta(days=1),
        end_time=WHEN + timedelta(days=1, minutes=15),
        patient_subject="patient-1",
        urgency=UrgencyLevel.CONSULTATION,
        triage_assessment_id=assessment,
    )
    cancelled = AppointmentCancelled(
        appointment_id=appointment,
        practitioner_id=booked.practitioner_id,
        start_time=booked.start_time,
        end_time=booked.end_time,
        reason=CancellationReason.PATIENT_REQUEST,
    )
    turn = VoiceTurnCompleted(
        session_id=uuid4(),
        turn_index=0,
        latencies=TurnLatencies(
            stt_seconds=0.25,
            reasoning_seconds=0.05,
            tts_first_audio_seconds=0.2,
            end_of_speech_to_first_audio_seconds=0.5,
        ),
    )
    return [
        (triaged, "triage"),
        (booked, "scheduling"),
        (cancelled, "scheduling"),
        (turn, "voice-proxy"),
    ]


async def test_published_facts_show_in_the_analytics(
    fresh_postgres_dsn: str, nats_url: str
) -> None:
    await assert_migrate_creates_schema("voiceassist_admin", SCHEMA, fresh_postgres_dsn)
    client = await connect(nats_url, name="admin-analytics-test", max_wait_seconds=10)
    js = client.jetstream()
    await ensure_streams(js)
    env = {"DATABASE_URL": fresh_postgres_dsn, "NATS_URL": nats_url, "VOICEASSIST_ENV": "test"}
    try:
        async with service_process("voiceassist_admin", env=env) as service:
            for payload, source in _facts():
                event = new_event(payload, source=source, occurred_at=WHEN)
                await publish(js, event)
            async with create_channel(service.grpc_address) as channel:
                stub = admin_pb2_grpc.AdminServiceStub(channel)
                window = _window()
                for _ in range(300):  # the consumers store the facts shortly after
                    voice = await stub.GetVoiceLatency(
                        admin_pb2.GetVoiceLatencyRequest(window=window)
                    )
                    bookings = await stub.GetBookingConversion(
                        admin_pb2.GetBookingConversionRequest(window=window)
                    )
                    if voice.stages and bookings.booked and bookings.cancelled:
                        break
                    await asyncio.sleep(0.05)
                triage = await stub.GetTriageSummary(
                    admin_pb2.GetTriageSummaryRequest(window=window)
                )
    finally:
        await client.close()

    assert triage.total_assessments == 1
    assert [(row.level, row.count) for row in triage.by_level] == [
        (clinical_pb2.URGENCY_LEVEL_CONSULTATION, 1)
    ]
    [condition] = triage.top_conditions
    assert (condition.condition_id, condition.name, condition.icd10) == (
        "viral_pharyngitis",
        "Viral pharyngitis",
        "",
    )
    assert (bookings.bookable_assessments, bookings.booked, bookings.rate) == (1, 1, 1.0)
    assert bookings.cancelled == 1
    audio = voice.stages[-1]
    assert audio.stage == admin_pb2.VOICE_STAGE_END_OF_SPEECH_TO_FIRST_REPLY_AUDIO
    assert audio.count == 1
    assert audio.p50.ToMilliseconds() == 500
