"""The triage service's settings: documented defaults, and a refusal naming a bad variable."""

from __future__ import annotations

import pytest
from voiceassist_common.settings import SettingsError, load_settings
from voiceassist_triage.config import Settings

DATABASE_URL = "postgresql://voiceassist:voiceassist@127.0.0.1:55432/voiceassist"


def test_defaults_are_the_documented_local_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SERVICE_NAME", "GRPC_PORT", "METRICS_PORT", "TRIAGE_MAX_QUESTIONS"):
        monkeypatch.delenv(variable, raising=False)

    settings = load_settings(Settings, database_url=DATABASE_URL)

    assert (settings.service_name, settings.grpc_port, settings.metrics_port) == (
        "triage",
        50056,
        9107,
    )
    assert settings.triage_max_questions == 20


def test_the_interview_length_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_MAX_QUESTIONS", "12")

    assert load_settings(Settings, database_url=DATABASE_URL).triage_max_questions == 12


@pytest.mark.parametrize("value", ["0", "-3", "1000", "many"])
def test_refuses_an_interview_that_could_not_ask_or_would_never_end(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TRIAGE_MAX_QUESTIONS", value)

    with pytest.raises(SettingsError, match="TRIAGE_MAX_QUESTIONS"):
        load_settings(Settings, database_url=DATABASE_URL)


def test_refuses_a_grpc_port_that_is_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "abc")

    with pytest.raises(SettingsError, match="GRPC_PORT"):
        load_settings(Settings, database_url=DATABASE_URL)


def test_refuses_to_start_without_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(Settings)
