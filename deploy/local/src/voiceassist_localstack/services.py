"""The nine VoiceAssist services as the local runtime sees them: module, ports, environment.

This is the one table that says what `make up` runs. Ports derive from two configurable bases in
a fixed order, matching docs/development.md, so the gateway and every service agree on them
without any service discovery.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from voiceassist_localstack.config import LocalSettings


@dataclass(frozen=True)
class ServiceSpec:
    """One service: how to start it and where it sits in the port order."""

    name: str
    module: str
    owns_tables: bool
    # Position among the gRPC services (auth is 0); None for the gateway, which speaks HTTP.
    grpc_slot: int | None
    # Position among the metrics ports (gateway is 0).
    metrics_slot: int

    @property
    def addr_variable(self) -> str:
        """Name of the gateway's variable holding this service's address, e.g. TRIAGE_GRPC_ADDR."""
        return f"{self.name.upper().replace('-', '_')}_GRPC_ADDR"


# The web client `make up` builds (scripts/web.sh) and the gateway serves at its origin.
WEB_DIST = Path(__file__).resolve().parents[4] / "web" / "dist"

GATEWAY = ServiceSpec("gateway", "voiceassist_gateway", False, None, 0)
SERVICES: tuple[ServiceSpec, ...] = (
    GATEWAY,
    ServiceSpec("auth", "voiceassist_auth", True, 0, 1),
    ServiceSpec("voice-proxy", "voiceassist_voice_proxy", False, 1, 2),
    ServiceSpec("stt", "voiceassist_stt", False, 2, 3),
    ServiceSpec("tts", "voiceassist_tts", False, 3, 4),
    ServiceSpec("medical-kb", "voiceassist_medical_kb", True, 4, 5),
    ServiceSpec("triage", "voiceassist_triage", True, 5, 6),
    ServiceSpec("scheduling", "voiceassist_scheduling", True, 6, 7),
    ServiceSpec("admin", "voiceassist_admin", True, 7, 8),
)
DOWNSTREAM: tuple[ServiceSpec, ...] = tuple(spec for spec in SERVICES if spec is not GATEWAY)


def service_named(name: str) -> ServiceSpec:
    """Look a service up by name (`voice-proxy`), raising KeyError for an unknown one."""
    for spec in SERVICES:
        if spec.name == name:
            return spec
    raise KeyError(name)


@dataclass(frozen=True)
class PlatformPorts:
    """The concrete ports for one configuration."""

    settings: LocalSettings

    def grpc_port(self, spec: ServiceSpec) -> int | None:
        """Return the gRPC port of `spec` (None for the gateway)."""
        if spec.grpc_slot is None:
            return None
        return self.settings.local_grpc_port_base + spec.grpc_slot

    def metrics_port(self, spec: ServiceSpec) -> int:
        """Return the Prometheus /metrics port of `spec`."""
        return self.settings.local_metrics_port_base + spec.metrics_slot

    def grpc_address(self, spec: ServiceSpec) -> str:
        """Return `host:port` where `spec` serves gRPC."""
        return f"{self.settings.local_bind_host}:{self.grpc_port(spec)}"

    def all_ports(self) -> dict[str, int]:
        """Every port `up` will bind, by what it is for (to report conflicts before starting)."""
        s = self.settings
        ports = {
            "PostgreSQL": s.local_pg_port,
            "NATS": s.local_nats_port,
            "NATS monitoring": s.local_nats_monitor_port,
            "gateway HTTP": s.gateway_http_port,
            "auth HTTP (OIDC provider)": s.auth_http_port,
        }
        for spec in SERVICES:
            grpc_port = self.grpc_port(spec)
            if grpc_port is not None:
                ports[f"{spec.name} gRPC"] = grpc_port
            ports[f"{spec.name} metrics"] = self.metrics_port(spec)
        return ports


def service_environment(
    spec: ServiceSpec, settings: LocalSettings, *, database_url: str, nats_url: str
) -> dict[str, str]:
    """Return the variables `spec` is started with (on top of the inherited environment)."""
    ports = PlatformPorts(settings)
    host = settings.local_bind_host
    environment = {
        "VOICEASSIST_ENV": "dev",
        "SERVICE_NAME": spec.name,
        "LOG_LEVEL": settings.log_level,
        "METRICS_HOST": host,
        "METRICS_PORT": str(ports.metrics_port(spec)),
        "NATS_URL": nats_url,
        # Every service gets it, so one that starts owning tables later needs no runtime change.
        "DATABASE_URL": database_url,
    }
    grpc_port = ports.grpc_port(spec)
    if grpc_port is not None:
        environment |= {"GRPC_HOST": host, "GRPC_PORT": str(grpc_port)}
    # Browsers reach the built-in provider through the gateway's /realms/ proxy: that is the
    # issuer, and every service verifies the tokens the gateway forwards against it.
    origin = f"http://{host}:{settings.gateway_http_port}"
    issuer = f"{origin}/realms/voiceassist"
    if spec is GATEWAY:
        environment |= {"HTTP_HOST": host, "HTTP_PORT": str(settings.gateway_http_port)}
        environment |= {other.addr_variable: ports.grpc_address(other) for other in DOWNSTREAM}
        environment["AUTH_HTTP_ADDR"] = f"{host}:{settings.auth_http_port}"
        environment["PUBLIC_BASE_URL"] = origin
        environment["WEB_DIST_DIR"] = str(WEB_DIST)
    if spec.name == "auth":
        environment |= {
            "AUTH_HTTP_HOST": host,
            "AUTH_HTTP_PORT": str(settings.auth_http_port),
            "OIDC_PUBLIC_ISSUER": issuer,
            "OIDC_WEB_REDIRECT_URIS": f"{origin}/auth/callback",
        }
    else:
        environment |= {"OIDC_ISSUER": issuer, "OIDC_AUDIENCE": "voiceassist-api"}
    if spec.name == "admin":
        auth = next(other for other in SERVICES if other.name == "auth")
        environment["AUTH_GRPC_ADDR"] = ports.grpc_address(auth)
    if spec.name == "triage":
        # Triage asks scheduling which patients a clinician's practice sees.
        environment["SCHEDULING_GRPC_ADDR"] = ports.grpc_address(service_named("scheduling"))
    if spec.name == "voice-proxy":
        # The conversation calls triage, scheduling, stt and tts as the patient.
        for name in ("triage", "scheduling", "stt", "tts"):
            other = service_named(name)
            environment[other.addr_variable] = ports.grpc_address(other)
    return environment
