"""Problem details (RFC 9457): the one shape every gateway error takes.

Clients (the web app, the voice client, a clinic's integration) handle errors in one place
when every error has the same machine-readable shape. Each problem carries the request id, so
a person reporting it can quote something an operator can find in logs and traces, and never
carries internals such as stack traces, downstream messages or request input, which could
hold secrets or patient data.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from voiceassist_gateway.domain.capabilities import Capability

# Problem types specific to VoiceAssist. Plain HTTP errors use "about:blank" as RFC 9457
# recommends, with the status phrase as title.
ABOUT_BLANK = "about:blank"
VALIDATION_FAILED = "urn:voiceassist:problem:validation-failed"
BODY_TOO_LARGE = "urn:voiceassist:problem:request-body-too-large"
CAPABILITY_PENDING = "urn:voiceassist:problem:capability-pending"


class Problem(BaseModel):
    """An error as RFC 9457 problem details."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(
        default=ABOUT_BLANK,
        description="URI naming the kind of problem; about:blank for plain HTTP errors.",
    )
    title: str = Field(description="Short summary of the kind of problem.")
    status: int = Field(ge=400, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="What went wrong with this request.")
    request_id: str | None = Field(
        default=None, description="The request id; quote it when reporting the problem."
    )

    # Members written even when null, because null says something there.
    shown_when_null: ClassVar[frozenset[str]] = frozenset()

    def to_json(self) -> dict[str, Any]:
        """Render the problem as a JSON object, leaving out members that are not set."""
        document = self.model_dump(mode="json", exclude_none=True)
        for name in self.shown_when_null:
            document.setdefault(name, None)
        return document


class FieldError(BaseModel):
    """One invalid part of a request."""

    location: list[str | int] = Field(
        description="Where the error is: 'path', 'query', 'header' or 'body', then the field."
    )
    message: str
    kind: str = Field(description="Machine-readable error kind, e.g. 'uuid_parsing'.")


class ValidationProblem(Problem):
    """A request that failed validation, with every field at fault."""

    errors: list[FieldError]


class BodyTooLargeProblem(Problem):
    """A request whose body exceeds the gateway's limit."""

    max_body_bytes: int


class CapabilityPendingProblem(Problem):
    """A route whose capability belongs to a later issue."""

    capability: str
    issue: int | None = Field(description="The issue that brings it; null when none is filed.")

    shown_when_null: ClassVar[frozenset[str]] = frozenset({"issue"})


def http_problem(status: int, detail: str | None = None, request_id: str | None = None) -> Problem:
    """Build a plain HTTP error: about:blank with the status phrase as title."""
    return Problem(
        title=HTTPStatus(status).phrase, status=status, detail=detail, request_id=request_id
    )


def validation_problem(errors: list[FieldError], request_id: str | None) -> ValidationProblem:
    """Build the 422 naming every field at fault."""
    return ValidationProblem(
        type=VALIDATION_FAILED,
        title="Request validation failed",
        status=HTTPStatus.UNPROCESSABLE_ENTITY,
        detail=f"{len(errors)} part(s) of the request are invalid; see errors.",
        request_id=request_id,
        errors=errors,
    )


def body_too_large_problem(max_body_bytes: int, request_id: str | None) -> BodyTooLargeProblem:
    """Build the 413 stating the limit."""
    return BodyTooLargeProblem(
        type=BODY_TOO_LARGE,
        title="Request body too large",
        status=HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        detail=f"The request body exceeds the limit of {max_body_bytes} bytes.",
        request_id=request_id,
        max_body_bytes=max_body_bytes,
    )


def capability_pending_problem(
    capability: Capability, request_id: str | None
) -> CapabilityPendingProblem:
    """Build the 501 naming the missing capability and the issue that brings it."""
    return CapabilityPendingProblem(
        type=CAPABILITY_PENDING,
        title="Capability not available yet",
        status=HTTPStatus.NOT_IMPLEMENTED,
        detail=capability.describe(),
        request_id=request_id,
        capability=capability.name,
        issue=capability.issue,
    )
