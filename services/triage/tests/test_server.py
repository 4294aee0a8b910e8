"""The triage process migrates its schema, serves triage over gRPC, records and announces it.

The process runs as `make up` runs it (``python -m voiceassist_triage``), against a real
PostgreSQL migrated by its own ``migrate`` command and a real NATS with JetStream.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
import pytest
from nats.js.errors import NotFoundError
from voiceassist.common.v1 import clinical_pb2
from voiceassist.triage.v1 import triage_pb2, triage_pb2_grpc
from voiceassist_common.events import GuestSessionUpgraded, new_event, parse_event
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.messaging import AUTH, connect, ensure_streams, publish
from voiceassist_common.testing import (
    assert_migrate_creates_schema,
    health_status,
    reflected_services,
    sample_value,
    scrape_metrics,
    service_process,
)
from voiceassist_triage.server import SCHEMA

pytestmark = pytest.mark.integration

CARDIAC_CHEST_PAIN = [
    triage_pb2.Evidence(evidence_id="E_53", present=True),
    triage_pb2.Evidence(evidence_id="E_55", value_id="V_101"),
    triage_pb2.Evidence(evidence_id="E_57", value_id="V_121"),
]


async def test_migrate_creates_the_schema_and_its_tables_and_can_run_again(
    fresh_postgres_dsn: str,
) -> None:
    await assert_migrate_creates_schema("voiceassist_triage", SCHEMA, fresh_postgres_dsn)

    connection = await asyncpg.connect(fresh_postgres_dsn)
    try:
        tables = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", SCHEMA
        )
    finally:
        await connection.close()
    assert {row["table_name"] for row in tables} >= {"assessments", "alembic_version"}


async def last_announced(nats_url: str) -> UUID | None:
    """Return the event id of the newest triage.completed in the TRIAGE stream, if any."""
    client = await connect(nats_url, name="triage-server-test", max_wait_seconds=10)
    try:
        stored = await client.jetstream().get_last_msg("TRIAGE", "triage.completed")
    except NotFoundError:
        return None
    finally:
        await client.close()
    return parse_event(stored.data).event_id if stored.data else None


async def test_the_service_triages_records_and_announces(
    fresh_postgres_dsn: str, nats_url: str
) -> None:
    await assert_migrate_creates_schema("voiceassist_triage", SCHEMA, fresh_postgres_dsn)
    env = {"DATABASE_URL": fresh_postgres_dsn, "NATS_URL": nats_url}

    async with service_process("voiceassist_triage", env=env) as service:
        async with create_channel(service.grpc_address) as channel:
            name = "voiceassist.triage.v1.TriageService"
            assert await health_status(channel, name) == "SERVING"
            assert name in await reflected_services(channel)
            stub = triage_pb2_grpc.TriageServiceStub(channel)
            request = triage_pb2.TriageRequest(
                patient=triage_pb2.Patient(age_years=58, sex=triage_pb2.SEX_MALE),
                evidence=CARDIAC_CHEST_PAIN,
                patient_subject="patient-1",
            )

            # The service dials NATS in the background; once connected, each Triage's event
            # is in the stream when the call returns.
            announced: UUID | None = None
            async with asyncio.timeout(60):
                while announced is None:
                    response = await stub.Triage(request, timeout=30)
                    assert response.outcome.level == clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE
                    assessment_id = UUID(response.assessment_id)
                    if await last_announced(nats_url) == assessment_id:
                        announced = assessment_id

            read = await stub.GetAssessment(
                triage_pb2.GetAssessmentRequest(assessment_id=str(announced)), timeout=30
            )
            assert read.assessment.outcome.level == clinical_pb2.URGENCY_LEVEL_EMERGENCY_AMBULANCE
            assert [f.evidence_id for f in read.assessment.findings] == ["E_53", "E_55", "E_57"]
            listed = await stub.ListAssessments(
                triage_pb2.ListAssessmentsRequest(patient_subject="patient-1"), timeout=30
            )
            assert listed.assessments[0].assessment_id == str(announced)

        metrics = await scrape_metrics(service)
        ambulances = sample_value(
            metrics, "voiceassist_triage_outcomes_total", level="emergency_ambulance"
        )
        assert ambulances is not None
        assert ambulances >= 1
        assert sample_value(metrics, "voiceassist_triage_turn_seconds_count", rpc="Triage")


async def test_a_guests_assessment_moves_to_the_account_they_sign_up_with(
    fresh_postgres_dsn: str, nats_url: str
) -> None:
    await assert_migrate_creates_schema("voiceassist_triage", SCHEMA, fresh_postgres_dsn)
    env = {"DATABASE_URL": fresh_postgres_dsn, "NATS_URL": nats_url}
    guest, account = f"guest-{uuid4()}", str(uuid4())
    client = await connect(nats_url, name="triage-server-test", max_wait_seconds=10)
    js = client.jetstream()
    await ensure_streams(js, (AUTH,))
    try:
        async with (
            service_process("voiceassist_triage", env=env) as service,
            create_channel(service.grpc_address) as channel,
        ):
            stub = triage_pb2_grpc.TriageServiceStub(channel)
            as_guest = await stub.Triage(
                triage_pb2.TriageRequest(
                    patient=triage_pb2.Patient(age_years=58, sex=triage_pb2.SEX_MALE),
                    evidence=CARDIAC_CHEST_PAIN,
                    patient_subject=guest,
                ),
                timeout=30,
            )
            upgrade = GuestSessionUpgraded(
                guest_subject=guest, user_subject=account, upgraded_at=datetime.now(UTC)
            )
            await publish(js, new_event(upgrade, source="auth"))

            # The service consumes in the background, once its own NATS link is up.
            mine: list[str] = []
            async with asyncio.timeout(60):
                while not mine:
                    listed = await stub.ListAssessments(
                        triage_pb2.ListAssessmentsRequest(patient_subject=account), timeout=30
                    )
                    mine = [a.assessment_id for a in listed.assessments]
                    await asyncio.sleep(0.1)
            left = await stub.ListAssessments(
                triage_pb2.ListAssessmentsRequest(patient_subject=guest), timeout=30
            )
    finally:
        await client.close()

    assert mine == [as_guest.assessment_id]
    assert list(left.assessments) == []
