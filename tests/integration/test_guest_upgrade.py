"""A guest runs triage and books, signs in from the guest session, and the account keeps both.

Against the whole platform (`up` on free ports): the gateway's backend-for-frontend, the real
built-in provider (the demo patient signs in through its page), the auth service's
UpgradeGuestSession, the ``auth.guest.upgraded`` event on JetStream, and the consumers of the
triage and scheduling services that move the assessment and the appointment. Cookies are
handled by hand: httpx keeps a Secure cookie to itself over plain http.
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import CHEST_PAIN, Platform, sign_in_script

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

REPOSITORY = Path(__file__).resolve().parents[2]
SESSION_COOKIE = "__Host-voiceassist_session"
CSRF_HEADER = "X-CSRF-Token"
MOVE_WAIT_SECONDS = 60.0


def session_id_set_by(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if SESSION_COOKIE in cookie:
            return cookie[SESSION_COOKIE].value
    raise AssertionError(f"no {SESSION_COOKIE} cookie was set")


def with_cookie(session_id: str, **extra: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session_id}", **extra}


def test_the_account_reads_the_assessment_and_appointment_it_made_as_a_guest(
    platform: Platform,
) -> None:
    base = platform.base_url
    [patient] = [
        account
        for account in sign_in_script.demo_accounts(platform.data.root / "demo-accounts.txt")
        if account.email.startswith("patient@")
    ]
    with httpx.Client(timeout=60, follow_redirects=False) as http:
        # As a guest: a session cookie, and a triage recorded under the guest's subject.
        started = http.post(f"{base}/api/v1/auth/guest", json={"language": "en"})
        assert started.status_code == 201, started.text
        guest_session = session_id_set_by(started)
        guest_csrf = {CSRF_HEADER: started.json()["csrf_token"]}
        triaged = http.post(
            f"{base}/api/v1/triage/triage",
            json=CHEST_PAIN,
            headers=with_cookie(guest_session, **guest_csrf),
        )
        assert triaged.status_code == 200, triaged.text
        assessment = f"{base}/api/v1/triage/assessments/{triaged.json()['assessment_id']}"
        assert http.get(assessment, headers=with_cookie(guest_session)).status_code == 200
        offered = http.get(
            f"{base}/api/v1/scheduling/practitioners/match",
            params={"specialty": "general_practice", "urgency": "consultation", "city": "London"},
            headers=with_cookie(guest_session),
        )
        assert offered.status_code == 200, offered.text
        slot = offered.json()["matches"][0]["earliest_slots"][0]["slot_id"]
        booked = http.post(
            f"{base}/api/v1/scheduling/appointments",
            json={"slot_id": slot},
            headers=with_cookie(guest_session, **guest_csrf, **{"Idempotency-Key": slot}),
        )
        assert booked.status_code == 201, booked.text
        appointment = f"{base}/api/v1/scheduling/appointments/{booked.json()['appointment_id']}"

        # Signing in from the guest session, through the provider's own page.
        login = http.get(f"{base}/auth/login", headers=with_cookie(guest_session))
        assert login.status_code == 302, login.text
        page = http.get(login.headers["location"])
        signed_in = sign_in_script.answer_sign_in(http, page, patient)
        assert signed_in.status_code == 303, signed_in.text
        landed = http.get(signed_in.headers["location"])
        assert landed.status_code == 303, landed.text
        account_session = session_id_set_by(landed)
        session = http.get(f"{base}/auth/session", headers=with_cookie(account_session)).json()
        assert session["guest_upgrade_pending"] is True

        upgraded = http.post(
            f"{base}/api/v1/auth/guest/upgrade",
            headers=with_cookie(account_session, **{CSRF_HEADER: session["csrf_token"]}),
        )
        assert upgraded.status_code == 200, upgraded.text

        # The triage service moves the assessment as it reads the upgrade from JetStream.
        deadline = time.monotonic() + MOVE_WAIT_SECONDS
        read: Any = None
        while time.monotonic() < deadline:
            read = http.get(assessment, headers=with_cookie(account_session))
            if read.status_code == 200:
                break
            time.sleep(0.25)
        booking: Any = None
        while time.monotonic() < deadline:
            booking = http.get(appointment, headers=with_cookie(account_session))
            if booking.status_code == 200:
                break
            time.sleep(0.25)
        as_guest = http.get(assessment, headers=with_cookie(guest_session))
        again = http.post(
            f"{base}/api/v1/auth/guest/upgrade",
            headers=with_cookie(account_session, **{CSRF_HEADER: session["csrf_token"]}),
        )

    account = session["subject"]
    assert upgraded.json() == {"subject": account, "guest_subject": started.json()["subject"]}
    assert read is not None
    assert read.status_code == 200, read.text
    assert read.json()["assessment"]["patient_subject"] == account
    assert booking is not None
    assert booking.status_code == 200, booking.text
    assert booking.json()["appointment"]["patient_subject"] == account
    # The guest's session ended when the browser signed in; nothing is left to upgrade.
    assert as_guest.status_code == 401
    assert again.status_code == 400
