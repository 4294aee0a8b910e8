"""Attacks on the running platform: each is refused with the right status, and audited.

Issue 4 is done when the demo accounts sign in through the real authorization-code + PKCE flow
and these are refused against the running services, each leaving an audit record: a token with
``alg: none``, one signed by another key, an expired one, one for another audience, a patient
reading another patient's assessment, a patient on an admin route, password guessing, a replayed
refresh token, and a cookie-authenticated change without its CSRF token. A visitor who signs
up gets the patient role and nothing more. At the end the admin API proves the hash-chained
trail still intact.

The session's shared platform (starting one takes most of a minute). Its auth service sends mail
to an SMTP server the test session runs, so an admin can invite fresh patients and the test can
follow the invitation link like the invitee would (a locked-out account is then a throwaway one).
Sign-ins go through ``scripts/sign_in.py``, so the script and the tests drive the same flow.
Each demo account signs in once for the module (`Sessions`) and its tokens are reused, refreshed
when they near expiry: a TOTP code works once (RFC 6238 §5.2), so a clinician or admin cannot
sign in twice within one 30-second step. Only the sign-in script's own test signs them in again,
after waiting for a fresh step when the module got there quickly.

Audit records are read from the admin service's table in PostgreSQL. A refusal made at the
gateway is matched by the ``X-Request-ID`` the request sent; what the auth service records
(sign-ins, lockouts, refresh reuse) by action, user and time. The trail is fed asynchronously
from JetStream, so records are polled for.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from voiceassist_localstack.testing import MailCatcher

from .conftest import CHEST_PAIN, Platform, sign_in_script

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

REPOSITORY = Path(__file__).resolve().parents[2]
REALM = "/realms/voiceassist/protocol/openid-connect"
CLI_CLIENT = "voiceassist-cli"
# Contract of the web sign-in (docs/adr/0007): spelled out, so a rename breaks this test too.
SESSION_COOKIE = "__Host-voiceassist_session"
CSRF_HEADER = "X-CSRF-Token"
AUDIT_WAIT_SECONDS = 60.0
TOTP_STEP_SECONDS = 30
# A reused access token is refreshed when it has less than this left (tokens live 300 s).
REFRESH_MARGIN_SECONDS = 60

Account = sign_in_script.Account


# The platform, with a mailbox -------------------------------------------------------------------


Mailbox = MailCatcher


@pytest.fixture(scope="module")
def mailbox(platform: Platform) -> Mailbox:
    """Return what the shared platform's auth service mailed (invitations, e-mail checks)."""
    assert platform.mail is not None, "the shared platform catches its mail"
    return platform.mail


@pytest.fixture(scope="module")
def demo(platform: Platform) -> dict[str, Any]:
    """Return the demo accounts `up` seeded, by role (patient, clinician, admin)."""
    accounts = sign_in_script.demo_accounts(platform.data.root / "demo-accounts.txt")
    by_role = {account.email.split("@")[0]: account for account in accounts}
    assert set(by_role) == {"patient", "clinician", "admin"}, by_role.keys()
    return by_role


def totp_step_now() -> int:
    """Return the current TOTP time step (RFC 6238: seconds since the epoch over 30)."""
    return int(time.time()) // TOTP_STEP_SECONDS


@dataclass
class SignedIn:
    """One demo account's sign-in, shared by the module's tests."""

    account: Any
    started: datetime
    """Just before the sign-in: its audit records come after this."""
    tokens: dict[str, Any]


