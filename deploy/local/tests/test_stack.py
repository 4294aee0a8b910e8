import socket
from pathlib import Path

import pytest
from voiceassist_localstack.config import LocalSettings
from voiceassist_localstack.ports import free_port, free_port_block
from voiceassist_localstack.stack import LocalStack, StackError


def _settings(data_dir: Path) -> LocalSettings:
    return LocalSettings(
        local_data_dir=data_dir,
        local_pg_port=free_port(),
        local_nats_port=free_port(),
        local_nats_monitor_port=free_port(),
        gateway_http_port=free_port(),
        local_grpc_port_base=free_port_block(8),
        local_metrics_port_base=free_port_block(9),
    )


def test_up_names_a_port_taken_by_another_program_before_starting_anything(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path / "data")
    lines: list[str] = []
    stack = LocalStack(settings, tmp_path, report=lines.append)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", settings.gateway_http_port))
        squatter.listen()
        with pytest.raises(StackError, match=f"gateway HTTP port {settings.gateway_http_port}"):
            stack.up()
    assert not stack.postgres.is_running()
    assert not (tmp_path / "data" / "postgres" / "PG_VERSION").exists()


def test_down_with_nothing_running_leaves_nothing(tmp_path: Path) -> None:
    stack = LocalStack(_settings(tmp_path / "data"), tmp_path, report=lambda _: None)
    assert stack.down() == []
    assert all(state.pid is None for state in stack.states())
