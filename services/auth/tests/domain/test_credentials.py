"""The secrets people sign in with: what is accepted and what is refused."""

from __future__ import annotations

import base64
import hashlib

import pyotp
from voiceassist_auth.domain import credentials


def challenge_of(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def test_a_password_verifies_only_against_its_own_argon2id_hash() -> None:
    hashed = credentials.hash_password("correct horse battery")

    assert hashed.startswith("$argon2id$")
    assert credentials.verify_password(hashed, "correct horse battery")
    assert not credentials.verify_password(hashed, "correct horse batterx")
    assert not credentials.verify_password(None, "correct horse battery")


def test_short_or_monotonous_passwords_are_refused_with_the_reason() -> None:
    assert "at least 12" in (credentials.password_problem("short") or "")
    assert "repeats" in (credentials.password_problem("aaaaaaaaaaaaaaaa") or "")
    assert credentials.password_problem("a long enough passphrase") is None


def test_the_current_totp_code_is_accepted_and_an_old_one_is_not() -> None:
    enrolment = credentials.new_totp_enrolment("clinician@example.org")
    totp = pyotp.TOTP(enrolment.secret)

    assert credentials.totp_matches(enrolment.secret, totp.now())
    assert not credentials.totp_matches(enrolment.secret, totp.at(0))
    assert not credentials.totp_matches(enrolment.secret, "abcdef")
    assert enrolment.uri.startswith("otpauth://totp/VoiceAssist:clinician%40example.org")
    assert enrolment.qr_svg_data_uri().startswith("data:image/svg+xml")


def test_a_totp_code_is_matched_to_its_time_step_within_one_step_of_drift() -> None:
    secret = credentials.new_totp_enrolment("clinician@example.org").secret
    totp = pyotp.TOTP(secret)
    at = 1_800_000_015.0  # the middle of step 60_000_000
    step = 60_000_000

    assert credentials.totp_step(secret, totp.at(at), at=at) == step
    assert credentials.totp_step(secret, totp.at(at - 30), at=at) == step - 1
    assert credentials.totp_step(secret, totp.at(at + 30), at=at) == step + 1
    assert credentials.totp_step(secret, totp.at(at - 60), at=at) is None
    assert credentials.totp_step(secret, totp.at(at + 60), at=at) is None
    assert credentials.totp_step(secret, "12 34 5", at=at) is None


def test_recovery_codes_are_distinct_and_read_back_however_they_are_typed() -> None:
    codes = credentials.new_recovery_codes()

    assert len(set(codes)) == credentials.RECOVERY_CODE_COUNT
    assert credentials.normalise_recovery_code(codes[0].upper().replace("-", " ")) == codes[0]


def test_pkce_accepts_the_right_verifier_only() -> None:
    verifier = "v" * 20 + "erifier-of-forty-three-chars"

    assert credentials.pkce_s256_matches(verifier, challenge_of(verifier))
    assert not credentials.pkce_s256_matches(verifier + "x", challenge_of(verifier))
    assert not credentials.pkce_s256_matches(verifier, verifier)  # "plain" is never accepted
    assert not credentials.pkce_s256_matches("short", challenge_of("short"))


def test_handed_out_secrets_are_stored_as_digests() -> None:
    secret = credentials.new_secret()

    assert len(secret) >= 43
    assert credentials.digest(secret) != secret
    assert credentials.digest(secret) == credentials.digest(secret)
