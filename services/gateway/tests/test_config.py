import pytest
from voiceassist_common.settings import SettingsError, load_settings
from voiceassist_gateway.config import DOWNSTREAM_SERVICES, Settings


def test_defaults_follow_the_local_port_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    for service in DOWNSTREAM_SERVICES:  # set by conftest's no_real_downstream
        monkeypatch.delenv(f"{service.replace('-', '_').upper()}_GRPC_ADDR")
    settings = load_settings(Settings)
    assert (settings.http_host, settings.http_port, settings.metrics_port) == (
        "127.0.0.1",
        8080,
        9101,
    )
    ports = range(50051, 50059)
    assert settings.downstream_addresses() == {
        name: f"127.0.0.1:{port}" for name, port in zip(DOWNSTREAM_SERVICES, ports, strict=True)
    }


def test_each_downstream_address_comes_from_its_own_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICE_PROXY_GRPC_ADDR", "voice-proxy.internal:7000")
    monkeypatch.setenv("MEDICAL_KB_GRPC_ADDR", "[::1]:7001")
    monkeypatch.setenv("HTTP_PORT", "18080")
    settings = load_settings(Settings)
    assert settings.downstream_addresses()["voice-proxy"] == "voice-proxy.internal:7000"
    assert settings.downstream_addresses()["medical-kb"] == "[::1]:7001"
    assert settings.http_port == 18080


@pytest.mark.parametrize("address", ["triage", "triage:", ":50056", "triage:99999", "a b:1"])
def test_a_malformed_address_refuses_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, address: str
) -> None:
    monkeypatch.setenv("TRIAGE_GRPC_ADDR", address)
    with pytest.raises(SettingsError) as refused:
        load_settings(Settings)
    assert "TRIAGE_GRPC_ADDR" in refused.value.message
    assert "host:port" in refused.value.message


def test_http_and_metrics_on_one_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "9101")
    with pytest.raises(SettingsError) as refused:
        load_settings(Settings)
    assert "METRICS_PORT" in refused.value.message


def test_a_tiny_body_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_REQUEST_BODY_BYTES", "10")
    with pytest.raises(SettingsError) as refused:
        load_settings(Settings)
    assert "MAX_REQUEST_BODY_BYTES" in refused.value.message


def test_outside_dev_and_test_identity_must_be_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEASSIST_ENV", "prod")
    with pytest.raises(SettingsError) as refused:
        load_settings(Settings)
    assert "OIDC_ISSUER is required" in refused.value.message


def test_prod_refuses_the_dev_secret_and_in_memory_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEASSIST_ENV", "prod")
    monkeypatch.setenv("OIDC_ISSUER", "https://id.clinic.example/realms/voiceassist")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://clinic.example")
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "voiceassist-web-dev-secret")
    with pytest.raises(SettingsError) as refused:
        load_settings(Settings)
    assert "development default" in refused.value.message
    assert "voiceassist-web-dev-secret" not in refused.value.message
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "a-real-secret")
    monkeypatch.setenv("WEB_SESSIONS", "memory")
    with pytest.raises(SettingsError) as refused:
        load_settings(Settings)
    assert "WEB_SESSIONS" in refused.value.message


def test_dev_defaults_to_the_built_in_provider_behind_the_gateway() -> None:
    settings = load_settings(Settings)
    assert settings.issuer == "http://127.0.0.1:8080/realms/voiceassist"
    assert settings.oidc_audience == "voiceassist-api"
    assert settings.auth_http_addr == "127.0.0.1:8180"
