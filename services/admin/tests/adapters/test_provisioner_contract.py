"""What an administrator can rely on from any identity provider behind `IdentityProvisioner`.

One contract for every adapter: an invited user is listed with their roles, each change shows in
the account, an unknown user or an address in use is refused with the shared error types. The
in-memory provisioner (which the admin handlers' and the gateway's tests stand on) and the Keycloak
adapter (python-keycloak against the stand-in of Keycloak's admin API in conftest.py) both run it.
"""

from __future__ import annotations

import pytest
from voiceassist_admin.adapters.memory_provisioner import InMemoryProvisioner
from voiceassist_admin.domain.users import IdentityProvisioner, Invitation, UserQuery
from voiceassist_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from voiceassist_common.tokens import Role

from .conftest import Running

TOKEN = "admin-access-token"


@pytest.fixture(params=["memory", "keycloak"])
def provisioner(request: pytest.FixtureRequest) -> IdentityProvisioner:
    if request.param == "keycloak":
        running: Running = request.getfixturevalue("keycloak")
        return running.provisioner
    return InMemoryProvisioner()


async def invite(
    provisioner: IdentityProvisioner, email: str, *roles: Role, name: str = "Dr Test"
) -> str:
    invitation = Invitation(email=email, display_name=name, roles=frozenset(roles))
    user = await provisioner.invite(invitation, access_token=TOKEN)
    return user.user_id


async def emails(provisioner: IdentityProvisioner, query: UserQuery) -> list[str]:
    page = await provisioner.list_users(query, access_token=TOKEN)
    return [user.email for user in page.users]


async def test_an_invited_clinician_is_listed_enabled_with_mfa_still_to_enrol(
    provisioner: IdentityProvisioner,
) -> None:
    user_id = await invite(provisioner, "dr.martin@clinic.example", Role.CLINICIAN)

    page = await provisioner.list_users(UserQuery(), access_token=TOKEN)

    [user] = page.users
    assert user.user_id == user_id
    assert (user.email, user.roles, user.enabled, user.mfa_enrolled) == (
        "dr.martin@clinic.example",
        frozenset({Role.CLINICIAN}),
        True,
        False,
    )


async def test_an_address_in_use_cannot_be_invited_again(
    provisioner: IdentityProvisioner,
) -> None:
    await invite(provisioner, "twice@clinic.example", Role.PATIENT)

    with pytest.raises(AlreadyExists):
        await invite(provisioner, "Twice@Clinic.example", Role.ADMIN)


async def test_role_changes_and_disabling_show_in_the_account_and_the_list(
    provisioner: IdentityProvisioner,
) -> None:
    user_id = await invite(provisioner, "nurse@clinic.example", Role.PATIENT)

    promoted = await provisioner.set_roles(
        user_id, frozenset({Role.CLINICIAN, Role.ADMIN}), access_token=TOKEN
    )
    disabled = await provisioner.set_enabled(user_id, False, access_token=TOKEN)

    assert promoted.roles == frozenset({Role.CLINICIAN, Role.ADMIN})
    assert disabled.enabled is False
    assert await emails(provisioner, UserQuery(enabled=False)) == ["nurse@clinic.example"]
    assert await emails(provisioner, UserQuery(roles=frozenset({Role.PATIENT}))) == []
    enabled = await provisioner.set_enabled(user_id, True, access_token=TOKEN)
    assert enabled.enabled is True


async def test_an_mfa_reset_leaves_the_user_to_enrol_again(
    provisioner: IdentityProvisioner,
) -> None:
    user_id = await invite(provisioner, "dr.roux@clinic.example", Role.CLINICIAN)

    reset = await provisioner.reset_mfa(user_id, access_token=TOKEN)

    assert reset.mfa_enrolled is False


async def test_every_change_to_an_unknown_user_is_refused(
    provisioner: IdentityProvisioner,
) -> None:
    missing = "00000000-0000-4000-8000-000000000404"

    with pytest.raises(NotFound):
        await provisioner.set_roles(missing, frozenset({Role.ADMIN}), access_token=TOKEN)
    with pytest.raises(NotFound):
        await provisioner.set_enabled(missing, False, access_token=TOKEN)
    with pytest.raises(NotFound):
        await provisioner.reset_mfa(missing, access_token=TOKEN)


async def test_the_list_filters_by_role_and_by_the_start_of_address_or_name(
    provisioner: IdentityProvisioner,
) -> None:
    await invite(provisioner, "zoe@clinic.example", Role.CLINICIAN, name="Zoé Blanc")
    await invite(provisioner, "anna@clinic.example", Role.CLINICIAN, name="Anna Petit")
    await invite(provisioner, "patient@home.example", Role.PATIENT, name="Paul Martin")

    clinicians = await emails(provisioner, UserQuery(roles=frozenset({Role.CLINICIAN})))
    by_address = await emails(provisioner, UserQuery(text="ZOE"))
    by_name = await emails(provisioner, UserQuery(text="paul"))

    assert clinicians == ["anna@clinic.example", "zoe@clinic.example"]
    assert by_address == ["zoe@clinic.example"]
    assert by_name == ["patient@home.example"]


async def test_pages_follow_each_other_until_the_last(provisioner: IdentityProvisioner) -> None:
    for name in ("c", "a", "b"):
        await invite(provisioner, f"{name}@clinic.example", Role.PATIENT)

    first = await provisioner.list_users(UserQuery(page_size=2), access_token=TOKEN)
    second = await provisioner.list_users(
        UserQuery(page_size=2, page_token=first.next_page_token), access_token=TOKEN
    )

    assert [user.email for user in first.users] == ["a@clinic.example", "b@clinic.example"]
    assert [user.email for user in second.users] == ["c@clinic.example"]
    assert second.next_page_token == ""


# What the in-memory provisioner adds for the tests that stand on it.


async def test_a_page_token_it_did_not_issue_is_refused_naming_the_field() -> None:
    provisioner = InMemoryProvisioner()

    with pytest.raises(InvalidArgument, match=r"^page_token "):
        await provisioner.list_users(UserQuery(page_token="forged"), access_token=TOKEN)


async def test_a_provider_that_manages_mfa_itself_refuses_a_reset() -> None:
    provisioner = InMemoryProvisioner(mfa_reset_allowed=False)
    user_id = await invite(provisioner, "kc@clinic.example", Role.CLINICIAN)

    with pytest.raises(FailedPrecondition):
        await provisioner.reset_mfa(user_id, access_token=TOKEN)