class Sessions:
    """Each demo account signed in once for the module, its tokens refreshed when needed.

    Remembers the TOTP time step each account last spent, so that a later sign-in of the same
    account (the sign-in script's) waits for a code the provider has not seen.
    """

    def __init__(self, platform: Platform, demo: dict[str, Any]) -> None:
        self._platform = platform
        self._demo = demo
        self._signed_in: dict[str, SignedIn] = {}
        self._spent_step: dict[str, int] = {}

    def signed_in(self, role: str) -> SignedIn:
        """Return the sign-in of the demo account with ``role``, signing it in the first time."""
        if role not in self._signed_in:
            self._wait_past(self._spent_step.get(role, -1))
            started = datetime.now(UTC)
            tokens = tokens_for(self._platform, self._demo[role])
            self._spent_step[role] = totp_step_now()
            self._signed_in[role] = SignedIn(self._demo[role], started, tokens)
        return self._signed_in[role]

    def access_token(self, role: str) -> str:
        """Return a live access token of the demo account with ``role``."""
        signed_in = self.signed_in(role)
        expires = int(claims_of(signed_in.tokens["access_token"])["exp"])
        if expires - time.time() < REFRESH_MARGIN_SECONDS:
            refreshed = httpx.post(
                f"{self._platform.base_url}{REALM}/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": CLI_CLIENT,
                    "refresh_token": signed_in.tokens["refresh_token"],
                },
                timeout=30,
            )
            assert refreshed.status_code == 200, refreshed.text
            signed_in.tokens = refreshed.json()
        token: str = signed_in.tokens["access_token"]
        return token

    @contextlib.contextmanager
    def signing_in_elsewhere(self) -> Iterator[None]:
        """Around sign-ins of every demo account made outside this class (the script's)."""
        self._wait_past(max(self._spent_step.values(), default=-1))
        try:
            yield
        finally:
            self._spent_step = {role: totp_step_now() for role in self._demo}

    @staticmethod
    def _wait_past(step: int) -> None:
        while totp_step_now() <= step:
            time.sleep((step + 1) * TOTP_STEP_SECONDS - time.time() + 0.1)


@pytest.fixture(scope="module")
def sessions(platform: Platform, demo: dict[str, Any]) -> Sessions:
    """Return the module's sign-ins of the demo accounts."""
    return Sessions(platform, demo)


# Helpers -------------------------------------------------------------------------------------


def tokens_for(platform: Platform, account: Any) -> dict[str, Any]:
    """Sign ``account`` in as the CLI does; return the token endpoint's answer."""
    answer: dict[str, Any] = sign_in_script.sign_in_tokens(platform.base_url, account)
    return answer


def claims_of(access_token: str) -> dict[str, Any]:
    """Return a token's claims as the platform issued them (unverified)."""
    claims: dict[str, Any] = sign_in_script.access_claims(access_token)
    return claims


def bearer(access_token: str, request_id: str | None = None) -> dict[str, str]:
    """Return the headers of a request with ``access_token`` (and a request id to audit by)."""
    headers = {"Authorization": f"Bearer {access_token}"}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return headers


def new_request_id() -> str:
    """Return a request id unique to one attack, to find its audit record."""
    return f"security-test-{uuid.uuid4()}"


def session_cookie(response: httpx.Response) -> tuple[str, Any]:
    """Return the session id the gateway set in ``response``, and the cookie's attributes.

    Read by hand: httpx, like any cookie jar, keeps a Secure cookie to itself over plain http.
    """
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value, cookie[SESSION_COOKIE]
    raise AssertionError(f"no {SESSION_COOKIE} cookie was set")


def with_cookie(session_id: str, request_id: str | None = None, **extra: str) -> dict[str, str]:
    """Return the headers of a browser request carrying the session cookie."""
    headers = {"Cookie": f"{SESSION_COOKIE}={session_id}", **extra}
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return headers


_AUDIT_COLUMNS = frozenset(
    {"action", "actor_id", "actor_role", "object_type", "object_id", "outcome", "request_id"}
)


def audit_records(
    platform: Platform, *, at_least: int = 1, since: datetime | None = None, **match: str
) -> list[dict[str, Any]]:
    """Wait until the trail holds ``at_least`` records matching; return all those it holds."""
    assert set(match) <= _AUDIT_COLUMNS, match
    conditions = [f"{column} = ${number}" for number, column in enumerate(match, start=1)]
    values: list[object] = list(match.values())
    if since is not None:
        values.append(since)
        conditions.append(f"occurred_at >= ${len(values)}")
    query = (
        "SELECT * FROM admin.audit_events WHERE "  # noqa: S608 - columns from the fixed set above
        + (" AND ".join(conditions) or "TRUE")
        + " ORDER BY sequence"
    )

    async def poll() -> list[dict[str, Any]]:
        deadline = time.monotonic() + AUDIT_WAIT_SECONDS
        connection = await asyncpg.connect(platform.dsn)
        try:
            while True:
                rows = [dict(row) for row in await connection.fetch(query, *values)]
                if len(rows) >= at_least or time.monotonic() > deadline:
                    return rows
                await asyncio.sleep(0.2)
        finally:
            await connection.close()

    return asyncio.run(poll())


