"""Administering users: each change reaches the identity provider and leaves an audit record.

The provider is the in-memory `IdentityProvisioner` adapter; the audit trail is the real
`AuditTrail` with a publisher that keeps what it is given.
"""

from __future__ import annotations

from typing import Any, cast

import pytest
from voiceassist.admin.v1 import admin_pb2
from voiceassist.common.v1 import identity_pb2
from voiceassist_admin.adapters.audit_store import PostgresAuditStore
from voiceassist_admin.adapters.memory_provisioner import InMemoryProvisioner
from voiceassist_admin.handlers.grpc import SERVICE, AdminService
from voiceassist_common.audit import AuditTrail
from voiceassist_common.errors import CapabilityNotBuilt, InvalidArgument, NotFound
from voiceassist_common.events import AuditRecordAppended, EventPayload
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


async def test_analytics_still_names_the_missing_capability(service: AdminService) -> None:
    assert SERVICE.full_name == "voiceassist.admin.v1.AdminService"
    with pytest.raises(CapabilityNotBuilt, match="issue #7"):
        await service.GetVoiceLatency(admin_pb2.GetVoiceLatencyRequest(), context())
