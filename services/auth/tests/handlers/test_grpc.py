"""AuthService over gRPC.

Token verification with revocation, user management for admins only, guest sessions (whose
upgrade is announced on JetStream so the services re-key the guest's records), and Keycloak mode
where the built-in user store is switched off.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import grpc
import pytest
from nats.js import JetStreamContext
from voiceassist.auth.v1 import auth_pb2, auth_pb2_grpc
from voiceassist.common.v1 import identity_pb2
from voiceassist_auth.handlers.grpc import AuthServicer, upgrade_event_id
from voiceassist_auth.provider import Provider
from voiceassist_common.events import Event, EventPayload, GuestSessionUpgraded, parse_event
from voiceassist_common.grpc.client import create_channel
from voiceassist_common.grpc.server import start_grpc_server
from voiceassist_common.messaging import AUTH, connect, ensure_streams, publish
from voiceassist_common.tokens import JwksCache, Role, TokenVerifier

from ..conftest import Running

pytestmark = pytest.mark.integration

PASSWORD = "a long enough passphrase"


@contextlib.asynccontextmanager
async def serve(servicer: AuthServicer) -> AsyncIterator[auth_pb2_grpc.AuthServiceAsyncStub]:
    def register(server: grpc.aio.Server) -> tuple[str, ...]:
        auth_pb2_grpc.add_AuthServiceServicer_to_server(servicer, server)
        return ("voiceassist.auth.v1.AuthService",)

    server = await start_grpc_server("127.0.0.1:0", register)
    try:
        async with create_channel(f"127.0.0.1:{server.port}") as channel:
            yield auth_pb2_grpc.AuthServiceStub(channel)
    finally:
        await server.stop(0)


@dataclass
class Announcements:
    """A publisher keeping what it is given; ``failing`` makes it refuse, like a NATS outage."""

    events: list[Event[EventPayload]] = field(default_factory=list)
    failing: bool = False

    async def __call__(self, event: Event[EventPayload]) -> None:
        if self.failing:
            raise ConnectionError("no JetStream acknowledgement")
        self.events.append(event)

    def upgrades(self) -> list[GuestSessionUpgraded]:
        return [e.payload for e in self.events if isinstance(e.payload, GuestSessionUpgraded)]


@pytest.fixture
async def js(nats_url: str) -> AsyncIterator[JetStreamContext]:
    client = await connect(nats_url, name="auth-grpc-test", max_wait_seconds=10)
    try:
        context = client.jetstream()
        await ensure_streams(context, (AUTH,))
        yield context
    finally:
        await client.close()


@pytest.fixture
def announcements() -> Announcements:
    return Announcements()


@pytest.fixture
async def stub(
    running: Running, announcements: Announcements
) -> AsyncIterator[auth_pb2_grpc.AuthServiceAsyncStub]:
    async with serve(AuthServicer(running.provider, publish=announcements)) as stub:
        yield stub


async def token_for(provider: Provider, email: str, role: Role) -> tuple[str, str]:
    """Sign a user in directly through the provider (the HTTP flow is tested elsewhere)."""
    user = await provider.create_user(
        email=email, display_name="Sam", roles=frozenset({role}), password=PASSWORD
    )
    session = await provider.open_session(user, "voiceassist-web", ("pwd", "otp"), "127.0.0.1")
    client = provider.clients["voiceassist-web"]
    code = await provider.issue_code(
        session,
        client_id=client.id,
        redirect_uri="http://127.0.0.1:8080/auth/callback",
        scope="openid profile email",
        nonce=None,
        code_challenge=None,
    )
    tokens = await provider.exchange_code(client, code, "http://127.0.0.1:8080/auth/callback", None)
    return tokens["access_token"], str(user.id)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_verify_token_accepts_a_live_token_and_reports_a_revoked_one(
    running: Running, stub: auth_pb2_grpc.AuthServiceAsyncStub
) -> None:
    token, user_id = await token_for(running.provider, "sam@example.org", Role.PATIENT)

    live = await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=token))
    assert live.active
    assert live.principal.subject == user_id
    assert list(live.principal.roles) == [identity_pb2.ROLE_PATIENT]
    assert live.principal.mfa_verified

    await running.provider.store.revoke_session(
        live.principal.session_id, "logout", running.provider.clock()
    )
    revoked = await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=token))
    assert not revoked.active
    assert revoked.rejection == auth_pb2.TOKEN_REJECTION_REVOKED

    garbage = await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token="not.a.token"))
    assert garbage.rejection == auth_pb2.TOKEN_REJECTION_MALFORMED


async def test_only_admins_manage_users_and_each_change_is_audited(
    running: Running, stub: auth_pb2_grpc.AuthServiceAsyncStub
) -> None:
    admin, admin_id = await token_for(running.provider, "admin@example.org", Role.ADMIN)
    patient, patient_id = await token_for(running.provider, "pat@example.org", Role.PATIENT)

    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await stub.ListUsers(auth_pb2.ListUsersRequest(), metadata=bearer(patient))
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.ListUsers(auth_pb2.ListUsersRequest())
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED

    invited = await stub.InviteUser(
        auth_pb2.InviteUserRequest(
            email="New.Doc@Example.org",
            display_name="New Doc",
            roles=[identity_pb2.ROLE_CLINICIAN],
            practitioner_id="pr-7",
        ),
        metadata=bearer(admin),
    )
    assert invited.user.email == "new.doc@example.org"
    assert not invited.user.email_verified
    assert "set-password?token=" in running.outbox.sent[-1].body
    with pytest.raises(grpc.aio.AioRpcError) as duplicate:
        await stub.InviteUser(
            auth_pb2.InviteUserRequest(
                email="new.doc@example.org", display_name="Again", roles=[identity_pb2.ROLE_PATIENT]
            ),
            metadata=bearer(admin),
        )
    assert duplicate.value.code() == grpc.StatusCode.ALREADY_EXISTS

    listed = await stub.ListUsers(
        auth_pb2.ListUsersRequest(roles=[identity_pb2.ROLE_CLINICIAN]), metadata=bearer(admin)
    )
    assert [user.email for user in listed.users] == ["new.doc@example.org"]

    changed = await stub.SetUserRoles(
        auth_pb2.SetUserRolesRequest(user_id=patient_id, roles=[identity_pb2.ROLE_CLINICIAN]),
        metadata=bearer(admin),
    )
    assert list(changed.user.roles) == [identity_pb2.ROLE_CLINICIAN]
    # The role change ended the patient's session: their old token no longer verifies.
    assert not (await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=patient))).active

    disabled = await stub.SetUserEnabled(
        auth_pb2.SetUserEnabledRequest(user_id=patient_id, enabled=False), metadata=bearer(admin)
    )
    assert not disabled.user.enabled
    reset = await stub.ResetUserMfa(
        auth_pb2.ResetUserMfaRequest(user_id=patient_id), metadata=bearer(admin)
    )
    assert not reset.user.mfa_enrolled
    assert {
        "auth.user_invited",
        "auth.role_changed",
        "auth.user_disabled",
        "auth.mfa_reset",
    } <= set(running.audit.actions())
    assert all(
        r.actor_id == admin_id for r in running.audit.records if r.action == "auth.role_changed"
    )

    for request, code in (
        (auth_pb2.GetUserRequest(user_id="not-a-uuid"), grpc.StatusCode.INVALID_ARGUMENT),
        (
            auth_pb2.GetUserRequest(user_id="00000000-0000-0000-0000-000000000000"),
            grpc.StatusCode.NOT_FOUND,
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await stub.GetUser(request, metadata=bearer(admin))
        assert error.value.code() == code


async def test_a_guest_session_is_limited_and_can_be_upgraded_once(
    running: Running, stub: auth_pb2_grpc.AuthServiceAsyncStub, announcements: Announcements
) -> None:
    guest = await stub.CreateGuestSession(auth_pb2.CreateGuestSessionRequest())
    assert guest.guest_subject.startswith("guest-")
    verified = await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=guest.access_token))
    assert verified.principal.guest
    assert list(verified.principal.scopes) == ["guest", "openid"]
    assert list(verified.principal.roles) == [identity_pb2.ROLE_PATIENT]

    token, user_id = await token_for(running.provider, "sam@example.org", Role.PATIENT)
    upgraded = await stub.UpgradeGuestSession(
        auth_pb2.UpgradeGuestSessionRequest(guest_access_token=guest.access_token, user_id=user_id),
        metadata=bearer(token),
    )
    assert upgraded.guest_subject == guest.guest_subject
    assert upgraded.user.user_id == user_id
    assert not (
        await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=guest.access_token))
    ).active
    # Triage and scheduling learn which guest's records now belong to which account.
    [announced] = announcements.upgrades()
    assert (announced.guest_subject, announced.user_subject) == (guest.guest_subject, user_id)
    assert "auth.guest_upgraded" in running.audit.actions()

    # Someone else who got hold of the guest token cannot take the records a second time.
    other, other_id = await token_for(running.provider, "kim@example.org", Role.PATIENT)
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await stub.UpgradeGuestSession(
            auth_pb2.UpgradeGuestSessionRequest(
                guest_access_token=guest.access_token, user_id=other_id
            ),
            metadata=bearer(other),
        )
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert len(announcements.upgrades()) == 1


async def test_an_upgrade_the_services_were_not_told_about_is_finished_by_calling_again(
    running: Running, stub: auth_pb2_grpc.AuthServiceAsyncStub, announcements: Announcements
) -> None:
    guest = await stub.CreateGuestSession(auth_pb2.CreateGuestSessionRequest())
    token, user_id = await token_for(running.provider, "sam@example.org", Role.PATIENT)
    request = auth_pb2.UpgradeGuestSessionRequest(
        guest_access_token=guest.access_token, user_id=user_id
    )

    announcements.failing = True
    with pytest.raises(grpc.aio.AioRpcError) as lost:
        await stub.UpgradeGuestSession(request, metadata=bearer(token))
    assert lost.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "call again" in (lost.value.details() or "")

    announcements.failing = False
    finished = await stub.UpgradeGuestSession(request, metadata=bearer(token))
    again = await stub.UpgradeGuestSession(request, metadata=bearer(token))

    assert finished.guest_subject == again.guest_subject == guest.guest_subject
    # Both announcements carry one event id: JetStream stores the upgrade once.
    assert {event.event_id for event in announcements.events} == {
        upgrade_event_id(guest.guest_subject)
    }
    assert {(u.guest_subject, u.user_subject) for u in announcements.upgrades()} == {
        (guest.guest_subject, user_id)
    }


async def test_an_account_cannot_claim_a_guest_session_for_another_account(
    running: Running, stub: auth_pb2_grpc.AuthServiceAsyncStub, announcements: Announcements
) -> None:
    guest = await stub.CreateGuestSession(auth_pb2.CreateGuestSessionRequest())
    token, _ = await token_for(running.provider, "sam@example.org", Role.PATIENT)
    _, other_id = await token_for(running.provider, "kim@example.org", Role.PATIENT)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await stub.UpgradeGuestSession(
            auth_pb2.UpgradeGuestSessionRequest(
                guest_access_token=guest.access_token, user_id=other_id
            ),
            metadata=bearer(token),
        )

    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert announcements.upgrades() == []
    assert (await stub.VerifyToken(auth_pb2.VerifyTokenRequest(token=guest.access_token))).active


async def test_the_upgrade_is_stored_in_the_auth_stream(
    running: Running, js: JetStreamContext
) -> None:
    async def to_jetstream(event: Event[EventPayload]) -> None:
        await publish(js, event)

    async with serve(AuthServicer(running.provider, publish=to_jetstream)) as stub:
        guest = await stub.CreateGuestSession(auth_pb2.CreateGuestSessionRequest())
        token, user_id = await token_for(running.provider, "sam@example.org", Role.PATIENT)
        await stub.UpgradeGuestSession(
            auth_pb2.UpgradeGuestSessionRequest(
                guest_access_token=guest.access_token, user_id=user_id
            ),
            metadata=bearer(token),
        )

    stored = await js.get_last_msg(AUTH.name, GuestSessionUpgraded.subject)
    event = parse_event(stored.data or b"", subject=GuestSessionUpgraded.subject)
    assert isinstance(event.payload, GuestSessionUpgraded)
    assert (event.payload.guest_subject, event.payload.user_subject) == (
        guest.guest_subject,
        user_id,
    )


async def test_in_keycloak_mode_user_calls_answer_failed_precondition() -> None:
    verifier = TokenVerifier(
        "https://keycloak.example/realms/voiceassist",
        "voiceassist-api",
        JwksCache(jwks_uri="https://keycloak.example/certs"),
    )
    async with serve(AuthServicer(None, verifier)) as stub:
        calls: tuple[Callable[[], Awaitable[object]], ...] = (
            lambda: stub.ListUsers(auth_pb2.ListUsersRequest()),
            lambda: stub.CreateGuestSession(auth_pb2.CreateGuestSessionRequest()),
            lambda: stub.InviteUser(auth_pb2.InviteUserRequest(email="a@b.org")),
        )
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await call()
            assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "Keycloak" in (error.value.details() or "")
