"""gRPC entry point of the admin service: ``voiceassist.admin.v1.AdminService``.

User administration (list, invite, roles, enable/disable, MFA reset) goes to the configured
identity provider through `IdentityProvisioner`; the audit RPCs read the hash-chained trail.
Only admins may call any of it: the caller is the user whose access token the gateway forwards
(`voiceassist_common.grpc.principal`), checked here again, not only at the gateway. Every user
change, and every read or check of the trail, is itself audited, with the outcome.

The analytics RPCs (triage summary, booking conversion, voice latency) read the facts the
analytics consumers stored (handlers/events.py) over the requested window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from voiceassist.admin.v1 import admin_pb2, admin_pb2_grpc
from voiceassist.common.v1 import clinical_pb2, identity_pb2, paging_pb2, time_window_pb2
from voiceassist_common.audit import AuditTrail
from voiceassist_common.errors import CapabilityNotBuilt, InvalidArgument, VoiceAssistError
from voiceassist_common.events import AuditOutcome, UrgencyLevel
from voiceassist_common.grpc.principal import Callers, bearer_token
from voiceassist_common.tokens import Principal, Role

from voiceassist_admin.adapters.analytics_store import PostgresAnalyticsStore
from voiceassist_admin.adapters.audit_store import (
    AuditFilter,
    InvalidPageTokenError,
    PostgresAuditStore,
)
from voiceassist_admin.adapters.protos import (
    language_from_proto,
    roles_from_proto,
    roles_to_proto,
    user_to_proto,
)
from voiceassist_admin.domain.analytics import (
    LevelCount,
    NamedCount,
    StageLatency,
    Window,
)
from voiceassist_admin.domain.audit import ChainedAuditEntry
from voiceassist_admin.domain.users import IdentityProvisioner, Invitation, UserQuery

SERVICE = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
# Only a servicer built without a database lacks the analytics store (unit tests, tools).
CAPABILITY = "the analytics store (this admin service runs without its database)"
REQUEST_ID_KEY = "x-request-id"

T = TypeVar("T")

_OUTCOME_TO_PROTO = {
    "succeeded": admin_pb2.AUDIT_OUTCOME_SUCCESS,
    "denied": admin_pb2.AUDIT_OUTCOME_DENIED,
    "failed": admin_pb2.AUDIT_OUTCOME_FAILED,
}
_ROLE_FROM_TEXT = {"patient": identity_pb2.ROLE_PATIENT, "clinician": identity_pb2.ROLE_CLINICIAN}
_ROLE_FROM_TEXT["admin"] = identity_pb2.ROLE_ADMIN
_URGENCY_TO_PROTO = {
    level: clinical_pb2.UrgencyLevel.Value(f"URGENCY_LEVEL_{level.name}") for level in UrgencyLevel
}

Context = grpc.aio.ServicerContext[Any, Any]


class AdminService(admin_pb2_grpc.AdminServiceServicer):
    """Users and the audit trail, for admins only."""

    def __init__(
        self,
        *,
        callers: Callers,
        provisioner: IdentityProvisioner,
        store: PostgresAuditStore,
        audit: AuditTrail,
        analytics: PostgresAnalyticsStore | None = None,
    ) -> None:
        self._callers = callers
        self._provisioner = provisioner
        self._store = store
        self._audit = audit
        self._analytics = analytics

    async def ListUsers(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.ListUsersRequest, context: Context
    ) -> admin_pb2.ListUsersResponse:
        """List users at the identity provider."""
        await self._admin(context)
        query = UserQuery(
            roles=_roles(request.roles),
            text=request.query,
            enabled=request.enabled if request.HasField("enabled") else None,
            page_size=request.page.page_size or 50,
            page_token=request.page.page_token,
        )
        page = await self._provisioner.list_users(query, access_token=_token(context))
        info = paging_pb2.PageInfo(next_page_token=page.next_page_token)
        if page.total_size is not None:
            info.total_size = page.total_size
        return admin_pb2.ListUsersResponse(
            users=[user_to_proto(user) for user in page.users], page_info=info
        )

    async def InviteUser(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.InviteUserRequest, context: Context
    ) -> admin_pb2.InviteUserResponse:
        """Invite a user with roles; audited as ``admin.user.invite``."""
        caller = await self._admin(context)
        if "@" not in request.email or len(request.email) > 254:
            raise InvalidArgument("email must be an e-mail address")
        invitation = Invitation(
            email=request.email,
            display_name=request.display_name,
            roles=_roles(request.roles),
            language=language_from_proto(request.language),
            practitioner_id=request.practitioner_id,
        )
        user = await self._audited(
            caller,
            context,
            "admin.user.invite",
            "new",
            self._provisioner.invite(invitation, access_token=_token(context)),
            resource_of=lambda account: account.user_id,
        )
        return admin_pb2.InviteUserResponse(user=user_to_proto(user))

    async def SetUserRoles(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.SetUserRolesRequest, context: Context
    ) -> admin_pb2.SetUserRolesResponse:
        """Replace a user's roles; audited as ``auth.role_changed``."""
        caller = await self._admin(context)
        user_id = _user_id(request.user_id)
        roles = _roles(request.roles)
        user = await self._audited(
            caller,
            context,
            "auth.role_changed",
            user_id,
            self._provisioner.set_roles(user_id, roles, access_token=_token(context)),
        )
        return admin_pb2.SetUserRolesResponse(user=user_to_proto(user))

    async def SetUserEnabled(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.SetUserEnabledRequest, context: Context
    ) -> admin_pb2.SetUserEnabledResponse:
        """Enable or disable a user; audited as ``admin.user.enable`` / ``admin.user.disable``."""
        caller = await self._admin(context)
        user_id = _user_id(request.user_id)
        action = "admin.user.enable" if request.enabled else "admin.user.disable"
        user = await self._audited(
            caller,
            context,
            action,
            user_id,
            self._provisioner.set_enabled(user_id, request.enabled, access_token=_token(context)),
        )
        return admin_pb2.SetUserEnabledResponse(user=user_to_proto(user))

    async def ResetUserMfa(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.ResetUserMfaRequest, context: Context
    ) -> admin_pb2.ResetUserMfaResponse:
        """Remove a user's MFA enrolment; audited as ``auth.mfa_reset``."""
        caller = await self._admin(context)
        user_id = _user_id(request.user_id)
        user = await self._audited(
            caller,
            context,
            "auth.mfa_reset",
            user_id,
            self._provisioner.reset_mfa(user_id, access_token=_token(context)),
        )
        return admin_pb2.ResetUserMfaResponse(user=user_to_proto(user))

    async def ListAuditEvents(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.ListAuditEventsRequest, context: Context
    ) -> admin_pb2.ListAuditEventsResponse:
        """List stored audit events, newest first; audited as ``admin.audit.list``."""
        caller = await self._admin(context)
        window = request.window
        filters = AuditFilter(
            actor_id=request.actor_subject,
            object_type=request.object_type,
            object_id=request.object_id,
            action=request.action,
            start_time=window.start_time.ToDatetime(tzinfo=UTC)
            if window.HasField("start_time")
            else None,
            end_time=window.end_time.ToDatetime(tzinfo=UTC)
            if window.HasField("end_time")
            else None,
        )
        try:
            page = await self._store.list(
                filters, page_size=request.page.page_size, page_token=request.page.page_token
            )
        except InvalidPageTokenError as error:
            raise InvalidArgument("page.page_token is not valid for these filters") from error
        await self._record(caller, context, "admin.audit.list", "trail", AuditOutcome.SUCCEEDED)
        return admin_pb2.ListAuditEventsResponse(
            events=[audit_event_to_proto(row) for row in page.rows],
            page_info=paging_pb2.PageInfo(
                next_page_token=page.next_page_token, total_size=page.total_size
            ),
        )

    async def VerifyAuditChain(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.VerifyAuditChainRequest, context: Context
    ) -> admin_pb2.VerifyAuditChainResponse:
        """Recompute the chain; audited as ``admin.audit.verify`` (failed when broken)."""
        caller = await self._admin(context)
        report = await self._store.verify()
        outcome = AuditOutcome.SUCCEEDED if report.intact else AuditOutcome.FAILED
        await self._record(caller, context, "admin.audit.verify", "trail", outcome)
        response = admin_pb2.VerifyAuditChainResponse(
            intact=report.intact, checked_count=report.checked, problem=report.problem
        )
        if report.first_broken_sequence is not None:
            response.first_broken_sequence = report.first_broken_sequence
        if report.first_broken_record_id is not None:
            response.first_broken_record_id = str(report.first_broken_record_id)
        response.verify_time.FromDatetime(datetime.now(UTC))
        return response

    async def GetTriageSummary(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.GetTriageSummaryRequest, context: Context
    ) -> admin_pb2.GetTriageSummaryResponse:
        """Count assessments per level, the conditions ranked first and the red flags."""
        await self._admin(context)
        summary = await self._analytics_store("GetTriageSummary").triage_summary(
            window_from_proto(request.window), top_conditions=request.top_conditions
        )
        return admin_pb2.GetTriageSummaryResponse(
            total_assessments=summary.total_assessments,
            by_level=[_level_count(row) for row in summary.by_level],
            top_conditions=[
                admin_pb2.ConditionCount(
                    condition_id=row.id, name=row.name, icd10=row.icd10, count=row.count
                )
                for row in summary.top_conditions
            ],
            red_flags=[_red_flag(row) for row in summary.red_flags],
        )

    async def GetBookingConversion(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.GetBookingConversionRequest, context: Context
    ) -> admin_pb2.GetBookingConversionResponse:
        """Measure how many bookable assessments led to a booking, and the cancellations."""
        await self._admin(context)
        conversion = await self._analytics_store("GetBookingConversion").booking_conversion(
            window_from_proto(request.window)
        )
        return admin_pb2.GetBookingConversionResponse(
            bookable_assessments=conversion.bookable_assessments,
            booked=conversion.booked,
            rate=conversion.rate,
            by_level=[
                admin_pb2.LevelConversion(
                    level=_URGENCY_TO_PROTO[row.level],
                    assessments=row.assessments,
                    booked=row.booked,
                    rate=row.rate,
                )
                for row in conversion.by_level
            ],
            cancelled=conversion.cancelled,
        )

    async def GetVoiceLatency(  # noqa: N802 - gRPC method name
        self, request: admin_pb2.GetVoiceLatencyRequest, context: Context
    ) -> admin_pb2.GetVoiceLatencyResponse:
        """Return the latency percentiles of each measured stage of a voice turn."""
        await self._admin(context)
        latency = await self._analytics_store("GetVoiceLatency").voice_latency(
            window_from_proto(request.window)
        )
        return admin_pb2.GetVoiceLatencyResponse(
            stages=[_stage_latency(row) for row in latency.stages]
        )

    def _analytics_store(self, operation: str) -> PostgresAnalyticsStore:
        if self._analytics is None:
            raise CapabilityNotBuilt(CAPABILITY, operation=operation)
        return self._analytics

    async def _admin(self, context: Context) -> Principal | None:
        return await self._callers.require_role(context, Role.ADMIN)

    async def _audited(
        self,
        caller: Principal | None,
        context: Context,
        action: str,
        resource_id: str,
        call: Awaitable[T],
        *,
        resource_of: Callable[[T], str] | None = None,
    ) -> T:
        try:
            result = await call
        except VoiceAssistError:
            await self._record(caller, context, action, resource_id, AuditOutcome.FAILED)
            raise
        if resource_of is not None:
            resource_id = resource_of(result)
        await self._record(caller, context, action, resource_id, AuditOutcome.SUCCEEDED)
        return result

    async def _record(
        self,
        caller: Principal | None,
        context: Context,
        action: str,
        resource_id: str,
        outcome: AuditOutcome,
    ) -> None:
        await self._audit.record(
            actor=caller if caller is not None else "unverified",
            action=action,
            resource_type="audit_trail" if action.startswith("admin.audit") else "user",
            resource_id=resource_id,
            outcome=outcome,
            request_id=_request_id(context),
        )


