"""/realms/ reaches the identity provider through the gateway, answers passed on untouched."""

from __future__ import annotations

from typing import Any

import httpx

REALM = "/realms/voiceassist"


async def test_discovery_is_served_from_the_gateway_origin(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.get(f"{REALM}/.well-known/openid-configuration")

    assert response.status_code == 200
    assert response.json()["issuer"].endswith(REALM)


async def test_redirects_and_cookies_pass_through_with_forwarding_headers(
    anonymous: httpx.AsyncClient, idp: Any
) -> None:
    query = {
        "client_id": "voiceassist-web",
        "redirect_uri": "https://gateway.test/auth/callback",
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
        "state": "s",
        "nonce": "n",
    }

    response = await anonymous.get(
        f"{REALM}/protocol/openid-connect/auth",
        params=query,
        headers={"X-Forwarded-For": "6.6.6.6", "Authorization": "Bearer x"},
    )

    assert response.status_code == 302
    assert response.headers["location"].startswith("https://gateway.test/auth/callback?code=")
    assert response.headers["set-cookie"] == "KC=1; Path=/"
    # The gateway says who asked; a client cannot claim another address.
    assert idp.last_headers["x-forwarded-for"] != "6.6.6.6"
    assert idp.last_headers["x-forwarded-proto"] == "https"
    assert idp.last_headers["x-forwarded-host"] == "gateway.test"


async def test_the_providers_errors_reach_the_client_as_they_are(
    anonymous: httpx.AsyncClient,
) -> None:
    response = await anonymous.post(
        f"{REALM}/protocol/openid-connect/token", data={"grant_type": "password"}
    )

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
