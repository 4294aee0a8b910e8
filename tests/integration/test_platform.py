"""The whole platform from outside: `up`, /readyz, a SIGKILL, `down`, then `up` again."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.layout import DataDirectory
from voiceassist_localstack.ports import free_port, free_port_block
from voiceassist_localstack.processes import group_alive, is_alive, read_pid_file
from voiceassist_localstack.readiness import check_readiness
from voiceassist_localstack.services import SERVICES

pytestmark = [pytest.mark.stack, pytest.mark.timeout(900)]

REPOSITORY = Path(__file__).resolve().parents[2]
# The gateway lists itself as well as the eight services behind it.
EXPECTED = [spec.name for spec in SERVICES]


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
    }
    settings = LocalSettings(
        local_data_dir=root / "data",
        local_pg_port=ports["LOCAL_PG_PORT"],
        local_nats_port=ports["LOCAL_NATS_PORT"],
        local_nats_monitor_port=ports["LOCAL_NATS_MONITOR_PORT"],
        gateway_http_port=ports["GATEWAY_HTTP_PORT"],
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


def _wait_until(condition: Callable[[], bool], deadline: float) -> bool:
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def test_readyz_lists_every_service_as_serving(platform: Platform) -> None:
    readiness = check_readiness(platform.readyz)
    assert readiness.is_ready(EXPECTED), readiness
    assert set(EXPECTED) <= set(readiness.serving())


def test_status_shows_every_process_running(platform: Platform) -> None:
    result = platform.command("status")
    assert result.returncode == 0, result.stdout
    for name in ("postgres", "nats", "supervisor", *(spec.name for spec in SERVICES)):
        rows = [line.split() for line in result.stdout.splitlines()]
        assert any(row[:1] == [name] and "running" in row for row in rows), result.stdout


def test_a_killed_service_is_restarted_and_ready_again_within_ten_seconds(
    platform: Platform,
) -> None:
    pid_file = platform.data.pid_file("triage")
    victim = read_pid_file(pid_file)
    assert victim is not None
    assert is_alive(victim)

    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 10.0

    def replaced() -> bool:
        pid = read_pid_file(pid_file)
        return pid is not None and pid != victim and is_alive(pid)

    assert _wait_until(replaced, deadline), "the supervisor did not restart triage"
    assert _wait_until(lambda: check_readiness(platform.readyz).is_ready(EXPECTED), deadline), (
        check_readiness(platform.readyz)
    )
    platform.seen_pids.update(platform.running_pids())


async def test_up_after_down_keeps_the_data_and_leaves_nothing_behind(
    platform: Platform,
) -> None:
    connection = await asyncpg.connect(platform.dsn)
    await connection.execute("CREATE TABLE IF NOT EXISTS survival_check (note text)")
    await connection.execute("INSERT INTO survival_check VALUES ('written before down')")
    await connection.close()
    # pg_control starts with the cluster's system identifier: the same cluster, not a new one.
    system_id = (platform.data.postgres / "global" / "pg_control").read_bytes()[:8]
    platform.seen_pids.update(platform.running_pids())

    down = platform.command("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert platform.leftovers() == []

    platform.up()
    connection = await asyncpg.connect(platform.dsn)
    try:
        notes = await connection.fetch("SELECT note FROM survival_check")
    finally:
        await connection.close()
    assert [row["note"] for row in notes] == ["written before down"]
    assert (platform.data.postgres / "global" / "pg_control").read_bytes()[:8] == system_id
    assert check_readiness(platform.readyz).is_ready(EXPECTED)
