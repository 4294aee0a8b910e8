"""A service refuses to start on a missing or unsafe setting, and says which one."""

import subprocess
import sys

import pytest
from voiceassist_common.settings import (
    DatabaseSettings,
    OidcSettings,
    ServiceSettings,
    SettingsError,
    load_settings,
)


class TriageLikeSettings(ServiceSettings, DatabaseSettings, OidcSettings):
    service_name: str = "triage"
    grpc_port: int = 50056
    metrics_port: int = 9107


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "VOICEASSIST_ENV",
        "GRPC_PORT",
        "METRICS_PORT",
        "DATABASE_URL",
        "OIDC_ISSUER",
        "NATS_URL",
        "LOG_LEVEL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://va:pw@127.0.0.1:55432/voiceassist")
    monkeypatch.setenv("GRPC_PORT", "6000")
    monkeypatch.setenv("VOICEASSIST_ENV", "test")
    settings = load_settings(TriageLikeSettings)
    assert settings.grpc_port == 6000
    assert settings.environment == "test"
    assert settings.dsn.endswith("/voiceassist")
    assert "pw" not in repr(settings)


def test_every_problem_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPC_PORT", "abc")
    monkeypatch.setenv("NATS_URL", "http://wrong")
    with pytest.raises(SettingsError) as raised:
        load_settings(TriageLikeSettings)
    message = str(raised.value)
    assert "DATABASE_URL is required but not set" in message
    assert "GRPC_PORT" in message


def test_prod_refuses_a_development_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEASSIST_ENV", "prod")
    monkeypatch.setenv("DATABASE_URL", "postgresql://voiceassist:voiceassist@db:5432/voiceassist")
    with pytest.raises(SettingsError, match="development password"):
        load_settings(TriageLikeSettings)


def test_prod_refuses_a_plain_http_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEASSIST_ENV", "prod")
    monkeypatch.setenv("DATABASE_URL", "postgresql://va:S3cure-long-secret@db:5432/voiceassist")
    monkeypatch.setenv("OIDC_ISSUER", "http://keycloak:8080/realms/voiceassist")
    with pytest.raises(SettingsError, match="OIDC_ISSUER must use https"):
        load_settings(TriageLikeSettings)


def test_the_secret_is_not_echoed_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://user:TopSecret@db/x")
    with pytest.raises(SettingsError) as raised:
        load_settings(TriageLikeSettings)
    assert "TopSecret" not in str(raised.value)


def test_an_uncaught_settings_error_prints_the_message_and_fails() -> None:
    code = (
        "from voiceassist_common.settings import ServiceSettings, load_settings\n"
        "load_settings(ServiceSettings, service_name='stt')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "GRPC_PORT": "70000"},
    )
    assert result.returncode == 1
    assert "refusing to start" in result.stderr
    assert "GRPC_PORT" in result.stderr
    assert "METRICS_PORT is required but not set" in result.stderr


class KeyedSettings(ServiceSettings):
    service_name: str = "voice-proxy"
    grpc_port: int = 50052
    metrics_port: int = 9103
    recording_key: bytes = b""
    max_sessions: int = 10


def test_a_refused_key_is_named_but_never_echoed() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(KeyedSettings, recording_key=["not-bytes-secret-material"], max_sessions="x")
    message = str(raised.value)
    assert "recording_key" in message.lower()
    assert "secret-material" not in message
    assert "'x'" in message  # an ordinary value is shown: it helps to fix it
