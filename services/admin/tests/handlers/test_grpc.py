"""Administering users: each change reaches the identity provider and leaves an audit record.

The provider is the in-memory `IdentityProvisioner` adapter; the audit trail is the real
`AuditTrail` with a publisher that keeps what it is given.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, cast

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from voiceassist.admin.v1 import admin_pb2
from voiceassist.common.v1 import clinical_pb2, identity_pb2, time_window_pb2
from voiceassist_admin.adapters.analytics_store import PostgresAnalyticsStore
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.memory_provisioner import InMemoryProvisioner
from voiceassist_admin.domain.analytics import (
    BookingConversion,
    LevelConversion,
    LevelCount,
    NamedCount,
    StageLatency,
    TriageSummary,
    VoiceLatency,
    VoiceStage,
    Window,
)
from voiceassist_admin.handlers.grpc import SERVICE, AdminService
from voiceassist_common.audit import AuditTrail
from voiceassist_common.errors import CapabilityNotBuilt, InvalidArgument, NotFound
from voiceassist_common.events import AuditRecordAppended, EventPayload, UrgencyLevel
from voiceassist_common.grpc.principal import Callers


class FakeContext:
    def __init__(self, request_id: str = "req-1") -> None:
        self.metadata = (("x-request-id", request_id),)

    def invocation_metadata(self) -> Any:
        return self.metadata


@pytest.fixture
def records() -> list[AuditRecordAppended]:
    return []


@pytest.fixture
def provisioner() -> InMemoryProvisioner:
    return InMemoryProvisioner()


@pytest.fixture
def service(records: list[AuditRecordAppended], provisioner: InMemoryProvisioner) -> AdminService:
    async def keep(payload: EventPayload) -> None:
        assert isinstance(payload, AuditRecordAppended)
        records.append(payload)

    return AdminService(
        callers=Callers.unverified("test"),
        provisioner=provisioner,
        store=cast(PostgresAuditStore, None),  # the user RPCs never read the trail
        audit=AuditTrail(keep, source="admin"),
    )


def context() -> Any:
    return FakeContext()


async def test_inviting_a_clinician_creates_them_and_audits_the_invitation(
    service: AdminService, records: list[AuditRecordAppended]
) -> None:
    response = await service.InviteUser(
        admin_pb2.InviteUserRequest(
            email="dr.new@clinic.example",
            display_name="Dr New",
            roles=[identity_pb2.ROLE_CLINICIAN],
        ),
        context(),
    )

    assert response.user.email == "dr.new@clinic.example"
    assert list(response.user.roles) == [identity_pb2.ROLE_CLINICIAN]
    [record] = records
    assert (record.action, record.resource_type, record.resource_id, record.outcome) == (
        "admin.user.invite",
        "user",
        response.user.user_id,
        "succeeded",
    )
    assert record.request_id == "req-1"
    # The e-mail address stays with the identity provider, out of the trail.
    assert "dr.new" not in record.model_dump_json()


async def test_role_change_disable_and_mfa_reset_each_leave_a_record(
    service: AdminService, records: list[AuditRecordAppended]
) -> None:
    invited = await service.InviteUser(
        admin_pb2.InviteUserRequest(email="a@b.example", roles=[identity_pb2.ROLE_PATIENT]),
        context(),
    )
    user_id = invited.user.user_id

    promoted = await service.SetUserRoles(
        admin_pb2.SetUserRolesRequest(user_id=user_id, roles=[identity_pb2.ROLE_ADMIN]), context()
    )
    disabled = await service.SetUserEnabled(
        admin_pb2.SetUserEnabledRequest(user_id=user_id, enabled=False), context()
    )
    await service.ResetUserMfa(admin_pb2.ResetUserMfaRequest(user_id=user_id), context())

    assert list(promoted.user.roles) == [identity_pb2.ROLE_ADMIN]
    assert not disabled.user.enabled
    assert [r.action for r in records] == [
        "admin.user.invite",
        "auth.role_changed",
        "admin.user.disable",
        "auth.mfa_reset",
    ]
    assert {r.resource_id for r in records} == {user_id}


async def test_a_change_to_an_unknown_user_fails_and_is_audited_as_failed(
    service: AdminService, records: list[AuditRecordAppended]
) -> None:
    with pytest.raises(NotFound):
        await service.ResetUserMfa(admin_pb2.ResetUserMfaRequest(user_id="u-404"), context())

    [record] = records
    assert (record.action, record.resource_id, record.outcome) == (
        "auth.mfa_reset",
        "u-404",
        "failed",
    )


async def test_an_unspecified_role_is_refused_before_reaching_the_provider(
    service: AdminService, provisioner: InMemoryProvisioner
) -> None:
    with pytest.raises(InvalidArgument):
        await service.InviteUser(
            admin_pb2.InviteUserRequest(email="x@y.example", roles=[identity_pb2.ROLE_UNSPECIFIED]),
            context(),
        )
    assert provisioner.users == {}


class FakeAnalytics:
    """Answers the reports with fixed numbers and keeps the windows it was asked for."""

    def __init__(self) -> None:
        self.windows: list[Window] = []

    async def triage_summary(self, window: Window, *, top_conditions: int) -> TriageSummary:
        self.windows.append(window)
        return TriageSummary(
            total_assessments=3,
            by_level=(
                LevelCount(UrgencyLevel.EMERGENCY, 1),
                LevelCount(UrgencyLevel.SELF_CARE, 2),
            ),
            top_conditions=(NamedCount("common_cold", "Common cold", 2),),
            red_flags=(NamedCount("stroke_signs", "Stroke signs", 1),),
        )

    async def booking_conversion(self, window: Window) -> BookingConversion:
        self.windows.append(window)
        return BookingConversion(
            by_level=(LevelConversion(UrgencyLevel.SELF_CARE, 4, 1),), cancelled=2
        )

    async def voice_latency(self, window: Window) -> VoiceLatency:
        self.windows.append(window)
        return VoiceLatency(
            (StageLatency(VoiceStage.END_OF_SPEECH_TO_FIRST_REPLY_AUDIO, 7, 0.5, 0.9, 1.25),)
        )


@pytest.fixture
def analytics() -> FakeAnalytics:
    return FakeAnalytics()


@pytest.fixture
def analyst(service: AdminService, analytics: FakeAnalytics) -> AdminService:
    service._analytics = cast(PostgresAnalyticsStore, analytics)
    return service


async def test_analytics_answer_in_the_contracts_enums_and_durations(
    analyst: AdminService, analytics: FakeAnalytics
) -> None:
    start = Timestamp(seconds=1_790_000_000)
    end = Timestamp(seconds=1_790_086_400)
    window = time_window_pb2.TimeWindow(start_time=start, end_time=end)

    triage = await analyst.GetTriageSummary(
        admin_pb2.GetTriageSummaryRequest(window=window), context()
    )
    bookings = await analyst.GetBookingConversion(
        admin_pb2.GetBookingConversionRequest(window=window), context()
    )
    voice = await analyst.GetVoiceLatency(
        admin_pb2.GetVoiceLatencyRequest(window=window), context()
    )

    assert [(row.level, row.count) for row in triage.by_level] == [
        (clinical_pb2.URGENCY_LEVEL_EMERGENCY, 1),
        (clinical_pb2.URGENCY_LEVEL_SELF_CARE, 2),
    ]
    assert triage.top_conditions[0].name == "Common cold"
    assert triage.red_flags[0].red_flag_id == "stroke_signs"
    assert (bookings.bookable_assessments, bookings.booked, bookings.cancelled) == (4, 1, 2)
    assert bookings.rate == 0.25
    assert bookings.by_level[0].level == clinical_pb2.URGENCY_LEVEL_SELF_CARE
    [stage] = voice.stages
    assert stage.stage == admin_pb2.VOICE_STAGE_END_OF_SPEECH_TO_FIRST_REPLY_AUDIO
    assert (stage.p50.ToMilliseconds(), stage.p99.ToMilliseconds()) == (500, 1250)
    assert analytics.windows[0] == Window(start.ToDatetime(UTC), end.ToDatetime(UTC))


async def test_an_analytics_window_ending_before_it_starts_is_refused(
    analyst: AdminService,
) -> None:
    window = time_window_pb2.TimeWindow(
        start_time=Timestamp(seconds=1_790_000_000), end_time=Timestamp(seconds=1_789_000_000)
    )
    with pytest.raises(InvalidArgument, match=r"window\.end_time"):
        await analyst.GetVoiceLatency(admin_pb2.GetVoiceLatencyRequest(window=window), context())


async def test_analytics_without_a_store_name_the_missing_capability(
    service: AdminService,
) -> None:
    assert SERVICE.full_name == "voiceassist.admin.v1.AdminService"
    with pytest.raises(CapabilityNotBuilt, match="analytics store"):
        await service.GetVoiceLatency(admin_pb2.GetVoiceLatencyRequest(), context())
