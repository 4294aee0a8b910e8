"""The stt service's settings: documented defaults, and a refusal naming a bad variable."""

from __future__ import annotations

import pytest
from voiceassist_common.settings import SettingsError, load_settings
from voiceassist_stt.config import Settings


def test_defaults_are_the_documented_local_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SERVICE_NAME", "GRPC_PORT", "METRICS_PORT"):
        monkeypatch.delenv(variable, raising=False)

    settings = load_settings(Settings)

    assert (settings.service_name, settings.grpc_port, settings.metrics_port) == (
        "stt",
        50053,
        9104,
    )


def test_the_fitted_window_and_base_model_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("STT_MODEL", "STT_WINDOW", "STT_QUEUE_SIZE"):
        monkeypatch.delenv(variable, raising=False)

    settings = load_settings(Settings)

    assert (settings.stt_model, settings.stt_window) == ("base", "fitted")


def test_refuses_an_unknown_model_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STT_MODEL", "large-v3")

    with pytest.raises(SettingsError, match="STT_MODEL"):
        load_settings(Settings)


def test_refuses_a_grpc_port_that_is_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "abc")

    with pytest.raises(SettingsError, match="GRPC_PORT"):
        load_settings(Settings)
