"""What a person does alone on the provider's pages: sign up, confirm the address, reset a password.

Driven headless over HTTP as a browser would, with mail going through a real SMTP server
(aiosmtpd): the links the tests follow are the ones a patient would find in their inbox.
"""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from voiceassist_common.tokens import Role

from ..conftest import Inbox, Running
from .test_oidc import (
    CLI,
    PASSWORD,
    add_user,
    authorize,
    code_from,
    exchange,
    hidden_fields,
    pkce,
    sign_in,
)

pytestmark = pytest.mark.integration

NEW_PASSWORD = "river granite lantern"


def link(page: httpx.Response, text: str) -> str:
    """Return the address of the link with ``text`` on ``page``."""
    found = re.search(rf'<a href="([^"]+)">{re.escape(html.escape(text))}</a>', page.text)
    assert found is not None, f"no {text!r} link on the page"
    return html.unescape(found[1])


def form_action(page: httpx.Response) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert found is not None
    return html.unescape(found[1])


async def claims(http: httpx.AsyncClient, running: Running, token: str) -> dict[str, Any]:
    jwks = KeySet.import_key_set(
        (await http.get(f"{running.issuer}/protocol/openid-connect/certs")).json()
    )
    return dict(jwt.decode(token, jwks, algorithms=["RS256"]).claims)


async def sign_up_page(http: httpx.AsyncClient, running: Running, challenge: str) -> httpx.Response:
    """Open the sign-in page and follow its "Create an account" link."""
    sign_in_page = await authorize(http, running, challenge)
    page = await http.get(link(sign_in_page, "Create an account"))
    assert page.status_code == 200, page.text
    return page


async def sign_up(http: httpx.AsyncClient, page: httpx.Response, **fields: str) -> httpx.Response:
    form = {
        "name": "Camille Durand",
        "email": "camille@example.org",
        "password": PASSWORD,
        "password_again": fields.get("password", PASSWORD),
        **fields,
    }
    return await http.post(form_action(page), data={**hidden_fields(page.text), **form})


# Sign-up -------------------------------------------------------------------------------------


async def test_a_new_patient_signs_up_and_comes_back_to_the_app_signed_in(
    http: httpx.AsyncClient, running: Running, smtp_inbox: Inbox
) -> None:
    proof = pkce()
    page = await sign_up_page(http, running, proof.challenge)
    assert "<script" not in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]

    answer = await sign_up(http, page)

    tokens = (await exchange(http, running, code_from(answer), proof.verifier)).json()
    access = await claims(http, running, tokens["access_token"])
    assert access["realm_access"] == {"roles": ["patient"]}
    assert access["email"] == "camille@example.org"
    assert access["name"] == "Camille Durand"
    assert access["email_verified"] is False
    assert access["amr"] == ["pwd"]
    assert "auth.registered" in running.audit.actions()

    # The address is confirmed by the link mailed to it, once.
    verify = await smtp_inbox.link_for("camille@example.org", "verify-email")
    confirmed = await http.get(verify)
    assert confirmed.status_code == 200
    assert "confirmed" in confirmed.text
    assert (await http.get(verify)).status_code == 400
    refreshed = await http.post(
        f"{running.issuer}/protocol/openid-connect/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLI,
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert (await claims(http, running, refreshed.json()["access_token"]))["email_verified"]


async def test_the_new_account_signs_in_again_with_its_password(
    http: httpx.AsyncClient, running: Running
) -> None:
    code_from(await sign_up(http, await sign_up_page(http, running, pkce().challenge)))

    code_from_second_sign_in = await sign_in(http, running, "Camille@Example.org")

    assert code_from_second_sign_in


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short one"}, "at least 12 characters"),
        ({"password": "password1234"}, "most common"),
        ({"password": "camille durand 2024"}, "must not contain your name"),
        ({"password": PASSWORD, "password_again": PASSWORD + "!"}, "passwords differ"),
        ({"email": "not-an-address"}, "valid e-mail"),
        ({"name": "   "}, "Enter your name"),
    ],
)
async def test_sign_up_says_what_to_correct_and_keeps_what_was_typed(
    http: httpx.AsyncClient, running: Running, fields: dict[str, str], message: str
) -> None:
    page = await sign_up_page(http, running, pkce().challenge)

    refused = await sign_up(http, page, **fields)

    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert message in refused.text
    typed = fields.get("email", "camille@example.org")
    assert f'value="{html.escape(typed)}"' in refused.text
    users, _ = await running.provider.store.list_users(
        roles=[], query="", enabled=None, limit=10, offset=0
    )
    assert users == []


