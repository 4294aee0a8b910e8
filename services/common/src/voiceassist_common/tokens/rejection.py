"""Why an access token was refused, in words safe to log and to return to a caller.

Callers turn a rejection into a status code and an audit record, so the reason is a closed set
they can match on. The detail never quotes the token, its claims or anything an attacker put in
it, because it ends up in logs and problem+json responses.
"""

from __future__ import annotations

from enum import StrEnum


class RejectionReason(StrEnum):
    """The one reason a token was refused; the first check that failed wins."""

    MALFORMED = "malformed"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_TOKEN_TYPE = "wrong_token_type"  # noqa: S105 - a reason, not a secret
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    # Not the caller's fault: the issuer's keys cannot be had. A gateway answers 503, not 401.
    KEYS_UNAVAILABLE = "keys_unavailable"


# The name reads as the outcome at call sites (`except TokenRejected`) and is the agreed API.
class TokenRejected(Exception):  # noqa: N818
    """An access token that must not be trusted, with the reason and a non-sensitive detail."""

    def __init__(self, reason: RejectionReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")