def signing_key(platform: Platform) -> RSAKey:
    """Return the platform's current private signing key, read from the auth schema.

    What an attacker holding an old or mis-addressed token has is a token signed with this key;
    reading it lets the test make exactly such tokens.
    """

    async def read() -> str:
        connection = await asyncpg.connect(platform.dsn)
        try:
            jwk: str = await connection.fetchval(
                "SELECT private_jwk FROM auth.signing_keys WHERE retired_at IS NULL "
                "ORDER BY create_time DESC LIMIT 1"
            )
        finally:
            await connection.close()
        return jwk

    return RSAKey.import_key(json.loads(asyncio.run(read())))


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def forged_token(kind: str, claims: dict[str, Any], key: RSAKey) -> str:
    """Return a copy of a real access token with one defect (``kind``), or none ("genuine")."""
    now = int(time.time())
    fresh = {**claims, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    if kind == "alg_none":
        return f"{_segment({**header, 'alg': 'none'})}.{_segment(fresh)}."
    if kind == "other_key":
        # Names the platform's key, so only the signature itself can give it away.
        impostor = RSAKey.generate_key(2048, parameters={"kid": str(key.kid)})
        return jwt.encode(header, fresh, impostor, algorithms=["RS256"])
    if kind == "expired":
        fresh |= {"iat": now - 900, "auth_time": now - 900, "exp": now - 600}
    elif kind == "other_audience":
        fresh |= {"aud": ["voiceassist-reports"], "azp": "voiceassist-reports"}
    else:
        assert kind == "genuine", kind
    return jwt.encode(header, fresh, key, algorithms=["RS256"])


def provider_page(http: httpx.Client, platform: Platform) -> httpx.Response:
    """Start a CLI sign-in and return the provider's sign-in page."""
    _verifier, challenge = sign_in_script.pkce_pair()
    return http.get(
        f"{platform.base_url}{REALM}/auth",
        params={
            "response_type": "code",
            "client_id": CLI_CLIENT,
            "redirect_uri": sign_in_script.CALLBACK,
            "scope": "openid profile email",
            "state": uuid.uuid4().hex,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )


def invite_patient(platform: Platform, mailbox: Mailbox, admin_token: str) -> tuple[Any, str]:
    """Have the admin invite a new patient, who sets a password from the mail; return both."""
    address = f"patient-{uuid.uuid4().hex[:12]}@test.voiceassist.local"
    password = f"Fresh-{uuid.uuid4().hex}"
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        invited = http.post(
            f"{platform.base_url}/api/v1/admin/users/invitations",
            json={"email": address, "display_name": "Test Patient", "roles": ["patient"]},
            headers=bearer(admin_token),
        )
        assert invited.status_code == 201, invited.text
        user_id: str = invited.json()["user"]["user_id"]
        page = http.get(mailbox.link_for(address))
        assert page.status_code == 200, page.text
        chosen = http.post(
            sign_in_script.form_action(page),
            data={**sign_in_script.hidden_fields(page.text), "password": password},
        )
        assert chosen.status_code == 200, chosen.text
    return Account(address, password), user_id


# 1. Signing in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "second_factor"),
    [("patient", ["pwd"]), ("clinician", ["pwd", "otp"]), ("admin", ["pwd", "otp"])],
)
def test_each_demo_account_signs_in_through_the_code_flow_with_pkce(
    platform: Platform, sessions: Sessions, role: str, second_factor: list[str]
) -> None:
    signed_in = sessions.signed_in(role)
    claims = claims_of(signed_in.tokens["access_token"])

    assert claims["realm_access"]["roles"] == [role]
    assert claims["amr"] == second_factor
    assert claims["azp"] == CLI_CLIENT
    assert claims["iss"] == f"{platform.base_url}/realms/voiceassist"
    assert "voiceassist-api" in claims["aud"]
    records = audit_records(
        platform, action="auth.sign_in", object_id=claims["sub"], since=signed_in.started
    )
    assert [record["outcome"] for record in records] == ["succeeded"]


# 2. Tokens the gateway must refuse ------------------------------------------------------------


@pytest.fixture(scope="module")
def patient_claims(sessions: Sessions) -> dict[str, Any]:
    """Return the claims of a real access token of the demo patient, to forge copies of."""
    return claims_of(sessions.access_token("patient"))


def test_a_copy_signed_with_the_platforms_key_is_accepted(
    platform: Platform, patient_claims: dict[str, Any]
) -> None:
    # The control for the forgeries below: only their one defect gets them refused.
    token = forged_token("genuine", patient_claims, signing_key(platform))

    me = httpx.get(f"{platform.base_url}/api/v1/auth/me", headers=bearer(token), timeout=30)

    assert me.status_code == 200, me.text
    assert me.json()["subject"] == patient_claims["sub"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("alg_none", "unsupported_algorithm"),
        ("other_key", "bad_signature"),
        ("expired", "expired"),
        ("other_audience", "wrong_audience"),
    ],
)
def test_a_forged_expired_or_misaddressed_token_is_refused_and_audited(
    platform: Platform, patient_claims: dict[str, Any], kind: str, reason: str
) -> None:
    token = forged_token(kind, patient_claims, signing_key(platform))
    request_id = new_request_id()

    answer = httpx.get(
        f"{platform.base_url}/api/v1/auth/me", headers=bearer(token, request_id), timeout=30
    )

    assert answer.status_code == 401, answer.text
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert token not in answer.text
    assert patient_claims["sub"] not in answer.text
    records = audit_records(platform, action="auth.token_rejected", request_id=request_id)
    assert [(r["object_id"], r["outcome"], r["actor_id"]) for r in records] == [
        (reason, "denied", "anonymous")
    ]


