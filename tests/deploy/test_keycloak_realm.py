"""The Keycloak realm export gives Keycloak mode the same roles, clients and MFA rules as built-in.

Keycloak cannot run on these machines, so the export's structure is checked here: the three
realm roles, PKCE S256 on every client, the audience our services demand, OTP for clinicians and
admins, brute-force protection and the token lifetimes of docs/security.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REALM_FILE = (
    Path(__file__).parents[2] / "deploy" / "compose" / "keycloak" / "voiceassist-realm.json"
)


@pytest.fixture(scope="module")
def realm() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return data


def clients(realm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {client["clientId"]: client for client in realm["clients"]}


def test_the_realm_has_exactly_our_three_roles_and_new_users_are_patients(
    realm: dict[str, Any],
) -> None:
    assert realm["realm"] == "voiceassist"
    names = {role["name"] for role in realm["roles"]["realm"]}
    assert {"patient", "clinician", "admin"} <= names
    default = next(r for r in realm["roles"]["realm"] if r["name"] == realm["defaultRole"]["name"])
    assert default["composites"]["realm"] == ["patient"]


@pytest.mark.parametrize(
    ("client_id", "public"),
    [("voiceassist-web", False), ("voiceassist-admin", False), ("voiceassist-cli", True)],
)
def test_each_voiceassist_client_uses_the_code_flow_with_pkce_s256_and_our_audience(
    realm: dict[str, Any], client_id: str, public: bool
) -> None:
    client = clients(realm)[client_id]
    assert client["publicClient"] is public
    assert client["standardFlowEnabled"] is True
    assert client["implicitFlowEnabled"] is False
    assert client["directAccessGrantsEnabled"] is False
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    [mapper] = [
        m for m in client["protocolMappers"] if m["protocolMapper"] == "oidc-audience-mapper"
    ]
    assert mapper["config"]["included.custom.audience"] == "voiceassist-api"
    assert mapper["config"]["access.token.claim"] == "true"
    if not public:
        # A placeholder filled from the environment at import; never a secret in git.
        assert client["secret"].startswith("${")


def test_the_cli_client_only_redirects_to_loopback(realm: dict[str, Any]) -> None:
    uris = clients(realm)["voiceassist-cli"]["redirectUris"]
    assert uris
    assert all(uri.startswith(("http://127.0.0.1", "http://localhost")) for uri in uris)


def test_the_admin_client_may_provision_users_through_its_service_account(
    realm: dict[str, Any],
) -> None:
    assert clients(realm)["voiceassist-admin"]["serviceAccountsEnabled"] is True
    [account] = [
        u for u in realm["users"] if u.get("serviceAccountClientId") == "voiceassist-admin"
    ]
    assert {"manage-users", "view-users"} <= set(account["clientRoles"]["realm-management"])


def test_nextcloud_is_a_confidential_client_of_the_same_realm(realm: dict[str, Any]) -> None:
    nextcloud = clients(realm)["nextcloud"]
    assert nextcloud["publicClient"] is False
    assert nextcloud["redirectUris"] == ["https://nextcloud.example/apps/user_oidc/code"]


def test_clinicians_and_admins_must_pass_totp_at_sign_in(realm: dict[str, Any]) -> None:
    assert (realm["otpPolicyType"], realm["otpPolicyDigits"], realm["otpPolicyPeriod"]) == (
        "totp",
        6,
        30,
    )
    flows = {flow["alias"]: flow for flow in realm["authenticationFlows"]}
    browser = flows[realm["browserFlow"]]
    configs = {c["alias"]: c["config"] for c in realm["authenticatorConfig"]}
    guarded = set()
    for flow in flows.values():
        steps = {step.get("authenticator"): step for step in flow["authenticationExecutions"]}
        if (
            "conditional-user-role" in steps
            and steps.get("auth-otp-form", {}).get("requirement") == "REQUIRED"
        ):
            guarded.add(
                configs[steps["conditional-user-role"]["authenticatorConfig"]]["condUserRole"]
            )
    assert guarded == {"clinician", "admin"}
    assert browser["topLevel"] is True
    actions = {action["alias"]: action for action in realm["requiredActions"]}
    assert actions["CONFIGURE_TOTP"]["enabled"] is True


def test_brute_force_protection_and_token_lifetimes_match_the_platform(
    realm: dict[str, Any],
) -> None:
    assert realm["bruteForceProtected"] is True
    assert realm["failureFactor"] <= 10
    assert realm["accessTokenLifespan"] == 300
    assert realm["ssoSessionIdleTimeout"] == 1800
    assert realm["revokeRefreshToken"] is True
    assert realm["refreshTokenMaxReuse"] == 0
