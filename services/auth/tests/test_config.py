"""The auth service's settings: documented defaults, and a refusal naming a bad variable."""

from __future__ import annotations

import pytest
from voiceassist_auth.config import Settings
from voiceassist_common.settings import SettingsError, load_settings

DATABASE_URL = "postgresql://voiceassist:voiceassist@127.0.0.1:55432/voiceassist"


def test_defaults_are_the_documented_local_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("SERVICE_NAME", "GRPC_PORT", "METRICS_PORT"):
        monkeypatch.delenv(variable, raising=False)

    settings = load_settings(Settings, database_url=DATABASE_URL)

    assert (settings.service_name, settings.grpc_port, settings.metrics_port) == (
        "auth",
        50051,
        9102,
    )


def test_refuses_a_grpc_port_that_is_not_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "abc")

    with pytest.raises(SettingsError, match="GRPC_PORT"):
        load_settings(Settings, database_url=DATABASE_URL)


def test_refuses_to_start_without_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(Settings)


def test_the_development_client_secret_is_refused_outside_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OIDC_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("VOICEASSIST_ENV", "test")

    with pytest.raises(SettingsError, match="OIDC_CLIENT_SECRET is the development default"):
        load_settings(Settings, database_url=DATABASE_URL)


def test_an_external_issuer_needs_the_built_in_provider_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEASSIST_ENV", "dev")
    monkeypatch.setenv("OIDC_ISSUER", "https://keycloak.example/realms/voiceassist")

    with pytest.raises(SettingsError, match="OIDC_BUILTIN_PROVIDER=false"):
        load_settings(Settings, database_url=DATABASE_URL)
    keycloak = load_settings(Settings, database_url=DATABASE_URL, oidc_builtin_provider=False)
    assert keycloak.issuer == "https://keycloak.example/realms/voiceassist"
