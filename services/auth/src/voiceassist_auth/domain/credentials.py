"""The secrets a person proves who they are with, and how each is checked.

Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended profile);
the second factor is TOTP (RFC 6238, pyotp) with single-use recovery codes for a lost phone. A
TOTP code is matched to its time step (`totp_step`), so the provider can refuse a step it has
accepted before (RFC 6238 §5.2: a code is good for one sign-in, not for its whole 30 seconds).
Every random secret the provider hands out (codes, refresh tokens, e-mail links) is 256 bits
from `secrets` and kept only as its SHA-256 digest: high-entropy secrets need no slow hash, and
the digest is what lets a store find the row without holding the secret.
PKCE (RFC 7636) is S256 only: `plain` would send the verifier in the clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "RECOVERY_CODE_COUNT",
    "TotpEnrolment",
    "digest",
    "hash_password",
    "new_recovery_codes",
    "new_secret",
    "new_totp_enrolment",
    "normalise_recovery_code",
    "password_problem",
    "pkce_s256_matches",
    "totp_matches",
    "totp_step",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 12
"""NIST SP 800-63B asks for at least 8; 12 suits accounts that reach health data."""
MAX_PASSWORD_LENGTH = 256
RECOVERY_CODE_COUNT = 10
ISSUER_NAME = "VoiceAssist"

_hasher = PasswordHasher()
# A hash of a random password, verified when the account does not exist, so that a sign-in
# with an unknown e-mail takes as long as one with a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


# Long enough for the length rule, yet among the first tried by anyone guessing (breach lists).
_COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789abc",
        "1q2w3e4r5t6y",
        "abcdefghijkl",
        "administrator",
        "changeme1234",
        "iloveyou1234",
        "letmein12345",
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiopasdf",
        "welcome12345",
    }
)
_SERVICE_WORDS = ("voiceassist",)


def password_problem(password: str, *, personal: Sequence[str] = ()) -> str | None:
    """Say what is wrong with a new password, or None when it is acceptable.

    NIST SP 800-63B §5.1.1.2: a minimum length, no composition rules, but no password from a
    list of commonly used ones nor one built from the service's name or the person's own
    details (``personal``: their e-mail address and name).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the password must have at most {MAX_PASSWORD_LENGTH} characters"
    if len(set(password)) < 4:
        return "the password repeats too few characters"
    folded = password.casefold()
    if folded in _COMMON_PASSWORDS:
        return "the password is one of the most common ones"
    words = [*_SERVICE_WORDS]
    for detail in personal:
        detail = detail.casefold().strip()
        words.append(detail.partition("@")[0] if "@" in detail else detail)
    if any(len(word) >= 4 and word in folded for word in words):
        return "the password must not contain your name, your e-mail address or the app's name"
    return None


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` (salted, parameters encoded in the string)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; None (no password set) never matches."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_secret() -> str:
    """Return a fresh 256-bit secret, URL-safe (codes, tokens, links, CSRF tokens)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """Return the SHA-256 digest under which a handed-out secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


class TotpEnrolment:
    """A new TOTP secret with what an authenticator app needs to add it."""

    def __init__(self, secret: str, account: str) -> None:
        self.secret = secret
        self.uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER_NAME)

    def qr_svg_data_uri(self) -> str:
        """Return the provisioning URI as a QR code, an SVG ``data:`` URI for an ``<img>``."""
        return str(segno.make(self.uri, error="m").svg_data_uri(scale=4))


def new_totp_enrolment(account: str) -> TotpEnrolment:
    """Start an enrolment for ``account`` (the e-mail shown in the authenticator app)."""
    return TotpEnrolment(pyotp.random_base32(), account)


TOTP_DRIFT_STEPS = 1
"""Steps accepted either side of the current one: RFC 6238 §5.2 allows one for clock drift."""


def totp_step(secret: str, code: str, *, at: float | None = None) -> int | None:
    """Return the time step whose TOTP code ``code`` is, near ``at`` (now); None if none.

    Codes of the current step and of one step either side are recognised (clock drift); the
    caller refuses a step it accepted before for the same person.
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if at is None else at)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if step >= 0 and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def totp_matches(secret: str, code: str, *, at: float | None = None) -> bool:
    """Whether ``code`` is the current TOTP code (one 30 s step either side, for clock drift)."""
    return totp_step(secret, code, at=at) is not None


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes, 80 bits each, shown once as ``xxxx-xxxx-xxxx-xxxx``."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def normalise_recovery_code(code: str) -> str:
    """Return the canonical form of a recovery code as typed (case, spaces and dashes ignored)."""
    raw = "".join(character for character in code.lower() if character.isalnum())
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def pkce_s256_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6: BASE64URL(SHA256(verifier)) equals the challenge, in constant time."""
    if not (43 <= len(verifier) <= 128 and verifier.isascii()):
        return False
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest())
    return hmac.compare_digest(computed.rstrip(b"=").decode(), challenge)
