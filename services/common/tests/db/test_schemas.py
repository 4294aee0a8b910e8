"""Schema names are checked before they reach SQL; DSNs are logged without secrets."""

import pytest
from voiceassist_common.db import describe_database, quoted_schema, search_path


@pytest.mark.parametrize("schema", ["triage", "medical_kb", "a1"])
def test_plain_schema_names_are_accepted(schema: str) -> None:
    assert quoted_schema(schema) == f'"{schema}"'


@pytest.mark.parametrize(
    "schema",
    ['triage"; DROP SCHEMA auth; --', "Triage", "1triage", "", "pg_catalog", "medical-kb"],
)
def test_anything_else_is_refused(schema: str) -> None:
    with pytest.raises(ValueError, match="schema name"):
        quoted_schema(schema)


def test_the_search_path_puts_the_service_schema_first() -> None:
    assert search_path("triage") == '"triage", public'


def test_a_database_is_described_without_user_or_password() -> None:
    described = describe_database(
        "postgresql://voiceassist:s3cret@db.clinic.local:5432/voiceassist"
    )
    assert described == "db.clinic.local:5432/voiceassist"