def audit_event_to_proto(row: ChainedAuditEntry) -> admin_pb2.AuditEvent:
    """Return a stored row as the API's AuditEvent."""
    entry = row.entry
    actor = identity_pb2.Actor(subject=entry.actor_id, guest=entry.actor_kind == "guest")
    if entry.actor_role in _ROLE_FROM_TEXT:
        actor.roles.append(_ROLE_FROM_TEXT[entry.actor_role])
    event = admin_pb2.AuditEvent(
        sequence=row.sequence,
        event_id=str(entry.event_id),
        actor=actor,
        action=entry.action,
        object_type=entry.object_type,
        object_id=entry.object_id,
        outcome=_OUTCOME_TO_PROTO.get(entry.outcome, admin_pb2.AUDIT_OUTCOME_UNSPECIFIED),
        request_id=entry.request_id or "",
        service=entry.source,
        previous_hash=row.prev_hash,
        hash=row.hash,
    )
    event.occur_time.FromDatetime(entry.occurred_at)
    return event


def window_from_proto(window: time_window_pb2.TimeWindow) -> Window:
    """Return the request's window; an end not after its start is refused."""
    start = window.start_time.ToDatetime(tzinfo=UTC) if window.HasField("start_time") else None
    end = window.end_time.ToDatetime(tzinfo=UTC) if window.HasField("end_time") else None
    if start is not None and end is not None and end <= start:
        raise InvalidArgument("window.end_time must be after window.start_time")
    return Window(start, end)


