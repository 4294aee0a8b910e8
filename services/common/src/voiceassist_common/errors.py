"""Domain errors every service raises, each with the gRPC status it becomes.

Handlers and domain code raise these instead of choosing status codes, so a caller sees the
same code for the same kind of failure in every service, and the server interceptor is the one
place that turns them into statuses. The module imports nothing from gRPC: domain code stays
free of I/O imports, and `code` names a canonical status (the Google API codes, shared by gRPC
and by the gateway's HTTP mapping).

The message travels to the caller and into logs; never put PHI in it.
"""

# The names are the status vocabulary every caller already knows (NotFound, not NotFoundError).
# ruff: noqa: N818

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "AlreadyExists",
    "CapabilityNotBuilt",
    "DeadlineExceeded",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "VoiceAssistError",
]


class VoiceAssistError(Exception):
    """A failure the caller should hear about, as the status named by `code`."""

    code: ClassVar[str] = "UNKNOWN"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(VoiceAssistError):
    """The request itself is wrong, whatever the state of the system."""

    code = "INVALID_ARGUMENT"


class NotFound(VoiceAssistError):
    """The thing the request names does not exist."""

    code = "NOT_FOUND"


class AlreadyExists(VoiceAssistError):
    """The thing the request would create exists already."""

    code = "ALREADY_EXISTS"


class FailedPrecondition(VoiceAssistError):
    """The system is not in the state the request needs (e.g. the slot is no longer free)."""

    code = "FAILED_PRECONDITION"


class PermissionDenied(VoiceAssistError):
    """The caller is known but may not do this."""

    code = "PERMISSION_DENIED"


class Unauthenticated(VoiceAssistError):
    """The caller did not prove who they are (missing, expired or invalid token)."""

    code = "UNAUTHENTICATED"


class ResourceExhausted(VoiceAssistError):
    """A quota or capacity limit is reached; retrying later may work."""

    code = "RESOURCE_EXHAUSTED"


class Unavailable(VoiceAssistError):
    """A dependency cannot be reached right now; the call may be retried."""

    code = "UNAVAILABLE"


class DeadlineExceeded(VoiceAssistError):
    """The work could not finish within the time the caller allowed."""

    code = "DEADLINE_EXCEEDED"


class CapabilityNotBuilt(VoiceAssistError):
    """The operation needs a capability that a later piece of work will build.

    The answer names the capability so nobody mistakes a missing feature for a broken one.
    """

    code = "UNIMPLEMENTED"

    def __init__(self, capability: str, *, operation: str | None = None) -> None:
        self.capability = capability
        self.operation = operation
        subject = operation if operation is not None else "this operation"
        super().__init__(f"{subject} is not available yet: {capability} is not built")
