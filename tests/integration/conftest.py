"""The whole platform started for a test module: `up` in a scratch directory on free ports.

Shared by the platform tests (start, restart, down/up) and the security tests, which sign in
through the real provider and attack the running services.
"""

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.ports import free_port, free_port_block
from voiceassist_localstack.processes import group_alive, is_alive, read_pid_file
from voiceassist_localstack.services import SERVICES

REPOSITORY = Path(__file__).resolve().parents[2]


# A 58-year-old man with crushing chest pain: any triage outcome will do, it is recorded.
CHEST_PAIN = {
    "patient": {"age_years": 58, "sex": "male"},
    "evidence": [
        {"id": "E_53", "present": True},
        {"id": "E_55", "value_id": "V_101"},
        {"id": "E_57", "value_id": "V_121"},
    ],
    "questions_asked": 2,
}


def _load_sign_in_script() -> ModuleType:
    """Load scripts/sign_in.py, whose real code + PKCE sign-in the tests reuse."""
    path = REPOSITORY / "scripts" / "sign_in.py"
    spec = importlib.util.spec_from_file_location("voiceassist_sign_in_script", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


sign_in_script = _load_sign_in_script()


@dataclass
class Platform:
    environment: dict[str, str]
    data: DataDirectory
    settings: LocalSettings
    seen_pids: set[int]

    @property
    def readyz(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_http_port}/readyz"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_http_port}"

    @property
    def dsn(self) -> str:
        port = self.settings.local_pg_port
        return f"postgresql://voiceassist:voiceassist@127.0.0.1:{port}/voiceassist"

    def command(self, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "voiceassist_localstack", name],
            cwd=REPOSITORY,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def up(self) -> None:
        result = self.command("up")
        assert result.returncode == 0, result.stdout + result.stderr
        self.seen_pids.update(self.running_pids())

    def running_pids(self) -> set[int]:
        names = ["supervisor", *(spec.name for spec in SERVICES)]
        pids = {read_pid_file(self.data.pid_file(name)) for name in names}
        pids.add(read_pid_file(self.data.nats / "nats-server.pid"))
        pids.add(read_pid_file(self.data.postgres / "postmaster.pid"))
        return {pid for pid in pids if pid is not None and is_alive(pid)}

    def leftovers(self) -> list[int]:
        return sorted(pid for pid in self.seen_pids if is_alive(pid) or group_alive(pid))


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    # Under /tmp, not pytest's tmp_path: PostgreSQL's unprivileged account must reach it.
    root = Path(tempfile.mkdtemp(prefix="va-stack-"))
    root.chmod(0o755)
    ports = {
        "LOCAL_PG_PORT": free_port(),
        "LOCAL_NATS_PORT": free_port(),
        "LOCAL_NATS_MONITOR_PORT": free_port(),
        "GATEWAY_HTTP_PORT": free_port(),
        "AUTH_HTTP_PORT": free_port(),
    }
    settings = LocalSettings(
        local_data_dir=root / "data",
        local_pg_port=ports["LOCAL_PG_PORT"],
        local_nats_port=ports["LOCAL_NATS_PORT"],
        local_nats_monitor_port=ports["LOCAL_NATS_MONITOR_PORT"],
        gateway_http_port=ports["GATEWAY_HTTP_PORT"],
        auth_http_port=ports["AUTH_HTTP_PORT"],
        # Free blocks, so neither a running `make up` nor another test session gets in the way.
        local_grpc_port_base=free_port_block(8),
        local_metrics_port_base=free_port_block(9),
        local_ready_timeout=400,
    )
    environment = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "LOCAL_DATA_DIR": str(settings.local_data_dir),
        "LOCAL_GRPC_PORT_BASE": str(settings.local_grpc_port_base),
        "LOCAL_METRICS_PORT_BASE": str(settings.local_metrics_port_base),
        "LOCAL_READY_TIMEOUT": str(settings.local_ready_timeout),
    }
    platform = Platform(
        environment, DataDirectory(settings.local_data_dir), settings, seen_pids=set()
    )
    try:
        platform.up()
        yield platform
    finally:
        platform.seen_pids.update(platform.running_pids())
        down = platform.command("down")
        shutil.rmtree(root, ignore_errors=True)
        assert down.returncode == 0, down.stdout + down.stderr
        assert platform.leftovers() == []
