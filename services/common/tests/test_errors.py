"""Domain errors name a real status code and carry the caller-facing message."""

from __future__ import annotations

import grpc
import pytest
from voiceassist_common import errors

ALL = [
    errors.InvalidArgument,
    errors.NotFound,
    errors.AlreadyExists,
    errors.FailedPrecondition,
    errors.PermissionDenied,
    errors.Unauthenticated,
    errors.ResourceExhausted,
    errors.Unavailable,
    errors.DeadlineExceeded,
]


@pytest.mark.parametrize("error_type", ALL)
def test_each_error_names_a_grpc_status_and_keeps_its_message(
    error_type: type[errors.VoiceAssistError],
) -> None:
    error = error_type("the slot is taken")

    assert isinstance(error, errors.VoiceAssistError)
    assert grpc.StatusCode[error.code] is not grpc.StatusCode.OK
    assert error.message == str(error) == "the slot is taken"


def test_the_codes_are_distinct() -> None:
    codes = [error_type.code for error_type in ALL] + [errors.CapabilityNotBuilt.code]
    assert len(set(codes)) == len(codes)


def test_a_missing_capability_is_unimplemented_and_named() -> None:
    error = errors.CapabilityNotBuilt(
        "the triage engine (issue #3)", operation="voiceassist.triage.v1.TriageService/Diagnose"
    )

    assert error.code == "UNIMPLEMENTED"
    assert error.capability == "the triage engine (issue #3)"
    assert error.message == (
        "voiceassist.triage.v1.TriageService/Diagnose is not available yet: "
        "the triage engine (issue #3) is not built"
    )