# 3. Object-level checks ------------------------------------------------------------------------


def test_a_patient_cannot_read_another_patients_assessment(
    platform: Platform, mailbox: Mailbox, sessions: Sessions
) -> None:
    owner = sessions.access_token("patient")
    owner_subject = claims_of(owner)["sub"]
    other_patient, _ = invite_patient(platform, mailbox, sessions.access_token("admin"))
    other = tokens_for(platform, other_patient)["access_token"]
    triage = f"{platform.base_url}/api/v1/triage"
    with httpx.Client(timeout=60) as http:
        created = http.post(f"{triage}/triage", json=CHEST_PAIN, headers=bearer(owner))
        assert created.status_code == 200, created.text
        assessment = f"{triage}/assessments/{created.json()['assessment_id']}"
        assert http.get(assessment, headers=bearer(owner)).status_code == 200
        guest = http.post(f"{platform.base_url}/api/v1/auth/guest", json={})
        assert guest.status_code == 201, guest.text
        guest_session, _ = session_cookie(guest)
        by_guest, by_patient = new_request_id(), new_request_id()

        as_guest = http.get(assessment, headers=with_cookie(guest_session, by_guest))
        as_patient = http.get(assessment, headers=bearer(other, by_patient))

    for refused in (as_guest, as_patient):
        assert refused.status_code == 404, refused.text
        assert owner_subject not in refused.text
    for request_id, reader in ((by_guest, guest.json()["subject"]), (by_patient, None)):
        records = audit_records(platform, action="triage.assessment.read", request_id=request_id)
        assert [r["outcome"] for r in records] == ["failed"]
        assert records[0]["object_id"] == created.json()["assessment_id"]
        assert records[0]["actor_id"] == (reader or claims_of(other)["sub"])
        assert records[0]["patient_subject"] is None


def book_a_slot(http: httpx.Client, platform: Platform, token: str, city: str) -> str:
    """Book the first free general-practice slot in ``city``; return the appointment id."""
    scheduling = f"{platform.base_url}/api/v1/scheduling"
    params = {"specialty": "general_practice", "urgency": "consultation", "city": city}
    found = http.get(f"{scheduling}/practitioners/match", params=params, headers=bearer(token))
    assert found.status_code == 200, found.text
    offered = [m for m in found.json()["matches"] if m["practice"]["city"] == city]
    slot = offered[0]["earliest_slots"][0]["slot_id"]
    headers = {**bearer(token), "Idempotency-Key": str(uuid.uuid4())}
    booked = http.post(
        f"{scheduling}/appointments", json={"slot_id": slot, "reason": "a cough"}, headers=headers
    )
    assert booked.status_code == 201, booked.text
    return str(booked.json()["appointment_id"])


