from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.services import (
    DOWNSTREAM,
    GATEWAY,
    SERVICES,
    PlatformPorts,
    service_environment,
    service_named,
)


def _environment(name: str, settings: LocalSettings | None = None) -> dict[str, str]:
    return service_environment(
        service_named(name),
        settings or LocalSettings(),
        database_url="postgresql://voiceassist:pw@127.0.0.1:55432/voiceassist",
        nats_url="nats://127.0.0.1:54222",
    )


def test_ports_follow_the_documented_table() -> None:
    ports = PlatformPorts(LocalSettings())
    grpc = {spec.name: ports.grpc_port(spec) for spec in DOWNSTREAM}
    metrics = {spec.name: ports.metrics_port(spec) for spec in SERVICES}
    assert grpc == {
        "auth": 50051,
        "voice-proxy": 50052,
        "stt": 50053,
        "tts": 50054,
        "medical-kb": 50055,
        "triage": 50056,
        "scheduling": 50057,
        "admin": 50058,
    }
    assert metrics["gateway"] == 9101
    assert metrics["admin"] == 9109
    assert sorted(metrics.values()) == list(range(9101, 9110))
    assert len(set(ports.all_ports().values())) == len(ports.all_ports())


def test_port_bases_move_every_service() -> None:
    settings = LocalSettings(local_grpc_port_base=61000, local_metrics_port_base=62000)
    environment = _environment("triage", settings)
    assert environment["GRPC_PORT"] == "61005"
    assert environment["METRICS_PORT"] == "62006"


def test_a_service_is_told_where_it_serves_and_what_it_talks_to() -> None:
    environment = _environment("medical-kb")
    assert environment["SERVICE_NAME"] == "medical-kb"
    assert environment["VOICEASSIST_ENV"] == "dev"
    assert (environment["GRPC_HOST"], environment["GRPC_PORT"]) == ("127.0.0.1", "50055")
    assert (environment["METRICS_HOST"], environment["METRICS_PORT"]) == ("127.0.0.1", "9106")
    assert environment["NATS_URL"] == "nats://127.0.0.1:54222"
    assert environment["DATABASE_URL"].startswith("postgresql://voiceassist:")
    assert "HTTP_PORT" not in environment


def test_the_gateway_gets_its_http_port_and_every_downstream_address() -> None:
    environment = _environment("gateway")
    assert environment["HTTP_PORT"] == "8080"
    assert environment["TRIAGE_GRPC_ADDR"] == "127.0.0.1:50056"
    assert environment["VOICE_PROXY_GRPC_ADDR"] == "127.0.0.1:50052"
    assert environment["MEDICAL_KB_GRPC_ADDR"] == "127.0.0.1:50055"
    addresses = [key for key in environment if key.endswith("_GRPC_ADDR")]
    assert len(addresses) == 8


def test_table_owning_services_are_the_ones_with_data() -> None:
    owners = {spec.name for spec in SERVICES if spec.owns_tables}
    assert owners == {"auth", "medical-kb", "triage", "scheduling", "admin"}
    assert len(SERVICES) == 9
    assert GATEWAY not in DOWNSTREAM


def test_the_auth_service_serves_its_oidc_provider_behind_the_gateway() -> None:
    auth = _environment("auth")
    assert (auth["AUTH_HTTP_HOST"], auth["AUTH_HTTP_PORT"]) == ("127.0.0.1", "8180")
    assert auth["OIDC_PUBLIC_ISSUER"] == "http://127.0.0.1:8080/realms/voiceassist"
    assert _environment("gateway")["AUTH_HTTP_ADDR"] == "127.0.0.1:8180"
    assert PlatformPorts(LocalSettings()).all_ports()["auth HTTP (OIDC provider)"] == 8180
