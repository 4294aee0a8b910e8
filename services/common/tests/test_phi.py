"""The redactor masks each kind of PHI the issue names, and leaves ordinary text alone."""

import pytest
from voiceassist_common.phi import (
    phi_kind_of_key,
    redact_structure,
    redact_text,
    redact_value,
    safe,
)


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("reach me at maria.gonzalez@example.org", "maria.gonzalez@example.org"),
        ("call +1 415 555 0199 now", "555 0199"),
        ("call (415) 555-0199 now", "555-0199"),
        ("rappelez le 06 12 34 56 78", "06 12 34 56 78"),
        ("born 1984-03-07", "1984-03-07"),
        ("born 07/03/1984", "07/03/1984"),
        ("born on March 7, 1984", "March 7, 1984"),
        ("né le 7 mars 1984", "7 mars 1984"),
        ("MRN: 00451234 admitted", "00451234"),
        ("lives at 221 Baker Street", "Baker Street"),
        ("habite 12 rue des Lilas, Paris", "rue des Lilas"),
        ("postcode SW1A 1AA", "SW1A 1AA"),
        ("seen by Dr. Okafor today", "Okafor"),
        ("my name is Maria Gonzalez", "Maria Gonzalez"),
        ("je m'appelle Amélie Poulain", "Amélie Poulain"),
        ("Call from Maria Gonzalez about her chest", "Maria Gonzalez"),
    ],
)
def test_free_text_phi_is_masked(text: str, leaked: str) -> None:
    redacted = redact_text(text)
    assert leaked not in redacted
    assert "[" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "gRPC server listening on 127.0.0.1:50056",
        "GET /api/v1/triage/sessions HTTP/1.1 404 Not Found",
        "retrying NATS connect in 0.5 s (attempt 3)",
        "loaded 49 conditions and 223 evidences, version 1.85.1",
        "Application startup complete.",
    ],
)
def test_ordinary_operational_text_is_untouched(text: str) -> None:
    assert redact_text(text) == text


def test_text_marked_safe_is_left_alone() -> None:
    assert redact_text(safe("Chest Pain Protocol 2024-01-01")) == "Chest Pain Protocol 2024-01-01"


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("patient_name", "NAME"),
        ("caller_phone", "PHONE"),
        ("date_of_birth", "DATE"),
        ("dob", "DATE"),
        ("Email", "EMAIL"),
        ("home_address", "ADDRESS"),
        ("mrn", "MRN"),
        ("transcript", "TEXT"),
        ("service_name", None),
        ("request_id", None),
        ("grpc_address", None),
    ],
)
def test_field_names_decide_the_kind(key: str, kind: str | None) -> None:
    assert phi_kind_of_key(key) == kind


def test_structured_values_are_redacted_by_key_and_pattern() -> None:
    redacted = redact_structure(
        {
            "patient": {"first_name": "Maria", "phone": "0612345678"},
            "notes": ["seen 2024-05-01"],
            "count": 3,
        }
    )
    assert redacted == {
        "patient": "[REDACTED:NAME]",
        "notes": "[REDACTED:TEXT]",
        "count": 3,
    }


def test_transcript_is_kept_only_when_marked_safe() -> None:
    assert redact_value("transcript", "I have chest pain") == "[REDACTED:TEXT]"
    assert redact_value("transcript", safe("yes")) == "yes"