def test_appointments_and_assessments_reach_their_patient_and_their_practice_only(
    platform: Platform, mailbox: Mailbox, sessions: Sessions
) -> None:
    owner = sessions.access_token("patient")
    other_patient, _ = invite_patient(platform, mailbox, sessions.access_token("admin"))
    other = tokens_for(platform, other_patient)["access_token"]
    clinician = sessions.access_token("clinician")  # Dr Claire Martin, Paris (demo clinic)
    scheduling = f"{platform.base_url}/api/v1/scheduling"
    with httpx.Client(timeout=60) as http:
        in_paris = book_a_slot(http, platform, owner, "Paris")
        in_lyon = book_a_slot(http, platform, owner, "Lyon")
        paris = f"{scheduling}/appointments/{in_paris}"
        assert http.get(paris, headers=bearer(owner)).status_code == 200
        by_patient = new_request_id()
        as_other = http.get(paris, headers=bearer(other, by_patient))
        cancel_headers = {**bearer(other), "Idempotency-Key": str(uuid.uuid4())}
        other_cancels = http.post(f"{paris}/cancel", json={}, headers=cancel_headers)
        others_list = http.get(f"{scheduling}/appointments", headers=bearer(other))

        assert http.get(paris, headers=bearer(clinician)).status_code == 200
        by_clinician = new_request_id()
        lyon_for_clinician = http.get(
            f"{scheduling}/appointments/{in_lyon}", headers=bearer(clinician, by_clinician)
        )
        practice_list = http.get(f"{scheduling}/appointments", headers=bearer(clinician))

        # Triage follows the practice: the clinician reads the assessment of a patient booked
        # at their practice, not that of a patient who has no appointment there.
        triage = f"{platform.base_url}/api/v1/triage"
        owners = http.post(f"{triage}/triage", json=CHEST_PAIN, headers=bearer(owner))
        others = http.post(f"{triage}/triage", json=CHEST_PAIN, headers=bearer(other))
        assert owners.status_code == others.status_code == 200, others.text
        owners_assessment = http.get(
            f"{triage}/assessments/{owners.json()['assessment_id']}", headers=bearer(clinician)
        )
        others_assessment = http.get(
            f"{triage}/assessments/{others.json()['assessment_id']}", headers=bearer(clinician)
        )

    for refused in (as_other, other_cancels, lyon_for_clinician):
        assert refused.status_code == 404, refused.text
    assert others_list.json()["appointments"] == []
    listed = [a["appointment_id"] for a in practice_list.json()["appointments"]]
    assert in_paris in listed
    assert in_lyon not in listed
    assert owners_assessment.status_code == 200, owners_assessment.text
    assert others_assessment.status_code == 404, others_assessment.text
    for request_id, appointment in ((by_patient, in_paris), (by_clinician, in_lyon)):
        records = audit_records(
            platform, action="scheduling.appointment.read", request_id=request_id
        )
        assert [r["outcome"] for r in records] == ["failed"]
        assert records[0]["object_id"] == appointment


# 4. Roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "/api/v1/admin/users", "admin:users"),
        ("GET", "/api/v1/admin/audit", "admin:audit"),
        ("GET", "/api/v1/admin/audit/verify", "admin:audit"),
    ],
)
def test_a_patient_calling_an_admin_route_is_refused_and_audited(
    platform: Platform,
    patient_claims: dict[str, Any],
    sessions: Sessions,
    method: str,
    path: str,
    permission: str,
) -> None:
    token = sessions.access_token("patient")
    request_id = new_request_id()

    answer = httpx.request(
        method, f"{platform.base_url}{path}", headers=bearer(token, request_id), timeout=30
    )

    assert answer.status_code == 403, answer.text
    records = audit_records(platform, action="auth.access_denied", request_id=request_id)
    assert [(r["object_id"], r["outcome"], r["actor_role"]) for r in records] == [
        (permission, "denied", "patient")
    ]
    assert records[0]["actor_id"] == patient_claims["sub"]


def test_a_patient_cannot_invite_users(platform: Platform, sessions: Sessions) -> None:
    token = sessions.access_token("patient")
    request_id = new_request_id()

    answer = httpx.post(
        f"{platform.base_url}/api/v1/admin/users/invitations",
        json={"email": "mallory@test.voiceassist.local", "roles": ["admin"]},
        headers=bearer(token, request_id),
        timeout=30,
    )

    assert answer.status_code == 403, answer.text
    records = audit_records(platform, action="auth.access_denied", request_id=request_id)
    assert [r["object_id"] for r in records] == ["admin:users"]