async def test_a_taken_address_is_refused_and_its_owner_is_not_locked_out(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "camille@example.org")
    for _ in range(running.provider.policy.max_failures_per_account + 1):
        refused = await sign_up(
            http,
            await sign_up_page(http, running, pkce().challenge),
            email="CAMILLE@example.org",
            password="someone else's passphrase",
        )
        assert refused.status_code == 400
        assert "exists already" in refused.text

    assert await sign_in(http, running, "camille@example.org")
    assert "auth.registration_refused" in running.audit.actions()


async def test_a_sign_up_posted_without_the_csrf_cookie_is_refused(
    http: httpx.AsyncClient, running: Running
) -> None:
    page = await sign_up_page(http, running, pkce().challenge)
    http.cookies.clear()

    refused = await sign_up(http, page)

    assert refused.status_code == 403
    assert await running.provider.store.user_by_email("camille@example.org") is None


async def test_the_admin_panel_offers_no_sign_up(http: httpx.AsyncClient, running: Running) -> None:
    params = {
        "client_id": "voiceassist-admin",
        "redirect_uri": "http://127.0.0.1:8080/auth/callback",
        "response_type": "code",
        "state": "s",
    }
    base = f"{running.issuer}/protocol/openid-connect"

    sign_in_page = await http.get(f"{base}/auth", params=params)
    registration = await http.get(f"{base}/registrations", params=params)

    assert sign_in_page.status_code == 200
    assert "Create an account" not in sign_in_page.text
    assert registration.status_code == 302
    assert "error=access_denied" in registration.headers["location"]


# Forgotten password ------------------------------------------------------------------------


async def forgot_password_page(http: httpx.AsyncClient, running: Running) -> httpx.Response:
    """Open the sign-in page and follow its "Forgot password?" link."""
    sign_in_page = await authorize(http, running, pkce().challenge)
    page = await http.get(link(sign_in_page, "Forgot password?"))
    assert page.status_code == 200, page.text
    return page


async def ask_reset(http: httpx.AsyncClient, page: httpx.Response, address: str) -> httpx.Response:
    return await http.post(form_action(page), data={**hidden_fields(page.text), "email": address})


async def test_forgot_password_answers_the_same_and_mails_only_a_real_account(
    http: httpx.AsyncClient, running: Running, smtp_inbox: Inbox
) -> None:
    await add_user(running, "alex@example.org", Role.PATIENT)
    page = await forgot_password_page(http, running)

    known = await ask_reset(http, page, "Alex@example.org")
    unknown = await ask_reset(http, page, "nobody@example.org")
    await running.provider.settle()

    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert [message["To"] for message in smtp_inbox.messages] == ["alex@example.org"]
    reset = await smtp_inbox.link_for("alex@example.org", "reset-password")
    reset_page = await http.get(reset)
    chosen = await http.post(
        form_action(reset_page), data={**hidden_fields(reset_page.text), "password": NEW_PASSWORD}
    )
    assert chosen.status_code == 200, chosen.text
    assert await sign_in(http, running, "alex@example.org", password=NEW_PASSWORD)


async def test_a_reset_request_without_its_form_cookie_sends_nothing(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")
    page = await forgot_password_page(http, running)
    http.cookies.clear()

    refused = await ask_reset(http, page, "alex@example.org")
    await running.provider.settle()

    assert refused.status_code == 403
    assert running.outbox.sent == []


async def test_reset_mails_to_one_address_are_capped(
    http: httpx.AsyncClient, running: Running
) -> None:
    await add_user(running, "alex@example.org")
    page = await forgot_password_page(http, running)

    for _ in range(5):
        assert (await ask_reset(http, page, "alex@example.org")).status_code == 200
        await running.provider.settle()

    assert len(running.outbox.sent) == 3
    assert "auth.password_reset_throttled" in running.audit.actions()