def _level_count(row: LevelCount) -> admin_pb2.LevelCount:
    return admin_pb2.LevelCount(level=_URGENCY_TO_PROTO[row.level], count=row.count)


def _red_flag(row: NamedCount) -> admin_pb2.RedFlagCount:
    return admin_pb2.RedFlagCount(red_flag_id=row.id, name=row.name, count=row.count)


def _stage_latency(row: StageLatency) -> admin_pb2.StageLatency:
    stage = admin_pb2.StageLatency(stage=int(row.stage), count=row.count)  # type: ignore[arg-type]
    stage.p50.FromNanoseconds(round(row.p50 * 1e9))
    stage.p95.FromNanoseconds(round(row.p95 * 1e9))
    stage.p99.FromNanoseconds(round(row.p99 * 1e9))
    return stage


def registrar(service: AdminService) -> Callable[[grpc.aio.Server], Sequence[str]]:
    """Return the `Register` function adding ``service`` to a server."""

    def register(server: grpc.aio.Server) -> Sequence[str]:
        admin_pb2_grpc.add_AdminServiceServicer_to_server(service, server)
        return (SERVICE.full_name,)

    return register


def _roles(values: Any) -> Any:
    try:
        return roles_from_proto(values)
    except ValueError as error:
        raise InvalidArgument("roles holds an unknown or unspecified role") from error


def _user_id(value: str) -> str:
    if not value or len(value) > 128 or not value.replace("-", "").isalnum():
        raise InvalidArgument("user_id must be a user id")
    return value


def _token(context: Context) -> str | None:
    return bearer_token(context.invocation_metadata())


def _request_id(context: Context) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key.lower() == REQUEST_ID_KEY and isinstance(value, str):
            return value
    return None


__all__ = [
    "SERVICE",
    "AdminService",
    "audit_event_to_proto",
    "registrar",
    "roles_to_proto",
    "window_from_proto",
]