def test_a_visitor_who_signs_up_becomes_a_patient_and_nothing_more(
    platform: Platform, mailbox: Mailbox
) -> None:
    address = f"visitor-{uuid.uuid4().hex[:12]}@test.voiceassist.local"
    verifier, challenge = sign_in_script.pkce_pair()
    state = uuid.uuid4().hex
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        page = http.get(
            f"{platform.base_url}{REALM}/registrations",
            params={
                "response_type": "code",
                "client_id": CLI_CLIENT,
                "redirect_uri": sign_in_script.CALLBACK,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        assert page.status_code == 200, page.text
        password = f"Visitor-{uuid.uuid4().hex}"
        signed_up = http.post(
            sign_in_script.form_action(page),
            data={
                **sign_in_script.hidden_fields(page.text),
                "name": "Test Visitor",
                "email": address,
                "password": password,
                "password_again": password,
                # Fields a form never shows; the provider must not read them.
                "roles": "admin",
                "role": "clinician",
            },
        )
        assert signed_up.status_code == 303, signed_up.text
        query = parse_qs(urlsplit(signed_up.headers["location"]).query)
        assert query["state"] == [state]
        tokens = http.post(
            f"{platform.base_url}{REALM}/token",
            data={
                "grant_type": "authorization_code",
                "client_id": CLI_CLIENT,
                "code": query["code"][0],
                "redirect_uri": sign_in_script.CALLBACK,
                "code_verifier": verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
        confirmed = http.get(mailbox.link_for(address, "verify-email"))
        admin_route = http.get(
            f"{platform.base_url}/api/v1/admin/users",
            headers=bearer(tokens.json()["access_token"]),
        )

    claims = claims_of(tokens.json()["access_token"])
    assert claims["realm_access"]["roles"] == ["patient"]
    assert claims["email_verified"] is False
    assert confirmed.status_code == 200, confirmed.text
    assert admin_route.status_code == 403
    registered = audit_records(platform, action="auth.registered", object_id=claims["sub"])
    assert [record["outcome"] for record in registered] == ["succeeded"]


# 5. Password guessing ------------------------------------------------------------------------


def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_one(
    platform: Platform, mailbox: Mailbox, sessions: Sessions
) -> None:
    account, user_id = invite_patient(platform, mailbox, sessions.access_token("admin"))
    guess = Account(account.email, "Not-the-password-1")
    started = datetime.now(UTC)
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        refusals = [
            sign_in_script.answer_sign_in(http, provider_page(http, platform), guess)
            for _ in range(5)
        ]
        with_right_password = sign_in_script.answer_sign_in(
            http, provider_page(http, platform), account
        )

    assert [answer.status_code for answer in refusals] == [401] * 5
    assert all("location" not in answer.headers for answer in refusals)
    assert all("Invalid e-mail or password" in answer.text for answer in refusals[:4])
    assert "locked" in refusals[4].text
    assert with_right_password.status_code == 401
    assert "location" not in with_right_password.headers
    assert "locked" in with_right_password.text
    failed = audit_records(
        platform, at_least=6, action="auth.sign_in_failed", object_id=user_id, since=started
    )
    assert sorted(record["outcome"] for record in failed) == ["denied"] + ["failed"] * 5
    locked = audit_records(platform, action="auth.lockout", object_id=user_id, since=started)
    assert len(locked) == 1


# 6. Refresh tokens ----------------------------------------------------------------------------


def test_reusing_a_rotated_refresh_token_ends_the_whole_sign_in(
    platform: Platform, demo: dict[str, Any]
) -> None:
    # A sign-in of its own (the patient needs no TOTP code): replaying ends it.
    started = datetime.now(UTC)
    signed_in = tokens_for(platform, demo["patient"])
    subject = claims_of(signed_in["access_token"])["sub"]
    token_url = f"{platform.base_url}{REALM}/token"

    def refresh(http: httpx.Client, refresh_token: str) -> httpx.Response:
        grant = {"grant_type": "refresh_token", "client_id": CLI_CLIENT}
        return http.post(token_url, data={**grant, "refresh_token": refresh_token})

    with httpx.Client(timeout=30) as http:
        rotated = refresh(http, signed_in["refresh_token"])
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["refresh_token"] != signed_in["refresh_token"]
        replayed = refresh(http, signed_in["refresh_token"])
        successor = refresh(http, rotated.json()["refresh_token"])
        userinfo = http.get(
            f"{platform.base_url}{REALM}/userinfo",
            headers=bearer(rotated.json()["access_token"]),
        )

    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert successor.status_code == 400
    assert successor.json()["error"] == "invalid_grant"
    assert userinfo.status_code == 401
    records = audit_records(platform, action="auth.refresh_reuse", object_id=subject, since=started)
    assert [r["outcome"] for r in records] == ["denied"]


# 7. Cross-site requests on cookie routes --------------------------------------------------------


def test_a_cookie_request_without_its_csrf_token_is_refused_and_audited(
    platform: Platform, demo: dict[str, Any], patient_claims: dict[str, Any]
) -> None:
    patient = demo["patient"]
    with httpx.Client(timeout=30, follow_redirects=False) as http:
        login = http.get(f"{platform.base_url}/auth/login")
        assert login.status_code == 302, login.text
        page = http.get(login.headers["location"])
        signed_in = sign_in_script.answer_sign_in(http, page, patient)
        assert signed_in.status_code == 303, signed_in.text
        assert signed_in.headers["location"].startswith(f"{platform.base_url}/auth/callback?")
        landed = http.get(signed_in.headers["location"])
        assert landed.status_code == 303, landed.text
    session_id, cookie = session_cookie(landed)
    assert cookie["httponly"]
    assert cookie["secure"]
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"

    triage = f"{platform.base_url}/api/v1/triage/triage"
    without, forged = new_request_id(), new_request_id()
    with httpx.Client(timeout=60) as browser:
        session = browser.get(f"{platform.base_url}/auth/session", headers=with_cookie(session_id))
        assert session.status_code == 200, session.text
        csrf = session.json()["csrf_token"]
        refused = browser.post(triage, json=CHEST_PAIN, headers=with_cookie(session_id, without))
        mismatched = browser.post(
            triage,
            json=CHEST_PAIN,
            headers=with_cookie(session_id, forged, **{CSRF_HEADER: f"x{csrf}"}),
        )
        accepted = browser.post(
            triage, json=CHEST_PAIN, headers=with_cookie(session_id, **{CSRF_HEADER: csrf})
        )

    assert refused.status_code == 403, refused.text
    assert mismatched.status_code == 403, mismatched.text
    assert accepted.status_code == 200, accepted.text
    assert session.json()["subject"] == patient_claims["sub"]
    for request_id in (without, forged):
        records = audit_records(platform, action="auth.csrf_rejected", request_id=request_id)
        assert [(r["outcome"], r["actor_id"]) for r in records] == [
            ("denied", session.json()["subject"])
        ]


# 8. The sign-in script -------------------------------------------------------------------------


def test_the_sign_in_script_signs_every_demo_account_in(
    platform: Platform, sessions: Sessions
) -> None:
    # Late in the module, so the TOTP codes spent by the module's sign-ins are usually old.
    with sessions.signing_in_elsewhere():
        result = subprocess.run(
            [
                sys.executable,
                str(REPOSITORY / "scripts" / "sign_in.py"),
                "--base-url",
                platform.base_url,
                "--demo",
                "--demo-file",
                str(platform.data.root / "demo-accounts.txt"),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert result.returncode == 0, result.stderr
    signed_in = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(role for line in signed_in for role in line["roles"]) == [
        "admin",
        "clinician",
        "patient",
    ]


# 9. The trail ---------------------------------------------------------------------------------


def test_the_admin_reads_the_refusals_and_finds_the_trail_intact(
    platform: Platform, sessions: Sessions
) -> None:
    # Runs last (file order): by now every attack above has been appended to the chain.
    probe = new_request_id()
    refused = httpx.get(
        f"{platform.base_url}/api/v1/auth/me", headers=bearer("not-a-token", probe), timeout=30
    )
    assert refused.status_code == 401
    assert audit_records(platform, action="auth.token_rejected", request_id=probe)
    stored = len(audit_records(platform))
    admin = bearer(sessions.access_token("admin"))

    with httpx.Client(timeout=60) as http:
        listed = http.get(
            f"{platform.base_url}/api/v1/admin/audit",
            params={"action": "auth.token_rejected", "page_size": 500},
            headers=admin,
        )
        verified = http.get(f"{platform.base_url}/api/v1/admin/audit/verify", headers=admin)

    assert listed.status_code == 200, listed.text
    assert probe in [event["request_id"] for event in listed.json()["events"]]
    assert verified.status_code == 200, verified.text
    assert verified.json()["intact"] is True
    assert verified.json()["first_broken"] is None
    assert verified.json()["checked_count"] >= stored
