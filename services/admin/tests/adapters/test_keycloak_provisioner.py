"""Keycloak mode: the request shapes our adapter sends through python-keycloak's `KeycloakAdmin`.

Against the stand-in of Keycloak's admin API in conftest.py: the user representation, required
actions, role mappings, the invitation e-mail, MFA reset.
"""

from __future__ import annotations

from voiceassist_admin.adapters.keycloak_provisioner import CONFIGURE_TOTP
from voiceassist_admin.domain.users import Invitation, UserQuery
from voiceassist_common.tokens import Role

from .conftest import ROLES, Running


async def test_inviting_a_clinician_requires_totp_and_sends_the_actions_email(
    keycloak: Running,
) -> None:
    account = await keycloak.provisioner.invite(
        Invitation("dr.okafor@clinic.example", "Ada Okafor", frozenset({Role.CLINICIAN})),
        access_token=None,
    )

    stored = keycloak.fake.users[account.user_id]
    assert stored["username"] == stored["email"] == "dr.okafor@clinic.example"
    assert (stored["firstName"], stored["lastName"]) == ("Ada", "Okafor")
    assert CONFIGURE_TOTP in stored["requiredActions"]
    assert [r["name"] for r in keycloak.fake.role_mappings[account.user_id]] == ["clinician"]
    ((user_id, actions, client_id),) = keycloak.fake.action_emails
    assert user_id == account.user_id
    assert CONFIGURE_TOTP in actions
    assert client_id == "voiceassist-web"
    assert account.roles == frozenset({Role.CLINICIAN})
    assert account.email == "dr.okafor@clinic.example"


async def test_a_patient_invitation_does_not_require_totp(keycloak: Running) -> None:
    account = await keycloak.provisioner.invite(
        Invitation("sam@example.org", "Sam Lee", frozenset({Role.PATIENT})), access_token=None
    )

    assert CONFIGURE_TOTP not in keycloak.fake.users[account.user_id]["requiredActions"]


async def test_changing_roles_keeps_keycloaks_own_roles(keycloak: Running) -> None:
    account = await keycloak.provisioner.invite(
        Invitation("sam@example.org", "Sam Lee", frozenset({Role.PATIENT})), access_token=None
    )
    keycloak.fake.role_mappings[account.user_id].append(ROLES["offline_access"])

    changed = await keycloak.provisioner.set_roles(
        account.user_id, frozenset({Role.ADMIN}), access_token=None
    )

    names = {r["name"] for r in keycloak.fake.role_mappings[account.user_id]}
    assert names == {"admin", "offline_access"}
    assert changed.roles == frozenset({Role.ADMIN})
    assert CONFIGURE_TOTP in keycloak.fake.users[account.user_id]["requiredActions"]


async def test_disabling_and_listing_by_role(keycloak: Running) -> None:
    patient = await keycloak.provisioner.invite(
        Invitation("sam@example.org", "Sam Lee", frozenset({Role.PATIENT})), access_token=None
    )
    await keycloak.provisioner.invite(
        Invitation("dr@clinic.example", "Ada Okafor", frozenset({Role.CLINICIAN})),
        access_token=None,
    )

    disabled = await keycloak.provisioner.set_enabled(patient.user_id, False, access_token=None)
    page = await keycloak.provisioner.list_users(
        UserQuery(roles=frozenset({Role.PATIENT})), access_token=None
    )

    assert disabled.enabled is False
    assert keycloak.fake.users[patient.user_id]["enabled"] is False
    assert [user.email for user in page.users] == ["sam@example.org"]


async def test_an_mfa_reset_deletes_the_otp_credential_and_requires_enrolment(
    keycloak: Running,
) -> None:
    account = await keycloak.provisioner.invite(
        Invitation("dr@clinic.example", "Ada Okafor", frozenset({Role.CLINICIAN})),
        access_token=None,
    )
    keycloak.fake.users[account.user_id]["requiredActions"] = []
    keycloak.fake.credentials[account.user_id] = [
        {"id": "pw", "type": "password"},
        {"id": "otp-1", "type": "otp"},
    ]

    await keycloak.provisioner.reset_mfa(account.user_id, access_token=None)

    assert [c["type"] for c in keycloak.fake.credentials[account.user_id]] == ["password"]
    assert keycloak.fake.users[account.user_id]["requiredActions"] == [CONFIGURE_TOTP]
