"""The built-in OIDC provider, driven headless over HTTP as a browser and a client would.

Each test runs the provider on a loopback port over a real PostgreSQL: GET the authorize
endpoint, post the sign-in form (and the TOTP step), follow the redirect, exchange the code.
python-keycloak's KeycloakOpenID, pointed at the provider, must work unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import httpx
import pyotp
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakPostError
from voiceassist_auth.domain.rate_limits import RateLimit, TokenBuckets
from voiceassist_common.tokens import Role

from ..conftest import CLIENT_SECRET, Running

pytestmark = pytest.mark.integration

CLI = "voiceassist-cli"
CALLBACK = "http://127.0.0.1:53682/callback"
PASSWORD = "a long enough passphrase"


@dataclass
class Pkce:
    verifier: str
    challenge: str


def pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


async def authorize(
    http: httpx.AsyncClient, running: Running, challenge: str, **extra: str
) -> httpx.Response:
    params = {
        "client_id": CLI,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return await http.get(f"{running.issuer}/protocol/openid-connect/auth", params=params)


async def submit(
    http: httpx.AsyncClient, running: Running, page: httpx.Response, **fields: str
) -> httpx.Response:
    form = {**hidden_fields(page.text), **fields}
    return await http.post(f"{running.issuer}/protocol/openid-connect/auth", data=form)


def code_from(redirect: httpx.Response) -> str:
    assert redirect.status_code == 303, redirect.text
    location = redirect.headers["location"]
    assert location.startswith(CALLBACK)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["state-123"]
    return query["code"][0]


async def sign_in(
    http: httpx.AsyncClient,
    running: Running,
    email: str,
    password: str = PASSWORD,
    totp_secret: str | None = None,
    proof: Pkce | None = None,
) -> str:
    proof = proof or pkce()
    page = await authorize(http, running, proof.challenge)
    assert page.status_code == 200, page.text
    answer = await submit(http, running, page, email=email, password=password)
    if totp_secret is not None:
        answer = await submit(http, running, answer, code=pyotp.TOTP(totp_secret).now())
    return code_from(answer)


async def exchange(
    http: httpx.AsyncClient, running: Running, code: str, verifier: str
) -> httpx.Response:
    return await http.post(
        f"{running.issuer}/protocol/openid-connect/token",
        data={
            "grant_type": "authorization_code",
            "client_id": CLI,
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )


async def add_user(running: Running, email: str, role: Role = Role.PATIENT) -> None:
    await running.provider.create_user(
        email=email,
        display_name="Alex Martin",
        roles=frozenset({role}),
        password=PASSWORD,
        email_verified=True,
    )


async def test_a_patient_signs_in_with_pkce_and_gets_keycloak_shaped_tokens(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")
    proof = pkce()

    code = await sign_in(http, running, "Alex@Example.org", proof=proof)
    reply = await exchange(http, running, code, proof.verifier)

    assert reply.status_code == 200, reply.text
    tokens = reply.json()
    jwks = KeySet.import_key_set(
        (await http.get(f"{running.issuer}/protocol/openid-connect/certs")).json()
    )
    access = jwt.decode(tokens["access_token"], jwks, algorithms=["RS256"])
    assert access.header["typ"] == "JWT"
    assert access.header["kid"]
    claims = access.claims
    assert claims["iss"] == running.issuer
    assert claims["aud"] == ["voiceassist-api", "account"]
    assert claims["azp"] == CLI
    assert claims["typ"] == "Bearer"
    assert claims["realm_access"] == {"roles": ["patient"]}
    assert claims["email"] == "alex@example.org"
    assert claims["amr"] == ["pwd"]
    assert claims["exp"] - claims["iat"] == 300
    identity = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims
    assert identity["aud"] == CLI
    assert identity["typ"] == "ID"
    assert identity["nonce"] == "nonce-456"
    assert identity["sid"] == claims["sid"] == tokens["session_state"]
    assert "auth.sign_in" in running.audit.actions()


async def test_a_wrong_pkce_verifier_is_refused(http: httpx.AsyncClient, running: Running) -> None:
    await add_user(running, "alex@example.org")
    proof = pkce()
    code = await sign_in(http, running, "alex@example.org", proof=proof)

    reply = await exchange(http, running, code, pkce().verifier)

    assert reply.status_code == 400
    assert reply.json()["error"] == "invalid_grant"


async def test_a_code_works_once(http: httpx.AsyncClient, running: Running) -> None:
    await add_user(running, "alex@example.org")
    proof = pkce()
    code = await sign_in(http, running, "alex@example.org", proof=proof)

    assert (await exchange(http, running, code, proof.verifier)).status_code == 200
    assert (await exchange(http, running, code, proof.verifier)).json()["error"] == "invalid_grant"


async def test_plain_pkce_and_missing_pkce_are_refused_for_the_public_client(
    http: httpx.AsyncClient, running: Running
) -> None:
    plain = await authorize(http, running, "x" * 43, code_challenge_method="plain")
    missing = await http.get(
        f"{running.issuer}/protocol/openid-connect/auth",
        params={"client_id": CLI, "redirect_uri": CALLBACK, "response_type": "code"},
    )

    for reply in (plain, missing):
        assert reply.status_code == 302
        assert "error=invalid_request" in reply.headers["location"]


async def test_an_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(
    http: httpx.AsyncClient, running: Running
) -> None:
    reply = await authorize(
        http, running, pkce().challenge, redirect_uri="https://evil.example/callback"
    )

    assert reply.status_code == 400
    assert "location" not in reply.headers


async def test_a_form_posted_without_the_csrf_cookie_is_refused(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")
    page = await authorize(http, running, pkce().challenge)
    http.cookies.clear()

    reply = await submit(http, running, page, email="alex@example.org", password=PASSWORD)

    assert reply.status_code == 403
    assert "script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")
    page = await authorize(http, running, pkce().challenge)
    for _ in range(5):
        page = await submit(
            http, running, page, email="alex@example.org", password="wrong guess 1234"
        )
        assert page.status_code == 401

    locked = await submit(http, running, page, email="alex@example.org", password=PASSWORD)

    assert locked.status_code == 401
    assert "locked" in locked.text
    assert running.audit.actions().count("auth.sign_in_failed") >= 5
    assert "auth.lockout" in running.audit.actions()


async def test_a_clinician_enrols_totp_at_first_sign_in_then_needs_a_code(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "dr.house@example.org", Role.CLINICIAN)
    proof = pkce()
    page = await authorize(http, running, proof.challenge)
    enrol = await submit(http, running, page, email="dr.house@example.org", password=PASSWORD)
    assert 'src="data:image/svg+xml' in enrol.text
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", enrol.text)
    assert secret is not None

    wrong = await submit(http, running, enrol, code="000000")
    assert wrong.status_code == 401
    recovery = await submit(http, running, wrong, code=pyotp.TOTP(secret.group(1)).now())
    codes = re.findall(r"<li><code>([a-z2-7-]+)</code></li>", recovery.text)
    assert len(codes) == 10
    code = code_from(await submit(http, running, recovery))
    tokens = (await exchange(http, running, code, proof.verifier)).json()
    claims = jwt.decode(
        tokens["access_token"],
        KeySet.import_key_set(
            cast(Any, await running.provider.keys.jwks(running.provider.clock()))
        ),
    ).claims
    assert claims["amr"] == ["pwd", "otp"]
    assert "auth.mfa_enrolled" in running.audit.actions()

    # Next time: password, then a code; a recovery code works once.
    again = await submit(
        http,
        running,
        await authorize(http, running, pkce().challenge),
        email="dr.house@example.org",
        password=PASSWORD,
    )
    assert 'name="code"' in again.text
    assert "svg" not in again.text
    code_from(await submit(http, running, again, code=codes[0].upper()))
    reused = await submit(
        http,
        running,
        await submit(
            http,
            running,
            await authorize(http, running, pkce().challenge),
            email="dr.house@example.org",
            password=PASSWORD,
        ),
        code=codes[0],
    )
    assert reused.status_code == 401


async def test_a_totp_code_signs_in_once_and_an_older_one_never(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "dr.house@example.org", Role.CLINICIAN)
    user = await running.provider.store.user_by_email("dr.house@example.org")
    assert user is not None
    secret = pyotp.random_base32()
    await running.provider.store.enrol_totp(user.id, secret, [], running.provider.clock())
    # The provider's clock stands still mid-step, so "now" and "the next step" cannot shift
    # under the test.
    pinned = datetime.fromtimestamp((int(time.time()) // 30) * 30 + 15, UTC)
    running.provider.clock = lambda: pinned
    totp = pyotp.TOTP(secret)
    current, following = totp.at(pinned.timestamp()), totp.at(pinned.timestamp() + 30)

    async def with_code(code: str) -> httpx.Response:
        page = await submit(
            http,
            running,
            await authorize(http, running, pkce().challenge),
            email="dr.house@example.org",
            password=PASSWORD,
        )
        assert 'name="code"' in page.text
        return await submit(http, running, page, code=code)

    code_from(await with_code(current))
    replayed = await with_code(current)
    # One step ahead is allowed for a phone's clock drift; it spends every step before it.
    code_from(await with_code(following))
    older = await with_code(current)

    for refused in (replayed, older):
        assert refused.status_code == 401
        assert "location" not in refused.headers
        assert "used already" in refused.text
    assert running.audit.actions().count("auth.sign_in_failed") == 2
    assert running.audit.actions().count("auth.sign_in") == 2


async def test_the_code_that_confirmed_a_totp_enrolment_cannot_sign_in_again(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "dr.house@example.org", Role.CLINICIAN)
    pinned = datetime.fromtimestamp((int(time.time()) // 30) * 30 + 15, UTC)
    running.provider.clock = lambda: pinned
    page = await authorize(http, running, pkce().challenge)
    enrol = await submit(http, running, page, email="dr.house@example.org", password=PASSWORD)
    secret = re.search(r"<code>([A-Z2-7]{32})</code>", enrol.text)
    assert secret is not None
    first = pyotp.TOTP(secret.group(1)).at(pinned.timestamp())
    code_from(await submit(http, running, await submit(http, running, enrol, code=first)))

    again = await submit(
        http,
        running,
        await authorize(http, running, pkce().challenge),
        email="dr.house@example.org",
        password=PASSWORD,
    )
    replayed = await submit(http, running, again, code=first)

    assert replayed.status_code == 401
    assert "used already" in replayed.text


async def test_refresh_rotates_and_reusing_an_old_refresh_token_signs_out(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")
    proof = pkce()
    first = (
        await exchange(
            http,
            running,
            await sign_in(http, running, "alex@example.org", proof=proof),
            proof.verifier,
        )
    ).json()
    token_url = f"{running.issuer}/protocol/openid-connect/token"

    second = await http.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": CLI,
            "refresh_token": first["refresh_token"],
        },
    )
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]

    reuse = await http.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": CLI,
            "refresh_token": first["refresh_token"],
        },
    )
    assert reuse.json()["error"] == "invalid_grant"
    # The whole session ended: the newest refresh token and the access token are dead too.
    newest = await http.post(
        token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": CLI,
            "refresh_token": second.json()["refresh_token"],
        },
    )
    assert newest.status_code == 400
    userinfo = await http.get(
        f"{running.issuer}/protocol/openid-connect/userinfo",
        headers={"Authorization": f"Bearer {second.json()['access_token']}"},
    )
    assert userinfo.status_code == 401
    assert "auth.refresh_reuse" in running.audit.actions()


async def test_confidential_clients_must_authenticate(
    http: httpx.AsyncClient, running: Running
) -> None:
    token_url = f"{running.issuer}/protocol/openid-connect/token"
    data = {
        "grant_type": "authorization_code",
        "code": "x",
        "redirect_uri": "http://127.0.0.1:8080/auth/callback",
    }

    wrong = await http.post(token_url, data=data, auth=("voiceassist-web", "not-the-secret"))
    right = await http.post(token_url, data=data, auth=("voiceassist-web", CLIENT_SECRET))

    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert right.status_code == 400
    assert right.json()["error"] == "invalid_grant"


async def test_the_token_endpoint_slows_one_client_at_one_address_down_with_429(
    http: httpx.AsyncClient, running: Running
) -> None:
    now = [datetime.now(UTC)]
    running.provider.clock = lambda: now[0]
    running.provider.token_requests = TokenBuckets(RateLimit(burst=3, per_second=0.1))
    token_url = f"{running.issuer}/protocol/openid-connect/token"
    grant = {"grant_type": "refresh_token", "refresh_token": "not-a-token"}

    async def ask(client_id: str = CLI, **headers: str) -> httpx.Response:
        return await http.post(token_url, data={**grant, "client_id": client_id}, headers=headers)

    served = [await ask() for _ in range(3)]
    slowed = await ask()
    other_client = await ask("voiceassist-web")
    other_address = await ask(**{"X-Forwarded-For": "192.0.2.7"})
    now[0] += timedelta(seconds=int(slowed.headers["retry-after"]))
    later = await ask()

    assert [reply.status_code for reply in served] == [400, 400, 400]
    assert slowed.status_code == 429
    assert slowed.json()["error"] == "temporarily_unavailable"
    assert slowed.headers["retry-after"] == "10"
    assert slowed.headers["cache-control"] == "no-store"
    assert other_client.status_code == 401  # its own bucket; then its missing secret
    assert other_address.status_code == 400
    assert later.status_code == 400


async def test_python_keycloak_works_unchanged(http: httpx.AsyncClient, running: Running) -> None:
    await add_user(running, "alex@example.org")
    keycloak = KeycloakOpenID(server_url=running.base_url, realm_name="voiceassist", client_id=CLI)
    proof = pkce()

    discovery = await asyncio.to_thread(keycloak.well_known)
    assert discovery["issuer"] == running.issuer
    code = await sign_in(http, running, "alex@example.org", proof=proof)
    tokens = await asyncio.to_thread(
        keycloak.token,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier=proof.verifier,
    )
    refreshed = await asyncio.to_thread(keycloak.refresh_token, tokens["refresh_token"])
    info = cast(
        dict[str, Any], await asyncio.to_thread(keycloak.userinfo, refreshed["access_token"])
    )
    assert info["email"] == "alex@example.org"
    assert info["preferred_username"] == "alex@example.org"
    decoded = await asyncio.to_thread(keycloak.decode_token, refreshed["access_token"])
    assert decoded["realm_access"]["roles"] == ["patient"]

    await asyncio.to_thread(keycloak.logout, refreshed["refresh_token"])
    with pytest.raises(KeycloakPostError):
        await asyncio.to_thread(keycloak.refresh_token, refreshed["refresh_token"])


async def test_rotated_keys_stay_published_until_their_tokens_expire(
    http: httpx.AsyncClient, running: Running
) -> None:
    keys = running.provider.keys
    before = (await keys.current()).kid

    await keys.rotate_if_due(running.provider.clock(), force=True)

    published = {
        key["kid"]
        for key in (await http.get(f"{running.issuer}/protocol/openid-connect/certs")).json()[
            "keys"
        ]
    }
    assert {before, (await keys.current()).kid} <= published
    later = running.provider.clock() + running.provider.lifetimes.guest * 2
    assert before not in {key["kid"] for key in (await keys.jwks(later))["keys"]}


async def test_password_reset_by_mail_link_works_once(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")

    await running.provider.request_password_reset("ALEX@example.org")
    await running.provider.request_password_reset("nobody@example.org")

    assert len(running.outbox.sent) == 1
    link = re.search(r"(http\S+reset-password\?token=\S+)", running.outbox.sent[0].body)
    assert link is not None
    token = parse_qs(urlsplit(link.group(1)).query)["token"][0]
    url = link.group(1).split("?")[0]
    assert (
        await http.post(url, data={"token": token, "password": "brand new passphrase"})
    ).status_code == 200
    assert (
        await http.post(url, data={"token": token, "password": "another passphrase!"})
    ).status_code == 400
    await sign_in(http, running, "alex@example.org", password="brand new passphrase")
