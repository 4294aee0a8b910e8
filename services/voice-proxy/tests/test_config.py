"""The voice-proxy service's settings: documented defaults, and a refusal naming a bad variable."""

from __future__ import annotations

import pytest
from voiceassist_common.settings import SettingsError, load_settings
from voiceassist_voice_proxy.config import Settings


def test_defaults_are_the_documented_local_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SERVICE_NAME", "GRPC_PORT", "METRICS_PORT"):
        monkeypatch.delenv(variable, raising=False)

    settings = load_settings(Settings)

    assert (settings.service_name, settings.grpc_port, settings.metrics_port) == (
        "voice-proxy",
        50052,
        9103,
    )


def test_refuses_a_grpc_port_that_is_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "abc")

    with pytest.raises(SettingsError, match="GRPC_PORT"):
        load_settings(Settings)
