"""The deployment descriptors agree with the code they deploy.

No container engine or cluster runs where the tests run, so the Dockerfiles, the Compose file
and the Kubernetes manifests cannot be exercised here. What can drift silently is checked
instead: every service has an image, a Compose service and a Deployment; ports are those of
docs/development.md; every service that owns tables has a migration job; Prometheus scrapes
every metrics port; every image starts a module that exists.

The truth is the code: services are the folders under services/ with a pyproject.toml (common
excepted), a service owns tables when it depends on ``voiceassist-common[db]``, and ports come
from the table in docs/development.md.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
K8S_DIR = ROOT / "deploy" / "k8s"


@dataclass(frozen=True)
class Service:
    """One service as the code and docs/development.md define it."""

    folder: str
    owns_tables: bool
    protocol: str  # "grpc", or "http" for the gateway
    port: int
    metrics_port: int
    side_http_port: int | None = None
    """An HTTP port a gRPC service serves besides (auth: the built-in OIDC provider)."""

    @property
    def module(self) -> str:
        return "voiceassist_" + self.folder.replace("-", "_")

    @property
    def address_variable(self) -> str:
        return self.folder.upper().replace("-", "_") + "_GRPC_ADDR"

    @property
    def ports(self) -> set[int]:
        """Every port the service listens on."""
        side = {self.side_http_port} if self.side_http_port is not None else set()
        return {self.port, self.metrics_port} | side

    @property
    def side_http_variables(self) -> tuple[str, str]:
        """The variables of the side HTTP port: the service's own, and its callers' address."""
        prefix = self.folder.upper().replace("-", "_")
        return f"{prefix}_HTTP_PORT", f"{prefix}_HTTP_ADDR"


def _documented_ports() -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    """Parse the "Local ports" table: HTTP, gRPC, metrics and side HTTP ports by service."""
    text = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    http: dict[str, int] = {}
    side_http: dict[str, int] = {}
    ranges: dict[str, dict[str, int]] = {"gRPC": {}, "metrics": {}}
    for row in re.finditer(r"^\|\s*(\S+) HTTP\s*\|\s*(\d+)\s*\|", text, re.MULTILINE):
        http[row[1]] = int(row[2])
    # "| auth HTTP: the built-in OIDC provider ... | 8180 |": an HTTP port beside gRPC.
    for row in re.finditer(r"^\|\s*(\S+) HTTP:[^|]*\|\s*(\d+)\s*\|", text, re.MULTILINE):
        side_http[row[1]] = int(row[2])
    for row in re.finditer(
        r"^\|\s*(gRPC|metrics):\s*([^|]+?)\s*\|\s*(\d+)\s*(?:…|\.\.\.)\s*(\d+)\s*\|",
        text,
        re.MULTILINE,
    ):
        names = [name.strip() for name in row[2].split(",")]
        first, last = int(row[3]), int(row[4])
        assert last - first + 1 == len(names), f"port range and names disagree: {row[0]}"
        ranges[row[1]] = {name: first + offset for offset, name in enumerate(names)}
    return http, ranges["gRPC"], ranges["metrics"], side_http


def _discover_services() -> list[Service]:
    http, grpc, metrics, side_http = _documented_ports()
    found = []
    for manifest in sorted((ROOT / "services").glob("*/pyproject.toml")):
        folder = manifest.parent.name
        if folder == "common":
            continue
        project = tomllib.loads(manifest.read_text(encoding="utf-8"))["project"]
        owns_tables = "voiceassist-common[db]" in project.get("dependencies", [])
        protocol = "http" if folder in http else "grpc"
        port = http.get(folder) or grpc.get(folder)
        assert port is not None, f"docs/development.md gives {folder} no gRPC or HTTP port"
        assert folder in metrics, f"docs/development.md gives {folder} no metrics port"
        found.append(
            Service(folder, owns_tables, protocol, port, metrics[folder], side_http.get(folder))
        )
    return found


SERVICES = _discover_services()
TABLE_OWNERS = [service for service in SERVICES if service.owns_tables]
GRPC_SERVICES = [service for service in SERVICES if service.protocol == "grpc"]
by_folder = pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.folder)


def _mapping(value: object) -> dict[str, Any]:
    assert isinstance(value, dict), f"expected a mapping, got {value!r}"
    return value


def _load_yaml(path: Path) -> dict[str, Any]:
    return _mapping(yaml.safe_load(path.read_text(encoding="utf-8")))


# ---------------------------------------------------------------- Dockerfiles


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    pairs = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, arguments = stripped.partition(" ")
            pairs.append((keyword.upper(), arguments.strip()))
    return pairs


def _runtime_stage(dockerfile: Path) -> list[tuple[str, str]]:
    instructions = _instructions(dockerfile)
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for token in shlex.split(arguments):
                name, _, value = token.partition("=")
                env[name] = value
    return env


def test_the_code_defines_nine_services_and_five_table_owners() -> None:
    assert len(SERVICES) == 9
    assert {s.folder: s.side_http_port for s in SERVICES if s.side_http_port} == {"auth": 8180}
    assert {service.folder for service in TABLE_OWNERS} == {
        "auth",
        "medical-kb",
        "triage",
        "scheduling",
        "admin",
    }


@by_folder
def test_each_image_installs_only_its_own_distribution(service: Service) -> None:
    dockerfile = ROOT / "services" / service.folder / "Dockerfile"
    assert dockerfile.is_file(), f"{service.folder} has no Dockerfile"
    instructions = _instructions(dockerfile)
    syncs = [args for keyword, args in instructions if keyword == "RUN" and "uv sync" in args]
    assert syncs, "the builder never runs uv sync"
    for command in syncs:
        for flag in ("--frozen", "--no-dev", "--no-editable"):
            assert flag in command
        assert f"--package voiceassist-{service.folder} " in command + " "
    copied = {args for keyword, args in instructions if keyword == "COPY"}
    assert f"services/{service.folder} services/{service.folder}" in copied
    assert not any("services/*" in args or args.startswith(". ") for args in copied)


@by_folder
def test_each_image_starts_its_service_module(service: Service) -> None:
    stage = _runtime_stage(ROOT / "services" / service.folder / "Dockerfile")
    commands = [json.loads(args) for keyword, args in stage if keyword == "CMD"]
    assert commands == [["python", "-m", service.module]]
    package = ROOT / "services" / service.folder / "src" / service.module
    assert package.is_dir(), f"CMD names {service.module}, which does not exist"
    assert (package / "__main__.py").is_file(), f"python -m {service.module} has no __main__"


@by_folder
def test_each_image_runs_unprivileged_on_its_documented_ports(service: Service) -> None:
    stage = _runtime_stage(ROOT / "services" / service.folder / "Dockerfile")
    keywords = dict(stage)
    assert "python:3.11" in _instructions(ROOT / "services" / service.folder / "Dockerfile")[0][1]
    assert keywords["USER"].split(":")[0] not in {"", "0", "root"}
    exposed = {int(port) for port in keywords["EXPOSE"].split()}
    assert exposed == service.ports
    env = _env(stage)
    port_variable = "HTTP_PORT" if service.protocol == "http" else "GRPC_PORT"
    assert env[port_variable] == str(service.port)
    assert env["METRICS_PORT"] == str(service.metrics_port)
    if service.side_http_port is not None:
        side_port, _ = service.side_http_variables
        assert env[side_port] == str(service.side_http_port)
    healthcheck = keywords["HEALTHCHECK"]
    probe = "/healthz" if service.protocol == "http" else "grpc_health"
    assert probe in healthcheck


# ---------------------------------------------------------------- Compose


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _mapping(_load_yaml(COMPOSE_DIR / "docker-compose.yml")["services"])


def _environment(definition: dict[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in _mapping(definition.get("environment", {})).items()}


def _depends_on(definition: dict[str, Any]) -> dict[str, str]:
    declared = definition.get("depends_on", {})
    if isinstance(declared, list):
        return dict.fromkeys(declared, "service_started")
    return {name: _mapping(rule)["condition"] for name, rule in _mapping(declared).items()}


@by_folder
def test_compose_builds_and_configures_each_service(
    service: Service, compose: dict[str, Any]
) -> None:
    definition = _mapping(compose.get(service.folder))
    build = _mapping(definition["build"])
    assert (COMPOSE_DIR / build["context"]).resolve() == ROOT
    assert build["dockerfile"] == f"services/{service.folder}/Dockerfile"
    env = _environment(definition)
    port_variable = "HTTP_PORT" if service.protocol == "http" else "GRPC_PORT"
    assert env[port_variable] == str(service.port)
    assert env["METRICS_PORT"] == str(service.metrics_port)
    if service.side_http_port is not None:
        side_port, side_address = service.side_http_variables
        assert env[side_port] == str(service.side_http_port)
        gateway = _environment(_mapping(compose["gateway"]))
        assert gateway[side_address] == f"{service.folder}:{service.side_http_port}"
    assert env["NATS_URL"].startswith("nats://nats:")
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert "keycloak" in env["OIDC_ISSUER"]
    assert ("DATABASE_URL" in env) == service.owns_tables
    assert _depends_on(definition)["nats"] == "service_healthy"


@by_folder
def test_compose_migrates_each_table_owner_before_it_starts(
    service: Service, compose: dict[str, Any]
) -> None:
    job = f"{service.folder}-migrate"
    if not service.owns_tables:
        assert job not in compose
        return
    migration = _mapping(compose.get(job))
    assert migration["command"] == ["python", "-m", service.module, "migrate"]
    assert migration["build"] == compose[service.folder]["build"]
    assert "DATABASE_URL" in _environment(migration)
    assert _depends_on(migration)["postgres"] == "service_healthy"
    assert _depends_on(compose[service.folder])[job] == "service_completed_successfully"


def test_compose_gateway_reaches_every_grpc_service(compose: dict[str, Any]) -> None:
    gateway = _mapping(compose["gateway"])
    env = _environment(gateway)
    for service in GRPC_SERVICES:
        assert env[service.address_variable] == f"{service.folder}:{service.port}"
        assert _depends_on(gateway)[service.folder] == "service_healthy"


def test_compose_runs_the_servers_the_platform_needs(compose: dict[str, Any]) -> None:
    assert compose["postgres"]["image"] == "pgvector/pgvector:pg18"
    needed = {"nats", "qdrant", "keycloak", "otel-collector", "jaeger", "prometheus", "grafana"}
    assert needed | {"loki"} <= set(compose)
    assert "--jetstream" in compose["nats"]["command"]
    for name, definition in compose.items():
        for dependency in _depends_on(_mapping(definition)):
            assert dependency in compose, f"{name} depends on unknown service {dependency}"


def test_compose_commits_no_secret(compose: dict[str, Any]) -> None:
    required = re.compile(r"\$\{[A-Z_]+:\?[^}]*\}")
    for name, definition in compose.items():
        for key, value in _environment(_mapping(definition)).items():
            if "PASSWORD" in key:
                assert required.fullmatch(value), f"{name}.{key} is not read from .env"
            if key == "DATABASE_URL":
                password = value.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
                assert required.fullmatch(password), f"{name}.DATABASE_URL embeds a password"


def test_compose_variables_are_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{([A-Z_]+)", (COMPOSE_DIR / "docker-compose.yml").read_text()))
    example = (COMPOSE_DIR / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))
    assert used <= documented, f"missing from .env.example: {sorted(used - documented)}"


def test_compose_bind_mounts_exist(compose: dict[str, Any]) -> None:
    for name, definition in compose.items():
        for volume in _mapping(definition).get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (COMPOSE_DIR / source).exists(), f"{name} mounts missing {source}"


def test_prometheus_scrapes_every_metrics_port() -> None:
    config = _load_yaml(COMPOSE_DIR / "prometheus" / "prometheus.yml")
    targets = {
        target
        for job in config["scrape_configs"]
        if job["job_name"] == "voiceassist"
        for group in job["static_configs"]
        for target in group["targets"]
    }
    assert targets == {f"{service.folder}:{service.metrics_port}" for service in SERVICES}


def test_grafana_and_collector_wire_the_three_signals() -> None:
    provisioning = COMPOSE_DIR / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
    sources = _load_yaml(provisioning)["datasources"]
    assert {source["type"] for source in sources} == {"prometheus", "loki", "jaeger"}
    collector = _load_yaml(COMPOSE_DIR / "otel-collector" / "config.yaml")
    traces = collector["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    assert [collector["exporters"][name]["endpoint"] for name in traces["exporters"]] == [
        "jaeger:4317"
    ]


# ---------------------------------------------------------------- Kubernetes


def _kustomization_documents(folder: Path) -> list[dict[str, Any]]:
    """Load every local resource file a kustomization lists (not its bases)."""
    kustomization = _load_yaml(folder / "kustomization.yaml")
    documents = []
    for resource in kustomization["resources"]:
        path = folder / resource
        assert path.exists(), f"{folder.name}/kustomization.yaml lists missing {resource}"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            documents += [_mapping(doc) for doc in yaml.safe_load_all(text) if doc]
    return documents


@pytest.fixture(scope="module")
def k8s_base() -> dict[tuple[str, str], dict[str, Any]]:
    documents = _kustomization_documents(K8S_DIR / "base")
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents}


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    containers = workload["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return _mapping(containers[0])


def _assert_hardened(workload: dict[str, Any]) -> None:
    pod = workload["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = _container(workload)["securityContext"]
    assert container["readOnlyRootFilesystem"] is True
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"]["drop"] == ["ALL"]


def _secret_variables(container: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container.get("env", []) if "valueFrom" in item}


@by_folder
def test_k8s_deploys_each_service_with_probes_on_its_ports(
    service: Service, k8s_base: dict[tuple[str, str], dict[str, Any]]
) -> None:
    deployment = k8s_base[("Deployment", service.folder)]
    container = _container(deployment)
    assert container["image"] == f"voiceassist/{service.folder}"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    expected = {service.protocol: service.port, "metrics": service.metrics_port}
    if service.side_http_port is not None:
        expected["http"] = service.side_http_port
    assert ports == expected
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        if service.protocol == "grpc":
            assert container[probe]["grpc"]["port"] == service.port
        else:
            assert container[probe]["httpGet"]["path"] == "/healthz"
    assert "cpu" in container["resources"]["requests"]
    _assert_hardened(deployment)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(service.metrics_port)
    assert ("DATABASE_URL" in _secret_variables(container)) == service.owns_tables
    exposed = {port["port"] for port in k8s_base[("Service", service.folder)]["spec"]["ports"]}
    assert exposed == service.ports


@by_folder
def test_k8s_migrates_each_table_owner(
    service: Service, k8s_base: dict[tuple[str, str], dict[str, Any]]
) -> None:
    job = k8s_base.get(("Job", f"{service.folder}-migrate"))
    if not service.owns_tables:
        assert job is None
        return
    assert job is not None
    container = _container(job)
    assert container["command"] == ["python", "-m", service.module, "migrate"]
    assert container["image"] == f"voiceassist/{service.folder}"
    assert "DATABASE_URL" in _secret_variables(container)
    _assert_hardened(job)
    service_selector = k8s_base[("Service", service.folder)]["spec"]["selector"]
    job_labels = job["spec"]["template"]["metadata"]["labels"]
    assert not service_selector.items() <= job_labels.items(), "Service would route to the Job"


def test_k8s_config_points_at_every_grpc_service(
    k8s_base: dict[tuple[str, str], dict[str, Any]],
) -> None:
    data = k8s_base[("ConfigMap", "voiceassist-config")]["data"]
    for service in GRPC_SERVICES:
        assert data[service.address_variable] == f"{service.folder}:{service.port}"
        if service.side_http_port is not None:
            _, side_address = service.side_http_variables
            assert data[side_address] == f"{service.folder}:{service.side_http_port}"


def test_k8s_overlays_tag_every_image() -> None:
    expected = {f"voiceassist/{service.folder}" for service in SERVICES}
    base = _load_yaml(K8S_DIR / "base" / "kustomization.yaml")
    assert {image["name"] for image in base["images"]} == expected
    dev = K8S_DIR / "overlays" / "dev"
    _kustomization_documents(dev)
    overlay = _load_yaml(dev / "kustomization.yaml")
    assert {image["name"] for image in overlay["images"]} == expected
